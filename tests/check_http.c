/*
 * check_http.c - the http plugin, through the real daemon.
 *
 * Two daemons run for the whole suite (unchecked fixtures): one with no
 * INI file, answering "hello\n" to every GET, and one serving a document
 * root with small limits.  Each test opens its own connections and reads
 * whole responses (status line, headers, Content-Length bytes of body).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "harness.h"

#define CONF_HEAD							\
	"daemon: { log_level = \"debug\"; workers = 1; };\n"

static const char conf_default[] = CONF_HEAD
	"plugins: { http: { path = \"http.so\"; }; };\n"
	"listeners: ( { name = \"web\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"http\"; } );\n";

static const char conf_root[] = CONF_HEAD
	"plugins: { http: { path = \"http.so\";\n"
	"    config = \"@TMP@/http.ini\"; }; };\n"
	"listeners: ( { name = \"web\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"http\"; } );\n";

static const char ini_root[] =
	"[http]\n"
	"root = @TMP@/www\n"
	"max_request_line = 256\n"
	"max_header_size = 1024\n"
	"server_header = off\n";

static const char ini_stream[] =
	"[http]\n"
	"root = @TMP@/www\n"
	"header_timeout = 1\n"
	"lingering_time = 1\n"
	"lingering_size = 65536\n";

#define BIG_SIZE	(1024 * 1024)	/* = the default max_file_size */

static struct daemon	*d;
static int		 port;

/* A buffered reader over one client socket. */
struct rd {
	int	 fd;
	char	 buf[65536];
	size_t	 len;
};

/* One parsed response. */
struct resp {
	int	 status;
	char	 head[4096];	/* status line and headers, NUL-terminated */
	char	 body[4096];
	long	 bodylen;
};

static void
start(const char *conf)
{
	char	*dir;

	dir = h_expand("@PLUGIN_DIR@");
	d = h_daemon_start(conf, "-P", dir, (char *)NULL);
	free(dir);
	ck_assert_ptr_nonnull(d);
	port = h_port(d, "web");
	ck_assert_int_gt(port, 0);
}

static void
stop(void)
{
	if (d != NULL) {
		h_daemon_stop(d, 5000);
		h_daemon_free(d);
		d = NULL;
	}
}

static void
setup_default(void)
{
	start(conf_default);
}

static void
mkfile(const char *rel, const char *text)
{
	char	 path[1024];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", h_tmpdir(), rel);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void
setup_root(void)
{
	char	 path[1024], target[1024];

	snprintf(path, sizeof(path), "%s/www", h_tmpdir());
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/www/sub", h_tmpdir());
	mkdir(path, 0755);
	mkfile("www/index.html", "<p>index</p>\n");
	mkfile("www/a.txt", "file a\n");
	mkfile("www/sub/b.css", "b{}\n");
	mkfile("secret.txt", "secret\n");
	snprintf(path, sizeof(path), "%s/www/link", h_tmpdir());
	snprintf(target, sizeof(target), "%s/secret.txt", h_tmpdir());
	(void)symlink(target, path);
	free(h_write_file("http.ini", ini_root));
	start(conf_root);
}

/* Byte i of www/big.bin. */
static unsigned char
big_at(size_t i)
{
	return ((i * 131 + i / 4096) & 0xff);
}

static void
setup_stream(void)
{
	char		 path[1024];
	unsigned char	*buf;
	FILE		*f;
	size_t		 i;

	snprintf(path, sizeof(path), "%s/www", h_tmpdir());
	mkdir(path, 0755);
	mkfile("www/a.txt", "file a\n");
	snprintf(path, sizeof(path), "%s/www/big.bin", h_tmpdir());
	buf = malloc(BIG_SIZE);
	ck_assert_ptr_nonnull(buf);
	for (i = 0; i < BIG_SIZE; i++)
		buf[i] = big_at(i);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, BIG_SIZE, f), BIG_SIZE);
	fclose(f);
	free(buf);
	free(h_write_file("http.ini", ini_stream));
	start(conf_root);
}

/* The worker's pid, from its "worker 0 started (pid N)" log line. */
static pid_t
worker_pid(void)
{
	char		*log, *s;
	long		 pid = -1;

	ck_assert(h_log_wait(d, " started (pid ", 5000));
	log = h_log_text(d);
	if ((s = strstr(log, " started (pid ")) != NULL)
		pid = strtol(s + 14, NULL, 10);
	free(log);
	ck_assert_int_gt(pid, 0);
	return ((pid_t)pid);
}

/* Wait up to ms for at least n log lines containing s. */
static int
log_wait_count(const char *s, int n, int ms)
{
	long long	 end = h_now_ms() + ms;

	while (h_log_count(d, s) < n) {
		if (h_now_ms() > end)
			return (0);
		usleep(20000);
	}
	return (1);
}

static int
connect_web(struct rd *r)
{
	r->fd = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_ge(r->fd, 0);
	r->len = 0;
	return (r->fd);
}

static void
put_n(struct rd *r, const char *s, size_t n)
{
	ck_assert_int_eq(h_write_all(r->fd, s, n), (ssize_t)n);
}

static void
put(struct rd *r, const char *s)
{
	put_n(r, s, strlen(s));
}

/* Read more bytes into r; 0 on EOF or timeout. */
static ssize_t
fill(struct rd *r)
{
	ssize_t	 n;

	if (r->len == sizeof(r->buf))
		return (0);
	do
		n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
	while (n == -1 && errno == EINTR);
	if (n <= 0)
		return (0);
	r->len += n;
	return (n);
}

/* The value of header name in p (a static copy), or NULL. */
static const char *
header(const struct resp *p, const char *name)
{
	static char	 val[512];
	const char	*s;
	size_t		 n = strlen(name), vl;

	for (s = strchr(p->head, '\n'); s != NULL; s = strchr(s, '\n')) {
		s++;
		if (strncasecmp(s, name, n) == 0 && s[n] == ':') {
			s += n + 1 + strspn(s + n + 1, " ");
			vl = strcspn(s, "\r\n");
			if (vl >= sizeof(val))
				vl = sizeof(val) - 1;
			memcpy(val, s, vl);
			val[vl] = '\0';
			return (val);
		}
	}
	return (NULL);
}

/* Read one response; no body for HEAD.  0 when the stream ended first. */
static int
response(struct rd *r, int is_head, struct resp *p)
{
	char		*e;
	const char	*cl;
	size_t		 hl;

	memset(p, 0, sizeof(*p));
	while ((e = memmem(r->buf, r->len, "\r\n\r\n", 4)) == NULL)
		if (fill(r) == 0)
			return (0);
	hl = e + 4 - r->buf;
	ck_assert_uint_lt(hl, sizeof(p->head));
	memcpy(p->head, r->buf, hl);
	p->head[hl] = '\0';
	ck_assert_int_eq(sscanf(p->head, "HTTP/1.1 %d ", &p->status), 1);
	cl = header(p, "Content-Length");
	ck_assert_ptr_nonnull(cl);
	p->bodylen = is_head ? 0 : strtol(cl, NULL, 10);
	ck_assert_int_lt(p->bodylen, sizeof(p->body));
	while (r->len < hl + p->bodylen)
		if (fill(r) == 0)
			return (0);
	memcpy(p->body, r->buf + hl, p->bodylen);
	memmove(r->buf, r->buf + hl + p->bodylen, r->len - hl - p->bodylen);
	r->len -= hl + p->bodylen;
	return (1);
}

/* The connection ends with no further bytes. */
static void
assert_eof(struct rd *r)
{
	ck_assert_uint_eq(r->len, 0);
	ck_assert_int_eq(h_wait_eof(r->fd, 3000), 1);
}

/* Send req on a new connection, expect status and the end of it. */
static void
expect_close(const char *req, int status, struct resp *p)
{
	struct rd	 r;

	connect_web(&r);
	put(&r, req);
	ck_assert_int_eq(response(&r, 0, p), 1);
	ck_assert_int_eq(p->status, status);
	ck_assert_str_eq(header(p, "Connection"), "close");
	assert_eof(&r);
	close(r.fd);
}

static void
expect_keep(const char *req, int is_head, int status, struct resp *p)
{
	struct rd	 r;

	connect_web(&r);
	put(&r, req);
	ck_assert_int_eq(response(&r, is_head, p), 1);
	ck_assert_int_eq(p->status, status);
	/* Still open: a second request is answered. */
	put(&r, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(response(&r, 0, p + 1), 1);
	ck_assert_uint_eq(r.len, 0);
	close(r.fd);
}

/* ------------------------------------------------------------ default */

START_TEST(test_hello)
{
	struct resp	 p[2];

	expect_keep("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 200, p);
	ck_assert_int_eq(p[0].bodylen, 6);
	ck_assert_str_eq(p[0].body, "hello\n");
	ck_assert_str_eq(header(&p[0], "Content-Length"), "6");
	ck_assert_ptr_nonnull(header(&p[0], "Date"));
	ck_assert_ptr_null(header(&p[0], "Connection"));
	/* Any path, a query, an absolute-form target. */
	expect_keep("GET /any/where?x=1 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 200,
	    p);
	ck_assert_str_eq(p[0].body, "hello\n");
	expect_keep("GET http://x/y HTTP/1.1\r\nHost: x\r\n\r\n", 0, 200, p);
	/* Bare LF line ends are accepted. */
	expect_keep("GET / HTTP/1.1\nHost: x\n\n", 0, 200, p);
}
END_TEST

START_TEST(test_head)
{
	struct resp	 p[2];

	expect_keep("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", 1, 200, p);
	ck_assert_str_eq(header(&p[0], "Content-Length"), "6");
	/* No body came between the HEAD answer and the next one. */
	ck_assert_int_eq(p[1].status, 200);
	ck_assert_str_eq(p[1].body, "hello\n");
}
END_TEST

START_TEST(test_keepalive)
{
	struct rd	 r;
	struct resp	 p;
	int		 i;

	connect_web(&r);
	for (i = 0; i < 3; i++) {
		put(&r, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
		ck_assert_int_eq(response(&r, 0, &p), 1);
		ck_assert_int_eq(p.status, 200);
		ck_assert_str_eq(p.body, "hello\n");
	}
	close(r.fd);
}
END_TEST

START_TEST(test_pipeline)
{
	struct rd	 r;
	struct resp	 p;
	char		 req[4096];
	size_t		 n = 0;
	int		 i;

	for (i = 0; i < 16; i++)
		n += snprintf(req + n, sizeof(req) - n, "%s /%d HTTP/1.1\r\n"
		    "Host: x\r\n\r\n", i == 7 ? "HEAD" : "GET", i);
	connect_web(&r);
	put(&r, req);
	for (i = 0; i < 16; i++) {
		ck_assert_int_eq(response(&r, i == 7, &p), 1);
		ck_assert_int_eq(p.status, 200);
	}
	ck_assert_uint_eq(r.len, 0);
	/* A request split over two writes. */
	put(&r, "GET / HTTP/1.1\r\nHo");
	usleep(50000);
	put(&r, "st: x\r\n\r\n");
	ck_assert_int_eq(response(&r, 0, &p), 1);
	ck_assert_str_eq(p.body, "hello\n");
	close(r.fd);
}
END_TEST

START_TEST(test_http10)
{
	struct resp	 p[2];

	expect_close("GET / HTTP/1.0\r\n\r\n", 200, p);
	ck_assert_str_eq(p[0].body, "hello\n");
	expect_keep("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0,
	    200, p);
	ck_assert_str_eq(header(&p[0], "Connection"), "keep-alive");
}
END_TEST

START_TEST(test_connection_close)
{
	struct resp	 p;
	struct rd	 r;

	expect_close("GET / HTTP/1.1\r\nHost: x\r\nConnection: Close\r\n\r\n",
	    200, &p);
	ck_assert_str_eq(p.body, "hello\n");
	/* Requests pipelined after the closing one are not answered. */
	connect_web(&r);
	put(&r, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(response(&r, 0, &p), 1);
	assert_eof(&r);
	close(r.fd);
}
END_TEST

START_TEST(test_bad_request)
{
	struct resp	 p;

	expect_close("\x01\x02garbage\r\n\r\n", 400, &p);
	expect_close("GET /\r\n\r\n", 400, &p);
	expect_close("GET / HTTP/1.1\r\n\r\n", 400, &p);	/* no Host */
	expect_close("GET / HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n", 400,
	    &p);
	expect_close("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n",
	    400, &p);
	expect_close("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, &p);
}
END_TEST

START_TEST(test_errors)
{
	struct resp	 p;

	expect_close("POST / HTTP/1.1\r\nHost: x\r\n\r\n", 405, &p);
	ck_assert_str_eq(header(&p, "Allow"), "GET, HEAD");
	expect_close("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
	    "hello", 413, &p);
	expect_close("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 413, &p);
}
END_TEST

START_TEST(test_limits)
{
	struct resp	 p;
	char		*req;
	size_t		 n;

	/* Over the default max_request_line (8192): 414. */
	req = malloc(9000 + 64);
	ck_assert_ptr_nonnull(req);
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', 9000);
	strcpy(req + 9005, " HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_close(req, 414, &p);
	/* Over the default max_header_size (16384): 431. */
	free(req);
	req = malloc(20 * 1024);
	ck_assert_ptr_nonnull(req);
	n = snprintf(req, 64, "GET / HTTP/1.1\r\nHost: x\r\n");
	while (n < 17 * 1024)
		n += snprintf(req + n, 64, "X-Filler: %040d\r\n", 0);
	strcpy(req + n, "\r\n");
	expect_close(req, 431, &p);
	free(req);
}
END_TEST


/* Unknown methods and transfer codings are 501; known ones 405. */
START_TEST(test_methods)
{
	struct resp	 p;

	expect_close("BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501, &p);
	expect_close("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 405, &p);
	expect_close("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n", 501, &p);
	/* chunked must come last */
	expect_close("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, &p);
	expect_close("GET / HTTP/1.1\r\nHost: x\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 413, &p);
}
END_TEST

/* Host is uri-host [":" port] (RFC 9110 7.2); field values hold no NUL,
 * CR or other controls (RFC 9110 5.5). */
START_TEST(test_host_values)
{
	static const char *const bad[] = {
		"Host: a b\r\n", "Host: a/b\r\n", "Host: a@b\r\n",
		"Host: x\r\nX-A: a\rb\r\n", "Host: x\r\nX-A: a\001b\r\n",
	};
	struct resp	 p[2];
	struct rd	 r;
	char		 req[256];
	size_t		 i;
	int		 n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(req, sizeof(req), "GET / HTTP/1.1\r\n%s\r\n", bad[i]);
		expect_close(req, 400, p);
	}
	/* NUL in the Host value and in another value */
	connect_web(&r);
	n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a%cb\r\n\r\n",
	    0);
	put_n(&r, req, n);
	ck_assert_int_eq(response(&r, 0, p), 1);
	ck_assert_int_eq(p[0].status, 400);
	close(r.fd);
	connect_web(&r);
	n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\n"
	    "X-A: a%cb\r\n\r\n", 0);
	put_n(&r, req, n);
	ck_assert_int_eq(response(&r, 0, p), 1);
	ck_assert_int_eq(p[0].status, 400);
	close(r.fd);
	expect_keep("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 0, 200, p);
	expect_keep("GET / HTTP/1.1\r\nHost: example.com:80\r\n"
	    "X-A: a\tb \"c\"\r\n\r\n", 0, 200, p);
}
END_TEST

/* A request line just under max_request_line (8192) works. */
START_TEST(test_long_target)
{
	struct resp	 p[2];
	char		*req;

	req = malloc(8192 + 64);
	ck_assert_ptr_nonnull(req);
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', 8100);
	strcpy(req + 8105, " HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_keep(req, 0, 200, p);
	ck_assert_str_eq(p[0].body, "hello\n");
	free(req);
}
END_TEST

/*
 * The client keeps sending a body the server refused: the answer still
 * arrives, because the server reads and discards until the client is done
 * (lingering close) instead of resetting the connection.
 */
static void
refused_body(const char *head, int status)
{
	struct rd	 r;
	struct resp	 p;
	char		 chunk[4096 + 16];
	size_t		 len;
	int		 i;

	len = snprintf(chunk, sizeof(chunk), "1000\r\n");
	memset(chunk + len, 'x', 4096);
	len += 4096;
	memcpy(chunk + len, "\r\n", 2);
	len += 2;
	connect_web(&r);
	put(&r, head);
	usleep(20000);		/* the answer goes out meanwhile */
	/* like Python's http.client: the whole body, then the answer */
	for (i = 0; i < 64; i++)
		if (send(r.fd, chunk, len, MSG_NOSIGNAL) != (ssize_t)len)
			break;
	ck_assert_msg(i == 64, "send of chunk %d: %s", i, strerror(errno));
	ck_assert_int_eq(send(r.fd, "0\r\n\r\n", 5, MSG_NOSIGNAL), 5);
	ck_assert_int_eq(response(&r, 0, &p), 1);
	ck_assert_int_eq(p.status, status);
	ck_assert_str_eq(header(&p, "Connection"), "close");
	assert_eof(&r);
	close(r.fd);
}

START_TEST(test_linger)
{
	int	 i;

	for (i = 0; i < 10; i++) {
		refused_body("POST / HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", 405);
		refused_body("GET / HTTP/1.1\r\nHost: x\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n", 413);
	}
}
END_TEST

/* ------------------------------------------------------------ docroot */

START_TEST(test_root_files)
{
	struct resp	 p[2];

	expect_keep("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 0, 200, p);
	ck_assert_str_eq(p[0].body, "file a\n");
	ck_assert_str_eq(header(&p[0], "Content-Type"),
	    "text/plain; charset=utf-8");
	ck_assert_ptr_null(header(&p[0], "Server"));
	expect_keep("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0, 200, p);
	ck_assert_str_eq(p[0].body, "<p>index</p>\n");
	expect_keep("GET /sub/%62.css?v=2 HTTP/1.1\r\nHost: x\r\n\r\n", 0,
	    200, p);
	ck_assert_str_eq(p[0].body, "b{}\n");
	ck_assert_str_eq(header(&p[0], "Content-Type"), "text/css");
	expect_keep("HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 1, 200, p);
	ck_assert_str_eq(header(&p[0], "Content-Length"), "7");
	expect_keep("GET /nothere HTTP/1.1\r\nHost: x\r\n\r\n", 0, 404, p);
	expect_keep("GET /sub HTTP/1.1\r\nHost: x\r\n\r\n", 0, 404, p);
}
END_TEST

START_TEST(test_root_escape)
{
	static const char *const paths[] = {
		"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt",
		"/%2E%2E%2Fsecret.txt", "/sub/..%2f..%2fsecret.txt",
		"/link", "/a.txt%00.html", "/..\\secret.txt",
	};
	struct resp	 p[2];
	char		 req[256];
	size_t		 i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
		    paths[i]);
		expect_keep(req, 0, 404, p);
		ck_assert_ptr_null(strstr(p[0].body, "secret"));
	}
	expect_close("GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, p);
	expect_close("GET a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, p);
}
END_TEST

START_TEST(test_root_limits)
{
	struct resp	 p;
	char		 req[2048];
	size_t		 n;

	/* max_request_line = 256, even before the line is complete. */
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', 300);
	req[305] = '\0';
	expect_close(req, 414, &p);
	/* max_header_size = 1024. */
	n = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\n");
	while (n < 1100)
		n += snprintf(req + n, sizeof(req) - n, "X-A: %060d\r\n", 0);
	snprintf(req + n, sizeof(req) - n, "\r\n");
	expect_close(req, 431, &p);
}
END_TEST


/* The absolute form (RFC 9112 3.2.2) names a file like the origin form. */
START_TEST(test_root_absolute)
{
	struct resp	 p[2];

	expect_keep("GET http://x/a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 0, 200,
	    p);
	ck_assert_str_eq(p[0].body, "file a\n");
	expect_keep("GET HTTP://other:80/sub/b.css HTTP/1.1\r\nHost: x\r\n\r\n",
	    0, 200, p);
	ck_assert_str_eq(p[0].body, "b{}\n");
	expect_keep("GET http://x HTTP/1.1\r\nHost: x\r\n\r\n", 0, 200, p);
	ck_assert_str_eq(p[0].body, "<p>index</p>\n");
	expect_keep("GET http://x?q=1 HTTP/1.1\r\nHost: x\r\n\r\n", 0, 200, p);
	ck_assert_str_eq(p[0].body, "<p>index</p>\n");
	expect_keep("GET http://x/../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n",
	    0, 404, p);
	expect_close("GET http:///a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 400, p);
}
END_TEST

/* ------------------------------------------------------------- stream */

/*
 * Request lines up to the default max_request_line (8192) are served:
 * a path too long for the file system is simply not found.
 */
START_TEST(test_stream_targets)
{
	static const size_t lens[] = { 4076, 4077, 4094, 4095, 5000, 8100 };
	struct resp	 p[2];
	char		*req;
	size_t		 i;

	req = malloc(9000 + 64);
	ck_assert_ptr_nonnull(req);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memcpy(req, "GET /", 5);
		memset(req + 5, 'a', lens[i] - 1);
		strcpy(req + 4 + lens[i], " HTTP/1.1\r\nHost: x\r\n\r\n");
		expect_keep(req, 0, 404, p);
		/* mostly query: the path is short and exists */
		memcpy(req, "GET /a.txt?", 11);
		strcpy(req + 4 + lens[i], " HTTP/1.1\r\nHost: x\r\n\r\n");
		expect_keep(req, 0, 200, p);
		ck_assert_str_eq(p[0].body, "file a\n");
	}
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', 9000);
	strcpy(req + 9005, " HTTP/1.1\r\nHost: x\r\n\r\n");
	expect_close(req, 414, p);
	free(req);
}
END_TEST

/* Take n bytes of body: first from r's buffer, then from the socket. */
static size_t
take(struct rd *r, char *buf, size_t n)
{
	ssize_t	 got;

	if (r->len > 0) {
		got = r->len < n ? r->len : n;
		memcpy(buf, r->buf, got);
		memmove(r->buf, r->buf + got, r->len - got);
		r->len -= got;
		return (got);
	}
	do
		got = recv(r->fd, buf, n, 0);
	while (got == -1 && errno == EINTR);
	ck_assert_int_gt(got, 0);
	return (got);
}

/*
 * 48 pipelined GETs of a 1 MiB file from a client that reads nothing:
 * the worker may only queue about the high-water mark (256 KiB), not the
 * 48 MiB of answers; then every byte of every answer arrives in order.
 */
START_TEST(test_stream_backpressure)
{
	enum { NREQ = 48 };
	static char	 buf[65536];
	struct rd	 r;
	struct resp	 p;
	char		 req[NREQ * 40], *e;
	size_t		 n = 0, off, hl, got, k;
	long		 rss0, rss, peak = 0;
	pid_t		 wpid = worker_pid();
	int		 i;

	/* warm up: one whole answer, so buffers and pages are counted */
	connect_web(&r);
	put(&r, "HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(response(&r, 1, &p), 1);
	ck_assert_str_eq(header(&p, "Content-Length"), "1048576");
	close(r.fd);
	rss0 = h_rss_kb(wpid);
	ck_assert_int_gt(rss0, 0);

	for (i = 0; i < NREQ; i++)
		n += snprintf(req + n, sizeof(req) - n,
		    "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
	connect_web(&r);
	put_n(&r, req, n);
	for (i = 0; i < 10; i++) {
		usleep(50000);
		if ((rss = h_rss_kb(wpid)) > peak)
			peak = rss;
	}
	ck_assert_msg(peak - rss0 < 8 * 1024, "worker RSS grew from %ld to %ld"
	    " KiB", rss0, peak);

	for (i = 0; i < NREQ; i++) {
		while ((e = memmem(r.buf, r.len, "\r\n\r\n", 4)) == NULL)
			ck_assert_int_gt(fill(&r), 0);
		hl = e + 4 - r.buf;
		ck_assert(strncmp(r.buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
		memmove(r.buf, r.buf + hl, r.len - hl);
		r.len -= hl;
		for (off = 0; off < BIG_SIZE; off += got) {
			got = take(&r, buf, sizeof(buf) < BIG_SIZE - off ?
			    sizeof(buf) : BIG_SIZE - off);
			for (k = 0; k < got; k++)
				if ((unsigned char)buf[k] != big_at(off + k))
					ck_abort_msg("answer %d: byte %zu", i,
					    off + k);
		}
	}
	ck_assert_uint_eq(r.len, 0);
	/* still keep-alive */
	put(&r, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(response(&r, 0, &p), 1);
	ck_assert_str_eq(p.body, "file a\n");
	close(r.fd);
}
END_TEST

/* header_timeout = 1: an incomplete head gets 408 and the end. */
START_TEST(test_stream_header_timeout)
{
	static const char slow[] = "GET /a.txt HTTP/1.1\r\nX-Slow: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	struct rd	 r;
	struct resp	 p;
	long long	 end;
	int		 i;

	connect_web(&r);
	put(&r, "GET /a.txt HTTP/1.1\r\nHo");
	ck_assert_int_eq(response(&r, 0, &p), 1);
	ck_assert_int_eq(p.status, 408);
	ck_assert_str_eq(header(&p, "Connection"), "close");
	assert_eof(&r);
	close(r.fd);

	/* One byte every 100 ms is activity, not progress: still 408. */
	connect_web(&r);
	end = h_now_ms() + 8000;
	for (i = 0; i < (int)sizeof(slow) - 1 && h_now_ms() < end; i++) {
		if (send(r.fd, slow + i, 1, MSG_NOSIGNAL) != 1)
			break;
		usleep(100000);
		if (recv(r.fd, r.buf, sizeof(r.buf), MSG_DONTWAIT) > 0)
			break;
	}
	ck_assert_int_lt(i, 70);
	close(r.fd);

	/* An idle keep-alive connection between requests is not timed. */
	connect_web(&r);
	put(&r, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(response(&r, 0, &p), 1);
	usleep(1500000);
	put(&r, "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(response(&r, 0, &p), 1);
	ck_assert_int_eq(p.status, 200);
	close(r.fd);
}
END_TEST

/* Lingering ends after lingering_size bytes or lingering_time seconds. */
START_TEST(test_stream_linger_bounds)
{
	static char	 junk[16384];
	struct rd	 r;
	struct resp	 p;
	int		 n0, i;

	n0 = h_log_count(d, "closed (local)");
	connect_web(&r);
	put(&r, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n"
	    "\r\n");
	ck_assert_int_eq(response(&r, 0, &p), 1);
	ck_assert_int_eq(p.status, 405);
	for (i = 0; i < 64; i++)	/* up to 1 MiB, over lingering_size */
		if (send(r.fd, junk, sizeof(junk), MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(junk))
			break;
	ck_assert(log_wait_count("closed (local)", n0 + 1, 5000));
	close(r.fd);

	/* a client that neither sends nor closes: lingering_time = 1 */
	connect_web(&r);
	put(&r, "BREW / HTTP/1.1\r\nHost: x\r\n\r\n");
	ck_assert_int_eq(response(&r, 0, &p), 1);
	ck_assert_int_eq(p.status, 501);
	ck_assert(log_wait_count("closed (local)", n0 + 2, 5000));
	close(r.fd);
}
END_TEST

/*
 * The plugin declares its settings: `asockd -t` names a misspelled key
 * and a value out of range as FILE:LINE, and --plugin-help lists them.
 */
START_TEST(test_settings_table)
{
	char	 out[8192], where[1200], *ini, *conf, *dir, *so;
	int	 rc;
	char	*argv[] = { (char *)"asockd", (char *)"-t", (char *)"-c",
	    NULL, (char *)"-P", NULL, NULL };
	char	*help[] = { (char *)"asockd", (char *)"--plugin-help", NULL,
	    NULL };

	dir = h_expand("@PLUGIN_DIR@");
	ini = h_write_file("bad.ini", "[http]\nheader_timout = 5\n"
	    "lingering_time = 7200\n");
	conf = h_write_file("bad.conf", CONF_HEAD
	    "plugins: { http: { path = \"http.so\";\n"
	    "    config = \"@TMP@/bad.ini\"; }; };\n"
	    "listeners: ( { name = \"web\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "    plugin = \"http\"; } );\n");
	argv[3] = conf;
	argv[5] = dir;
	rc = h_run(argv, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	snprintf(where, sizeof(where), "%s:2: [http] header_timout: unknown "
	    "setting", ini);
	ck_assert_msg(strstr(out, where) != NULL, "no '%s' in: %s", where,
	    out);
	snprintf(where, sizeof(where), "%s:3: [http] lingering_time: 7200 is "
	    "out of range", ini);
	ck_assert_msg(strstr(out, where) != NULL, "no '%s' in: %s", where,
	    out);

	/* a relative root passes no check: -t runs here, the daemon in / */
	free(ini);
	ini = h_write_file("bad.ini", "[http]\nroot = www\n");
	rc = h_run(argv, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "[http] root www: not an absolute path") !=
	    NULL, "%s", out);

	if (asprintf(&so, "%s/http.so", dir) < 0)
		ck_abort();
	help[2] = so;
	rc = h_run(help, out, sizeof(out));
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "header_timeout = 60") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "lingering_size = 1048576") != NULL, "%s",
	    out);
	free(so);
	free(conf);
	free(ini);
	free(dir);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("http");
	tc = tcase_create("default");
	tcase_add_unchecked_fixture(tc, setup_default, stop);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_head);
	tcase_add_test(tc, test_keepalive);
	tcase_add_test(tc, test_pipeline);
	tcase_add_test(tc, test_http10);
	tcase_add_test(tc, test_connection_close);
	tcase_add_test(tc, test_bad_request);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_methods);
	tcase_add_test(tc, test_host_values);
	tcase_add_test(tc, test_long_target);
	tcase_add_test(tc, test_linger);
	tcase_add_test(tc, test_settings_table);
	suite_add_tcase(s, tc);

	tc = tcase_create("docroot");
	tcase_add_unchecked_fixture(tc, setup_root, stop);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_root_files);
	tcase_add_test(tc, test_root_escape);
	tcase_add_test(tc, test_root_limits);
	tcase_add_test(tc, test_root_absolute);
	suite_add_tcase(s, tc);

	tc = tcase_create("stream");
	tcase_add_unchecked_fixture(tc, setup_stream, stop);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stream_targets);
	tcase_add_test(tc, test_stream_backpressure);
	tcase_add_test(tc, test_stream_header_timeout);
	tcase_add_test(tc, test_stream_linger_bounds);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (h_run_suite(http_suite()));
}
