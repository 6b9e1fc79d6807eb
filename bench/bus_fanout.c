/*
 * bus_fanout.c - chat fan-out through the plugins' message bus.
 *
 *   bus_fanout [-n RECEIVERS] [-m MESSAGES] [-w WINDOW] PORT [PORT...]
 *
 * RECEIVERS clients join the chat room, spread in turn over the ports
 * (one per asockd instance, all on 127.0.0.1), and one talker on the
 * first port says MESSAGES messages, keeping at most WINDOW of them in
 * flight (not yet received by the slowest member), each carrying its
 * send time.  Every receiver checks it gets every message, in order, and
 * records the publish-to-delivery latency.  Prints one line:
 *
 *   delivered=N secs=S rate=R/s p50=US p99=US lost=L
 *
 * Loopback only; single-threaded, poll(2) over every socket.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXC	1024

struct peer {
	int		 fd;
	unsigned char	 buf[65536];
	size_t		 len;
	long		 next;		/* sequence number expected */
	int		 joined;
};

static struct peer	*peers;
static int		 npeers;
static double		*lat;
static long		 nlat, lost;

static uint64_t
now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int
dial(int port)
{
	struct sockaddr_in	 sin;
	int			 fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "connect %d", port);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Send [a, b] as one frame (both strings under 32 bytes). */
static void
say2(int fd, const char *a, const char *b)
{
	unsigned char	 f[80];
	size_t		 la = strlen(a), lb = strlen(b), n = 4;

	f[n++] = 0x92;
	f[n++] = 0xa0 | la;
	memcpy(f + n, a, la);
	n += la;
	f[n++] = 0xa0 | lb;
	memcpy(f + n, b, lb);
	n += lb;
	f[0] = f[1] = 0;
	f[2] = (n - 4) >> 8;
	f[3] = (n - 4) & 0xff;
	if (write(fd, f, n) != (ssize_t)n)
		err(1, "write");
}

/*
 * Handle one frame of p: a ["msg", nick, "SEQ:NS"] gives a latency
 * sample; *mine is set to the sequence number when it is one of ours.
 */
static void
frame(struct peer *p, const unsigned char *f, size_t n, uint64_t t)
{
	size_t		 nl, tl;
	char		 text[32];
	long		 seq;
	unsigned long long ns;

	if (n < 5 || f[0] != 0x93 || memcmp(f + 1, "\xa3msg", 4) != 0) {
		if (n > 7 && f[0] == 0x92 && memcmp(f + 1, "\xa6joined",
		    7) == 0)
			p->joined = 1;
		return;
	}
	nl = f[5] & 0x1f;
	tl = f[6 + nl] & 0x1f;
	memcpy(text, f + 7 + nl, tl);
	text[tl] = '\0';
	if (sscanf(text, "%ld:%llu", &seq, &ns) != 2)
		return;
	if (seq != p->next)
		lost += seq > p->next ? seq - p->next : 0;
	p->next = seq + 1;
	lat[nlat++] = (t - ns) / 1000.0;
}

/* Read what p has; 0 at EOF. */
static int
pump(struct peer *p)
{
	ssize_t		 r;
	size_t		 off = 0, len;
	uint64_t	 t;

	r = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
	if (r <= 0)
		return r == -1 && errno == EAGAIN;
	p->len += r;
	t = now_ns();
	while (p->len - off >= 4) {
		len = (size_t)p->buf[off] << 24 | p->buf[off + 1] << 16 |
		    p->buf[off + 2] << 8 | p->buf[off + 3];
		if (p->len - off - 4 < len)
			break;
		frame(p, p->buf + off + 4, len, t);
		off += 4 + len;
	}
	memmove(p->buf, p->buf + off, p->len - off);
	p->len -= off;
	return 1;
}

static int
cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct pollfd	*pfd;
	int		 ports[16], nports = 0, n = 50, w = 16, ch, i;
	long		 m = 2000, sent = 0, slow;
	char		 nick[16], text[32];
	uint64_t	 t0, t1, deadline;

	while ((ch = getopt(argc, argv, "n:m:w:")) != -1)
		switch (ch) {
		case 'n': n = atoi(optarg); break;
		case 'm': m = atol(optarg); break;
		case 'w': w = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: bus_fanout [-n N] [-m M] [-w W]"
			    " PORT...\n");
			return 2;
		}
	for (i = optind; i < argc && nports < 16; i++)
		ports[nports++] = atoi(argv[i]);
	if (nports == 0 || n < 1 || n + 1 > MAXC)
		errx(2, "need a port, and 1..%d receivers", MAXC - 1);
	npeers = n + 1;	/* peers[0] is the talker */
	peers = calloc(npeers, sizeof(*peers));
	pfd = calloc(npeers, sizeof(*pfd));
	lat = calloc((size_t)m * npeers, sizeof(*lat));
	if (peers == NULL || pfd == NULL || lat == NULL)
		err(1, "calloc");
	for (i = 0; i < npeers; i++) {
		peers[i].fd = dial(ports[i % nports]);
		snprintf(nick, sizeof(nick), "p%d", i);
		say2(peers[i].fd, "join", nick);
		pfd[i].fd = peers[i].fd;
		pfd[i].events = POLLIN;
	}
	/* every join seen everywhere: wait a moment, then drain */
	deadline = now_ns() + 2000000000ull;
	while (now_ns() < deadline)
		if (poll(pfd, npeers, 100) > 0)
			for (i = 0; i < npeers; i++)
				if (pfd[i].revents & POLLIN)
					pump(&peers[i]);
	nlat = lost = 0;
	t0 = now_ns();
	deadline = t0 + 60000000000ull;
	while (now_ns() < deadline) {
		/* the window counts what the slowest member has not had */
		for (i = 1, slow = peers[0].next; i < npeers; i++)
			if (peers[i].next < slow)
				slow = peers[i].next;
		while (sent < m && sent - slow < w) {
			snprintf(text, sizeof(text), "%ld:%llu", sent,
			    (unsigned long long)now_ns());
			say2(peers[0].fd, "say", text);
			sent++;
		}
		for (i = 0; i < npeers; i++)
			if (peers[i].next < m)
				break;
		if (i == npeers)
			break;
		if (poll(pfd, npeers, 1000) <= 0)
			continue;
		for (i = 0; i < npeers; i++)
			if ((pfd[i].revents & (POLLIN | POLLHUP)) &&
			    pump(&peers[i]) == 0)
				errx(1, "peer %d closed", i);
	}
	t1 = now_ns();
	qsort(lat, nlat, sizeof(*lat), cmp);
	printf("delivered=%ld secs=%.3f rate=%.0f/s p50=%.0f p99=%.0f "
	    "lost=%ld\n", nlat, (t1 - t0) / 1e9, nlat / ((t1 - t0) / 1e9),
	    nlat ? lat[nlat / 2] : 0., nlat ? lat[nlat * 99 / 100] : 0.,
	    lost);
	return 0;
}
