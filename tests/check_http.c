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

static int
connect_web(struct rd *r)
{
	r->fd = h_tcp_connect("127.0.0.1", port);
	ck_assert_int_ge(r->fd, 0);
	r->len = 0;
	return (r->fd);
}

static void
put(struct rd *r, const char *s)
{
	ck_assert_int_eq(h_write_all(r->fd, s, strlen(s)), (ssize_t)strlen(s));
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
	suite_add_tcase(s, tc);

	tc = tcase_create("docroot");
	tcase_add_unchecked_fixture(tc, setup_root, stop);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_root_files);
	tcase_add_test(tc, test_root_escape);
	tcase_add_test(tc, test_root_limits);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (h_run_suite(http_suite()));
}
