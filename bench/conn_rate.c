/*
 * conn_rate.c - connections per second and bulk throughput, for the exec
 * and proxy benchmarks (bench/inetd.sh).
 *
 * rate mode: C connections at a time, each one connect, send MSG (may be
 * empty), read until the server ends the stream, close; then the next.
 * A connection counts when it got at least EXPECT bytes and an end of
 * stream.  After D seconds it prints
 *
 *   conns_per_s=N conns=N errors=N
 *
 * bulk mode (-b MB): one connection, MB mebibytes written and read back
 * (an echo upstream behind the server), then
 *
 *   mb_per_s=N bytes=N errors=N
 *
 * Loopback only.
 *
 *   conn_rate -p PORT [-c CONNS] [-d SECONDS] [-m MSG] [-e EXPECT]
 *   conn_rate -p PORT -b MB
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXC	256

struct cl {
	int	 fd;
	size_t	 got;
	int	 sent;
};

static struct sockaddr_in dst;
static const char *msg = "";
static size_t	 expect;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cl_start(int ep, struct cl *c)
{
	struct epoll_event	 ev;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c->fd == -1)
		return -1;
	c->got = 0;
	c->sent = 0;
	if (connect(c->fd, (struct sockaddr *)&dst, sizeof(dst)) == -1 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static int
rate(int conns, double dur)
{
	static struct cl	 cls[MAXC];
	struct epoll_event	 evs[MAXC], ev;
	unsigned long long	 done = 0, errors = 0;
	char			 buf[65536];
	double			 end;
	ssize_t			 n;
	int			 ep, i, k, fin;

	ep = epoll_create1(0);
	for (i = 0; i < conns; i++)
		if (cl_start(ep, &cls[i]) == -1)
			errors++;
	end = now() + dur;
	while (now() < end) {
		k = epoll_wait(ep, evs, MAXC, 100);
		for (i = 0; i < k; i++) {
			struct cl *c = evs[i].data.ptr;

			fin = 0;
			if ((evs[i].events & EPOLLOUT) && !c->sent) {
				if (*msg != '\0' && write(c->fd, msg,
				    strlen(msg)) != (ssize_t)strlen(msg))
					fin = -1;
				c->sent = 1;
				memset(&ev, 0, sizeof(ev));
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			}
			if (fin == 0 && (evs[i].events & (EPOLLIN | EPOLLHUP |
			    EPOLLERR))) {
				while ((n = read(c->fd, buf, sizeof(buf))) > 0)
					c->got += n;
				if (n == 0)
					fin = c->got >= expect ? 1 : -1;
				else if (errno != EAGAIN)
					fin = -1;
			}
			if (fin == 0)
				continue;
			if (fin == 1)
				done++;
			else
				errors++;
			close(c->fd);
			if (cl_start(ep, c) == -1)
				errors++;
		}
	}
	printf("conns_per_s=%.0f conns=%llu errors=%llu\n", done / dur, done,
	    errors);
	return errors > done / 100;
}

static int
bulk(long long mb)
{
	static char		 out[65536], in[65536];
	long long		 want = mb << 20, sent = 0, got = 0;
	struct pollfd		 pfd;
	double			 t0;
	ssize_t			 n;
	int			 fd, shut = 0;

	memset(out, 'b', sizeof(out));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == -1) {
		perror("connect");
		return 1;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	t0 = now();
	while (got < want && now() - t0 < 120) {
		if (sent == want && !shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < want ? POLLOUT : 0);
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && sent < want) {
			n = want - sent < (long long)sizeof(out) ?
			    want - sent : (long long)sizeof(out);
			n = write(fd, out, (size_t)n);
			if (n > 0)
				sent += n;
		}
		if (pfd.revents & (POLLIN | POLLHUP)) {
			n = read(fd, in, sizeof(in));
			if (n == 0)
				break;
			if (n > 0)
				got += n;
		}
	}
	printf("mb_per_s=%.1f bytes=%lld errors=%d\n",
	    (got / 1048576.0) / (now() - t0), got, got != want);
	close(fd);
	return got != want;
}

int
main(int argc, char *argv[])
{
	double	 dur = 3;
	long long mb = 0;
	int	 ch, port = 0, conns = 8;

	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "p:c:d:m:e:b:")) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'c': conns = atoi(optarg); break;
		case 'd': dur = atof(optarg); break;
		case 'm': msg = optarg; break;
		case 'e': expect = strtoul(optarg, NULL, 10); break;
		case 'b': mb = atoll(optarg); break;
		default:
			fprintf(stderr, "usage: conn_rate -p PORT [-c CONNS]"
			    " [-d SECS] [-m MSG] [-e EXPECT] | -b MB\n");
			return 2;
		}
	}
	if (port <= 0 || conns < 1 || conns > MAXC)
		return 2;
	dst.sin_family = AF_INET;
	dst.sin_port = htons(port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return mb > 0 ? bulk(mb) : rate(conns, dur);
}
