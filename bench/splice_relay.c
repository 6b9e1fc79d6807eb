/*
 * splice_relay.c - does splice(2) pay for a stream proxy's bulk data on
 * this machine?  A one-process relay of the least kind: accept on
 * 127.0.0.1:PORT, connect each client to 127.0.0.1:UPPORT, and move the
 * bytes both ways, either with recv(2)/send(2) through a 64 KiB buffer
 * (what asockd's proxy plugin does) or with splice(2) through a pipe
 * (socket -> pipe -> socket, no copy to user space).  Blocking-free:
 * epoll, level-triggered; a side whose peer cannot take more stops
 * being read until it can.  No timeouts, no limits, no half-close
 * subtleties beyond passing EOF on: a measuring tool, not a proxy
 * (bench/inetd.sh --splice, docs/performance.md).
 *
 *	splice_relay copy|splice PORT UPPORT
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSZ	65536

struct side {
	int		 fd;
	struct side	*peer;
	int		 pipe[2];	/* splice: bytes read, not yet sent */
	size_t		 inpipe;
	unsigned char	*buf;		/* copy: the same */
	size_t		 len, off;
	int		 eof;
};

static int	 use_splice;
static int	 ep;

static void
watch(struct side *s, int op)
{
	struct epoll_event ev;

	/* write when the peer holds bytes for s; read while s holds none */
	ev.events = (s->peer->inpipe > 0 || s->peer->len > s->peer->off ?
	    EPOLLOUT : 0) | (s->inpipe == 0 && s->len == s->off && !s->eof ?
	    EPOLLIN : 0);
	ev.data.ptr = s;
	epoll_ctl(ep, op, s->fd, &ev);
}

static void
side_close(struct side *s)
{
	struct side *p = s->peer;

	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
	close(s->fd);
	close(p->fd);
	if (use_splice) {
		close(s->pipe[0]); close(s->pipe[1]);
		close(p->pipe[0]); close(p->pipe[1]);
	}
	free(s->buf);
	free(p->buf);
	free(s < p ? s : p);
}

/* Move what s holds to its peer; 0, or -1 when the pair is over. */
static int
flush(struct side *s)
{
	ssize_t n;

	if (use_splice)
		while (s->inpipe > 0) {
			n = splice(s->pipe[0], NULL, s->peer->fd, NULL,
			    s->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n <= 0)
				return n == -1 && errno == EAGAIN ? 0 : -1;
			s->inpipe -= (size_t)n;
		}
	else
		while (s->off < s->len) {
			n = send(s->peer->fd, s->buf + s->off, s->len - s->off,
			    MSG_NOSIGNAL);
			if (n <= 0)
				return n == -1 && errno == EAGAIN ? 0 : -1;
			s->off += (size_t)n;
		}
	s->len = s->off = 0;
	return 0;
}

/* s is readable: take one read's worth and pass it on. */
static int
pump(struct side *s)
{
	ssize_t n;

	if (use_splice)
		n = splice(s->fd, NULL, s->pipe[1], NULL, BUFSZ,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	else
		n = recv(s->fd, s->buf, BUFSZ, 0);
	if (n == -1)
		return errno == EAGAIN ? 0 : -1;
	if (n == 0) {
		s->eof = 1;
		shutdown(s->peer->fd, SHUT_WR);
		return s->peer->eof ? -1 : 0;
	}
	if (use_splice)
		s->inpipe += (size_t)n;
	else
		s->len = (size_t)n;
	return flush(s);
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static int
listen_on(int port)
{
	struct sockaddr_in sin = loopback(port);
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 1024) == -1) {
		perror("splice_relay: listen");
		exit(1);
	}
	return fd;
}

static int
connect_to(int port)
{
	struct sockaddr_in sin = loopback(port);
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("splice_relay: connect");
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* A client accepted as fd: its pair, connected to 127.0.0.1:up. */
static void
pair_new(int fd, int up)
{
	struct side *a, *b;
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((a = calloc(2, sizeof(*a))) == NULL)
		exit(1);
	b = a + 1;
	a->fd = fd;
	if ((b->fd = connect_to(up)) == -1) {
		close(fd);
		free(a);
		return;
	}
	a->peer = b;
	b->peer = a;
	if (use_splice) {
		if (pipe2(a->pipe, O_NONBLOCK) || pipe2(b->pipe, O_NONBLOCK))
			exit(1);
	} else if ((a->buf = malloc(BUFSZ)) == NULL ||
	    (b->buf = malloc(BUFSZ)) == NULL)
		exit(1);
	watch(a, EPOLL_CTL_ADD);
	watch(b, EPOLL_CTL_ADD);
}

int
main(int argc, char *argv[])
{
	struct epoll_event ev, evs[64];
	struct side *s, ls;
	int lfd, up, fd, i, n;

	if (argc != 4 || (strcmp(argv[1], "copy") != 0 &&
	    strcmp(argv[1], "splice") != 0)) {
		fprintf(stderr, "usage: splice_relay copy|splice PORT"
		    " UPPORT\n");
		return 2;
	}
	use_splice = strcmp(argv[1], "splice") == 0;
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(atoi(argv[2]));
	up = atoi(argv[3]);
	if ((ep = epoll_create1(0)) == -1)
		return 1;
	ls.fd = lfd;
	ev.events = EPOLLIN;
	ev.data.ptr = &ls;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		if ((n = epoll_wait(ep, evs, 64, -1)) == -1) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (i = 0; i < n; i++) {
			s = evs[i].data.ptr;
			if (s == &ls) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK)) != -1)
					pair_new(fd, up);
				continue;
			}
			/* writable: s's peer holds bytes for s */
			if ((evs[i].events & EPOLLOUT) &&
			    flush(s->peer) == -1) {
				side_close(s);
				continue;
			}
			if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
			    s->inpipe == 0 && s->len == s->off && !s->eof &&
			    pump(s) == -1) {
				side_close(s);
				continue;
			}
			watch(s, EPOLL_CTL_MOD);
			watch(s->peer, EPOLL_CTL_MOD);
		}
	}
}
