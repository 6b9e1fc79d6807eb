/*
 * util.c - small descriptor helpers shared by the daemon's files.
 */
#include <fcntl.h>

#include "asockd.h"

int
fd_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_warn("fcntl(%d, O_NONBLOCK)", fd);
		return -1;
	}
	return 0;
}
