/*
 * asockd-client.c - libasockd-client: connect to an asockd listener, send
 * and receive archive frames (4-byte big-endian length + MessagePack
 * payload).  See include/asockd/client.h for the API.
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

#include "asockd/client.h"

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
	size_t		 off;		/* next value in the current frame */
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

static int
dial_unix(const char *path, int type, long long deadline, int *out)
{
	struct sockaddr_un sun;
	sa_family_t family = AF_UNIX;
	int fd, rv;

	if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path))
		return (-EINVAL);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-errno);
	/* Linux autobind: an abstract name the peer can send replies to. */
	if (type == SOCK_DGRAM &&
	    bind(fd, (struct sockaddr *)&family, sizeof(family)) == -1) {
		rv = -errno;
		close(fd);
		return (rv);
	}
	rv = connect_wait(fd, (struct sockaddr *)&sun, sizeof(sun), deadline);
	if (rv != 0) {
		close(fd);
		return (rv);
	}
	*out = fd;
	return (0);
}

static int
dial_inet(const char *hostport, int type, long long deadline, int *out)
{
	struct addrinfo hints, *res, *ai;
	char host[256];
	const char *port, *end;
	size_t hlen;
	int fd, rv, one = 1;

	/* HOST:PORT or [V6]:PORT */
	if (*hostport == '[') {
		if ((end = strchr(hostport, ']')) == NULL || end[1] != ':')
			return (-EINVAL);
		hlen = end - hostport - 1;
		hostport++;
		port = end + 2;
	} else {
		if ((end = strrchr(hostport, ':')) == NULL)
			return (-EINVAL);
		hlen = end - hostport;
		port = end + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host) || *port == '\0')
		return (-EINVAL);
	memcpy(host, hostport, hlen);
	host[hlen] = '\0';

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = type;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return (-EHOSTUNREACH);
	rv = -EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd == -1) {
			rv = -errno;
			continue;
		}
		rv = connect_wait(fd, ai->ai_addr, ai->ai_addrlen, deadline);
		if (rv == 0) {
			if (type == SOCK_STREAM)
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one));
			*out = fd;
			break;
		}
		close(fd);
		if (rv == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	return (rv);
}

int
asockd_client_dial(const char *uri, int timeout_ms, int *fd)
{
	long long deadline = deadline_of(timeout_ms);

	if (uri == NULL || fd == NULL)
		return (-EINVAL);
	if (strncmp(uri, "tcp://", 6) == 0)
		return (dial_inet(uri + 6, SOCK_STREAM, deadline, fd));
	if (strncmp(uri, "udp://", 6) == 0)
		return (dial_inet(uri + 6, SOCK_DGRAM, deadline, fd));
	if (strncmp(uri, "unix:", 5) == 0)
		return (dial_unix(uri + 5, SOCK_STREAM, deadline, fd));
	if (strncmp(uri, "unix-dgram:", 11) == 0)
		return (dial_unix(uri + 11, SOCK_DGRAM, deadline, fd));
	return (-EINVAL);
}

int
asockd_client_connect(const char *uri, int timeout_ms,
    struct asockd_client **out)
{
	struct asockd_client *cl;
	int fd, rv;

	if (uri != NULL && (strncmp(uri, "udp://", 6) == 0 ||
	    strncmp(uri, "unix-dgram:", 11) == 0))
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

msgpack_packer *
asockd_client_packer(struct asockd_client *cl)
{
	return (&cl->pk);
}

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

	va_start(ap, cl);
	while (va_arg(ap, const char *) != NULL)
		n++;
	va_end(ap);

	msgpack_sbuffer_clear(&cl->sbuf);
	msgpack_pack_array(&cl->pk, n);
	va_start(ap, cl);
	while ((s = va_arg(ap, const char *)) != NULL) {
		msgpack_pack_str(&cl->pk, strlen(s));
		msgpack_pack_str_body(&cl->pk, s, strlen(s));
	}
	va_end(ap);
	return (asockd_client_send(cl, 5000));
}

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
		cl->cur = 0;
	}
	for (;;) {
		if ((n = frame_ready(cl)) < 0)
			return ((int)n);
		if (n > 0) {
			cl->cur = n;
			cl->off = 0;
			return (0);
		}
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

int
asockd_client_next(struct asockd_client *cl, msgpack_unpacked *u)
{
	size_t len;
	msgpack_unpack_return ret;

	if (cl->cur == 0)
		return (-ENODATA);
	len = cl->cur - 4;
	if (cl->off >= len)
		return (-ENODATA);
	ret = msgpack_unpack_next(u, (const char *)cl->in + 4, len, &cl->off);
	switch (ret) {
	case MSGPACK_UNPACK_SUCCESS:
	case MSGPACK_UNPACK_EXTRA_BYTES:
		return (0);
	case MSGPACK_UNPACK_NOMEM_ERROR:
		return (-ENOMEM);
	default:
		/* Truncated or malformed: stop reading this frame. */
		cl->off = len;
		return (-EBADMSG);
	}
}
