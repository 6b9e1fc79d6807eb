/*
 * check_tls.c - TLS in the host, through the real daemon and real clients:
 * openssl s_client, curl, Python's ssl module, and an OpenSSL client of
 * our own for the byte-exact and SNI checks.
 *
 * tests/tls.sh makes fresh certificates into the test's temporary
 * directory at run time; nothing secret is committed.  One daemon (two
 * workers) serves most cases from listeners of its own: echo, http,
 * chargen, chat, SNI, mutual TLS and a short handshake_timeout.  The
 * cases that need their own daemon (a root-only key with daemon.user, a
 * reload) or none (-t) start it themselves.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "harness.h"

#define TLS_KEYS							\
	"certificate = \"@TMP@/c/server.pem\"; key = \"@TMP@/c/server.key\";"

static const char conf_main[] =
	"daemon: { log_level = \"debug\"; workers = 2; };\n"
	"plugins: { echo: { path = \"echo.so\"; };\n"
	"    http: { path = \"http.so\"; };\n"
	"    chargen: { path = \"chargen.so\"; };\n"
	"    chat: { path = \"chat.so\"; };\n"
	"    tlsinfo: { path = \"@TEST_PLUGIN_DIR@/tlsinfo.so\"; };\n"
	"    probe: { path = \"@TEST_PLUGIN_DIR@/probe.so\"; }; };\n"
	"listeners: (\n"
	"  { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"echo\";\n"
	"    tls = { " TLS_KEYS "\n"
	"      sni = ( { server_name = \"b.example\";\n"
	"        certificate = \"@TMP@/c/b.pem\";\n"
	"        key = \"@TMP@/c/b.key\"; } );\n"
	"    }; },\n"
	"  { name = \"web\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"http\";\n"
	"    tls = { " TLS_KEYS " alpn = [ \"http/1.1\" ]; }; },\n"
	"  { name = \"gen\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"chargen\"; sndq_high = 65536; sndq_low = 16384;\n"
	"    tls = { " TLS_KEYS " }; },\n"
	"  { name = \"chat\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"chat\";\n"
	"    framing = \"archive\"; tls = { " TLS_KEYS " }; },\n"
	"  { name = \"mtls\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"echo\";\n"
	"    tls = { " TLS_KEYS " client_ca = \"@TMP@/c/ca.pem\";\n"
	"      verify_client = \"require\"; }; },\n"
	"  { name = \"slow\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"echo\";\n"
	"    tls = { " TLS_KEYS " handshake_timeout = 0.5; }; },\n"
	"  { name = \"info\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"tlsinfo\";\n"
	"    tls = { " TLS_KEYS " client_ca = \"@TMP@/c/ca.pem\";\n"
	"      verify_client = \"optional\"; alpn = [ \"x/1\", \"y/2\" ];\n"
	"      }; },\n"
	"  { name = \"plain\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"tlsinfo\"; },\n"
	"  { name = \"probe\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"probe\"; },\n"
	"  { name = \"ux\"; listen = \"unix:@TMP@/tls.sock\";\n"
	"    plugin = \"echo\"; tls = { " TLS_KEYS " }; },\n"
	"  { name = \"bname\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"chargen\"; tls = {\n"
	"      certificate = \"@TMP@/c/b.pem\"; key = \"@TMP@/c/b.key\"; }; }\n"
	");\n";

static struct daemon	*d;
static char		*certs;		/* @TMP@/c */

static void
make_certs(void)
{
	char	*cmd;
	int	 rc;

	if (certs != NULL)
		return;
	certs = h_expand("@TMP@/c");
	cmd = h_expand("sh @SRCDIR@/tests/tls.sh @TMP@/c");
	rc = system(cmd);
	free(cmd);
	ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0,
	    "tests/tls.sh failed");
}

static struct daemon *
start(const char *conf)
{
	struct daemon	*dd;
	char		*dir;

	make_certs();
	dir = h_expand("@PLUGIN_DIR@");
	dd = h_daemon_start(conf, "-P", dir, (char *)NULL);
	free(dir);
	ck_assert_ptr_nonnull(dd);
	return dd;
}

static void
setup(void)
{
	char	*ca = h_expand("@TMP@/c/ca.pem");

	/* outbound tls:// verifies against "the system store": ours */
	setenv("SSL_CERT_FILE", ca, 1);
	free(ca);
	d = start(conf_main);
}

/* A clean exit (0; 97 when valgrind, ASOCKD_WRAPPER, found errors). */
static void
teardown(void)
{
	int	 st;

	if (d != NULL) {
		st = h_daemon_stop(d, 10000);
		h_daemon_free(d);
		d = NULL;
		ck_assert_int_eq(st, 0);
	}
}

/*
 * Run a shell command (bounded by timeout(1)); its stdout and stderr in
 * out.  Returns the exit code.
 */
static int
sh(char *out, size_t outlen, const char *fmt, ...)
{
	char	 cmd[4096], full[4300];
	va_list	 ap;
	FILE	*fp;
	size_t	 n = 0, r;
	int	 st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "timeout 20 sh -c '%s' 2>&1", cmd);
	fp = popen(full, "r");
	ck_assert_ptr_nonnull(fp);
	while (n + 1 < outlen && (r = fread(out + n, 1, outlen - 1 - n,
	    fp)) > 0)
		n += r;
	out[n] = '\0';
	st = pclose(fp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ---------------------------------------------------------- our client */

struct cl {
	int	 fd;
	SSL_CTX	*ctx;
	SSL	*ssl;
};

/*
 * A TLS client to port: verify against the test CA, send sni (NULL:
 * none), present the client certificate when cert is set (2: the
 * self-signed expired one, which the CA did not issue).  1 when the
 * handshake succeeded.
 */
static int
cl_open(struct cl *cl, int port, const char *sni, int cert)
{
	const char	*name = cert == 2 ? "expired" : "client";

	char	 path[600], kpath[600];

	memset(cl, 0, sizeof(*cl));
	cl->ctx = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(cl->ctx);
	snprintf(path, sizeof(path), "%s/ca.pem", certs);
	ck_assert_int_eq(SSL_CTX_load_verify_locations(cl->ctx, path, NULL),
	    1);
	SSL_CTX_set_verify(cl->ctx, SSL_VERIFY_PEER, NULL);
	if (cert) {
		snprintf(path, sizeof(path), "%s/%s.pem", certs, name);
		snprintf(kpath, sizeof(kpath), "%s/%s.key", certs, name);
		ck_assert_int_eq(SSL_CTX_use_certificate_file(cl->ctx, path,
		    SSL_FILETYPE_PEM), 1);
		ck_assert_int_eq(SSL_CTX_use_PrivateKey_file(cl->ctx, kpath,
		    SSL_FILETYPE_PEM), 1);
	}
	cl->fd = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_ge(cl->fd, 0);
	cl->ssl = SSL_new(cl->ctx);
	SSL_set_fd(cl->ssl, cl->fd);
	if (sni != NULL)
		SSL_set_tlsext_host_name(cl->ssl, sni);
	return SSL_connect(cl->ssl) == 1;
}

static void
cl_close(struct cl *cl)
{
	if (cl->ssl != NULL)
		SSL_free(cl->ssl);
	if (cl->fd >= 0)
		close(cl->fd);
	SSL_CTX_free(cl->ctx);
	ERR_clear_error();
}

/* Read exactly n bytes (blocking, 5 s socket timeouts); bytes read. */
static size_t
cl_read_n(struct cl *cl, void *buf, size_t n)
{
	size_t	 got = 0, r;

	while (got < n && SSL_read_ex(cl->ssl, (char *)buf + got, n - got, &r))
		got += r;
	return got;
}

/* The subject CN of the server's certificate. */
static void
cl_peer_cn(struct cl *cl, char *cn, size_t len)
{
	X509	*x = SSL_get1_peer_certificate(cl->ssl);

	ck_assert_ptr_nonnull(x);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, (int)len);
	X509_free(x);
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_s_client_http)
{
	static char	 out[65536];
	int		 port = h_port(d, "web");

	ck_assert_int_gt(port, 0);
	sh(out, sizeof(out), "printf \"GET / HTTP/1.1\\r\\n"
	    "Host: localhost\\r\\n"
	    "Connection: close\\r\\n\\r\\n\" | openssl s_client -connect "
	    "127.0.0.1:%d -servername localhost -CAfile %s/ca.pem "
	    "-alpn http/1.1 -ign_eof", port, certs);
	ck_assert_msg(strstr(out, "Verify return code: 0 (ok)") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "ALPN protocol: http/1.1") != NULL, "%s",
	    out);
	ck_assert_msg(strstr(out, "HTTP/1.1 200") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\r\n\r\nhello\n") != NULL, "%s", out);
}
END_TEST

START_TEST(test_curl)
{
	static char	 out[65536];
	int		 port = h_port(d, "web"), rc;

	rc = sh(out, sizeof(out), "curl -sS --cacert %s/ca.pem --resolve "
	    "localhost:%d:127.0.0.1 https://localhost:%d/ https://localhost:"
	    "%d/again", certs, port, port, port);
	ck_assert_msg(rc == 0, "curl: %d: %s", rc, out);
	ck_assert_str_eq(out, "hello\nhello\n");
}
END_TEST

/*
 * 10 MB through the echo plugin, written and read at once (non-blocking),
 * every byte compared.
 */
START_TEST(test_echo_10mb)
{
	const size_t	 total = 10 * 1024 * 1024;
	unsigned char	*in, chunk[16384];
	size_t		 sent = 0, got = 0, n, i, wlen = 0;
	long long	 end = h_now_ms() + 60000;
	struct pollfd	 pfd;
	struct cl	 cl;
	int		 progress;

	ck_assert(cl_open(&cl, h_port(d, "echo"), "localhost", 0));
	fcntl(cl.fd, F_SETFL, fcntl(cl.fd, F_GETFL) | O_NONBLOCK);
	in = malloc(65536);
	while (got < total && h_now_ms() < end) {
		progress = 0;
		if (sent < total) {
			if (wlen == 0) {
				wlen = total - sent < sizeof(chunk) ?
				    total - sent : sizeof(chunk);
				for (i = 0; i < wlen; i++)
					chunk[i] = (unsigned char)((sent + i) *
					    2654435761u >> 13);
			}
			/* a retried write repeats the same arguments */
			if (SSL_write_ex(cl.ssl, chunk, wlen, &n)) {
				sent += n;
				wlen = 0;
				progress = 1;
			}
		}
		while (SSL_read_ex(cl.ssl, in, 65536, &n)) {
			for (i = 0; i < n; i++)
				ck_assert_msg(in[i] == (unsigned char)(
				    (got + i) * 2654435761u >> 13),
				    "byte %zu differs", got + i);
			got += n;
			progress = 1;
		}
		ERR_clear_error();
		if (!progress) {
			pfd.fd = cl.fd;
			pfd.events = POLLIN | (sent < total ? POLLOUT : 0);
			poll(&pfd, 1, 1000);
		}
	}
	ck_assert_uint_eq(got, total);
	free(in);
	cl_close(&cl);
}
END_TEST

START_TEST(test_sni)
{
	struct cl	 cl;
	char		 cn[128], buf[8];

	ck_assert(cl_open(&cl, h_port(d, "echo"), "b.example", 0));
	cl_peer_cn(&cl, cn, sizeof(cn));
	ck_assert_str_eq(cn, "b.example");
	ck_assert_int_eq(SSL_write(cl.ssl, "sni", 3), 3);
	ck_assert_uint_eq(cl_read_n(&cl, buf, 3), 3);
	ck_assert_int_eq(memcmp(buf, "sni", 3), 0);
	cl_close(&cl);

	ck_assert(cl_open(&cl, h_port(d, "echo"), "localhost", 0));
	cl_peer_cn(&cl, cn, sizeof(cn));
	ck_assert_str_eq(cn, "localhost");
	cl_close(&cl);

	/* an unknown name gets the listener's own certificate */
	ck_assert(cl_open(&cl, h_port(d, "echo"), "c.example", 0));
	cl_peer_cn(&cl, cn, sizeof(cn));
	ck_assert_str_eq(cn, "localhost");
	cl_close(&cl);
}
END_TEST

START_TEST(test_mtls)
{
	struct cl	 cl;
	char		 buf[8];
	size_t		 n;
	int		 ok;

	/* without a certificate: refused (TLS 1.3 says so after Finished) */
	ok = cl_open(&cl, h_port(d, "mtls"), "localhost", 0);
	if (ok) {
		SSL_write(cl.ssl, "x", 1);
		ok = SSL_read_ex(cl.ssl, buf, 1, &n);
	}
	ck_assert_int_eq(ok, 0);
	cl_close(&cl);
	ck_assert(h_log_wait(d, "TLS handshake failed: peer did not return "
	    "a certificate", 5000));

	/* a certificate the CA did not issue: refused too */
	ok = cl_open(&cl, h_port(d, "mtls"), "localhost", 2);
	if (ok) {
		SSL_write(cl.ssl, "x", 1);
		ok = SSL_read_ex(cl.ssl, buf, 1, &n);
	}
	ck_assert_int_eq(ok, 0);
	cl_close(&cl);
	ck_assert(h_log_wait(d, "TLS handshake failed: certificate verify "
	    "failed (client certificate: ", 5000));

	ck_assert(cl_open(&cl, h_port(d, "mtls"), "localhost", 1));
	ck_assert_int_eq(SSL_write(cl.ssl, "mtls", 4), 4);
	ck_assert_uint_eq(cl_read_n(&cl, buf, 4), 4);
	ck_assert_int_eq(memcmp(buf, "mtls", 4), 0);
	cl_close(&cl);
}
END_TEST

START_TEST(test_tls11_refused)
{
	static char	 out[65536];
	int		 rc;

	rc = sh(out, sizeof(out), "openssl s_client -connect 127.0.0.1:%d "
	    "-tls1_1 -cipher DEFAULT:@SECLEVEL=0 </dev/null",
	    h_port(d, "echo"));
	ck_assert_msg(rc != 0, "%s", out);
	ck_assert_msg(strstr(out, "alert protocol version") != NULL, "%s",
	    out);
	ck_assert(h_log_wait(d, "TLS handshake failed: unsupported protocol",
	    5000));
}
END_TEST

/*
 * chargen sends while writable() and again after on_send: a client that
 * reads nothing for a while, then everything, gets the pattern unbroken,
 * and the connection stayed up meanwhile.
 */
START_TEST(test_never_reads)
{
	unsigned char	 buf[200000];
	struct cl	 cl;
	size_t		 i, n;
	int		 ok = 1;

	ck_assert(cl_open(&cl, h_port(d, "gen"), "localhost", 0));
	usleep(700 * 1000);	/* the queue fills, the plugin waits */
	n = cl_read_n(&cl, buf, sizeof(buf));
	ck_assert_uint_eq(n, sizeof(buf));
	/* chargen: lines of 72 printable characters, each one further on */
	for (i = 0; i + 74 < n && ok; i += 74)
		ok = buf[i + 72] == '\r' && buf[i + 73] == '\n' &&
		    (buf[i + 74] - buf[i] + 95) % 95 == 1;
	ck_assert_msg(ok, "chargen stream broken at %zu", i);
	cl_close(&cl);
}
END_TEST

/* Plaintext instead of a ClientHello, and a handshake that stalls. */
START_TEST(test_garbage_and_stall)
{
	const char	 req[] = "GET / HTTP/1.0\r\n\r\n";
	struct cl	 cl;
	char		 buf[16];
	int		 fd, sfd, before;

	/* another connection that stays fine throughout */
	ck_assert(cl_open(&cl, h_port(d, "echo"), "localhost", 0));

	before = h_log_count(d, "TLS handshake failed");
	fd = h_tcp_connect("127.0.0.1", h_port(d, "echo"));
	ck_assert_int_ge(h_write_all(fd, req, sizeof(req) - 1), 0);
	ck_assert(h_wait_eof(fd, 5000));
	close(fd);
	ck_assert(h_log_wait(d, "TLS handshake failed: http request", 5000));
	ck_assert_int_eq(h_log_count(d, "TLS handshake failed"), before + 1);
	ck_assert(h_log_wait(d, "peer 127.0.0.1:", 100));

	sfd = h_tcp_connect("127.0.0.1", h_port(d, "slow"));
	ck_assert_int_ge(h_write_all(sfd, "\x16\x03\x01", 3), 0);
	ck_assert(h_wait_eof(sfd, 5000));
	close(sfd);
	ck_assert(h_log_wait(d, "TLS handshake timed out after 0.5 s", 5000));

	ck_assert_int_eq(SSL_write(cl.ssl, "still", 5), 5);
	ck_assert_uint_eq(cl_read_n(&cl, buf, 5), 5);
	ck_assert_int_eq(memcmp(buf, "still", 5), 0);
	cl_close(&cl);
}
END_TEST

/* A TLS 1.2 client asking to renegotiate is refused and closed. */
START_TEST(test_renegotiation)
{
	static char	 out[65536];

	sh(out, sizeof(out), "(sleep 0.5; echo R; sleep 1) | openssl "
	    "s_client -connect 127.0.0.1:%d -tls1_2 -CAfile %s/ca.pem",
	    h_port(d, "echo"), certs);
	ck_assert_msg(strstr(out, "RENEGOTIATING") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "no renegotiation") != NULL, "%s", out);
	ck_assert(h_log_wait(d, "closed (protocol) after", 5000));
}
END_TEST

/* TLS on a unix stream listener, with s_client -unix. */
START_TEST(test_unix)
{
	static char	 out[65536];
	char		*sock = h_expand("@TMP@/tls.sock");

	/* -quiet implies -ign_eof: -no_ign_eof ends it after stdin */
	sh(out, sizeof(out), "(echo over-unix; sleep 1) | openssl s_client "
	    "-unix %s -servername localhost -CAfile %s/ca.pem -quiet "
	    "-no_ign_eof", sock, certs);
	ck_assert_msg(strstr(out, "over-unix\n") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "verify return:1") != NULL, "%s", out);
	free(sock);
}
END_TEST

/* A graceful close sends close_notify; the client's is end of stream. */
START_TEST(test_close_notify)
{
	struct cl	 cl;
	char		 buf[4];
	size_t		 n;

	ck_assert(cl_open(&cl, h_port(d, "echo"), "localhost", 0));
	ck_assert_int_eq(SSL_write(cl.ssl, "bye", 3), 3);
	ck_assert_uint_eq(cl_read_n(&cl, buf, 3), 3);
	SSL_shutdown(cl.ssl);	/* echo closes when we do */
	ck_assert_int_eq(SSL_read_ex(cl.ssl, buf, sizeof(buf), &n), 0);
	ck_assert_int_eq(SSL_get_error(cl.ssl, 0), SSL_ERROR_ZERO_RETURN);
	cl_close(&cl);
	ck_assert(h_log_wait(d, "closed (peer) after", 5000));

	/* no close_notify: a truncated stream, reported as a reset */
	ck_assert(cl_open(&cl, h_port(d, "echo"), "localhost", 0));
	ck_assert_int_eq(SSL_write(cl.ssl, "cut", 3), 3);
	ck_assert_uint_eq(cl_read_n(&cl, buf, 3), 3);
	cl_close(&cl);
	ck_assert(h_log_wait(d, "closed (reset) after", 5000));
}
END_TEST

/* Worker pids that logged a TLS handshake on listener echo. */
static int
npids(int port)
{
	char	*log = h_log_text(d), *p, *q;
	long	 pids[2] = { 0, 0 }, pid;
	int	 n = 0;

	for (p = log; (p = strstr(p, "asockd[")) != NULL; p = q) {
		pid = strtol(p + 7, &q, 10);
		if ((p = strchr(q, '\n')) == NULL)
			break;
		*p = '\0';
		if (strstr(q, "listener echo conn") != NULL &&
		    strstr(q, "TLS handshake done") != NULL && pid != pids[0] &&
		    pid != pids[1] && n < 2)
			pids[n++] = pid;
		q = p + 1;
	}
	free(log);
	return n;
}

/* Tickets resume on whichever of the two workers takes the connection. */
START_TEST(test_resumption)
{
	static char	 out[65536];
	char		*sess = h_expand("@TMP@/sess.pem");
	int		 i, port = h_port(d, "echo");

	/* the tickets come after the handshake: give them time */
	sh(out, sizeof(out), "sleep 1 | openssl s_client -connect "
	    "127.0.0.1:%d -CAfile %s/ca.pem -sess_out %s", port, certs, sess);
	ck_assert_msg(strstr(out, "New, TLSv1.3") != NULL, "%s", out);
	/* until both workers have resumed one (the kernel picks) */
	for (i = 0; i < 30 && npids(port) < 2; i++) {
		sh(out, sizeof(out), "sleep 0.5 | openssl s_client -connect "
		    "127.0.0.1:%d -CAfile %s/ca.pem -sess_in %s", port,
		    certs, sess);
		ck_assert_msg(strstr(out, "Reused, TLSv1.3") != NULL,
		    "try %d: %s", i, out);
	}
	ck_assert_int_eq(npids(port), 2);
	free(sess);
}
END_TEST

START_TEST(test_python_chat)
{
	static char	 out[65536];
	char		*py;
	int		 rc;

	/* the few MessagePack forms chat speaks here, by hand */
	py = h_write_file("chat.py",
	    "import socket, ssl, struct, sys\n"
	    "ctx = ssl.create_default_context(cafile=sys.argv[2])\n"
	    "raw = socket.create_connection(('127.0.0.1', int(sys.argv[1])),"
	    " timeout=5)\n"
	    "s = ctx.wrap_socket(raw, server_hostname='localhost')\n"
	    "def pack(v):\n"
	    "    b = bytes([0x90 | len(v)])\n"
	    "    for x in v:\n"
	    "        e = x.encode(); b += bytes([0xa0 | len(e)]) + e\n"
	    "    return b\n"
	    "def unpack(b):\n"
	    "    n = b[0] & 15; i = 1; r = []\n"
	    "    for _ in range(n):\n"
	    "        m = b[i] & 31\n"
	    "        r.append(b[i+1:i+1+m].decode()); i += 1 + m\n"
	    "    return r\n"
	    "def send(*v):\n"
	    "    b = pack(v)\n"
	    "    s.sendall(struct.pack('>I', len(b)) + b)\n"
	    "def recv():\n"
	    "    h = b''\n"
	    "    while len(h) < 4: h += s.recv(4 - len(h))\n"
	    "    n = struct.unpack('>I', h)[0]; b = b''\n"
	    "    while len(b) < n: b += s.recv(n - len(b))\n"
	    "    return unpack(b)\n"
	    "send('join', 'ann')\n"
	    "print(recv())\n"
	    "send('say', 'over tls')\n"
	    "print(recv())\n"
	    "print(s.version())\n"
	    "s.unwrap(); raw.close()\n");
	rc = sh(out, sizeof(out), "python3 %s %d %s/ca.pem", py,
	    h_port(d, "chat"), certs);
	free(py);
	ck_assert_msg(rc == 0, "%s", out);
	ck_assert_str_eq(out, "['joined', 'ann']\n['msg', 'ann', 'over tls']\n"
	    "TLSv1.3\n");
}
END_TEST

/* host->tls_info (ABI 1.3), through tests/plugins/tlsinfo.c */
START_TEST(test_tls_info)
{
	static char	 out[65536];
	char		 fp[200], want[512], *p;
	int		 fd;
	ssize_t		 n;

	sh(out, sizeof(out), "openssl x509 -in %s/client.pem -noout "
	    "-fingerprint -sha256", certs);
	ck_assert_ptr_nonnull(p = strchr(out, '='));
	snprintf(fp, sizeof(fp), "%.*s", (int)strcspn(p + 1, "\n"), p + 1);

	sh(out, sizeof(out), "echo x | openssl s_client -connect "
	    "127.0.0.1:%d -servername localhost -alpn y/2 -cert "
	    "%s/client.pem -key %s/client.key -quiet -ign_eof -tls1_3 "
	    "-ciphersuites TLS_AES_128_GCM_SHA256", h_port(d, "info"), certs,
	    certs);
	snprintf(want, sizeof(want), "rc=0\ntls=1\nversion=TLSv1.3\n"
	    "cipher=TLS_AES_128_GCM_SHA256\nsni=localhost\nalpn=y/2\n"
	    "cert=1\nsubject=CN=test client\nsha256=%s\nverify=0 \n", fp);
	ck_assert_msg(strstr(out, want) != NULL, "%s\nwant:\n%s", out, want);

	/*
	 * The server's default TLS 1.3 order: AES-128-GCM first, though
	 * OpenSSL's client offers AES-256-GCM first; one session ticket
	 * per handshake (OpenSSL's default would send two).
	 */
	sh(out, sizeof(out), "echo x | openssl s_client -connect "
	    "127.0.0.1:%d -servername localhost -ign_eof -tls1_3 2>&1",
	    h_port(d, "info"));
	ck_assert_msg(strstr(out, "cipher=TLS_AES_128_GCM_SHA256\n") != NULL,
	    "%s", out);
	for (n = 0, p = out; (p = strstr(p, "New Session Ticket arrived")) !=
	    NULL; p++)
		n++;
	ck_assert_msg(n == 1, "%zd tickets: %s", n, out);

	/* TLS 1.2, no SNI, no ALPN, no certificate */
	sh(out, sizeof(out), "echo x | openssl s_client -connect "
	    "127.0.0.1:%d -noservername -quiet -ign_eof -tls1_2",
	    h_port(d, "info"));
	ck_assert_msg(strstr(out, "rc=0\ntls=1\nversion=TLSv1.2\n") != NULL,
	    "%s", out);
	ck_assert_msg(strstr(out, "\nsni=\nalpn=\ncert=0\nsubject=\n"
	    "sha256=\nverify=0 \n") != NULL, "%s", out);

	fd = h_tcp_connect("127.0.0.1", h_port(d, "plain"));
	ck_assert_int_eq(h_write_all(fd, "x", 1), 1);
	n = h_read_eof(fd, out, sizeof(out) - 1, 5000);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_str_eq(out, "rc=0\ntls=0\nversion=\ncipher=\nsni=\n"
	    "alpn=\ncert=0\nsubject=\nsha256=\nverify=0 \n");
	close(fd);
}
END_TEST

/* Outbound host->connect("tls://..."), through tests/plugins/probe.c. */
START_TEST(test_outbound)
{
	char	 buf[4096], cmd[128];
	int	 fd;
	ssize_t	 n;

	fd = h_tcp_connect("127.0.0.1", h_port(d, "probe"));
	ck_assert_int_ge(fd, 0);
	snprintf(cmd, sizeof(cmd), "connect tls://localhost:%d\n",
	    h_port(d, "gen"));
	ck_assert_int_ge(h_write_all(fd, cmd, strlen(cmd)), 0);
	n = h_read_n(fd, buf, 11 + 8 + 10, 5000);
	ck_assert_int_eq(n, 29);
	ck_assert_int_eq(memcmp(buf, "connect ok\nremote: ", 19), 0);
	/* chargen's first line, decrypted by the host */
	ck_assert_int_eq(memcmp(buf + 19, " !\"#$%&'()", 10), 0);
	close(fd);

	/* an address literal is checked against the IP SAN */
	fd = h_tcp_connect("127.0.0.1", h_port(d, "probe"));
	snprintf(cmd, sizeof(cmd), "connect tls://127.0.0.1:%d\n",
	    h_port(d, "gen"));
	ck_assert_int_ge(h_write_all(fd, cmd, strlen(cmd)), 0);
	n = h_read_n(fd, buf, 11, 5000);
	ck_assert_msg(n == 11 && memcmp(buf, "connect ok\n", 11) == 0,
	    "%.*s", (int)(n > 0 ? n : 0), buf);
	close(fd);

	/* a certificate for another name: refused, on_connect says so */
	fd = h_tcp_connect("127.0.0.1", h_port(d, "probe"));
	snprintf(cmd, sizeof(cmd), "connect tls://localhost:%d\n",
	    h_port(d, "bname"));
	ck_assert_int_ge(h_write_all(fd, cmd, strlen(cmd)), 0);
	snprintf(cmd, sizeof(cmd), "connect error %d\n", EPROTO);
	n = h_read_n(fd, buf, strlen(cmd), 5000);
	ck_assert_int_eq(n, (ssize_t)strlen(cmd));
	ck_assert_int_eq(memcmp(buf, cmd, n), 0);
	close(fd);
	ck_assert(h_log_wait(d, "outbound probe conn", 5000));
	ck_assert(h_log_wait(d, "TLS handshake failed: certificate verify "
	    "failed", 5000));
}
END_TEST

/* ------------------------------------------------ daemons of their own */

/* A key only root may read works with daemon.user: the master reads it. */
START_TEST(test_root_key_user)
{
	struct daemon	*dd;
	struct cl	 cl;
	struct stat	 st;
	char		 buf[4], *key;

	if (geteuid() != 0) {
		/* the case needs root to drop privileges from */
		fprintf(stderr, "test_root_key_user: not root, skipped\n");
		return;
	}
	make_certs();
	key = h_expand("@TMP@/c/server.key");
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_int_eq(st.st_uid, 0);
	ck_assert_int_eq(st.st_mode & 077, 0);
	free(key);
	dd = start("daemon: { workers = 1; user = \"nobody\"; };\n"
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"echo\"; tls = { " TLS_KEYS " }; } );\n");
	ck_assert(cl_open(&cl, h_port(dd, "e"), "localhost", 0));
	ck_assert_int_eq(SSL_write(cl.ssl, "key", 3), 3);
	ck_assert_uint_eq(cl_read_n(&cl, buf, 3), 3);
	ck_assert_int_eq(memcmp(buf, "key", 3), 0);
	cl_close(&cl);
	ck_assert_int_eq(h_daemon_stop(dd, 10000), 0);
	h_daemon_free(dd);
}
END_TEST

/* SIGHUP loads a new certificate; a broken one keeps the old. */
START_TEST(test_reload)
{
	static const char conf[] =
	    "daemon: { workers = 1; };\n"
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"echo\"; tls = {\n"
	    "    certificate = \"@TMP@/r.pem\";\n"
	    "    key = \"@TMP@/r.key\"; }; } );\n";
	struct daemon	*dd;
	struct cl	 cl;
	char		 cn[128], out[256];
	int		 port;

	make_certs();
	sh(out, sizeof(out), "cp %s/server.pem %s/../r.pem && cp %s/server.key"
	    " %s/../r.key", certs, certs, certs, certs);
	dd = start(conf);
	port = h_port(dd, "e");
	ck_assert(cl_open(&cl, port, NULL, 0));
	cl_peer_cn(&cl, cn, sizeof(cn));
	ck_assert_str_eq(cn, "localhost");
	cl_close(&cl);

	/* broken: a key that does not match */
	sh(out, sizeof(out), "cp %s/other.key %s/../r.key", certs, certs);
	kill(dd->pid, SIGHUP);
	ck_assert(h_log_wait(dd, "does not match the certificate", 5000));
	ck_assert(h_log_wait(dd, "keeping the running configuration", 5000));
	ck_assert(cl_open(&cl, port, NULL, 0));
	cl_peer_cn(&cl, cn, sizeof(cn));
	ck_assert_str_eq(cn, "localhost");
	cl_close(&cl);

	/* a new pair: served by the new generation */
	sh(out, sizeof(out), "cp %s/b.pem %s/../r.pem && cp %s/b.key "
	    "%s/../r.key", certs, certs, certs, certs);
	kill(dd->pid, SIGHUP);
	ck_assert(h_log_wait(dd, "reload: ", 10000));
	ck_assert(h_log_wait(dd, "new worker", 10000));
	ck_assert(cl_open(&cl, port, NULL, 0));
	cl_peer_cn(&cl, cn, sizeof(cn));
	ck_assert_str_eq(cn, "b.example");
	cl_close(&cl);
	ck_assert_int_eq(h_daemon_stop(dd, 10000), 0);
	h_daemon_free(dd);
}
END_TEST

/* asockd -t on a config whose tls names cert and key; output in out. */
static int
check_conf(const char *cert, const char *key, char *out, size_t len)
{
	char	 text[1024], *conf, *bin = getenv("ASOCKD_BIN");
	char	*pdir = h_expand("@PLUGIN_DIR@");
	char	*argv[] = { bin, "-t", "-P", pdir, "-c", NULL, NULL };
	int	 rc;

	make_certs();
	snprintf(text, sizeof(text),
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"echo\"; tls = {\n"
	    "    certificate = \"@TMP@/c/%s\";\n"
	    "    key = \"@TMP@/c/%s\"; }; } );\n", cert, key);
	conf = h_write_file("t.conf", text);
	argv[5] = conf;
	rc = h_run(argv, out, len);
	free(conf);
	free(pdir);
	return rc;
}

START_TEST(test_check_files)
{
	static char	 out[65536];
	char		 want[1024];
	char		*conf = h_expand("@TMP@/t.conf");

	ck_assert_int_eq(check_conf("server.pem", "server.key", out,
	    sizeof(out)), 0);
	ck_assert_msg(strstr(out, "configuration OK") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "warning") == NULL, "%s", out);

	ck_assert_int_ne(check_conf("server.pem", "other.key", out,
	    sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s:5: tls: key: ", conf);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	ck_assert_msg(strstr(out, "does not match the certificate") != NULL,
	    "%s", out);

	ck_assert_int_ne(check_conf("missing.pem", "server.key", out,
	    sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s:4: listener 'e': tls: certificate:",
	    conf);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	ck_assert_msg(strstr(out, "No such file or directory") != NULL, "%s",
	    out);

	/* expired: a warning at the key's line, the check passes */
	ck_assert_int_eq(check_conf("expired.pem", "expired.key", out,
	    sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s:4: tls: certificate: ", conf);
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	ck_assert_msg(strstr(out, "expired on Feb  1 00:00:00 2020") != NULL,
	    "%s", out);

	ck_assert_int_ne(check_conf("misorder.pem", "server.key", out,
	    sizeof(out)), 0);
	ck_assert_msg(strstr(out, "chain out of order") != NULL, "%s", out);
	free(conf);
}
END_TEST

START_TEST(test_config_errors)
{
	static char	 out[65536];
	char		*conf, *bin = getenv("ASOCKD_BIN");
	char		*argv[] = { bin, "-t", "-c", NULL, NULL };

	make_certs();
	conf = h_write_file("e.conf",
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"echo\"; tls = { " TLS_KEYS "\n"
	    "    protocols = [ \"TLSv1.1\" ];\n"
	    "    verify_client = \"require\";\n"
	    "    bogus = 1; }; },\n"
	    "  { name = \"u\"; listen = \"udp://127.0.0.1:0\";\n"
	    "    plugin = \"echo\"; tls = { " TLS_KEYS " }; } );\n");
	argv[3] = conf;
	ck_assert_int_ne(h_run(argv, out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, ":4: listener 'e': tls: protocols: "
	    "'TLSv1.1' is not supported") != NULL, "%s", out);
	ck_assert_msg(strstr(out, ":5: listener 'e': tls: verify_client = "
	    "\"require\" needs client_ca") != NULL, "%s", out);
	ck_assert_msg(strstr(out, ":6: listener 'e': tls: unknown key "
	    "'bogus'") != NULL, "%s", out);
	ck_assert_msg(strstr(out, ":8: listener 'u': tls applies only to "
	    "stream listeners") != NULL, "%s", out);
	free(conf);
}
END_TEST

/* session_tickets = false: no ticket, so nothing resumes. */
START_TEST(test_no_tickets)
{
	static char	 out[65536];
	struct daemon	*dd;
	char		*sess = h_expand("@TMP@/nosess.pem");
	int		 port;

	dd = start("daemon: { workers = 1; };\n"
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"echo\";\n"
	    "    tls = { " TLS_KEYS " session_tickets = false; }; } );\n");
	port = h_port(dd, "e");
	sh(out, sizeof(out), "sleep 1 | openssl s_client -connect "
	    "127.0.0.1:%d -CAfile %s/ca.pem -sess_out %s", port, certs, sess);
	ck_assert_msg(strstr(out, "New, TLSv1.3") != NULL, "%s", out);
	/* TLS 1.3 without a ticket: s_client has no session to save */
	ck_assert_msg(access(sess, F_OK) == -1, "a session was saved");
	free(sess);
	ck_assert_int_eq(h_daemon_stop(dd, 10000), 0);
	h_daemon_free(dd);
}
END_TEST

/* The first 16 bytes of a saved session's ticket: the key's name. */
static void
ticket_name(const char *sess, char *name, size_t len)
{
	static char	 out[65536];
	char		*p;

	sh(out, sizeof(out), "openssl sess_id -in %s -noout -text", sess);
	p = strstr(out, "TLS session ticket:");
	ck_assert_msg(p != NULL, "%s", out);
	p = strstr(p, "0000 - ");
	ck_assert_ptr_nonnull(p);
	snprintf(name, len, "%.47s", p + 7);	/* 16 bytes in hex */
}

/*
 * Ticket keys rotate with the clock: an hour later a ticket is still
 * taken (the previous key) and the new one is under another key name.
 * tests/preload/clock.so moves the daemon's time().
 */
START_TEST(test_ticket_rotation)
{
	static char	 out[65536];
	struct daemon	*dd;
	char		 pre[1024], n1[64], n2[64], *clk, *s1, *s2;
	char		 opts[1024], *saved;
	const char	*asan = getenv("ASAN_OPTIONS");
	int		 port;

	make_certs();
	clk = h_write_file("clock", "0\n");
	s1 = h_expand("@TMP@/rot1.pem");
	s2 = h_expand("@TMP@/rot2.pem");
	snprintf(pre, sizeof(pre), "%s/clock.so",
	    getenv("ASOCKD_PRELOAD_DIR"));
	ck_assert_int_eq(access(pre, R_OK), 0);
	setenv("LD_PRELOAD", pre, 1);
	setenv("ASOCKD_TEST_CLOCK", clk, 1);
	/* an --enable-asan daemon accepts a library loaded before its
	 * runtime only with this (CI sets ASAN_OPTIONS: append to it) */
	saved = asan != NULL ? strdup(asan) : NULL;
	snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0",
	    asan != NULL ? asan : "", asan != NULL && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	dd = start("daemon: { workers = 2; };\n"
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"echo\"; tls = { " TLS_KEYS " }; } );\n");
	unsetenv("LD_PRELOAD");
	if (saved != NULL)
		setenv("ASAN_OPTIONS", saved, 1);
	else
		unsetenv("ASAN_OPTIONS");
	free(saved);
	port = h_port(dd, "e");

	sh(out, sizeof(out), "sleep 1 | openssl s_client -connect "
	    "127.0.0.1:%d -CAfile %s/ca.pem -sess_out %s", port, certs, s1);
	ck_assert_msg(strstr(out, "New, TLSv1.3") != NULL, "%s", out);
	ticket_name(s1, n1, sizeof(n1));

	free(h_write_file("clock", "3600\n"));
	sh(out, sizeof(out), "sleep 1 | openssl s_client -connect "
	    "127.0.0.1:%d -CAfile %s/ca.pem -sess_in %s -sess_out %s", port,
	    certs, s1, s2);
	ck_assert_msg(strstr(out, "Reused, TLSv1.3") != NULL, "%.2000s", out);
	ticket_name(s2, n2, sizeof(n2));
	ck_assert_msg(strcmp(n1, n2) != 0, "the key did not rotate: %s", n1);

	ck_assert_int_eq(h_daemon_stop(dd, 10000), 0);
	h_daemon_free(dd);
	free(clk);
	free(s1);
	free(s2);
}
END_TEST

/* Handshake failures from one address are rate-limited in the log. */
START_TEST(test_log_ratelimit)
{
	struct daemon	*dd;
	int		 i, fd, n;

	dd = start("daemon: { workers = 1; };\n"
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"echo\"; tls = { " TLS_KEYS " }; } );\n");
	for (i = 0; i < 25; i++) {
		fd = h_tcp_connect("127.0.0.1", h_port(dd, "e"));
		ck_assert_int_ge(h_write_all(fd, "garbage!\r\n\r\n", 12),
		    0);
		ck_assert(h_wait_eof(fd, 5000));
		close(fd);
	}
	n = h_log_count(dd, "TLS handshake failed");
	/* ten a minute; a minute boundary in between allows ten more */
	ck_assert_int_ge(n, 10);
	ck_assert_int_le(n, 20);
	ck_assert_int_eq(h_daemon_stop(dd, 10000), 0);
	h_daemon_free(dd);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite	*s = suite_create("tls");
	TCase	*tc;

	tc = tcase_create("main");
	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_s_client_http);
	tcase_add_test(tc, test_curl);
	tcase_add_test(tc, test_echo_10mb);
	tcase_add_test(tc, test_sni);
	tcase_add_test(tc, test_mtls);
	tcase_add_test(tc, test_tls11_refused);
	tcase_add_test(tc, test_never_reads);
	tcase_add_test(tc, test_garbage_and_stall);
	tcase_add_test(tc, test_close_notify);
	tcase_add_test(tc, test_unix);
	tcase_add_test(tc, test_renegotiation);
	tcase_add_test(tc, test_resumption);
	tcase_add_test(tc, test_python_chat);
	tcase_add_test(tc, test_tls_info);
	tcase_add_test(tc, test_outbound);
	suite_add_tcase(s, tc);

	tc = tcase_create("own");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_root_key_user);
	tcase_add_test(tc, test_reload);
	tcase_add_test(tc, test_check_files);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_log_ratelimit);
	tcase_add_test(tc, test_no_tickets);
	tcase_add_test(tc, test_ticket_rotation);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(tls_suite());
}
