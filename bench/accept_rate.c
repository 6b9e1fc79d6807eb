/*
 * accept_rate.c - new connections per second against an echo listener:
 * each of PROCS processes connects, sends one byte, reads it back and
 * closes with a reset (SO_LINGER 0, so no TIME_WAIT piles up), for SECS
 * seconds.  Prints "N connections in S s: R/s".  bench/access.sh uses it
 * to compare a listener with a 10,000-entry allow list to one with none.
 *
 *   accept_rate HOST PORT SECS PROCS
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
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
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long
run(const struct sockaddr_in *sin, double secs)
{
	struct linger	 lg = { 1, 0 };
	double		 end = now() + secs;
	unsigned long	 n = 0;
	char		 c;
	int		 fd;

	while (now() < end) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1) {
			perror("socket");
			exit(1);
		}
		if (connect(fd, (const struct sockaddr *)sin,
		    sizeof(*sin)) == 0 && write(fd, "x", 1) == 1 &&
		    read(fd, &c, 1) == 1)
			n++;
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	return n;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	 sin;
	unsigned long		 total = 0, n;
	double			 secs, t0;
	int			 procs, i, p[2];

	if (argc != 5) {
		fprintf(stderr, "usage: accept_rate HOST PORT SECS PROCS\n");
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1) {
		fprintf(stderr, "accept_rate: bad address %s\n", argv[1]);
		return 2;
	}
	secs = atof(argv[3]);
	procs = atoi(argv[4]);
	if (secs <= 0 || procs < 1 || procs > 64 || pipe(p) == -1)
		return 2;
	t0 = now();
	for (i = 0; i < procs; i++)
		if (fork() == 0) {
			n = run(&sin, secs);
			if (write(p[1], &n, sizeof(n)) != sizeof(n))
				_exit(1);
			_exit(0);
		}
	close(p[1]);
	while (read(p[0], &n, sizeof(n)) == sizeof(n))
		total += n;
	while (wait(NULL) > 0)
		;
	secs = now() - t0;
	printf("%lu connections in %.2f s: %.0f/s\n", total, secs,
	    total / secs);
	return 0;
}
