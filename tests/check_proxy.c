/*
 * check_proxy.c - the proxy plugin through the real daemon, against
 * upstream servers the test forks on loopback ports.
 *
 * An upstream (up_start) is a process group: a listener on 127.0.0.1:0
 * that forks a handler per connection.  What a handler does is its mode:
 * say its tag and echo, echo and answer the end of stream with "EOF\n",
 * never read, reset after the first byte, or record how the client side
 * ended (eof / reset) in a file.  Each test starts a daemon with one
 * worker whose proxy INI file names the upstreams.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define TMO	5000

enum up_mode { UP_TAG, UP_EOF, UP_SINK, UP_RESET, UP_WATCH, UP_STALL };

struct up {
	pid_t	 pid;
	int	 port;
};

static struct daemon	*d;
static struct up	 ups[4];
static int		 nups;

/* The handler of one upstream connection, in its own process. */
static void __attribute__((noreturn))
up_handle(int fd, int mode, const char *tag)
{
	struct linger	 lg = { 1, 0 };
	char		 buf[65536], *path;
	ssize_t		 n;
	FILE		*fp;

	if (mode == UP_TAG)
		(void)h_write_all(fd, tag, strlen(tag));
	if (mode == UP_SINK) {
		pause();
		_exit(0);
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		if (mode == UP_RESET) {
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(fd);
			_exit(0);
		}
		if (mode != UP_WATCH && h_write_all(fd, buf, n) != n)
			break;
	}
	if (mode == UP_EOF && n == 0)
		(void)h_write_all(fd, "EOF\n", 4);
	if (mode == UP_WATCH) {
		path = h_expand("@TMP@/watch");
		if ((fp = fopen(path, "w")) != NULL) {
			fprintf(fp, "%s\n", n == 0 ? "eof" : errno ==
			    ECONNRESET ? "reset" : "error");
			fclose(fp);
		}
	}
	_exit(0);
}

static struct up
up_start(int mode, const char *tag)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct up		 u;
	int			 fd, c, one = 1;

	(void)h_tmpdir();	/* the handlers write into the parent's */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, mode == UP_STALL ? 0 : 128), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	u.port = ntohs(sin.sin_port);
	u.pid = fork();
	ck_assert_int_ge(u.pid, 0);
	if (u.pid == 0) {
		setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN);	/* no zombies of handlers */
		if (mode == UP_STALL) {
			pause();
			_exit(0);
		}
		for (;;) {
			if ((c = accept(fd, NULL, NULL)) == -1)
				continue;
			if (fork() == 0) {
				close(fd);
				up_handle(c, mode, tag);
			}
			close(c);
		}
	}
	setpgid(u.pid, u.pid);
	close(fd);
	ups[nups++] = u;
	return u;
}

/* A port nothing listens on. */
static int
free_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static void
teardown(void)
{
	int	 i;

	if (d != NULL) {
		h_daemon_stop(d, 10000);
		h_daemon_free(d);
		d = NULL;
	}
	for (i = 0; i < nups; i++) {
		kill(-ups[i].pid, SIGKILL);
		waitpid(ups[i].pid, NULL, 0);
	}
	nups = 0;
}

static const char conf_text[] =
	"daemon: { workers = 1; };\n"
	"plugins: { proxy = { path = \"proxy.so\";\n"
	"    config = \"@TMP@/proxy.ini\"; };\n"
	"  ok = { path = \"proxy.so\"; config = \"@TMP@/ok.ini\"; }; };\n"
	"listeners: (\n"
	"  { name = \"proxy\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"proxy\"; },\n"
	"  { name = \"ok\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"ok\"; }\n"
	");\n";

/* Start the daemon with proxy.ini = ini; ok.ini goes to ok_port. */
static int
start(const char *ini, int ok_port)
{
	char	 text[256], *p;
	int	 port;

	p = h_write_file("proxy.ini", ini);
	free(p);
	snprintf(text, sizeof(text), "[upstreams]\nok = tcp://127.0.0.1:%d\n",
	    ok_port > 0 ? ok_port : free_port());
	p = h_write_file("ok.ini", text);
	free(p);
	d = h_daemon_start(conf_text, (char *)NULL);
	ck_assert_ptr_nonnull(d);
	port = h_port(d, "proxy");
	ck_assert_int_gt(port, 0);
	return port;
}

static char *
ini_of(const char *extra, int a, int b)
{
	static char	 text[512];

	snprintf(text, sizeof(text), "[proxy]\n%s[upstreams]\n"
	    "a = tcp://127.0.0.1:%d\nb = tcp://127.0.0.1:%d\n", extra, a, b);
	return text;
}

/* Connect, send a line, read the upstream's tag (2 bytes). */
static int
tag_of(int port, char *tag)
{
	int	 fd = h_tcp_connect("127.0.0.1", port);
	ssize_t	 n;

	ck_assert_int_ge(fd, 0);
	n = h_read_n(fd, tag, 2, TMO);
	close(fd);
	return n == 2 ? 0 : -1;
}

START_TEST(test_round_robin)
{
	struct up	 a = up_start(UP_TAG, "A\n");
	struct up	 b = up_start(UP_TAG, "B\n");
	char		 tag[3] = "", prev = 0;
	int		 port, i, na = 0, nb = 0;

	port = start(ini_of("", a.port, b.port), 0);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(tag_of(port, tag), 0);
		ck_assert(tag[0] == 'A' || tag[0] == 'B');
		ck_assert_int_ne(tag[0], prev);		/* alternating */
		prev = tag[0];
		if (tag[0] == 'A')
			na++;
		else
			nb++;
	}
	ck_assert_int_eq(na, 5);
	ck_assert_int_eq(nb, 5);
	ck_assert(h_log_wait(d, "upstream a (tcp://127.0.0.1:", TMO));
	ck_assert(h_log_wait(d, "upstream b (tcp://127.0.0.1:", TMO));
}
END_TEST

/* Weights and least_conn take the same path; weight 3:1 gives 6:2. */
START_TEST(test_weight)
{
	struct up	 a = up_start(UP_TAG, "A\n");
	struct up	 b = up_start(UP_TAG, "B\n");
	char		 ini[512], tag[3] = "";
	int		 port, i, na = 0;

	snprintf(ini, sizeof(ini), "[upstreams]\na = tcp://127.0.0.1:%d"
	    " weight=3\nb = tcp://127.0.0.1:%d\n", a.port, b.port);
	port = start(ini, 0);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(tag_of(port, tag), 0);
		na += tag[0] == 'A';
	}
	ck_assert_int_eq(na, 6);
}
END_TEST

START_TEST(test_least_conn)
{
	struct up	 a = up_start(UP_TAG, "A\n");
	struct up	 b = up_start(UP_TAG, "B\n");
	char		 t1[3] = "", t2[3] = "", t3[3] = "";
	int		 port, f1, f2, f3, i;

	port = start(ini_of("balance = least_conn\n", a.port, b.port), 0);
	f1 = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_eq(h_read_n(f1, t1, 2, TMO), 2);
	f2 = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_eq(h_read_n(f2, t2, 2, TMO), 2);
	ck_assert_int_ne(t1[0], t2[0]);
	/* f2's upstream is busy, f1's is free again: the next goes there */
	close(f1);
	for (i = 0; i < 100 && h_log_count(d, ": closed (") < 2; i++)
		usleep(50000);
	ck_assert_int_eq(h_log_count(d, ": closed ("), 2);
	f3 = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_eq(h_read_n(f3, t3, 2, TMO), 2);
	ck_assert_int_eq(t3[0], t1[0]);
	close(f2);
	close(f3);
}
END_TEST

START_TEST(test_source_hash)
{
	struct up	 a = up_start(UP_TAG, "A\n");
	struct up	 b = up_start(UP_TAG, "B\n");
	char		 tag[3] = "", first = 0;
	int		 port, i;

	port = start(ini_of("balance = source_hash\n", a.port, b.port), 0);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(tag_of(port, tag), 0);
		if (i == 0)
			first = tag[0];
		ck_assert_int_eq(tag[0], first);	/* one client address */
	}
}
END_TEST

/* One upstream down: every client still gets through. */
START_TEST(test_upstream_down)
{
	struct up	 a = up_start(UP_TAG, "A\n");
	char		 tag[3] = "";
	int		 port, i;

	port = start(ini_of("fail_timeout = 30\n", free_port(), a.port), 0);
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(tag_of(port, tag), 0);
		ck_assert_int_eq(tag[0], 'A');
	}
	ck_assert(h_log_wait(d, "upstream a (tcp://127.0.0.1:", TMO));
	ck_assert(h_log_wait(d, "marked down for 30.0 s", TMO));
	/* down means not tried: one refused connect, not twenty */
	ck_assert_int_eq(h_log_count(d, "connect failed"), 1);
}
END_TEST

/* An upstream that does not accept in connect_timeout: the next one. */
START_TEST(test_connect_timeout)
{
	struct up	 s = up_start(UP_STALL, NULL);
	struct up	 b = up_start(UP_TAG, "B\n");
	struct sockaddr_in sin;
	char		 tag[3] = "";
	int		 port, i, fill[4];

	/* fill the stalled listener's accept queue (backlog 0) */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(s.port);
	for (i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		(void)connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(100000);
	port = start(ini_of("connect_timeout = 0.5\n", s.port, b.port), 0);
	ck_assert_int_eq(tag_of(port, tag), 0);
	ck_assert_int_eq(tag[0], 'B');
	ck_assert(h_log_wait(d, "no connection after 0.5 s", TMO));
	for (i = 0; i < 4; i++)
		close(fill[i]);
}
END_TEST

/* An upstream that never reads: memory stays bounded, others flow. */
START_TEST(test_never_reads)
{
	struct up	 s = up_start(UP_SINK, NULL);
	struct up	 e = up_start(UP_EOF, NULL);
	static char	 buf[65536];
	char		 ini[256], out[16];
	long long	 total = 0, end;
	pid_t		 worker;
	char		*log, *p;
	ssize_t		 n;
	int		 port, fd, ok;

	snprintf(ini, sizeof(ini), "[upstreams]\ns = tcp://127.0.0.1:%d\n",
	    s.port);
	port = start(ini, e.port);
	ck_assert(h_log_wait(d, "worker 0 started (pid ", TMO));
	log = h_log_text(d);
	p = strstr(log, "worker 0 started (pid ");
	worker = atol(p + strlen("worker 0 started (pid "));
	free(log);
	fd = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_ge(fd, 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	memset(buf, 'x', sizeof(buf));
	end = h_now_ms() + 3000;
	while (h_now_ms() < end && total < (1LL << 30)) {
		n = write(fd, buf, sizeof(buf));
		if (n > 0)
			total += n;
		else
			usleep(10000);
	}
	/* the pair holds at most its queues; the rest waits in kernels */
	ck_assert_int_lt(total, 64LL << 20);
	ck_assert_int_lt(h_rss_kb(worker), 64 * 1024);
	/* the other pool still works */
	ok = h_tcp_connect("127.0.0.1", h_port(d, "ok"));
	ck_assert_int_eq(h_write_all(ok, "hi", 2), 2);
	shutdown(ok, SHUT_WR);
	n = h_read_eof(ok, out, sizeof(out) - 1, TMO);
	ck_assert_int_eq(n, 6);
	out[n] = '\0';
	ck_assert_str_eq(out, "hiEOF\n");
	close(ok);
	close(fd);
}
END_TEST

static uint32_t
xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* 100 MB up and back down through the proxy, compared by checksum. */
START_TEST(test_bulk)
{
	struct up	 e = up_start(UP_EOF, NULL);
	static unsigned char out[65536], in[65536];
	const long long	 want = 100LL << 20;
	long long	 sent = 0, got = 0, end;
	uint32_t	 seed = 1, hs = 2166136261u, hr = 2166136261u;
	struct pollfd	 pfd;
	size_t		 olen = 0, ooff = 0, i;
	char		 ini[256];
	ssize_t		 n;
	int		 port, fd, shut = 0;

	snprintf(ini, sizeof(ini), "[upstreams]\ne = tcp://127.0.0.1:%d\n",
	    e.port);
	port = start(ini, 0);
	fd = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_ge(fd, 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	end = h_now_ms() + 120000;
	while (h_now_ms() < end) {
		if (ooff == olen && sent < want) {
			for (i = 0; i < sizeof(out); i += 4) {
				uint32_t v = xorshift(&seed);

				memcpy(out + i, &v, 4);
			}
			olen = sizeof(out);
			ooff = 0;
			for (i = 0; i < olen; i++)
				hs = (hs ^ out[i]) * 16777619u;
		}
		if (sent == want && !shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | (ooff < olen ? POLLOUT : 0);
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && ooff < olen) {
			n = write(fd, out + ooff, olen - ooff);
			if (n > 0) {
				ooff += n;
				sent += n;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP)) {
			n = read(fd, in, sizeof(in));
			if (n == 0)
				break;
			if (n > 0) {
				for (i = 0; i < (size_t)n && got + (long long)i
				    < want; i++)
					hr = (hr ^ in[i]) * 16777619u;
				got += n;
			}
		}
	}
	close(fd);
	ck_assert_int_eq(sent, want);
	ck_assert_int_eq(got, want + 4);	/* and "EOF\n" */
	ck_assert_uint_eq(hr, hs);
}
END_TEST

/* The client's half-close reaches the upstream, which still answers. */
START_TEST(test_half_close)
{
	struct up	 e = up_start(UP_EOF, NULL);
	char		 ini[256], out[32];
	ssize_t		 n;
	int		 port, fd;

	snprintf(ini, sizeof(ini), "[upstreams]\ne = tcp://127.0.0.1:%d\n",
	    e.port);
	port = start(ini, 0);
	fd = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_eq(h_write_all(fd, "abc", 3), 3);
	shutdown(fd, SHUT_WR);
	n = h_read_eof(fd, out, sizeof(out) - 1, TMO);
	ck_assert_int_eq(n, 7);
	out[n] = '\0';
	ck_assert_str_eq(out, "abcEOF\n");
	close(fd);
}
END_TEST

/* A reset on either side reaches the other as a reset. */
START_TEST(test_reset)
{
	struct up	 r = up_start(UP_RESET, NULL);
	struct up	 w = up_start(UP_WATCH, NULL);
	struct linger	 lg = { 1, 0 };
	char		 ini[256], buf[16], *path;
	FILE		*fp;
	ssize_t		 n;
	int		 port, fd, i;

	snprintf(ini, sizeof(ini), "[upstreams]\nr = tcp://127.0.0.1:%d\n",
	    r.port);
	port = start(ini, w.port);
	/* the upstream resets: the client gets ECONNRESET, not an EOF */
	fd = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_eq(h_write_all(fd, "x", 1), 1);
	n = h_read_eof(fd, buf, sizeof(buf), TMO);
	ck_assert_int_le(n, 0);
	ck_assert_int_eq(errno, ECONNRESET);
	close(fd);
	/* the client resets: the upstream sees a reset */
	fd = h_tcp_connect("127.0.0.1", h_port(d, "ok"));
	ck_assert_int_eq(h_write_all(fd, "hello", 5), 5);
	ck_assert(h_log_wait(d, "upstream ok (tcp://", TMO));
	usleep(100000);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	path = h_expand("@TMP@/watch");
	for (i = 0; i < 100 && access(path, F_OK) != 0; i++)
		usleep(50000);
	usleep(50000);
	fp = fopen(path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	ck_assert_str_eq(buf, "reset\n");
	free(path);
}
END_TEST

/* The listener's idle_timeout ends a silent pair, both sides. */
START_TEST(test_idle)
{
	struct up	 s = up_start(UP_SINK, NULL);
	char		 text[256], buf[8];
	int		 fd;

	snprintf(text, sizeof(text), "[upstreams]\ns = tcp://127.0.0.1:%d\n",
	    s.port);
	free(h_write_file("idle.ini", text));
	d = h_daemon_start("daemon: { workers = 1; };\n"
	    "plugins: { p = { path = \"proxy.so\";"
	    " config = \"@TMP@/idle.ini\"; }; };\n"
	    "listeners: ( { name = \"p\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"p\"; idle_timeout = 0.5; } );\n", (char *)NULL);
	ck_assert_ptr_nonnull(d);
	fd = h_tcp_connect("127.0.0.1", h_port(d, "p"));
	ck_assert_int_ge(fd, 0);
	ck_assert(h_log_wait(d, "upstream s (tcp://", TMO));
	ck_assert_int_le(h_read_eof(fd, buf, sizeof(buf), TMO), 0);
	ck_assert(h_log_wait(d, "closed (timeout)", TMO));
	/* and the upstream side goes with it */
	snprintf(text, sizeof(text), "outbound p conn 2 peer 127.0.0.1:%d:"
	    " closed (local)", s.port);
	ck_assert(h_log_wait(d, text, TMO));
	close(fd);
}
END_TEST

START_TEST(test_bad_settings)
{
	char	 out[4096], *conf, *ini, *ok;
	char	*argv[] = { "asockd", "-t", "-c", NULL, "-P", NULL, NULL };
	int	 rc;

	ok = h_write_file("ok.ini", "[upstreams]\nok = tcp://127.0.0.1:1\n");
	conf = h_write_file("proxy.conf", conf_text);
	argv[3] = conf;
	argv[5] = getenv("ASOCKD_PLUGIN_DIR");
	ini = h_write_file("proxy.ini", "[proxy]\nbalance = random\n"
	    "[upstreams]\na = tcp://127.0.0.1:1\n");
	rc = h_run(argv, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "proxy.ini:2: [proxy] balance") != NULL,
	    "%s", out);
	free(ini);
	ini = h_write_file("proxy.ini", "[upstreams]\na = udp://1.2.3.4:5\n");
	rc = h_run(argv, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "is not a tcp://, tls:// or unix: address") !=
	    NULL, "%s", out);
	free(ini);
	ini = h_write_file("proxy.ini", "[proxy]\ntries = 2\n");
	rc = h_run(argv, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "no upstream") != NULL, "%s", out);
	free(ini);
	free(conf);
	free(ok);
}
END_TEST

/* A client bound to 127.0.0.2, connected to the proxy on 127.0.0.1. */
static int
connect_from2(int port, int *srcport)
{
	struct sockaddr_in	 a, b;
	socklen_t		 len = sizeof(a);
	int			 fd;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
	b = a;
	inet_pton(AF_INET, "127.0.0.1", &b.sin_addr);
	b.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&b, sizeof(b)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*srcport = ntohs(a.sin_port);
	return fd;
}

/*
 * send_proxy = v1 and v2 (version 0: off): the upstream is a second
 * asockd whose listener expects that version (from 127.0.0.1 only) and
 * echoes; its log names the real client, 127.0.0.2 and its port, not the
 * proxy.  With tls the upstream's listener speaks TLS (certificates of
 * tests/tls.sh, its CA as the proxy's "system store") and the proxy's
 * upstream is tls://localhost:PORT: the PROXY header goes in the clear
 * before the handshake, the bytes through TLS.
 */
static void
send_proxy_check(int version, int tls)
{
	struct daemon	*u;
	char		 conf[1024], ini[256], want[64], buf[8], pp[96];
	char		*cmd, *ca;
	int		 port, fd, sport;

	pp[0] = '\0';
	if (version > 0)
		snprintf(pp, sizeof(pp), " proxy_protocol = \"v%d\";\n"
		    "    proxy_trusted = \"127.0.0.1\";", version);
	if (tls) {
		cmd = h_expand("sh @SRCDIR@/tests/tls.sh @TMP@/c");
		ck_assert_int_eq(system(cmd), 0);
		free(cmd);
		ca = h_expand("@TMP@/c/ca.pem");
		setenv("SSL_CERT_FILE", ca, 1);	/* the proxy trusts it */
		free(ca);
	}
	snprintf(conf, sizeof(conf),
	    "daemon: { workers = 1; log_level = \"info\"; };\n"
	    "plugins: { echo = { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"up\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"echo\";%s%s } );\n", pp, tls ?
	    " tls = { certificate = \"@TMP@/c/server.pem\";\n"
	    "    key = \"@TMP@/c/server.key\"; };" : "");
	u = h_daemon_start(conf, (char *)NULL);
	ck_assert_ptr_nonnull(u);
	snprintf(ini, sizeof(ini), "[proxy]\nsend_proxy = %s%.0d\n"
	    "[upstreams]\nup = %s://%s:%d\n", version > 0 ? "v" : "off",
	    version, tls ? "tls" : "tcp", tls ? "localhost" : "127.0.0.1",
	    h_port(u, "up"));
	port = start(ini, 0);
	fd = connect_from2(port, &sport);
	ck_assert_int_eq(h_write_all(fd, "ping\n", 5), 5);
	ck_assert_msg(h_read_n(fd, buf, 5, TMO) == 5, "%s\n---\n%s",
	    h_log_text(d), h_log_text(u));
	ck_assert(memcmp(buf, "ping\n", 5) == 0);
	close(fd);
	snprintf(want, sizeof(want), "peer 127.0.0.%d:%d:", version > 0 ?
	    2 : 1, version > 0 ? sport : 0);
	if (version > 0)
		ck_assert_msg(h_log_wait(u, want, TMO), "%s", h_log_text(u));
	ck_assert_int_eq(h_log_count(u, "PROXY header"), 0);
	ck_assert_int_eq(h_log_count(u, "TLS:"), 0);
	ck_assert_int_eq(h_daemon_stop(u, 10000), 0);
	h_daemon_free(u);
}

START_TEST(test_send_proxy_v1)
{
	send_proxy_check(1, 0);
}
END_TEST

START_TEST(test_send_proxy_v2)
{
	send_proxy_check(2, 0);
}
END_TEST

/* A tls:// upstream, verified against its CA, with and without PROXY. */
START_TEST(test_tls_upstream)
{
	send_proxy_check(0, 1);
}
END_TEST

START_TEST(test_send_proxy_v2_tls)
{
	send_proxy_check(2, 1);
}
END_TEST

/*
 * A tls:// upstream whose certificate does not verify (no CA given: the
 * system store does not know the test CA) is a failed connect: the
 * client is closed, the proxy's log says why.
 */
START_TEST(test_tls_upstream_unverified)
{
	struct daemon	*u;
	char		 conf[512], ini[256], *cmd, buf[8];
	int		 port, fd;

	cmd = h_expand("sh @SRCDIR@/tests/tls.sh @TMP@/c");
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	unsetenv("SSL_CERT_FILE");
	snprintf(conf, sizeof(conf),
	    "daemon: { workers = 1; };\n"
	    "plugins: { echo = { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"up\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"echo\"; tls = {\n"
	    "    certificate = \"@TMP@/c/server.pem\";\n"
	    "    key = \"@TMP@/c/server.key\"; }; } );\n");
	u = h_daemon_start(conf, (char *)NULL);
	ck_assert_ptr_nonnull(u);
	snprintf(ini, sizeof(ini), "[proxy]\ntries = 1\n[upstreams]\n"
	    "up = tls://localhost:%d\n", h_port(u, "up"));
	port = start(ini, 0);
	fd = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_ge(fd, 0);
	(void)h_write_all(fd, "ping\n", 5);
	ck_assert_int_le(h_read_n(fd, buf, 5, TMO), 0);
	close(fd);
	/* why, in the proxy's log: the handshake, not the TCP connect */
	ck_assert_msg(h_log_wait(d, "certificate verify failed (server"
	    " certificate: ", TMO), "%s", h_log_text(d));
	ck_assert_msg(h_log_wait(d, "upstream up (tls://localhost:", TMO),
	    "%s", h_log_text(d));
	ck_assert_int_eq(h_daemon_stop(u, 10000), 0);
	h_daemon_free(u);
}
END_TEST

static Suite *
proxy_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("proxy");
	tc = tcase_create("proxy");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_round_robin);
	tcase_add_test(tc, test_weight);
	tcase_add_test(tc, test_least_conn);
	tcase_add_test(tc, test_source_hash);
	tcase_add_test(tc, test_upstream_down);
	tcase_add_test(tc, test_connect_timeout);
	tcase_add_test(tc, test_never_reads);
	tcase_add_test(tc, test_bulk);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_idle);
	tcase_add_test(tc, test_bad_settings);
	tcase_add_test(tc, test_send_proxy_v1);
	tcase_add_test(tc, test_send_proxy_v2);
	tcase_add_test(tc, test_tls_upstream);
	tcase_add_test(tc, test_send_proxy_v2_tls);
	tcase_add_test(tc, test_tls_upstream_unverified);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(proxy_suite());
}
