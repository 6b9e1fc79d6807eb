/*
 * echo_load.c - load generator for echo servers, with byte verification.
 *
 * C connections each keep P messages of S bytes in flight: whenever a
 * whole message has come back, the next one is sent (the first P go out
 * together, so P > 1 means pipelining).  Every byte that comes back is
 * compared with what was sent: the bytes of connection i at stream
 * offset o are pat[(o + 7 * i) % PERIOD], a pattern that repeats every
 * PERIOD (a prime) bytes, so any slice up to 64 KiB is one memcmp away.
 *
 * The round trip of a message runs from the write that carried its first
 * byte to the read that brought back its last one; latencies go into a
 * histogram of 1 us buckets (the last bucket collects everything over
 * 100 ms).  After a warm-up, the measured period prints one line:
 *
 *   msgs_per_s=N p50_us=N p99_us=N msgs=N total_msgs=N errors=N bad_bytes=N
 *
 * total_msgs includes the warm-up (for CPU time per message); the exit
 * status is 0 only when no byte was wrong and no connection failed.
 * Loopback only: other addresses are refused.
 *
 *   echo_load -p PORT [-a ADDR] [-c CONNS] [-P INFLIGHT] [-s SIZE]
 *       [-d SECONDS] [-w WARMUP_SECONDS]
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EL_PERIOD	251
#define EL_CHUNK	65536
#define EL_HIST		100000		/* 1 us buckets up to 100 ms */

struct lconn {
	int		 fd;
	int		 id;
	uint64_t	 sent;		/* bytes written */
	uint64_t	 rcvd;		/* bytes read back */
	uint64_t	*t0;		/* send time of message k at [k % P] */
};

static unsigned char	 pat[EL_PERIOD + EL_CHUNK];
static uint64_t		 hist[EL_HIST + 1];
static uint64_t		 msgs, total_msgs, bad_bytes;
static int		 conns = 64, inflight = 1, size = 64;
static int		 measuring;

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
}

static const unsigned char *
pattern(const struct lconn *c, uint64_t off)
{
	return (pat + (off + 7 * (uint64_t)c->id) % EL_PERIOD);
}

/* Send until P messages are outstanding.  -1 when the connection broke. */
static int
load_send(struct lconn *c)
{
	uint64_t	 limit, k, t;
	size_t		 want;
	ssize_t		 n;

	limit = (c->rcvd / size + inflight) * (uint64_t)size;
	while (c->sent < limit) {
		want = limit - c->sent;
		if (want > EL_CHUNK)
			want = EL_CHUNK;
		t = now_ns();
		n = send(c->fd, pattern(c, c->sent), want, MSG_NOSIGNAL);
		if (n == -1)
			return (errno == EAGAIN ? 0 : -1);
		/* Messages whose first byte left now. */
		for (k = (c->sent + size - 1) / size;
		    k * size < c->sent + (uint64_t)n; k++)
			c->t0[k % inflight] = t;
		c->sent += n;
	}
	return (0);
}

static int
load_recv(struct lconn *c)
{
	static unsigned char	 buf[EL_CHUNK];
	uint64_t		 k, first, last, t, us;
	ssize_t			 n, i;

	for (;;) {
		n = recv(c->fd, buf, sizeof(buf), 0);
		if (n == 0)
			return (-1);
		if (n == -1)
			return (errno == EAGAIN ? 0 : -1);
		if (memcmp(buf, pattern(c, c->rcvd), n) != 0) {
			for (i = 0; i < n; i++)
				if (buf[i] != pattern(c, c->rcvd)[i])
					bad_bytes++;
		}
		first = c->rcvd / size;
		c->rcvd += n;
		last = c->rcvd / size;
		total_msgs += last - first;
		if (!measuring || last == first)
			continue;
		t = now_ns();
		for (k = first; k < last; k++) {
			us = (t - c->t0[k % inflight]) / 1000;
			hist[us < EL_HIST ? us : EL_HIST]++;
			msgs++;
		}
	}
}

static uint64_t
percentile(double q)
{
	uint64_t	 want, sum = 0;
	size_t		 i;

	want = (uint64_t)(msgs * q);
	for (i = 0; i <= EL_HIST; i++) {
		sum += hist[i];
		if (sum > want)
			return (i);
	}
	return (EL_HIST);
}

static int
load_connect(struct lconn *c, const struct sockaddr_in *sin, int ep)
{
	struct epoll_event	 ev;
	int			 one = 1;

	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(c->fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1) {
		perror("echo_load: connect");
		return (-1);
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	return (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev));
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 evs[256];
	struct sockaddr_in	 sin;
	struct lconn		*cs, *c;
	const char		*addr = "127.0.0.1";
	uint64_t		 start, warm, end, t, errors = 0;
	double			 secs, dur = 5, wup = 1;
	int			 ch, ep, i, n, port = 0, alive;

	while ((ch = getopt(argc, argv, "a:c:d:p:P:s:w:")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'c':
			conns = atoi(optarg);
			break;
		case 'd':
			dur = atof(optarg);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 'P':
			inflight = atoi(optarg);
			break;
		case 's':
			size = atoi(optarg);
			break;
		case 'w':
			wup = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (port <= 0 || conns < 1 || conns > 60000 || inflight < 1 ||
	    size < 1 || size > EL_CHUNK || dur <= 0 || dur > 600 ||
	    wup < 0 || wup > 60 || inet_pton(AF_INET, addr,
	    &sin.sin_addr) != 1)
		goto usage;
	if ((ntohl(sin.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "echo_load: %s is not a loopback address\n",
		    addr);
		return (2);
	}
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < (int)sizeof(pat); i++)
		pat[i] = (unsigned char)((i % EL_PERIOD) * 13 + 5);
	if ((ep = epoll_create1(0)) == -1 ||
	    (cs = calloc(conns, sizeof(*cs))) == NULL) {
		perror("echo_load");
		return (1);
	}
	for (i = 0; i < conns; i++) {
		cs[i].id = i;
		if ((cs[i].t0 = calloc(inflight, sizeof(uint64_t))) == NULL ||
		    load_connect(&cs[i], &sin, ep) == -1)
			return (1);
	}
	start = now_ns();
	warm = start + (uint64_t)(wup * 1e9);
	end = warm + (uint64_t)(dur * 1e9);
	alive = conns;
	while (alive > 0 && (t = now_ns()) < end) {
		if (!measuring && t >= warm)
			measuring = 1;
		n = epoll_wait(ep, evs, 256, 50);
		for (i = 0; i < n; i++) {
			c = evs[i].data.ptr;
			if (c->fd == -1)
				continue;
			if (load_recv(c) == -1 || load_send(c) == -1) {
				errors++;
				close(c->fd);
				c->fd = -1;
				alive--;
			}
		}
	}
	secs = (now_ns() - warm) / 1e9;
	printf("msgs_per_s=%.0f p50_us=%llu p99_us=%llu msgs=%llu "
	    "total_msgs=%llu errors=%llu bad_bytes=%llu conns=%d "
	    "inflight=%d size=%d\n", secs > 0 ? msgs / secs : 0,
	    (unsigned long long)percentile(0.50),
	    (unsigned long long)percentile(0.99), (unsigned long long)msgs,
	    (unsigned long long)total_msgs, (unsigned long long)errors,
	    (unsigned long long)bad_bytes, conns, inflight, size);
	return (errors > 0 || bad_bytes > 0 || msgs == 0);
usage:
	fprintf(stderr, "usage: echo_load -p PORT [-a 127.x.x.x] [-c conns] "
	    "[-P inflight] [-s size] [-d secs] [-w warmup]\n");
	return (2);
}
