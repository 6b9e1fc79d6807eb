/*
 * epoll_echo.c - the reference echo server of the benchmark suite.
 *
 * The least an event-loop echo server has to do, and nothing more: one
 * thread, level-triggered epoll, non-blocking sockets with TCP_NODELAY,
 * one read buffer shared by every connection.  Bytes the kernel does not
 * take are copied aside for that connection, which then waits for
 * EPOLLOUT instead of EPOLLIN until they are written, so a slow reader
 * only stalls itself.  asockd's echo plugin is measured against it.
 *
 *   epoll_echo [-a ADDR] -p PORT
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EE_BUF		65536
#define EE_EVENTS	256

/* Output a connection still owes its peer, indexed by fd. */
struct held {
	char	*buf;
	size_t	 off;
	size_t	 len;
};

static struct held	*held;
static int		 nheld;
static int		 ep;

static struct held *
held_get(int fd)
{
	struct held	*n;
	int		 want;

	if (fd >= nheld) {
		want = fd + 1024;
		if ((n = realloc(held, want * sizeof(*n))) == NULL) {
			perror("realloc");
			exit(1);
		}
		memset(n + nheld, 0, (want - nheld) * sizeof(*n));
		held = n;
		nheld = want;
	}
	return (&held[fd]);
}

static void
watch(int fd, int op, uint32_t events)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	if (epoll_ctl(ep, op, fd, &ev) == -1 && op != EPOLL_CTL_DEL)
		perror("epoll_ctl");
}

static void
conn_drop(int fd)
{
	struct held	*h = held_get(fd);

	free(h->buf);
	memset(h, 0, sizeof(*h));
	watch(fd, EPOLL_CTL_DEL, 0);
	close(fd);
}

/* Write buf; keep what the kernel refuses and wait for EPOLLOUT. */
static int
conn_write(int fd, const char *buf, size_t len)
{
	struct held	*h;
	ssize_t		 n;

	if ((n = write(fd, buf, len)) == -1) {
		if (errno != EAGAIN)
			return (-1);
		n = 0;
	}
	if ((size_t)n == len)
		return (0);
	h = held_get(fd);
	if ((h->buf = malloc(len - n)) == NULL)
		return (-1);
	memcpy(h->buf, buf + n, len - n);
	h->off = 0;
	h->len = len - n;
	watch(fd, EPOLL_CTL_MOD, EPOLLOUT);
	return (0);
}

static int
conn_flush(int fd)
{
	struct held	*h = held_get(fd);
	ssize_t		 n;

	if ((n = write(fd, h->buf + h->off, h->len - h->off)) == -1)
		return (errno == EAGAIN ? 0 : -1);
	h->off += n;
	if (h->off == h->len) {
		free(h->buf);
		memset(h, 0, sizeof(*h));
		watch(fd, EPOLL_CTL_MOD, EPOLLIN);
	}
	return (0);
}

static void
accept_all(int lfd)
{
	int	 fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) != -1) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		watch(fd, EPOLL_CTL_ADD, EPOLLIN);
	}
}

int
main(int argc, char *argv[])
{
	static char		 buf[EE_BUF];
	struct epoll_event	 evs[EE_EVENTS];
	struct sockaddr_in	 sin;
	const char		*addr = "127.0.0.1";
	ssize_t			 r;
	int			 ch, lfd, fd, i, n, port = 0, one = 1;

	while ((ch = getopt(argc, argv, "a:p:")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			break;
		default:
			fprintf(stderr,
			    "usage: epoll_echo [-a ADDR] -p PORT\n");
			return (2);
		}
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (port <= 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "epoll_echo: need -p PORT and an IPv4 -a\n");
		return (2);
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1) {
		perror("epoll_echo: bind");
		return (1);
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("epoll_create1");
		return (1);
	}
	watch(lfd, EPOLL_CTL_ADD, EPOLLIN);
	for (;;) {
		if ((n = epoll_wait(ep, evs, EE_EVENTS, -1)) == -1) {
			if (errno == EINTR)
				continue;
			perror("epoll_wait");
			return (1);
		}
		for (i = 0; i < n; i++) {
			fd = evs[i].data.fd;
			if (fd == lfd) {
				accept_all(lfd);
				continue;
			}
			if (evs[i].events & EPOLLOUT) {
				if (conn_flush(fd) == -1)
					conn_drop(fd);
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r == -1 && errno == EAGAIN)
				continue;
			if (r <= 0 || conn_write(fd, buf, r) == -1)
				conn_drop(fd);
		}
	}
}
