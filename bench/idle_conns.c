/*
 * idle_conns.c - resident memory a server spends per idle connection.
 *
 * Sums VmRSS of the given server processes, opens N TCP connections to
 * the server and leaves them idle, waits until the server has accepted
 * them (its RSS stops growing) and sums VmRSS again:
 *
 *   conns=N rss_before_kb=A rss_after_kb=B bytes_per_conn=C secs=T
 *
 * It raises its own RLIMIT_NOFILE to N + 64 (the server needs as many),
 * gives up after -t seconds in total, and closes with a reset (SO_LINGER
 * 0) so that repeated runs leave no TIME_WAIT sockets behind.  Source
 * addresses rotate over 127.0.0.1-127.0.0.8 so the ephemeral ports last.
 * Loopback only.
 *
 *   idle_conns -p PORT -n N [-t SECONDS] PID...
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static long
rss_kb(int npids, char *pids[])
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb, sum = 0;
	int	 i;

	for (i = 0; i < npids; i++) {
		snprintf(path, sizeof(path), "/proc/%s/status", pids[i]);
		if ((f = fopen(path, "r")) == NULL)
			return (-1);
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "VmRSS: %ld", &kb) == 1)
				sum += kb;
		fclose(f);
	}
	return (sum);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 sin, src;
	struct linger		 lg = { 1, 0 };
	struct rlimit		 rl;
	double			 start, limit = 60;
	long			 before, after, last;
	int			*fds, ch, i, n = 10000, port = 0, stable;

	while ((ch = getopt(argc, argv, "n:p:t:")) != -1) {
		switch (ch) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		case 't':
			limit = atof(optarg);
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (port <= 0 || n < 1 || n > 200000 || argc < 1 || limit <= 0)
		goto usage;
	start = now();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = (rlim_t)n + 64;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			perror("idle_conns: setrlimit");
			return (1);
		}
	}
	if ((fds = calloc(n, sizeof(*fds))) == NULL)
		return (1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	src = sin;
	src.sin_port = 0;
	if ((before = rss_kb(argc, argv)) < 0) {
		fprintf(stderr, "idle_conns: no such process\n");
		return (1);
	}
	for (i = 0; i < n; i++) {
		if (now() - start > limit) {
			fprintf(stderr, "idle_conns: timed out after %d\n", i);
			return (1);
		}
		src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + (i % 8));
		if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    bind(fds[i], (struct sockaddr *)&src, sizeof(src)) == -1 ||
		    connect(fds[i], (struct sockaddr *)&sin,
		    sizeof(sin)) == -1) {
			fprintf(stderr, "idle_conns: connection %d: %s\n", i,
			    strerror(errno));
			return (1);
		}
		setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	/* Wait until the server's RSS holds still for 0.5 s (or the limit). */
	last = -1;
	for (stable = 0; stable < 5 && now() - start < limit; ) {
		usleep(100000);
		after = rss_kb(argc, argv);
		stable = after == last ? stable + 1 : 0;
		last = after;
	}
	after = rss_kb(argc, argv);
	printf("conns=%d rss_before_kb=%ld rss_after_kb=%ld "
	    "bytes_per_conn=%ld secs=%.1f\n", n, before, after,
	    (after - before) * 1024 / n, now() - start);
	for (i = 0; i < n; i++)
		close(fds[i]);
	return (after < 0);
usage:
	fprintf(stderr, "usage: idle_conns -p PORT -n N [-t secs] PID...\n");
	return (2);
}
