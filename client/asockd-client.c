/*
 * asockd-client.c - libasockd-client: connect to an asockd listener, send
 * and receive archive frames (4-byte big-endian length + MessagePack
 * payload).  See include/asockd/client.h for the API.
 *
 * Three files of the daemon are built into the library (client/shared.h
 * gives them names of their own): addr.c parses URIs exactly as the config
 * file's addresses are parsed, and mp.c and utf8.c check every received
 * frame as the daemon checks what a peer sends, before the reader looks at
 * it.  msgpack-c's unpacker is not used: it allocates from the counts a
 * peer declares.  The reader walks the checked bytes with mp_header() and
 * decodes scalars itself; msgpack-c only packs the pending message, and
 * none of its types appear in client.h.
 *
 * The socket is non-blocking; every call that waits does so with poll(2)
 * against a deadline, so partial reads and writes are resumed until the
 * frame is complete or the time is up.  Received bytes are kept in one
 * growing buffer: the current frame sits at its front and is dropped by
 * the next asockd_client_recv().
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "asockd/client.h"
#include "addr.h"
#include "mp.h"

/* rd_next_type returns the codes of mp_header() as they are. */
_Static_assert((int)ASOCKD_CLIENT_T_NONE == (int)ASOCKD_T_NONE &&
    (int)ASOCKD_CLIENT_T_NIL == (int)ASOCKD_T_NIL &&
    (int)ASOCKD_CLIENT_T_BOOL == (int)ASOCKD_T_BOOL &&
    (int)ASOCKD_CLIENT_T_UINT == (int)ASOCKD_T_UINT &&
    (int)ASOCKD_CLIENT_T_INT == (int)ASOCKD_T_INT &&
    (int)ASOCKD_CLIENT_T_FLOAT == (int)ASOCKD_T_FLOAT &&
    (int)ASOCKD_CLIENT_T_STR == (int)ASOCKD_T_STR &&
    (int)ASOCKD_CLIENT_T_BIN == (int)ASOCKD_T_BIN &&
    (int)ASOCKD_CLIENT_T_ARRAY == (int)ASOCKD_T_ARRAY &&
    (int)ASOCKD_CLIENT_T_MAP == (int)ASOCKD_T_MAP &&
    (int)ASOCKD_CLIENT_T_EXT == (int)ASOCKD_T_EXT,
    "client.h and plugin.h type codes differ");

struct asockd_client {
	int		 fd;
	size_t		 max_frame;
	msgpack_sbuffer	 sbuf;		/* pending message */
	msgpack_packer	 pk;
	unsigned char	*in;		/* received bytes */
	size_t		 inlen;
	size_t		 incap;
	size_t		 cur;		/* bytes of the current frame (with
					   header) at the front of in */
	size_t		 end;		/* payload bytes the reader may
					   read: 0 for a refused frame */
	size_t		 off;		/* next value in the payload */
	const char	*why;		/* why the last frame was refused */
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Milliseconds left before deadline (-1: none), for poll. */
static int
left_ms(long long deadline)
{
	long long left;

	if (deadline < 0)
		return (-1);
	left = deadline - now_ms();
	if (left < 0)
		return (0);
	return (left > INT_MAX ? INT_MAX : (int)left);
}

/* Wait for events on fd until deadline: 0, -ETIMEDOUT or -errno. */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	int n;

	for (;;) {
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left_ms(deadline));
		if (n > 0)
			return (0);
		if (n == 0)
			return (-ETIMEDOUT);
		if (errno != EINTR)
			return (-errno);
	}
}

static long long
deadline_of(int timeout_ms)
{
	return (timeout_ms < 0 ? -1 : now_ms() + timeout_ms);
}

/* Non-blocking connect of fd to sa, finished within deadline. */
static int
connect_wait(int fd, const struct sockaddr *sa, socklen_t len,
    long long deadline)
{
	socklen_t elen = sizeof(int);
	int error = 0, rv;

	if (connect(fd, sa, len) == 0)
		return (0);
	if (errno != EINPROGRESS && errno != EINTR)
		return (-errno);
	if ((rv = wait_fd(fd, POLLOUT, deadline)) != 0)
		return (rv);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &elen) == -1)
		return (-errno);
	return (-error);
}

/* Parse uri with the daemon's parser; the socket type in *type. */
static int
uri_parse(const char *uri, struct addr *a, int *type, char *err,
    size_t errlen)
{
	if (uri == NULL) {
		snprintf(err, errlen, "no URI");
		return (-EINVAL);
	}
	if (addr_parse(uri, 0, a, err, errlen) == -1)
		return (-EINVAL);
	*type = a->kind == ASOCKD_UDP || a->kind == ASOCKD_UNIX_DGRAM ?
	    SOCK_DGRAM : SOCK_STREAM;
	return (0);
}

int
asockd_client_uri_check(const char *uri, char *err, size_t errlen)
{
	struct addr a;
	char buf[512];
	int rv, type;

	rv = uri_parse(uri, &a, &type, buf, sizeof(buf));
	if (rv != 0 && err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", buf);
	return (rv != 0 ? rv : type);
}

/* A socket of type connected to sa within deadline, in *out. */
static int
dial_addr(const struct sockaddr *sa, socklen_t len, int type,
    long long deadline, int *out)
{
	sa_family_t family = AF_UNIX;
	int fd, rv, one = 1;

	fd = socket(sa->sa_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-errno);
	/* Linux autobind: an abstract name the peer can send replies to. */
	if (sa->sa_family == AF_UNIX && type == SOCK_DGRAM &&
	    bind(fd, (struct sockaddr *)&family, sizeof(family)) == -1) {
		rv = -errno;
		close(fd);
		return (rv);
	}
	if ((rv = connect_wait(fd, sa, len, deadline)) != 0) {
		close(fd);
		return (rv);
	}
	if (type == SOCK_STREAM && sa->sa_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	*out = fd;
	return (0);
}

/* A host name: resolve it (blocking) and try each address in turn. */
static int
dial_name(const struct addr *a, int type, long long deadline, int *out)
{
	struct addrinfo hints, *res, *ai;
	char port[8];
	int rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", a->port);
	if (getaddrinfo(a->host, port, &hints, &res) != 0)
		return (-EHOSTUNREACH);
	rv = -EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		rv = dial_addr(ai->ai_addr, ai->ai_addrlen, type, deadline,
		    out);
		if (rv == 0 || rv == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	return (rv);
}

int
asockd_client_dial(const char *uri, int timeout_ms, int *fd)
{
	long long deadline = deadline_of(timeout_ms);
	struct addr a;
	char err[512];
	int rv, type;

	if (fd == NULL)
		return (-EINVAL);
	if ((rv = uri_parse(uri, &a, &type, err, sizeof(err))) != 0)
		return (rv);
	/* A literal (or the wildcard, which Linux connects to locally). */
	if (a.sslen > 0)
		return (dial_addr((struct sockaddr *)&a.ss, a.sslen, type,
		    deadline, fd));
	return (dial_name(&a, type, deadline, fd));
}

int
asockd_client_connect(const char *uri, int timeout_ms,
    struct asockd_client **out)
{
	struct asockd_client *cl;
	int fd, rv;

	if ((rv = asockd_client_uri_check(uri, NULL, 0)) < 0)
		return (rv);
	if (rv == SOCK_DGRAM)
		return (-EPROTOTYPE);
	if ((rv = asockd_client_dial(uri, timeout_ms, &fd)) != 0)
		return (rv);
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		close(fd);
		return (-ENOMEM);
	}
	cl->fd = fd;
	cl->max_frame = ASOCKD_CLIENT_MAX_FRAME;
	msgpack_sbuffer_init(&cl->sbuf);
	msgpack_packer_init(&cl->pk, &cl->sbuf, msgpack_sbuffer_write);
	*out = cl;
	return (0);
}

void
asockd_client_close(struct asockd_client *cl)
{
	if (cl == NULL)
		return;
	close(cl->fd);
	msgpack_sbuffer_destroy(&cl->sbuf);
	free(cl->in);
	free(cl);
}

int
asockd_client_fd(struct asockd_client *cl)
{
	return (cl->fd);
}

int
asockd_client_set_max_frame(struct asockd_client *cl, size_t max)
{
	if (max == 0 || max > ASOCKD_CLIENT_FRAME_LIMIT)
		return (-EINVAL);
	cl->max_frame = max;
	return (0);
}

/* --- writer --- */

/* A putter's end: on failure the message goes back to mark. */
static int
wr_done(struct asockd_client *cl, size_t mark, int rv)
{
	if (rv == 0)
		return (0);
	cl->sbuf.size = mark;
	return (-ENOMEM);	/* the only way msgpack_sbuffer_write fails */
}

int
asockd_client_wr_nil(struct asockd_client *cl)
{
	return (wr_done(cl, cl->sbuf.size, msgpack_pack_nil(&cl->pk)));
}

int
asockd_client_wr_bool(struct asockd_client *cl, int v)
{
	return (wr_done(cl, cl->sbuf.size, v ? msgpack_pack_true(&cl->pk) :
	    msgpack_pack_false(&cl->pk)));
}

int
asockd_client_wr_int(struct asockd_client *cl, int64_t v)
{
	return (wr_done(cl, cl->sbuf.size, msgpack_pack_int64(&cl->pk, v)));
}

int
asockd_client_wr_uint(struct asockd_client *cl, uint64_t v)
{
	return (wr_done(cl, cl->sbuf.size, msgpack_pack_uint64(&cl->pk, v)));
}

int
asockd_client_wr_float(struct asockd_client *cl, float v)
{
	return (wr_done(cl, cl->sbuf.size, msgpack_pack_float(&cl->pk, v)));
}

int
asockd_client_wr_double(struct asockd_client *cl, double v)
{
	return (wr_done(cl, cl->sbuf.size, msgpack_pack_double(&cl->pk, v)));
}

int
asockd_client_wr_str(struct asockd_client *cl, const char *s, size_t len)
{
	size_t mark = cl->sbuf.size;

	if (len > UINT32_MAX)
		return (-EMSGSIZE);
	if (!utf8_valid((const unsigned char *)s, len))
		return (-EINVAL);
	return (wr_done(cl, mark, msgpack_pack_str(&cl->pk, len) ||
	    msgpack_pack_str_body(&cl->pk, s, len)));
}

int
asockd_client_wr_bin(struct asockd_client *cl, const void *p, size_t len)
{
	size_t mark = cl->sbuf.size;

	if (len > UINT32_MAX)
		return (-EMSGSIZE);
	return (wr_done(cl, mark, msgpack_pack_bin(&cl->pk, len) ||
	    msgpack_pack_bin_body(&cl->pk, p, len)));
}

int
asockd_client_wr_ext(struct asockd_client *cl, int type, const void *p,
    size_t len)
{
	size_t mark = cl->sbuf.size;

	if (type < INT8_MIN || type > INT8_MAX)
		return (-EINVAL);
	if (len > UINT32_MAX)
		return (-EMSGSIZE);
	return (wr_done(cl, mark, msgpack_pack_ext(&cl->pk, len,
	    (int8_t)type) || msgpack_pack_ext_body(&cl->pk, p, len)));
}

int
asockd_client_wr_array(struct asockd_client *cl, uint32_t count)
{
	return (wr_done(cl, cl->sbuf.size,
	    msgpack_pack_array(&cl->pk, count)));
}

int
asockd_client_wr_map(struct asockd_client *cl, uint32_t count)
{
	return (wr_done(cl, cl->sbuf.size, msgpack_pack_map(&cl->pk, count)));
}

int
asockd_client_wr_raw(struct asockd_client *cl, const void *p, size_t len)
{
	const char *why;

	if (len > UINT32_MAX)
		return (-EMSGSIZE);
	if (mp_check(p, len, &why) == -1)
		return (-EINVAL);
	return (wr_done(cl, cl->sbuf.size,
	    msgpack_sbuffer_write(&cl->sbuf, p, len)));
}

const void *
asockd_client_wr_data(struct asockd_client *cl, size_t *len)
{
	*len = cl->sbuf.size;
	return (cl->sbuf.size > 0 ? cl->sbuf.data : NULL);
}

void
asockd_client_wr_reset(struct asockd_client *cl)
{
	msgpack_sbuffer_clear(&cl->sbuf);
}

/* --- sending --- */

/* Write all of buf before deadline. */
static int
write_all(int fd, const unsigned char *buf, size_t len, long long deadline)
{
	ssize_t n;
	int rv;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN)
			return (-errno);
		if ((rv = wait_fd(fd, POLLOUT, deadline)) != 0)
			return (rv);
	}
	return (0);
}

int
asockd_client_send_frame(struct asockd_client *cl, const void *payload,
    size_t len, int timeout_ms)
{
	long long deadline = deadline_of(timeout_ms);
	unsigned char hdr[4];
	int rv;

	if (len == 0 || len > cl->max_frame)
		return (-EMSGSIZE);
	hdr[0] = (len >> 24) & 0xff;
	hdr[1] = (len >> 16) & 0xff;
	hdr[2] = (len >> 8) & 0xff;
	hdr[3] = len & 0xff;
	if ((rv = write_all(cl->fd, hdr, sizeof(hdr), deadline)) != 0)
		return (rv);
	return (write_all(cl->fd, payload, len, deadline));
}

int
asockd_client_send(struct asockd_client *cl, int timeout_ms)
{
	int rv;

	rv = asockd_client_send_frame(cl, cl->sbuf.data, cl->sbuf.size,
	    timeout_ms);
	msgpack_sbuffer_clear(&cl->sbuf);
	return (rv);
}

int
asockd_client_send_strings(struct asockd_client *cl, ...)
{
	va_list ap;
	const char *s;
	uint32_t n = 0;
	int rv;

	va_start(ap, cl);
	while (va_arg(ap, const char *) != NULL)
		n++;
	va_end(ap);

	msgpack_sbuffer_clear(&cl->sbuf);
	rv = asockd_client_wr_array(cl, n);
	va_start(ap, cl);
	while (rv == 0 && (s = va_arg(ap, const char *)) != NULL)
		rv = asockd_client_wr_str(cl, s, strlen(s));
	va_end(ap);
	if (rv != 0) {
		msgpack_sbuffer_clear(&cl->sbuf);
		return (rv);
	}
	return (asockd_client_send(cl, 5000));
}

/* --- receiving --- */

/* Length of the frame at the front of the buffer, header included; 0
 * when it is not all there yet, -EMSGSIZE when it is invalid. */
static long long
frame_ready(struct asockd_client *cl)
{
	size_t n;

	if (cl->inlen < 4)
		return (0);
	n = ((size_t)cl->in[0] << 24) | ((size_t)cl->in[1] << 16) |
	    ((size_t)cl->in[2] << 8) | cl->in[3];
	if (n == 0 || n > cl->max_frame)
		return (-EMSGSIZE);
	if (cl->inlen - 4 < n)
		return (0);
	return ((long long)n + 4);
}

/* Read what the socket has into the buffer: bytes read, 0 at EOF. */
static ssize_t
fill(struct asockd_client *cl)
{
	unsigned char *p;
	size_t cap;
	ssize_t n;

	if (cl->incap - cl->inlen < 4096) {
		cap = cl->incap == 0 ? 16384 : cl->incap * 2;
		if ((p = realloc(cl->in, cap)) == NULL)
			return (-ENOMEM);
		cl->in = p;
		cl->incap = cap;
	}
	do {
		n = recv(cl->fd, cl->in + cl->inlen, cl->incap - cl->inlen, 0);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return (-errno);
	cl->inlen += n;
	return (n);
}

int
asockd_client_recv(struct asockd_client *cl, int timeout_ms)
{
	long long deadline = deadline_of(timeout_ms), n;
	ssize_t r;
	int rv;

	/* Drop the previous frame. */
	if (cl->cur > 0) {
		memmove(cl->in, cl->in + cl->cur, cl->inlen - cl->cur);
		cl->inlen -= cl->cur;
		cl->cur = cl->end = cl->off = 0;
	}
	cl->why = NULL;
	for (;;) {
		if ((n = frame_ready(cl)) < 0) {
			cl->why = cl->in[0] == 0 && cl->in[1] == 0 &&
			    cl->in[2] == 0 && cl->in[3] == 0 ?
			    "zero-length frame" : "frame too large";
			return ((int)n);
		}
		if (n > 0)
			break;
		r = fill(cl);
		if (r == 0)
			return (cl->inlen == 0 ? -ENOTCONN : -EPROTO);
		if (r > 0)
			continue;
		if (r != -EAGAIN)
			return ((int)r);
		if (timeout_ms == 0)
			return (-EAGAIN);
		if ((rv = wait_fd(cl->fd, POLLIN, deadline)) != 0)
			return (rv);
	}
	/*
	 * Check the whole payload before anything reads it: the reader
	 * below then trusts every count and length, and nothing allocates
	 * from what the server declared.
	 */
	cl->cur = n;
	if (mp_check(cl->in + 4, cl->cur - 4, &cl->why) == -1)
		return (-EBADMSG);
	cl->end = cl->cur - 4;
	return (0);
}

const char *
asockd_client_why(struct asockd_client *cl)
{
	return (cl->why);
}

const void *
asockd_client_frame(struct asockd_client *cl, size_t *len)
{
	if (cl->cur == 0) {
		*len = 0;
		return (NULL);
	}
	*len = cl->cur - 4;
	return (cl->in + 4);
}

/* --- reader --- */

/*
 * The header of the next value, at *p.  0, or -ENODATA at the end.  The
 * frame was checked whole, so the header and what it announces are
 * there; the -EBADMSG is a guard only.
 */
static int
rd_peek(struct asockd_client *cl, struct mp_hdr *h, const unsigned char **p)
{
	size_t left = cl->end - cl->off;

	if (cl->off >= cl->end)
		return (-ENODATA);
	*p = cl->in + 4 + cl->off;
	if (mp_header(*p, left, h) == -1 || !mp_fits(h, left - h->hlen))
		return (-EBADMSG);
	return (0);
}

/* Peek a value of type want: -EPROTO (nothing consumed) for another. */
static int
rd_want(struct asockd_client *cl, enum asockd_type want, struct mp_hdr *h,
    const unsigned char **p)
{
	int rv;

	if ((rv = rd_peek(cl, h, p)) != 0)
		return (rv);
	return (h->type == want ? 0 : -EPROTO);
}

/* v, the two's complement number of bytes bytes, without overflow. */
static int64_t
signed_of(uint64_t v, size_t bytes)
{
	uint64_t sign = (uint64_t)1 << (bytes * 8 - 1);

	if ((v & sign) == 0)
		return ((int64_t)v);
	return (-(int64_t)(~v & (sign - 1)) - 1);
}

enum asockd_client_type
asockd_client_rd_next_type(struct asockd_client *cl)
{
	struct mp_hdr h;
	const unsigned char *p;

	if (rd_peek(cl, &h, &p) != 0)
		return (ASOCKD_CLIENT_T_NONE);
	return ((enum asockd_client_type)h.type);
}

int
asockd_client_rd_nil(struct asockd_client *cl)
{
	struct mp_hdr h;
	const unsigned char *p;
	int rv;

	if ((rv = rd_want(cl, ASOCKD_T_NIL, &h, &p)) != 0)
		return (rv);
	cl->off += h.hlen;
	return (0);
}

int
asockd_client_rd_bool(struct asockd_client *cl, int *v)
{
	struct mp_hdr h;
	const unsigned char *p;
	int rv;

	if ((rv = rd_want(cl, ASOCKD_T_BOOL, &h, &p)) != 0)
		return (rv);
	*v = p[0] == 0xc3;
	cl->off += h.hlen;
	return (0);
}

int
asockd_client_rd_int(struct asockd_client *cl, int64_t *v)
{
	struct mp_hdr h;
	const unsigned char *p;
	uint64_t u;
	int rv;

	if ((rv = rd_want(cl, ASOCKD_T_INT, &h, &p)) == -EPROTO &&
	    h.type == ASOCKD_T_UINT) {
		if ((rv = asockd_client_rd_uint(cl, &u)) != 0)
			return (rv);
		if (u > INT64_MAX) {
			cl->off -= h.hlen;	/* not consumed after all */
			return (-EPROTO);
		}
		*v = (int64_t)u;
		return (0);
	}
	if (rv != 0)
		return (rv);
	/* negative fixint, or int 8/16/32/64 */
	*v = p[0] >= 0xe0 ? signed_of(p[0], 1) :
	    signed_of(mp_be(p + 1, h.hlen - 1), h.hlen - 1);
	cl->off += h.hlen;
	return (0);
}

int
asockd_client_rd_uint(struct asockd_client *cl, uint64_t *v)
{
	struct mp_hdr h;
	const unsigned char *p;
	int rv;

	if ((rv = rd_want(cl, ASOCKD_T_UINT, &h, &p)) != 0)
		return (rv);
	/* fixint, or uint/int 8..64 holding a value >= 0 */
	*v = p[0] <= 0x7f ? p[0] : mp_be(p + 1, h.hlen - 1);
	cl->off += h.hlen;
	return (0);
}

int
asockd_client_rd_double(struct asockd_client *cl, double *v, int *is32)
{
	struct mp_hdr h;
	const unsigned char *p;
	uint64_t bits64;
	uint32_t bits32;
	float f;
	int rv;

	if ((rv = rd_want(cl, ASOCKD_T_FLOAT, &h, &p)) != 0)
		return (rv);
	if (p[0] == 0xca) {
		bits32 = (uint32_t)mp_be(p + 1, 4);
		memcpy(&f, &bits32, sizeof(f));
		*v = f;
	} else {
		bits64 = mp_be(p + 1, 8);
		memcpy(v, &bits64, sizeof(*v));
	}
	if (is32 != NULL)
		*is32 = p[0] == 0xca;
	cl->off += h.hlen;
	return (0);
}

/* str, bin and ext: the body follows the header. */
static int
rd_bytes(struct asockd_client *cl, enum asockd_type want, int *type,
    const void **data, size_t *len)
{
	struct mp_hdr h;
	const unsigned char *p;
	int rv;

	if ((rv = rd_want(cl, want, &h, &p)) != 0)
		return (rv);
	if (type != NULL)	/* ext: the type byte ends the header */
		*type = p[h.hlen - 1] < 0x80 ? p[h.hlen - 1] :
		    p[h.hlen - 1] - 256;
	*data = p + h.hlen;
	*len = (size_t)h.n;
	cl->off += h.hlen + (size_t)h.n;
	return (0);
}

int
asockd_client_rd_str(struct asockd_client *cl, const char **s, size_t *len)
{
	const void *p;
	int rv;

	if ((rv = rd_bytes(cl, ASOCKD_T_STR, NULL, &p, len)) == 0)
		*s = p;
	return (rv);
}

int
asockd_client_rd_bin(struct asockd_client *cl, const void **p, size_t *len)
{
	return (rd_bytes(cl, ASOCKD_T_BIN, NULL, p, len));
}

int
asockd_client_rd_ext(struct asockd_client *cl, int *type, const void **p,
    size_t *len)
{
	return (rd_bytes(cl, ASOCKD_T_EXT, type, p, len));
}

static int
rd_container(struct asockd_client *cl, enum asockd_type want,
    uint32_t *count)
{
	struct mp_hdr h;
	const unsigned char *p;
	int rv;

	if ((rv = rd_want(cl, want, &h, &p)) != 0)
		return (rv);
	*count = (uint32_t)h.n;
	cl->off += h.hlen;
	return (0);
}

int
asockd_client_rd_array(struct asockd_client *cl, uint32_t *count)
{
	return (rd_container(cl, ASOCKD_T_ARRAY, count));
}

int
asockd_client_rd_map(struct asockd_client *cl, uint32_t *count)
{
	return (rd_container(cl, ASOCKD_T_MAP, count));
}

int
asockd_client_rd_raw(struct asockd_client *cl, const void **p, size_t *len)
{
	const char *why;
	size_t off = cl->off;

	if (cl->off >= cl->end)
		return (-ENODATA);
	if (mp_walk(cl->in + 4, cl->end, &off, &why) == -1)
		return (-EBADMSG);
	*p = cl->in + 4 + cl->off;
	*len = off - cl->off;
	cl->off = off;
	return (0);
}

int
asockd_client_rd_skip(struct asockd_client *cl)
{
	const void *p;
	size_t len;

	return (asockd_client_rd_raw(cl, &p, &len));
}
