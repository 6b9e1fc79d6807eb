/*
 * http.c - a small HTTP/1.1 server plugin.
 *
 * It answers GET and HEAD, either with one fixed body (the default,
 * "hello\n" for every path, like the nginx benchmark configuration) or
 * with files under a document root.  Keep-alive and pipelining work:
 * on_receive parses every complete request in its buffer, builds all the
 * answers into one output buffer and hands it to the host with one send,
 * then returns the bytes up to the end of the last complete request (the
 * host keeps the rest and hands it back with the next bytes).
 *
 * No state is kept per connection: a request either leaves the
 * connection open or ends it (host->close after the answer), so an idle
 * connection costs the plugin nothing.  Nothing is allocated per request
 * in fixed-body mode: the status line and headers of the 200 answer are
 * built at init, the Date header is patched in place once a second, and
 * the output buffer is static (everything runs on one thread).
 *
 * Settings, in section [http] of the plugin's INI file:
 *   body             fixed body; C escapes \n \r \t \\ (default "hello\n")
 *   content_type     of the fixed body (default text/plain)
 *   root             document root; when set, files are served from it
 *   index            file served for a path ending in / (index.html)
 *   max_file_size    larger files answer 403 (default 1048576)
 *   max_request_line longer request lines answer 414 (default 8192)
 *   max_header_size  larger header blocks answer 431 (default 16384)
 *   server_header    send "Server: asockd" (default on)
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "asockd/plugin.h"

#define HTTP_OUT_SIZE	(64 * 1024)	/* flushed when full */
#define HTTP_DATE_LEN	29		/* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Per-instance settings and the prebuilt fixed answer. */
struct http {
	char		*body;		/* fixed body (fixed-body mode) */
	size_t		 bodylen;
	char		*ctype;
	char		*root;		/* realpath of root, or NULL */
	size_t		 rootlen;
	char		*index;
	long long	 max_file;
	long long	 max_line;
	long long	 max_header;
	int		 server;
	/*
	 * The whole 200 answer for keep-alive HTTP/1.1: "HTTP/1.1 200 OK\r\n
	 * ...Content-Length: N\r\n" (headlen bytes), "\r\n", the body.
	 * HEAD sends its first headlen + 2 bytes.  The date is patched in
	 * place once a second.
	 */
	char		*resp;
	size_t		 resplen;
	size_t		 headlen;
	size_t		 dateoff;	/* offset of the date in resp */
	time_t		 datetime;	/* when resp's date was written */
};

/* One parsed request; pointers borrow the input buffer. */
struct request {
	const char	*method;
	size_t		 methodlen;
	const char	*target;
	size_t		 targetlen;
	int		 minor;		/* HTTP/1.minor */
	int		 head;		/* HEAD: no body in the answer */
	int		 keepalive;
	int		 has_host;
	int		 has_body;
};

static const struct asockd_host *host;

/* The output buffer of the current on_receive call. */
static char	 out[HTTP_OUT_SIZE];
static size_t	 outlen;
static char	 datebuf[HTTP_DATE_LEN + 1];
static time_t	 datetime = -1;
/* tchar[c] is 1 for the token characters of RFC 9110 5.6.2. */
static unsigned char tchar[256];

static const struct {
	const char	*ext;
	const char	*type;
} ctypes[] = {
	{ "html", "text/html; charset=utf-8" },
	{ "htm", "text/html; charset=utf-8" },
	{ "txt", "text/plain; charset=utf-8" },
	{ "css", "text/css" },
	{ "js", "text/javascript" },
	{ "json", "application/json" },
	{ "xml", "application/xml" },
	{ "svg", "image/svg+xml" },
	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },
	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },
	{ "ico", "image/x-icon" },
	{ "pdf", "application/pdf" },
};

static const char *
date_now(void)
{
	time_t		 now;
	struct tm	 tm;

	now = time(NULL);
	if (now != datetime) {
		gmtime_r(&now, &tm);
		strftime(datebuf, sizeof(datebuf), "%a, %d %b %Y %H:%M:%S GMT",
		    &tm);
		datetime = now;
	}
	return (datebuf);
}

static void
out_flush(struct asockd_conn *c)
{
	if (outlen > 0)
		host->send(c, out, outlen);
	outlen = 0;
}

/* Append len bytes, flushing to c when the buffer is full. */
static void
out_add(struct asockd_conn *c, const void *p, size_t len)
{
	const char	*s = p;
	size_t		 n;

	if (len <= sizeof(out) - outlen) {
		memcpy(out + outlen, p, len);
		outlen += len;
		return;
	}
	while (len > 0) {
		if (outlen == sizeof(out))
			out_flush(c);
		n = sizeof(out) - outlen;
		if (n > len)
			n = len;
		memcpy(out + outlen, s, n);
		outlen += n;
		s += n;
		len -= n;
	}
}

static void
out_str(struct asockd_conn *c, const char *s)
{
	out_add(c, s, strlen(s));
}

static void
out_connection(struct asockd_conn *c, const struct request *r)
{
	if (!r->keepalive)
		out_str(c, "Connection: close\r\n");
	else if (r->minor == 0)
		out_str(c, "Connection: keep-alive\r\n");
}

/* Status line and the headers every answer has. */
static void
out_status(struct asockd_conn *c, struct http *h, const char *status,
    const char *ctype, long long clen)
{
	char	 buf[256];
	int	 n;

	n = snprintf(buf, sizeof(buf), "HTTP/1.1 %s\r\n%sDate: %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %lld\r\n", status,
	    h->server ? "Server: asockd\r\n" : "", date_now(), ctype, clen);
	if (n > 0)
		out_add(c, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

/*
 * An error answer.  Errors found before the request was understood close
 * the connection (r may then say keep-alive: it is overridden).
 */
static void
out_error(struct asockd_conn *c, struct http *h, struct request *r,
    const char *status, int close_it)
{
	char	 body[128];
	int	 n;

	n = snprintf(body, sizeof(body), "%s\n", status);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	if (close_it)
		r->keepalive = 0;
	out_status(c, h, status, "text/plain", n);
	if (strncmp(status, "405", 3) == 0)
		out_str(c, "Allow: GET, HEAD\r\n");
	out_connection(c, r);
	out_str(c, "\r\n");
	if (!r->head)
		out_add(c, body, n);
}

/* The prebuilt head of the fixed answer, with the current date. */
static void
head_refresh(struct http *h)
{
	const char	*d;

	d = date_now();
	if (h->datetime != datetime) {
		memcpy(h->resp + h->dateoff, d, HTTP_DATE_LEN);
		h->datetime = datetime;
	}
}

static void
out_fixed(struct asockd_conn *c, struct http *h, const struct request *r)
{
	/* The common case, keep-alive HTTP/1.1, is one copy. */
	if (r->keepalive && r->minor >= 1) {
		out_add(c, h->resp, r->head ? h->headlen + 2 : h->resplen);
		return;
	}
	out_add(c, h->resp, h->headlen);
	out_connection(c, r);
	out_add(c, "\r\n", 2);
	if (!r->head)
		out_add(c, h->body, h->bodylen);
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	return (-1);
}

/*
 * Decode the path of r's target into buf: percent-decoded, no query.
 * Returns 0, -1 for a malformed target (400), -2 for a path that tries
 * to leave the root (".." segment, NUL or backslash; 404).
 */
static int
path_decode(const struct request *r, char *buf, size_t buflen)
{
	const char	*p = r->target, *end = r->target + r->targetlen;
	const char	*seg;
	size_t		 n = 0;
	int		 hi, lo, ch;

	if (p == end || *p != '/')
		return (-1);
	while (p < end && *p != '?' && *p != '#') {
		ch = (unsigned char)*p++;
		if (ch == '%') {
			if (end - p < 2 || (hi = hexval(p[0])) < 0 ||
			    (lo = hexval(p[1])) < 0)
				return (-1);
			ch = hi * 16 + lo;
			p += 2;
		}
		if (ch == '\0' || ch == '\\')
			return (-2);
		if (n + 1 >= buflen)
			return (-1);
		buf[n++] = (char)ch;
	}
	buf[n] = '\0';
	/* Reject "." and ".." segments after decoding. */
	for (seg = buf; seg != NULL; seg = strchr(seg + 1, '/')) {
		if (strcmp(seg, "/..") == 0 || strncmp(seg, "/../", 4) == 0 ||
		    strcmp(seg, "/.") == 0 || strncmp(seg, "/./", 3) == 0)
			return (-2);
	}
	return (0);
}

static const char *
ctype_of(const char *path)
{
	const char	*dot, *slash;
	size_t		 i;

	dot = strrchr(path, '.');
	slash = strrchr(path, '/');
	if (dot == NULL || (slash != NULL && dot < slash))
		return ("application/octet-stream");
	for (i = 0; i < sizeof(ctypes) / sizeof(ctypes[0]); i++)
		if (strcasecmp(dot + 1, ctypes[i].ext) == 0)
			return (ctypes[i].type);
	return ("application/octet-stream");
}

/* Answer r from the document root. */
static void
out_file(struct asockd_conn *c, struct http *h, struct request *r)
{
	char		 path[PATH_MAX], full[PATH_MAX], real[PATH_MAX];
	char		 chunk[16384];
	struct stat	 st;
	ssize_t		 n;
	long long	 left;
	int		 fd, rv;

	if ((rv = path_decode(r, path, sizeof(path))) == -1) {
		out_error(c, h, r, "400 Bad Request", 1);
		return;
	}
	if (rv == -2) {
		out_error(c, h, r, "404 Not Found", 0);
		return;
	}
	rv = snprintf(full, sizeof(full), "%s%s%s", h->root, path,
	    path[strlen(path) - 1] == '/' ? h->index : "");
	if (rv < 0 || (size_t)rv >= sizeof(full)) {
		out_error(c, h, r, "414 URI Too Long", 1);
		return;
	}
	/* Symlinks are followed, but the result must stay under the root. */
	if (realpath(full, real) == NULL ||
	    strncmp(real, h->root, h->rootlen) != 0 ||
	    (real[h->rootlen] != '/' && real[h->rootlen] != '\0')) {
		out_error(c, h, r, "404 Not Found", 0);
		return;
	}
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		out_error(c, h, r, errno == EACCES ? "403 Forbidden" :
		    "404 Not Found", 0);
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		out_error(c, h, r, "404 Not Found", 0);
		return;
	}
	if (st.st_size > h->max_file) {
		close(fd);
		out_error(c, h, r, "403 Forbidden", 0);
		return;
	}
	out_status(c, h, "200 OK", ctype_of(real), (long long)st.st_size);
	out_connection(c, r);
	out_add(c, "\r\n", 2);
	/*
	 * Exactly st_size bytes follow, as announced: a file that shrinks
	 * meanwhile is padded, one that grows is cut.
	 */
	left = r->head ? 0 : st.st_size;
	while (left > 0) {
		n = read(fd, chunk, left < (long long)sizeof(chunk) ?
		    (size_t)left : sizeof(chunk));
		if (n <= 0) {
			memset(chunk, 0, sizeof(chunk));
			n = left < (long long)sizeof(chunk) ? left :
			    (long long)sizeof(chunk);
		}
		out_add(c, chunk, n);
		left -= n;
	}
	close(fd);
}

static void
tchar_init(void)
{
	const char	*p;
	int		 ch;

	for (ch = 0; ch < 256; ch++)
		tchar[ch] = isascii(ch) && isalnum(ch);
	for (p = "!#$%&'*+-.^_`|~"; *p != '\0'; p++)
		tchar[(unsigned char)*p] = 1;
}

/* 1 when the comma-separated list v contains token t (any case). */
static int
has_token(const char *v, size_t len, const char *t)
{
	size_t	 tl = strlen(t), i = 0, s, e;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, t, tl) == 0)
			return (1);
	}
	return (0);
}

/* Next line of [p, end): returns its end (the '\n'), or NULL. */
static const char *
line_end(const char *p, const char *end)
{
	return (memchr(p, '\n', end - p));
}

/* Length of the line without its "\r\n" or "\n". */
static size_t
line_len(const char *p, const char *nl)
{
	return (nl > p && nl[-1] == '\r' ? nl - p - 1 : nl - p);
}

/*
 * Parse the request line.  Returns NULL, or an error status.
 */
static const char *
parse_request_line(struct request *r, const char *p, size_t len)
{
	const char	*end = p + len, *sp;

	for (sp = p; sp < end && tchar[(unsigned char)*sp]; sp++)
		;
	if (sp == p || sp == end || *sp != ' ')
		return ("400 Bad Request");
	r->method = p;
	r->methodlen = sp - p;
	p = sp + 1;
	if ((sp = memchr(p, ' ', end - p)) == NULL || sp == p)
		return ("400 Bad Request");
	r->target = p;
	r->targetlen = sp - p;
	for (; p < sp; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return ("400 Bad Request");
	p = sp + 1;
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 ||
	    !isdigit((unsigned char)p[5]) || p[6] != '.' ||
	    !isdigit((unsigned char)p[7]))
		return ("400 Bad Request");
	if (p[5] != '1')
		return ("505 HTTP Version Not Supported");
	r->minor = p[7] - '0';
	r->keepalive = r->minor >= 1;
	return (NULL);
}

/* Parse one header line into r.  Returns NULL or an error status. */
static const char *
parse_header(struct request *r, const char *p, size_t len)
{
	const char	*colon, *v, *end = p + len;
	size_t		 nl, vl;

	for (colon = p; colon < end && tchar[(unsigned char)*colon]; colon++)
		;
	if (colon == p || colon == end || *colon != ':')
		return ("400 Bad Request");
	nl = colon - p;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	vl = end - v;
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	switch (nl) {
	case 4:
		if (strncasecmp(p, "host", 4) == 0) {
			if (r->has_host)
				return ("400 Bad Request");
			r->has_host = 1;
		}
		break;
	case 10:
		if (strncasecmp(p, "connection", 10) == 0) {
			if (has_token(v, vl, "close"))
				r->keepalive = 0;
			else if (has_token(v, vl, "keep-alive"))
				r->keepalive = 1;
		}
		break;
	case 14:
		if (strncasecmp(p, "content-length", 14) == 0) {
			if (vl == 0 || strspn(v, "0123456789") < vl)
				return ("400 Bad Request");
			if (strspn(v, "0") < vl)
				r->has_body = 1;
		}
		break;
	case 17:
		if (strncasecmp(p, "transfer-encoding", 17) == 0)
			r->has_body = 1;
		break;
	}
	return (NULL);
}

/*
 * Handle the request at the front of [p, end).  Returns the bytes it
 * took, 0 when it is not complete yet, or -1 after an answer that
 * closes the connection.
 */
static ssize_t
request_handle(struct asockd_conn *c, struct http *h, const char *p,
    const char *end)
{
	struct request	 r;
	const char	*start = p, *nl, *err;
	size_t		 ll, hdr;

	memset(&r, 0, sizeof(r));
	r.keepalive = 0;
	/* Empty lines before a request are ignored (RFC 9112 2.2). */
	while (p < end && (*p == '\r' || *p == '\n')) {
		if (*p == '\r' && (end - p < 2 || p[1] != '\n'))
			break;
		p += *p == '\r' ? 2 : 1;
	}
	if ((nl = line_end(p, end)) == NULL) {
		if ((long long)(end - p) > h->max_line) {
			out_error(c, h, &r, "414 URI Too Long", 1);
			return (-1);
		}
		return (p - start == 0 ? 0 : p - start);
	}
	ll = line_len(p, nl);
	if ((long long)ll > h->max_line) {
		out_error(c, h, &r, "414 URI Too Long", 1);
		return (-1);
	}
	if ((err = parse_request_line(&r, p, ll)) != NULL) {
		out_error(c, h, &r, err, 1);
		return (-1);
	}
	r.head = r.methodlen == 4 && memcmp(r.method, "HEAD", 4) == 0;
	/* Headers, up to the empty line. */
	hdr = 0;
	for (p = nl + 1;; p = nl + 1) {
		if ((nl = line_end(p, end)) == NULL) {
			if ((long long)(hdr + (end - p)) > h->max_header) {
				out_error(c, h, &r,
				    "431 Request Header Fields Too Large", 1);
				return (-1);
			}
			return (0);
		}
		hdr += nl + 1 - p;
		if ((long long)hdr > h->max_header) {
			out_error(c, h, &r,
			    "431 Request Header Fields Too Large", 1);
			return (-1);
		}
		if ((ll = line_len(p, nl)) == 0)
			break;
		if (*p == ' ' || *p == '\t') {	/* obsolete line folding */
			out_error(c, h, &r, "400 Bad Request", 1);
			return (-1);
		}
		if ((err = parse_header(&r, p, ll)) != NULL) {
			out_error(c, h, &r, err, 1);
			return (-1);
		}
	}
	p = nl + 1;
	if (r.minor >= 1 && !r.has_host)
		err = "400 Bad Request";
	else if (!r.head && (r.methodlen != 3 ||
	    memcmp(r.method, "GET", 3) != 0))
		err = "405 Method Not Allowed";
	else if (r.has_body)
		err = "413 Content Too Large";
	if (err != NULL) {
		/* The body, if any, was not read: the connection ends. */
		out_error(c, h, &r, err, 1);
		return (-1);
	}
	if (h->root != NULL)
		out_file(c, h, &r);
	else if (r.targetlen == 0 || (r.target[0] != '/' &&
	    !(r.targetlen > 7 && strncasecmp(r.target, "http://", 7) == 0))) {
		out_error(c, h, &r, "400 Bad Request", 1);
		return (-1);
	} else
		out_fixed(c, h, &r);
	if (!r.keepalive)
		return (-1);
	return (p - start);
}

static size_t
http_receive(struct asockd_conn *c, const void *data, size_t len)
{
	struct http	*h;
	const char	*p = data, *end = p + len;
	ssize_t		 n;

	h = host->instance_data(host->conn_instance(c));
	head_refresh(h);
	outlen = 0;
	while (p < end) {
		if ((n = request_handle(c, h, p, end)) == 0)
			break;
		if (n < 0) {
			out_flush(c);
			host->close(c);
			return (len);
		}
		p += n;
	}
	out_flush(c);
	return (p - (const char *)data);
}

/* Undo C escapes in s (in place): \n \r \t \\. */
static size_t
unescape(char *s)
{
	char	*d = s, *p;

	for (p = s; *p != '\0'; p++) {
		if (*p != '\\' || p[1] == '\0') {
			*d++ = *p;
			continue;
		}
		switch (*++p) {
		case 'n':
			*d++ = '\n';
			break;
		case 'r':
			*d++ = '\r';
			break;
		case 't':
			*d++ = '\t';
			break;
		default:
			*d++ = *p;
			break;
		}
	}
	*d = '\0';
	return (d - s);
}

static void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	free(h->resp);
	free(h->body);
	free(h->ctype);
	free(h->root);
	free(h->index);
	free(h);
}

static char *
dup_str(struct asockd_instance *inst, const char *key, const char *def)
{
	const char	*v;
	char		*s;
	size_t		 n;

	v = host->ini_str(inst, "http", key, def);
	if (v == NULL)
		return (NULL);
	n = strlen(v);
	/* A value written in double quotes loses them. */
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	if ((s = strndup(v, n)) == NULL)
		return (NULL);
	return (s);
}

/* Read and check the settings into h; 0 or -errno after logging. */
static int
http_settings(struct asockd_instance *inst, struct http *h)
{
	char		*root, head[512];
	int		 n, rv = 0;

	if ((h->body = dup_str(inst, "body", "hello\\n")) == NULL ||
	    (h->ctype = dup_str(inst, "content_type", "text/plain")) == NULL ||
	    (h->index = dup_str(inst, "index", "index.html")) == NULL)
		return (-ENOMEM);
	h->bodylen = unescape(h->body);
	if (host->ini_int(inst, "http", "max_request_line", 8192,
	    &h->max_line) != 0 || host->ini_int(inst, "http",
	    "max_header_size", 16384, &h->max_header) != 0 ||
	    host->ini_int(inst, "http", "max_file_size", 1048576,
	    &h->max_file) != 0 || host->ini_bool(inst, "http",
	    "server_header", 1, &h->server) != 0)
		rv = -EINVAL;
	if (h->max_line < 16 || h->max_header < 0 || h->max_file < 0) {
		host->log(inst, ASOCKD_LOG_ERR, "[http] max_request_line must "
		    "be >= 16, max_header_size and max_file_size >= 0");
		rv = -EINVAL;
	}
	if (strlen(h->ctype) > 128 || strpbrk(h->ctype, "\r\n") != NULL ||
	    strchr(h->index, '/') != NULL) {
		host->log(inst, ASOCKD_LOG_ERR, "[http] content_type must be "
		    "one short line, index a file name");
		rv = -EINVAL;
	}
	if ((root = dup_str(inst, "root", NULL)) != NULL) {
		if ((h->root = realpath(root, NULL)) == NULL) {
			host->log(inst, ASOCKD_LOG_ERR, "[http] root %s: %s",
			    root, strerror(errno));
			rv = -EINVAL;
		} else if (strcmp(h->root, "/") == 0) {
			host->log(inst, ASOCKD_LOG_ERR,
			    "[http] root must not be /");
			rv = -EINVAL;
		} else
			h->rootlen = strlen(h->root);
		free(root);
	}
	n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n%s"
	    "Date: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
	    h->server ? "Server: asockd\r\n" : "", date_now(), h->ctype,
	    h->bodylen);
	if (n < 0 || (size_t)n >= sizeof(head))
		return (-EINVAL);
	h->headlen = n;
	h->resplen = n + 2 + h->bodylen;
	if ((h->resp = malloc(h->resplen)) == NULL)
		return (-ENOMEM);
	memcpy(h->resp, head, n);
	memcpy(h->resp + n, "\r\n", 2);
	memcpy(h->resp + n + 2, h->body, h->bodylen);
	h->dateoff = strstr(head, "Date: ") - head + 6;
	h->datetime = datetime;
	return (rv);
}

static int
http_init(const struct asockd_host *hst, struct asockd_instance *inst,
    void **pdata)
{
	struct http	*h;
	int		 rv;

	host = hst;
	tchar_init();
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return (-ENOMEM);
	if ((rv = http_settings(inst, h)) != 0) {
		http_free(h);
		return (rv);
	}
	*pdata = h;
	return (0);
}

static int
http_validate(struct asockd_instance *inst)
{
	struct http	*h;
	int		 rv;

	/* init already checked the settings; check them again, fresh. */
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return (-ENOMEM);
	rv = http_settings(inst, h);
	http_free(h);
	return (rv);
}

static void
http_fini(struct asockd_instance *inst)
{
	http_free(host->instance_data(inst));
}

ASOCKD_PLUGIN_DEFINE(
	.name = "http",
	.version = "1.0",
	.init = http_init,
	.validate = http_validate,
	.fini = http_fini,
	.on_receive = http_receive
);
