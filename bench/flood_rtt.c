/*
 * flood_rtt.c - how long a round trip takes on one connection while
 * another connection of the same worker floods it with tiny messages.
 *
 *   flood_rtt PORT [SECONDS]
 *
 * Talks to a line-framed echo listener on 127.0.0.1:PORT (one worker, so
 * both connections share one event loop).  The flood connection writes
 * 1 MiB bursts of 8-byte numbered lines (131072 messages a burst) as fast
 * as the daemon takes them and reads the echoes back, checking every
 * one; the probe connection sends one short line at a time and times
 * the answer.  Prints the probe's round trips (count, median, p99,
 * worst) and the flood's messages per second.  Loopback only.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BURST		(1024 * 1024)
#define LINE		8
#define MAX_RTT		1000000

static double	 rtts[MAX_RTT];

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
dial(int port)
{
	struct sockaddr_in	 sin;
	int			 fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		perror("connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static int
cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	static char	 burst[BURST], in[65536];
	struct pollfd	 pfd[2];
	unsigned long	 got_bytes = 0, bad = 0;
	size_t		 off = 0, i, n_rtt = 0;
	double		 t0, end, sent_at = 0;
	ssize_t		 r;
	char		 pin[16];
	int		 flood, probe, port, waiting = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: flood_rtt PORT [SECONDS]\n");
		return 2;
	}
	port = atoi(argv[1]);
	end = now() + (argc > 2 ? atof(argv[2]) : 5.0);
	for (i = 0; i < BURST / LINE; i++)
		snprintf(burst + i * LINE, LINE + 1, "%07zu\n", i);
	flood = dial(port);
	probe = dial(port);
	t0 = now();
	while (now() < end) {
		pfd[0].fd = flood;
		pfd[0].events = POLLIN | POLLOUT;
		pfd[1].fd = probe;
		pfd[1].events = POLLIN | (waiting ? 0 : POLLOUT);
		if (poll(pfd, 2, 100) <= 0)
			continue;
		if (pfd[0].revents & POLLOUT) {
			r = write(flood, burst + off, BURST - off);
			if (r > 0 && (off += r) == BURST)
				off = 0;
		}
		if (pfd[0].revents & POLLIN) {
			while ((r = read(flood, in, sizeof(in))) > 0) {
				/* every LINE-th byte must end a line */
				for (i = 0; i < (size_t)r; i++, got_bytes++)
					if (got_bytes % LINE == LINE - 1 &&
					    in[i] != '\n')
						bad++;
			}
			if (r == 0) {
				fprintf(stderr, "flood: closed\n");
				return 1;
			}
		}
		if (!waiting && (pfd[1].revents & POLLOUT)) {
			sent_at = now();
			if (write(probe, "ping\n", 5) == 5)
				waiting = 1;
		}
		if (waiting && (pfd[1].revents & POLLIN)) {
			r = read(probe, pin, sizeof(pin));
			if (r == 5 && n_rtt < MAX_RTT)
				rtts[n_rtt++] = now() - sent_at;
			else if (r <= 0 && errno != EAGAIN) {
				fprintf(stderr, "probe: closed\n");
				return 1;
			}
			waiting = 0;
		}
	}
	if (n_rtt == 0) {
		printf("no round trip finished\n");
		return 1;
	}
	qsort(rtts, n_rtt, sizeof(rtts[0]), cmp);
	printf("round trips %zu  median %.3f ms  p99 %.3f ms  worst %.3f ms\n",
	    n_rtt, rtts[n_rtt / 2] * 1e3, rtts[n_rtt * 99 / 100] * 1e3,
	    rtts[n_rtt - 1] * 1e3);
	printf("flood %.0f messages/s echoed (%lu misframed)\n",
	    got_bytes / LINE / (now() - t0), bad);
	return bad != 0;
}
