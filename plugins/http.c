/*
 * http.c - a small HTTP/1.1 server plugin.
 *
 * It answers GET and HEAD, either with one fixed body (the default,
 * "hello\n" for every path, like the nginx benchmark configuration) or
 * with files under a document root.  The request parser is
 * plugins/http_parse.c; this file answers.  Keep-alive and pipelining
 * work: on_receive answers every complete request in its buffer, builds
 * the answers in one output buffer and hands them to the host in as few
 * sends as possible, then returns the bytes up to the end of the last
 * complete request (the host keeps the rest and hands it back with the
 * next bytes).
 *
 * Backpressure: before each request, and between the chunks of a file,
 * the plugin asks host->writable().  When the peer does not keep up it
 * stops there: the file being sent and the requests not yet answered are
 * kept in per-connection state, and on_send (which fires once the queue
 * has drained) carries on.  So a client that pipelines many GETs of a
 * large file and reads nothing costs about the queue's high-water mark,
 * not the sum of the answers.
 *
 * Per-connection state (struct hconn, the udata) exists only while there
 * is something to remember: a file or requests waiting for the peer, an
 * incomplete request (its header_timeout timer), or a lingering close.
 * An idle keep-alive connection costs the plugin nothing.  Nothing is
 * allocated per request in fixed-body mode: the status line and headers
 * of the 200 answer are built at init, the Date header is patched in
 * place once a second, and the output buffer is static (everything runs
 * on one thread).
 *
 * Errors that end the connection close it lingering, as nginx's
 * lingering_close does: the answer is sent, the write side shut down, and
 * what the client still sends (the body of a refused POST) is read and
 * discarded for at most lingering_time seconds and lingering_size bytes.
 * Closing at once would make the kernel answer those bytes with a reset,
 * which destroys the answer before the client has read it.
 *
 * Settings, in section [http] of the plugin's INI file:
 *   body             fixed body; C escapes \n \r \t \\ (default "hello\n")
 *   content_type     of the fixed body (default text/plain)
 *   root             document root (an absolute path); when set, files are
 *                    served from it
 *   index            file served for a path ending in / (index.html)
 *   max_file_size    larger files answer 403 (default 1048576)
 *   max_request_line longer request lines answer 414 (default 8192)
 *   max_header_size  larger header blocks answer 431 (default 16384)
 *   header_timeout   seconds to send a whole request head (default 60)
 *   lingering_time   seconds of lingering close at most (default 5)
 *   lingering_size   bytes read in a lingering close at most (1048576)
 *   server_header    send "Server: asockd" (default on)
 */
#include <sys/stat.h>
#include <sys/types.h>

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
#include "http_parse.h"

#define HTTP_OUT_SIZE	(64 * 1024)	/* flushed when full */
#define HTTP_DATE_LEN	29		/* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define HTTP_PEND_MAX	(256 * 1024)	/* requests kept while stalled */

/* Per-instance settings and the prebuilt fixed answer. */
struct http {
	char		*body;		/* fixed body (fixed-body mode) */
	size_t		 bodylen;
	char		*ctype;
	char		*root;		/* realpath of root, or NULL */
	size_t		 rootlen;
	char		*index;
	long long	 max_file;
	struct http_limits lim;
	double		 header_timeout;
	double		 linger_time;
	long long	 linger_size;
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

/*
 * Per-connection state, the connection's udata (owned by the plugin,
 * freed in on_close or as soon as the connection is idle again).
 */
struct hconn {
	/* header_timeout while a request is incomplete, or lingering_time */
	struct asockd_timer *timer;
	/* Requests taken from the host but not answered yet (stalled). */
	char		*pend;
	size_t		 pendlen;
	size_t		 pendcap;
	int		 fd;		/* file being sent, or -1 */
	long long	 left;		/* its bytes still to send */
	int		 close_after;	/* close once the file is sent */
	int		 lingering;
	long long	 lingered;	/* bytes discarded while lingering */
};

/* Why serve() stopped. */
enum {
	ST_MORE,	/* out of complete requests */
	ST_STALL,	/* the peer is not writable, or a file is being sent */
	ST_CLOSED	/* the connection is closing (or lingering) */
};

static const struct asockd_host *host;

/* The output buffer of the current callback, flushed before it returns. */
static char	 out[HTTP_OUT_SIZE];
static size_t	 outlen;
static char	 datebuf[HTTP_DATE_LEN + 1];
static time_t	 datetime = -1;

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

static void	 header_expired(struct asockd_timer *, void *);
static void	 linger_expired(struct asockd_timer *, void *);

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
out_connection(struct asockd_conn *c, const struct http_request *r)
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

/* An error answer; close_it overrides the request's keep-alive. */
static void
out_error(struct asockd_conn *c, struct http *h, struct http_request *r,
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
out_fixed(struct asockd_conn *c, struct http *h,
    const struct http_request *r)
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

static struct http *
conn_http(struct asockd_conn *c)
{
	return (host->instance_data(host->conn_instance(c)));
}

/* c's state, created on first use; NULL when out of memory. */
static struct hconn *
hconn_get(struct asockd_conn *c)
{
	struct hconn	*hc;

	if ((hc = host->udata(c)) != NULL)
		return (hc);
	if ((hc = calloc(1, sizeof(*hc))) == NULL) {
		host->conn_log(c, ASOCKD_LOG_ERR, "out of memory");
		return (NULL);
	}
	hc->fd = -1;
	host->set_udata(c, hc);
	return (hc);
}

static void
hconn_free(struct asockd_conn *c, struct hconn *hc)
{
	if (hc->fd != -1)
		close(hc->fd);
	free(hc->pend);
	free(hc);
	host->set_udata(c, NULL);
}

static void
timer_clear(struct hconn *hc)
{
	if (hc->timer != NULL) {
		host->timer_stop(hc->timer);
		hc->timer = NULL;
	}
}

/*
 * End c after an error answer (already in the output buffer): flush it,
 * shut down writing, then read and discard what the client still sends
 * until it closes, lingering_time passes or lingering_size bytes came.
 */
static void
linger_start(struct asockd_conn *c, struct http *h)
{
	struct hconn	*hc;

	out_flush(c);
	if (h->linger_time <= 0 || (hc = hconn_get(c)) == NULL) {
		host->close(c);
		return;
	}
	timer_clear(hc);
	if (hc->fd != -1) {
		close(hc->fd);
		hc->fd = -1;
	}
	free(hc->pend);
	hc->pend = NULL;
	hc->pendlen = hc->pendcap = 0;
	hc->lingering = 1;
	host->shutdown_write(c);
	hc->timer = host->timer_start(host->conn_instance(c), c,
	    h->linger_time, 0, linger_expired, c);
	if (hc->timer == NULL)
		host->close(c);
}

static void
linger_expired(struct asockd_timer *t, void *arg)
{
	struct asockd_conn	*c = arg;
	struct hconn		*hc = host->udata(c);

	hc->timer = NULL;	/* a one-shot timer is freed by the host */
	host->close(c);
}

/* Keep [p, p + len) after the requests c still has to answer. */
static int
pend_add(struct asockd_conn *c, struct hconn *hc, const char *p, size_t len)
{
	size_t	 cap;
	char	*n;

	if (hc->pendlen + len > hc->pendcap) {
		cap = hc->pendcap ? hc->pendcap : 4096;
		while (cap < hc->pendlen + len)
			cap *= 2;
		if ((n = realloc(hc->pend, cap)) == NULL) {
			host->conn_log(c, ASOCKD_LOG_ERR, "out of memory");
			return (-1);
		}
		hc->pend = n;
		hc->pendcap = cap;
	}
	memcpy(hc->pend + hc->pendlen, p, len);
	hc->pendlen += len;
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

/*
 * Send more of c's file while the peer keeps up.  Exactly the announced
 * size goes out: a file that shrinks meanwhile is padded, one that grows
 * is cut.  Returns 1 when the file is done, 0 when the peer is not
 * writable (on_send continues).
 */
static int
file_more(struct asockd_conn *c, struct hconn *hc)
{
	size_t	 want;
	ssize_t	 n;

	while (hc->left > 0) {
		if (outlen == sizeof(out))
			out_flush(c);
		if (!host->writable(c))
			return (0);
		want = sizeof(out) - outlen;
		if ((long long)want > hc->left)
			want = (size_t)hc->left;
		if ((n = read(hc->fd, out + outlen, want)) <= 0) {
			memset(out + outlen, 0, want);
			n = (ssize_t)want;
		}
		outlen += (size_t)n;
		hc->left -= n;
	}
	close(hc->fd);
	hc->fd = -1;
	return (1);
}

/*
 * Open the file r names under the root.  Returns the fd, or -1 with
 * *status set to the error answer (400 closes the connection).
 */
static int
file_open(struct http *h, const struct http_request *r, struct stat *st,
    char *real, const char **status)
{
	char	 path[PATH_MAX], full[PATH_MAX];
	int	 fd, rv;

	*status = "404 Not Found";
	if ((rv = http_path_decode(r, path, sizeof(path))) == -1) {
		*status = "400 Bad Request";
		return (-1);
	}
	if (rv != 0)		/* leaves the root, or no such name */
		return (-1);
	rv = snprintf(full, sizeof(full), "%s%s%s", h->root, path,
	    path[strlen(path) - 1] == '/' ? h->index : "");
	if (rv < 0 || (size_t)rv >= sizeof(full))
		return (-1);	/* ENAMETOOLONG: no such file (as nginx) */
	/* Symlinks are followed, but the result must stay under the root. */
	if (realpath(full, real) == NULL ||
	    strncmp(real, h->root, h->rootlen) != 0 ||
	    (real[h->rootlen] != '/' && real[h->rootlen] != '\0'))
		return (-1);
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		if (errno == EACCES)
			*status = "403 Forbidden";
		return (-1);
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return (-1);
	}
	if (st->st_size > h->max_file) {
		close(fd);
		*status = "403 Forbidden";
		return (-1);
	}
	return (fd);
}

/*
 * Answer r from the document root.  Returns 0, 1 when the file's body is
 * still being sent (c's state holds it), -1 after an error answer that
 * closes the connection.
 */
static int
out_file(struct asockd_conn *c, struct http *h, struct http_request *r)
{
	char		 real[PATH_MAX];
	const char	*status;
	struct stat	 st;
	struct hconn	*hc;
	int		 fd, bad;

	if ((fd = file_open(h, r, &st, real, &status)) == -1) {
		/* a malformed path ends the connection, the others do not */
		bad = strncmp(status, "400", 3) == 0;
		out_error(c, h, r, status, bad);
		return (bad ? -1 : 0);
	}
	out_status(c, h, "200 OK", ctype_of(real), (long long)st.st_size);
	out_connection(c, r);
	out_add(c, "\r\n", 2);
	if (r->head || st.st_size == 0) {
		close(fd);
		return (0);
	}
	if ((hc = hconn_get(c)) == NULL) {
		close(fd);
		host->close(c);
		return (-1);
	}
	hc->fd = fd;
	hc->left = st.st_size;
	return (file_more(c, hc) ? 0 : 1);
}

/*
 * Answer the requests at the front of [p, p + len) while the peer keeps
 * up.  Returns the bytes used and sets *why (ST_*) and *answered.  After
 * ST_CLOSED every byte counts as used.
 */
static size_t
serve(struct asockd_conn *c, struct http *h, const char *p, size_t len,
    int *why, int *answered)
{
	struct http_request	 r;
	struct hconn		*hc;
	const char		*status;
	size_t			 off = 0, used;
	int			 rv;

	*answered = 0;
	for (;;) {
		if (!host->writable(c)) {
			*why = ST_STALL;
			return (off);
		}
		switch (http_parse(&r, p + off, len - off, &h->lim, &used,
		    &status)) {
		case HTTP_PARSE_MORE:
			*why = ST_MORE;
			return (off + used);
		case HTTP_PARSE_ERROR:
			out_error(c, h, &r, status, 1);
			linger_start(c, h);
			*why = ST_CLOSED;
			return (len);
		case HTTP_PARSE_OK:
			break;
		}
		off += used;
		(*answered)++;
		rv = 0;
		if (h->root != NULL)
			rv = out_file(c, h, &r);
		else
			out_fixed(c, h, &r);
		if (rv == -1) {
			linger_start(c, h);
			*why = ST_CLOSED;
			return (len);
		}
		if (!r.keepalive) {
			/* what follows a closing request is not answered */
			if (rv == 1 && (hc = host->udata(c)) != NULL) {
				hc->close_after = 1;
				*why = ST_STALL;
			} else {
				out_flush(c);
				host->close(c);
				*why = ST_CLOSED;
			}
			return (len);
		}
		if (rv == 1) {
			*why = ST_STALL;
			return (off);
		}
	}
}

/*
 * After serving: while an incomplete request waits (waiting bytes), its
 * header_timeout runs from its first byte; answered requests restart it.
 * State that holds nothing any more is freed.
 */
static void
settle(struct asockd_conn *c, struct http *h, int why, int answered,
    size_t waiting)
{
	struct hconn	*hc = host->udata(c);

	if (why == ST_CLOSED)
		return;
	if (why == ST_MORE && waiting > 0 && h->header_timeout > 0) {
		if ((hc = hconn_get(c)) == NULL)
			return;
		if (answered)
			timer_clear(hc);
		if (hc->timer == NULL)
			hc->timer = host->timer_start(host->conn_instance(c),
			    c, h->header_timeout, 0, header_expired, c);
		return;
	}
	if (hc == NULL)
		return;
	timer_clear(hc);
	if (hc->fd == -1 && hc->pendlen == 0 && !hc->lingering)
		hconn_free(c, hc);
}

/*
 * Carry on with what c's state holds: the file being sent, then the
 * requests kept while the peer was not writable.
 */
static void
resume(struct asockd_conn *c, struct http *h, struct hconn *hc)
{
	size_t	 used;
	int	 why, answered = 0;

	if (hc->fd != -1) {
		if (!file_more(c, hc)) {
			settle(c, h, ST_STALL, 0, 0);
			return;
		}
		if (hc->close_after) {
			out_flush(c);
			host->close(c);
			return;
		}
	}
	if (hc->pendlen == 0) {
		settle(c, h, ST_MORE, 0, 0);
		return;
	}
	used = serve(c, h, hc->pend, hc->pendlen, &why, &answered);
	if (why == ST_CLOSED)
		return;
	memmove(hc->pend, hc->pend + used, hc->pendlen - used);
	hc->pendlen -= used;
	settle(c, h, why, answered, hc->pendlen);
}

static size_t
http_receive(struct asockd_conn *c, const void *data, size_t len)
{
	struct http	*h = conn_http(c);
	struct hconn	*hc = host->udata(c);
	size_t		 used;
	int		 why, answered;

	if (hc != NULL && hc->lingering) {
		hc->lingered += len;
		if (hc->lingered > h->linger_size)
			host->close(c);
		return (len);
	}
	head_refresh(h);
	outlen = 0;
	if (hc != NULL && (hc->fd != -1 || hc->pendlen > 0)) {
		/* after requests not answered yet (the host does not read
		 * while the peer is not writable: rarely, if ever) */
		if (hc->pendlen + len > HTTP_PEND_MAX)
			return (0);
		if (pend_add(c, hc, data, len) == -1) {
			host->close(c);
			return (len);
		}
		resume(c, h, hc);
		out_flush(c);
		return (len);
	}
	used = serve(c, h, data, len, &why, &answered);
	if (why == ST_STALL && used < len) {
		if ((hc = hconn_get(c)) == NULL ||
		    pend_add(c, hc, (const char *)data + used, len - used) ==
		    -1) {
			out_flush(c);
			host->close(c);
			return (len);
		}
		used = len;
	}
	settle(c, h, why, answered, len - used);
	out_flush(c);
	return (used);
}

/* The peer drained its queue: continue where backpressure stopped us. */
static void
http_send(struct asockd_conn *c)
{
	struct hconn	*hc = host->udata(c);
	struct http	*h = conn_http(c);

	if (hc == NULL || hc->lingering)
		return;
	head_refresh(h);
	outlen = 0;
	resume(c, h, hc);
	out_flush(c);
}

/* A request head took longer than header_timeout: 408, then close. */
static void
header_expired(struct asockd_timer *t, void *arg)
{
	struct asockd_conn	*c = arg;
	struct hconn		*hc = host->udata(c);
	struct http		*h = conn_http(c);
	struct http_request	 r;

	hc->timer = NULL;	/* a one-shot timer is freed by the host */
	host->conn_log(c, ASOCKD_LOG_INFO, "request head not complete after"
	    " %g s: 408", h->header_timeout);
	memset(&r, 0, sizeof(r));
	head_refresh(h);
	outlen = 0;
	out_error(c, h, &r, "408 Request Timeout", 1);
	linger_start(c, h);
}

static void
http_close(struct asockd_conn *c, int reason)
{
	struct hconn	*hc = host->udata(c);

	if (hc != NULL) {
		hc->timer = NULL;	/* the host freed it before on_close */
		hconn_free(c, hc);
	}
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
	long long	 line, header;
	int		 n, rv = 0;

	if ((h->body = dup_str(inst, "body", "hello\\n")) == NULL ||
	    (h->ctype = dup_str(inst, "content_type", "text/plain")) == NULL ||
	    (h->index = dup_str(inst, "index", "index.html")) == NULL)
		return (-ENOMEM);
	h->bodylen = unescape(h->body);
	if (host->ini_int(inst, "http", "max_request_line", 8192,
	    &line) != 0 || host->ini_int(inst, "http", "max_header_size",
	    16384, &header) != 0 || host->ini_int(inst, "http",
	    "max_file_size", 1048576, &h->max_file) != 0 ||
	    host->ini_double(inst, "http", "header_timeout", 60,
	    &h->header_timeout) != 0 || host->ini_double(inst, "http",
	    "lingering_time", 5, &h->linger_time) != 0 ||
	    host->ini_int(inst, "http", "lingering_size", 1048576,
	    &h->linger_size) != 0 || host->ini_bool(inst, "http",
	    "server_header", 1, &h->server) != 0)
		rv = -EINVAL;
	if (line < 16 || header < 0 || h->max_file < 0) {
		host->log(inst, ASOCKD_LOG_ERR, "[http] max_request_line must "
		    "be >= 16, max_header_size and max_file_size >= 0");
		rv = -EINVAL;
	}
	if (!(h->header_timeout >= 0 && h->header_timeout <= 86400) ||
	    !(h->linger_time >= 0 && h->linger_time <= 3600) ||
	    h->linger_size < 0) {
		host->log(inst, ASOCKD_LOG_ERR, "[http] header_timeout must be "
		    "0..86400, lingering_time 0..3600, lingering_size >= 0");
		rv = -EINVAL;
	}
	h->lim.max_line = line < 0 ? 0 : (size_t)line;
	h->lim.max_header = header < 0 ? 0 : (size_t)header;
	if (strlen(h->ctype) > 128 || strpbrk(h->ctype, "\r\n") != NULL ||
	    strchr(h->index, '/') != NULL) {
		host->log(inst, ASOCKD_LOG_ERR, "[http] content_type must be "
		    "one short line, index a file name");
		rv = -EINVAL;
	}
	if ((root = dup_str(inst, "root", NULL)) != NULL) {
		/*
		 * Relative to what?  `asockd -t` runs in the caller's
		 * directory, the daemon in /: a relative root would pass the
		 * check and fail at run time.  Refuse it.
		 */
		if (root[0] != '/') {
			host->log(inst, ASOCKD_LOG_ERR, "[http] root %s: not an"
			    " absolute path", root);
			rv = -EINVAL;
		} else if ((h->root = realpath(root, NULL)) == NULL) {
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
	http_parse_init();
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

/*
 * The settings table: the host checks http.ini against it (unknown keys,
 * types and ranges as FILE:LINE) and prints it for --plugin-help.  The
 * defaults here are the ones http_settings() gets from the getters.
 */
static const struct asockd_setting http_table[] = {
	{ .section = "http", .name = "body", .type = ASOCKD_SET_STRING,
	  .def = "hello\\n",
	  .help = "the fixed body (C escapes \\n \\r \\t \\\\)" },
	{ .section = "http", .name = "content_type",
	  .type = ASOCKD_SET_STRING, .def = "text/plain",
	  .help = "Content-Type of the fixed body" },
	{ .section = "http", .name = "root", .type = ASOCKD_SET_STRING,
	  .help = "serve files from this directory (absolute) instead" },
	{ .section = "http", .name = "index", .type = ASOCKD_SET_STRING,
	  .def = "index.html", .help = "file served for a directory" },
	{ .section = "http", .name = "max_file_size", .type = ASOCKD_SET_INT,
	  .def = "1048576", .min = 0, .max = 1099511627776.0,
	  .help = "larger files get 403, in bytes" },
	{ .section = "http", .name = "max_request_line",
	  .type = ASOCKD_SET_INT, .def = "8192", .min = 16, .max = 1048576,
	  .help = "longest request line, in bytes (longer: 414)" },
	{ .section = "http", .name = "max_header_size",
	  .type = ASOCKD_SET_INT, .def = "16384", .min = 0, .max = 1048576,
	  .help = "largest header block, in bytes (larger: 431)" },
	{ .section = "http", .name = "header_timeout",
	  .type = ASOCKD_SET_DOUBLE, .def = "60", .min = 0, .max = 86400,
	  .help = "seconds to send a request head, from its first byte" },
	{ .section = "http", .name = "lingering_time",
	  .type = ASOCKD_SET_DOUBLE, .def = "5", .min = 0, .max = 3600,
	  .help = "seconds to read and discard after a closing error" },
	{ .section = "http", .name = "lingering_size",
	  .type = ASOCKD_SET_INT, .def = "1048576", .min = 0,
	  .max = 1073741824, .help = "bytes to read and discard, at most" },
	{ .section = "http", .name = "server_header", .type = ASOCKD_SET_BOOL,
	  .def = "on", .help = "send \"Server: asockd\"" },
	{ .name = NULL }
};

ASOCKD_PLUGIN_DEFINE(
	.name = "http",
	.version = "1.0",
	.init = http_init,
	.validate = http_validate,
	.fini = http_fini,
	.on_receive = http_receive,
	.on_send = http_send,
	.on_close = http_close,
	.settings = http_table
);
