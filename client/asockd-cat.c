/*
 * asockd-cat - a command-line client for any asockd listener.
 *
 * Raw mode copies stdin to the socket and the socket to stdout; archive
 * mode (--archive) turns each JSON line of stdin into one archive frame
 * (MessagePack) and prints every MessagePack value received as one JSON
 * line.  One poll(2) loop drives both: stdin is read only while the
 * output buffer is small, so a peer that stops reading stalls stdin
 * instead of growing memory.
 *
 * End of the session (see docs/asockd-cat.1): on stdin EOF the output
 * buffer is flushed, the program lingers --wait seconds, then shuts down
 * its write side (streams) and exits once the peer has closed, or after
 * --timeout seconds (exit 4).  Datagram sockets exit after the linger.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "asockd/client.h"

#define EX_OK_		0	/* the peer closed (or datagram linger over) */
#define EX_ERROR	1	/* I/O error, reset, bad frame from the peer */
#define EX_USAGE_	2	/* bad option or URI */
#define EX_CONNECT	3	/* could not connect */
#define EX_TIMEOUT	4	/* the peer did not close within --timeout */
#define EX_BADINPUT	5	/* some stdin lines were not valid JSON */

#define OUT_HIGH	(256 * 1024)	/* stop reading stdin above this */
#define DGRAM_MAX	65536

struct buf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

static const char *progname = "asockd-cat";
static int archive;		/* --archive */
static int dgram;		/* udp:// or unix-dgram: */
static double timeout_s = 10;	/* --timeout */
static double wait_s = -1;	/* --wait (-1: default) */
static unsigned long lineno;	/* stdin lines read (archive mode) */
static int bad_lines;

static __attribute__((noreturn)) void
usage(int status)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f,
"usage: %s [--archive] [--timeout SEC] [--wait SEC] URI\n"
"       %s --help | --version\n"
"URI is tcp://HOST:PORT, udp://HOST:PORT, unix:/PATH or unix-dgram:/PATH;\n"
"HOST \"*\" or empty (tcp://:7007) is the wildcard, i.e. this host.\n"
"  -a, --archive      stdin: one JSON value per line, each sent as an\n"
"                     archive frame; stdout: one JSON line per received\n"
"                     MessagePack value (binary as {\"$bin\": \"BASE64\"})\n"
"  -t, --timeout SEC  connect timeout, and how long to wait for the peer\n"
"                     to close after stdin EOF (default 10, 0: forever)\n"
"  -w, --wait SEC     linger SEC seconds after stdin EOF before shutting\n"
"                     down the write side (default 0; datagrams: 1)\n"
"  -h, --help         this text\n"
"  -V, --version      print the version\n"
"Exit status: 0 peer closed, 1 error, 2 usage, 3 cannot connect,\n"
"4 timed out waiting for the peer, 5 bad JSON input lines.\n",
	    progname, progname);
	exit(status);
}

static __attribute__((noreturn, format(printf, 2, 3))) void
die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static void
buf_add(struct buf *b, const void *p, size_t len)
{
	size_t cap;

	if (len == 0)
		return;
	if (b->cap - b->len < len) {
		cap = b->cap == 0 ? 4096 : b->cap;
		while (cap - b->len < len)
			cap *= 2;
		if ((b->p = realloc(b->p, cap)) == NULL)
			die(EX_ERROR, "out of memory");
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void
buf_drop(struct buf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static void
write_stdout(const void *p, size_t len)
{
	const char *s = p;
	ssize_t n;

	while (len > 0) {
		n = write(STDOUT_FILENO, s, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			die(EX_ERROR, "write stdout: %s", strerror(errno));
		s += n;
		len -= n;
	}
}

/* --- base64 (RFC 4648, with padding) --- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *
b64_encode(const unsigned char *p, size_t len)
{
	char *out, *o;
	uint32_t v;
	size_t i;

	if ((out = o = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		die(EX_ERROR, "out of memory");
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = b64[(v >> 6) & 63];
		*o++ = b64[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return (out);
}

/* Decode s into out (at least len*3/4 bytes); -1 if it is not base64. */
static long
b64_decode(const char *s, size_t len, unsigned char *out)
{
	const char *c;
	uint32_t v = 0;
	size_t i, n = 0, pad = 0;

	if (len % 4 != 0)
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] == '=' && i >= len - 2) {
			pad++;
			v <<= 6;
		} else if (pad == 0 && s[i] != '\0' &&
		    (c = strchr(b64, s[i])) != NULL)
			v = v << 6 | (uint32_t)(c - b64);
		else
			return (-1);
		if (i % 4 == 3) {
			out[n++] = v >> 16;
			out[n++] = (v >> 8) & 0xff;
			out[n++] = v & 0xff;
			v = 0;
		}
	}
	return ((long)(n - pad));
}

/* --- JSON -> MessagePack --- */

/* Append j to cl's pending message; on error -1 with a message in err. */
static int
pack_json(struct asockd_client *cl, json_t *j, char *err, size_t errlen)
{
	const char *key, *s;
	unsigned char *bin;
	json_t *v;
	size_t i, len;
	long n;
	int rv;

	switch (json_typeof(j)) {
	case JSON_NULL:
		rv = asockd_client_wr_nil(cl);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		rv = asockd_client_wr_bool(cl, json_is_true(j));
		break;
	case JSON_INTEGER:
		rv = asockd_client_wr_int(cl, json_integer_value(j));
		break;
	case JSON_REAL:
		rv = asockd_client_wr_double(cl, json_real_value(j));
		break;
	case JSON_STRING:
		rv = asockd_client_wr_str(cl, json_string_value(j),
		    json_string_length(j));
		break;
	case JSON_ARRAY:
		rv = asockd_client_wr_array(cl, json_array_size(j));
		json_array_foreach(j, i, v)
			if (rv == 0 && pack_json(cl, v, err, errlen) != 0)
				return (-1);
		break;
	case JSON_OBJECT:
		/* {"$bin": "BASE64"} is MessagePack binary. */
		if (json_object_size(j) == 1 &&
		    (v = json_object_get(j, "$bin")) != NULL) {
			if (!json_is_string(v)) {
				snprintf(err, errlen, "$bin: not a string");
				return (-1);
			}
			s = json_string_value(v);
			len = json_string_length(v);
			if ((bin = malloc(len / 4 * 3 + 1)) == NULL)
				die(EX_ERROR, "out of memory");
			if ((n = b64_decode(s, len, bin)) < 0) {
				free(bin);
				snprintf(err, errlen, "$bin: invalid base64");
				return (-1);
			}
			rv = asockd_client_wr_bin(cl, bin, n);
			free(bin);
			break;
		}
		rv = asockd_client_wr_map(cl, json_object_size(j));
		json_object_foreach(j, key, v) {
			if (rv == 0)
				rv = asockd_client_wr_str(cl, key,
				    strlen(key));
			if (rv == 0 && pack_json(cl, v, err, errlen) != 0)
				return (-1);
		}
		break;
	default:
		snprintf(err, errlen, "unsupported JSON type");
		return (-1);
	}
	if (rv == -ENOMEM)
		die(EX_ERROR, "out of memory");
	if (rv != 0) {
		snprintf(err, errlen, "%s", strerror(-rv));
		return (-1);
	}
	return (0);
}

/* --- MessagePack -> JSON --- */

static json_t *
bin_json(const void *p, size_t len)
{
	char *s;
	json_t *j;

	s = b64_encode(p, len);
	j = json_pack("{s:s}", "$bin", s);
	free(s);
	return (j);
}

static __attribute__((noreturn)) void
bad_value(int rv)
{
	die(EX_ERROR, "bad frame from peer: %s", strerror(-rv));
}

/*
 * The next value of the current frame as JSON.  The library checked the
 * frame (nesting at most 64), so the recursion is bounded.
 */
static json_t *
value_json(struct asockd_client *cl)
{
	const char *s;
	const void *p;
	json_t *j, *k;
	char *ks;
	uint64_t u;
	int64_t i;
	uint32_t n, x;
	size_t len;
	double f;
	int b, rv, type;

	switch (asockd_client_rd_next_type(cl)) {
	case ASOCKD_CLIENT_T_NIL:
		if ((rv = asockd_client_rd_nil(cl)) != 0)
			bad_value(rv);
		j = json_null();
		break;
	case ASOCKD_CLIENT_T_BOOL:
		if ((rv = asockd_client_rd_bool(cl, &b)) != 0)
			bad_value(rv);
		j = json_boolean(b);
		break;
	case ASOCKD_CLIENT_T_UINT:
		/* JSON integers are int64 in jansson: larger ones go real. */
		if ((rv = asockd_client_rd_uint(cl, &u)) != 0)
			bad_value(rv);
		j = u > INT64_MAX ? json_real((double)u) :
		    json_integer((json_int_t)u);
		break;
	case ASOCKD_CLIENT_T_INT:
		if ((rv = asockd_client_rd_int(cl, &i)) != 0)
			bad_value(rv);
		j = json_integer(i);
		break;
	case ASOCKD_CLIENT_T_FLOAT:
		if ((rv = asockd_client_rd_double(cl, &f, NULL)) != 0)
			bad_value(rv);
		j = isfinite(f) ? json_real(f) : json_null();
		break;
	case ASOCKD_CLIENT_T_STR:
		if ((rv = asockd_client_rd_str(cl, &s, &len)) != 0)
			bad_value(rv);
		if ((j = json_stringn(s, len)) == NULL)
			j = bin_json(s, len);
		break;
	case ASOCKD_CLIENT_T_BIN:
		if ((rv = asockd_client_rd_bin(cl, &p, &len)) != 0)
			bad_value(rv);
		j = bin_json(p, len);
		break;
	case ASOCKD_CLIENT_T_EXT:
		if ((rv = asockd_client_rd_ext(cl, &type, &p, &len)) != 0)
			bad_value(rv);
		j = bin_json(p, len);
		json_object_set_new(j, "$ext", json_integer(type));
		break;
	case ASOCKD_CLIENT_T_ARRAY:
		if ((rv = asockd_client_rd_array(cl, &n)) != 0)
			bad_value(rv);
		j = json_array();
		for (x = 0; x < n; x++)
			json_array_append_new(j, value_json(cl));
		break;
	case ASOCKD_CLIENT_T_MAP:
		if ((rv = asockd_client_rd_map(cl, &n)) != 0)
			bad_value(rv);
		j = json_object();
		for (x = 0; x < n; x++) {
			/* JSON keys are strings: others use their JSON text. */
			k = value_json(cl);
			if (json_is_string(k))
				ks = strdup(json_string_value(k));
			else
				ks = json_dumps(k, JSON_COMPACT |
				    JSON_ENCODE_ANY);
			json_decref(k);
			if (ks == NULL)
				die(EX_ERROR, "out of memory");
			json_object_set_new(j, ks, value_json(cl));
			free(ks);
		}
		break;
	default:
		bad_value(-EBADMSG);
	}
	return (j);
}

/* --- archive mode --- */

/* One stdin line: parse it and append its frame to out. */
static void
archive_line(struct asockd_client *cl, char *line, size_t len,
    struct buf *out)
{
	json_error_t jerr;
	const void *msg;
	size_t msglen;
	json_t *j;
	unsigned char hdr[4];
	char err[160];
	size_t i;

	lineno++;
	for (i = 0; i < len; i++)
		if (strchr(" \t\r\n", line[i]) == NULL)
			break;
	if (i == len)
		return;		/* blank lines are skipped */
	j = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
	if (j == NULL) {
		fprintf(stderr, "%s: stdin:%lu: %s (column %d)\n", progname,
		    lineno, jerr.text, jerr.column);
		bad_lines++;
		return;
	}
	/* The library's writer builds the payload; the loop sends it. */
	asockd_client_wr_reset(cl);
	msg = NULL;
	msglen = 0;
	if (pack_json(cl, j, err, sizeof(err)) == 0)
		msg = asockd_client_wr_data(cl, &msglen);
	if (msg == NULL) {
		fprintf(stderr, "%s: stdin:%lu: %s\n", progname, lineno, err);
		bad_lines++;
	} else if (msglen > ASOCKD_CLIENT_MAX_FRAME) {
		fprintf(stderr, "%s: stdin:%lu: message over %d bytes\n",
		    progname, lineno, ASOCKD_CLIENT_MAX_FRAME);
		bad_lines++;
	} else {
		hdr[0] = (msglen >> 24) & 0xff;
		hdr[1] = (msglen >> 16) & 0xff;
		hdr[2] = (msglen >> 8) & 0xff;
		hdr[3] = msglen & 0xff;
		buf_add(out, hdr, sizeof(hdr));
		buf_add(out, msg, msglen);
	}
	asockd_client_wr_reset(cl);
	json_decref(j);
}

/* Split the complete lines of in off into frames (all of it at EOF). */
static void
archive_input(struct asockd_client *cl, struct buf *in, struct buf *out,
    int eof)
{
	unsigned char *nl;
	size_t n;

	if (in->len == 0)
		return;
	while ((nl = memchr(in->p, '\n', in->len)) != NULL) {
		n = nl - in->p;
		archive_line(cl, (char *)in->p, n, out);
		buf_drop(in, n + 1);
	}
	if (eof && in->len > 0) {
		archive_line(cl, (char *)in->p, in->len, out);
		in->len = 0;
	}
}

/* Print every whole frame received; returns 1 when the peer closed. */
static int
archive_output(struct asockd_client *cl)
{
	json_t *j;
	char *s;
	int rv;

	for (;;) {
		rv = asockd_client_recv(cl, 0);
		if (rv == -EAGAIN)
			return (0);
		if (rv == -ENOTCONN)
			return (1);
		if (rv != 0 && asockd_client_why(cl) != NULL)
			die(EX_ERROR, "bad frame from peer: %s",
			    asockd_client_why(cl));
		if (rv != 0)
			die(EX_ERROR, "receive: %s", strerror(-rv));
		while (asockd_client_rd_next_type(cl) !=
		    ASOCKD_CLIENT_T_NONE) {
			j = value_json(cl);
			s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
			if (s == NULL)
				die(EX_ERROR, "out of memory");
			write_stdout(s, strlen(s));
			write_stdout("\n", 1);
			free(s);
			json_decref(j);
		}
	}
}

/* --- raw mode --- */

/* Copy what the socket has to stdout; returns 1 when the peer closed. */
static int
raw_output(int fd)
{
	static unsigned char b[DGRAM_MAX];
	ssize_t n;

	for (;;) {
		n = recv(fd, b, sizeof(b), 0);
		if (n > 0) {
			write_stdout(b, n);
			if (dgram)
				continue;
			return (0);
		}
		if (n == 0 && !dgram)
			return (1);
		if (n == 0)
			continue;	/* an empty datagram */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return (0);
		/* A datagram to a closed port reports ECONNREFUSED. */
		if (dgram && errno == ECONNREFUSED) {
			fprintf(stderr, "%s: recv: %s\n", progname,
			    strerror(errno));
			return (0);
		}
		die(EX_ERROR, "recv: %s", strerror(errno));
	}
}

/* Datagrams: each stdin line (with its LF) is one datagram. */
static void
dgram_input(struct buf *in, struct buf *out, int eof)
{
	unsigned char *nl;
	size_t n;

	while (in->len > 0 && ((nl = memchr(in->p, '\n', in->len)) != NULL ||
	    in->len >= DGRAM_MAX || eof)) {
		n = nl != NULL ? (size_t)(nl - in->p) + 1 : in->len;
		if (n > DGRAM_MAX)
			n = DGRAM_MAX;
		/* Queued as a 4-byte length + bytes, sent one by one. */
		buf_add(out, (uint32_t[]){ (uint32_t)n }, 4);
		buf_add(out, in->p, n);
		buf_drop(in, n);
	}
}

static int
dgram_flush(int fd, struct buf *out)
{
	uint32_t n;
	ssize_t r;

	while (out->len > 0) {
		memcpy(&n, out->p, 4);
		r = send(fd, out->p + 4, n, MSG_NOSIGNAL);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return (0);
		if (r == -1 && errno != ECONNREFUSED)
			return (-1);
		buf_drop(out, 4 + n);
	}
	return (0);
}

static double
parse_seconds(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0) ||
	    v > 86400 * 365)
		die(EX_USAGE_, "%s: invalid number of seconds: %s", opt, s);
	return (v);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "archive", no_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct asockd_client *cl = NULL;
	struct buf in = { 0 }, out = { 0 };
	struct pollfd pfd[2];
	const char *uri;
	unsigned char b[16384];
	char err[512];
	double eof_at = 0, shut_at = 0, t;
	int ch, fd, rv, stdin_eof = 0, shut = 0, closed = 0, tmo, nfds;
	ssize_t n;

	while ((ch = getopt_long(argc, argv, "at:w:hV", longopts, NULL)) != -1)
		switch (ch) {
		case 'a':
			archive = 1;
			break;
		case 't':
			timeout_s = parse_seconds("--timeout", optarg);
			break;
		case 'w':
			wait_s = parse_seconds("--wait", optarg);
			break;
		case 'h':
			usage(0);
		case 'V':
			printf("asockd-cat %s\n", PACKAGE_VERSION);
			return (0);
		default:
			usage(EX_USAGE_);
		}
	if (argc - optind != 1)
		usage(EX_USAGE_);
	uri = argv[optind];
	signal(SIGPIPE, SIG_IGN);

	/* The daemon's own address parser, built into the library. */
	if ((rv = asockd_client_uri_check(uri, err, sizeof(err))) < 0)
		die(EX_USAGE_, "%s", err);
	dgram = rv == SOCK_DGRAM;
	if (dgram && archive)
		die(EX_USAGE_, "--archive needs a stream socket: %s", uri);
	if (wait_s < 0)
		wait_s = dgram ? 1 : 0;
	tmo = timeout_s > 0 ? (int)(timeout_s * 1000) : -1;
	if (archive) {
		rv = asockd_client_connect(uri, tmo, &cl);
		fd = rv == 0 ? asockd_client_fd(cl) : -1;
	} else
		rv = asockd_client_dial(uri, tmo, &fd);
	if (rv != 0)
		die(EX_CONNECT, "%s: %s", uri, strerror(-rv));

	while (!closed) {
		/* After stdin EOF and a drained queue: linger, shut down. */
		t = now_s();
		if (stdin_eof && out.len == 0 && !shut &&
		    t >= eof_at + wait_s) {
			if (dgram)
				break;
			if (shutdown(fd, SHUT_WR) == -1 && errno != ENOTCONN)
				die(EX_ERROR, "shutdown: %s", strerror(errno));
			shut = 1;
			shut_at = t;
		}
		if (shut && timeout_s > 0 && t >= shut_at + timeout_s)
			die(EX_TIMEOUT, "timed out waiting for the peer to "
			    "close");

		nfds = 1;
		pfd[0].fd = fd;
		pfd[0].events = POLLIN | (out.len > 0 ? POLLOUT : 0);
		pfd[1].fd = STDIN_FILENO;
		pfd[1].events = POLLIN;
		if (!stdin_eof && out.len < OUT_HIGH)
			nfds = 2;
		if (shut)
			tmo = timeout_s > 0 ?
			    (int)((shut_at + timeout_s - t) * 1000) + 1 : -1;
		else if (stdin_eof && out.len == 0)
			tmo = (int)((eof_at + wait_s - t) * 1000) + 1;
		else
			tmo = -1;
		if (poll(pfd, nfds, tmo) == -1) {
			if (errno == EINTR)
				continue;
			die(EX_ERROR, "poll: %s", strerror(errno));
		}

		if (nfds == 2 && pfd[1].revents != 0) {
			n = read(STDIN_FILENO, b, sizeof(b));
			if (n == -1 && errno != EINTR && errno != EAGAIN)
				die(EX_ERROR, "read stdin: %s",
				    strerror(errno));
			if (n == 0) {
				stdin_eof = 1;
				eof_at = now_s();
			}
			if (n > 0 && !archive && !dgram)
				buf_add(&out, b, n);
			else if (n >= 0) {
				buf_add(&in, b, n);
				if (archive)
					archive_input(cl, &in, &out, stdin_eof);
				else
					dgram_input(&in, &out, stdin_eof);
			}
		}
		if (pfd[0].revents & (POLLOUT | POLLERR) && out.len > 0) {
			if (dgram)
				rv = dgram_flush(fd, &out);
			else if ((n = send(fd, out.p, out.len,
			    MSG_NOSIGNAL)) > 0) {
				buf_drop(&out, n);
				rv = 0;
			} else
				rv = n == -1 && errno != EAGAIN &&
				    errno != EINTR ? -1 : 0;
			if (rv == -1)
				die(EX_ERROR, "send: %s", strerror(errno));
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))
			closed = archive ? archive_output(cl) : raw_output(fd);
	}
	if (archive)
		asockd_client_close(cl);
	else
		close(fd);
	free(in.p);
	free(out.p);
	return (bad_lines > 0 ? EX_BADINPUT : EX_OK_);
}
