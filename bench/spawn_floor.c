/*
 * spawn_floor.c - the floor of "a program per connection": the least a
 * server can do per connection, to tell what a server's own overhead is
 * against the programs' (bench/inetd.sh, docs/performance.md).  One
 * process, blocking accept(2), posix_spawn(3) (glibc: clone with
 * CLONE_VM | CLONE_VFORK, no page-table copy) with the socket as the
 * program's stdin and stdout, reaping with waitpid(WNOHANG) between
 * accepts.  No limits, no logging, no environment but PATH, no
 * session, no backpressure, no stderr handling: nothing a real inetd
 * must do.
 *
 *	spawn_floor PORT PROGRAM [ARG...]
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	char *envp[] = { (char *)"PATH=/usr/bin:/bin", NULL };
	posix_spawn_file_actions_t fa;
	struct sockaddr_in sin;
	pid_t pid;
	int ls, fd, one = 1, r;

	if (argc < 3) {
		fprintf(stderr, "usage: spawn_floor PORT PROGRAM [ARG...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(ls, 1024) == -1) {
		perror("spawn_floor: listen");
		return 1;
	}
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if ((fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED)
				perror("spawn_floor: accept");
			continue;
		}
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fd, 0);
		posix_spawn_file_actions_adddup2(&fa, fd, 1);
		r = posix_spawn(&pid, argv[2], &fa, NULL, argv + 2, envp);
		if (r != 0)
			fprintf(stderr, "spawn_floor: %s: %s\n", argv[2],
			    strerror(r));
		posix_spawn_file_actions_destroy(&fa);
		close(fd);
	}
}
