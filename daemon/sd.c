/*
 * sd.c - the two systemd protocols asockd speaks, written against libc
 * alone instead of linking libsystemd: service notification (one AF_UNIX
 * datagram of KEY=VALUE lines to $NOTIFY_SOCKET) and socket activation
 * (descriptors from 3 on, described by LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES), plus the watchdog interval from WATCHDOG_USEC.
 *
 * Nothing here touches the event loop or the configuration; main.c and
 * listener.c decide what to send and which listener takes which fd.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asockd.h"

#define SD_LISTEN_FDS_START	3
/* More inherited sockets than this is a broken environment, not a plan. */
#define SD_LISTEN_FDS_MAX	4096

/*
 * Fill sun from a NOTIFY_SOCKET value: "/path" or "@abstract" (the '@'
 * becomes the leading NUL of the abstract namespace) and set *len.
 * Returns 0, or -1 with errno.
 */
static int
notify_addr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	size_t	 plen;

	if (path[0] != '/' && path[0] != '@') {
		errno = EAFNOSUPPORT;
		return -1;
	}
	plen = strlen(path);
	if (plen < 2 || plen >= sizeof(sun->sun_path)) {
		errno = plen < 2 ? EINVAL : ENAMETOOLONG;
		return -1;
	}
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, plen);
	if (sun->sun_path[0] == '@')
		sun->sun_path[0] = '\0';
	/* An abstract name is exactly plen bytes: no trailing NUL counted. */
	*len = offsetof(struct sockaddr_un, sun_path) + plen +
	    (path[0] == '/' ? 1 : 0);
	return 0;
}

int
sd_notifyf(const char *fmt, ...)
{
	struct sockaddr_un	 sun;
	socklen_t		 sunlen;
	const char		*path;
	char			*msg;
	va_list			 ap;
	ssize_t			 n;
	int			 fd, len, saved;

	path = getenv("NOTIFY_SOCKET");
	if (path == NULL || *path == '\0')
		return 0;
	if (notify_addr(path, &sun, &sunlen) == -1)
		return -1;

	va_start(ap, fmt);
	len = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (len == -1) {
		errno = ENOMEM;
		return -1;
	}

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		saved = errno;
		free(msg);
		errno = saved;
		return -1;
	}
	/* The manager may be gone at shutdown: no SIGPIPE for that. */
	n = sendto(fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    sunlen);
	saved = errno;
	close(fd);
	free(msg);
	if (n == -1) {
		errno = saved;
		return -1;
	}
	if (n != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 1;
}

/*
 * "RELOADING=1" with the CLOCK_MONOTONIC time systemd 253+ requires to tell
 * this reload from an earlier one; 252 ignores MONOTONIC_USEC.  Send
 * "READY=1" once the new configuration is in place.
 */
int
sd_notify_reloading(void)
{
	struct timespec	 ts;
	unsigned long long usec;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return -1;
	usec = (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL;
	return sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

/* Strict decimal: all digits, no sign, fits in a long long. */
static int
parse_ull(const char *s, unsigned long long *v)
{
	char	*end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/*
 * The watchdog interval when systemd asked for one (WatchdogSec=): 1 with
 * *usec set, 0 when off or meant for another process, -1 when the
 * variables are garbage.  Send "WATCHDOG=1" about every *usec / 2.
 */
int
sd_watchdog_enabled(uint64_t *usec)
{
	const char		*s;
	unsigned long long	 v, pid;

	*usec = 0;
	s = getenv("WATCHDOG_USEC");
	if (s == NULL)
		return 0;
	if (parse_ull(s, &v) == -1 || v == 0) {
		log_warnx("WATCHDOG_USEC=%s: not a positive integer", s);
		return -1;
	}
	s = getenv("WATCHDOG_PID");
	if (s != NULL) {
		if (parse_ull(s, &pid) == -1) {
			log_warnx("WATCHDOG_PID=%s: not a process id", s);
			return -1;
		}
		if (pid != (unsigned long long)getpid())
			return 0;
	}
	*usec = v;
	return 1;
}

static void
listen_unsetenv(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

static void
names_free(char **names, int n)
{
	int	 i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * Split LISTEN_FDNAMES into n malloc'd names ("unknown" for each when it is
 * unset).  Returns NULL after logging when the count does not match: the
 * names would be paired with the wrong sockets.
 */
static char **
listen_names(const char *fdnames, int n)
{
	char		**names;
	const char	 *p, *colon;
	size_t		  len;
	int		  i;

	if ((names = calloc(n, sizeof(*names))) == NULL) {
		log_warn("sd_listen_fds: calloc");
		return NULL;
	}
	p = fdnames;
	for (i = 0; i < n; i++) {
		if (fdnames == NULL)
			names[i] = strdup("unknown");
		else if (p == NULL)
			break;
		else {
			colon = strchr(p, ':');
			len = colon != NULL ? (size_t)(colon - p) : strlen(p);
			names[i] = strndup(p, len);
			p = colon != NULL ? colon + 1 : NULL;
		}
		if (names[i] == NULL) {
			log_warn("sd_listen_fds: strdup");
			names_free(names, n);
			return NULL;
		}
	}
	if (fdnames != NULL && (i != n || p != NULL)) {
		log_warnx("LISTEN_FDNAMES=%s: expected %d name%s", fdnames, n,
		    n == 1 ? "" : "s");
		names_free(names, n);
		return NULL;
	}
	return names;
}

/*
 * The caller owns what comes back: free(fds), free(names[i]) for each,
 * free(names).  On 0 or -1 both are NULL.  -1 (logged here, where the bad
 * variable is known) means a broken environment, not "not activated".
 */
int
sd_listen_fds(int **fds, char ***names)
{
	const char		*s_pid, *s_fds, *s_names;
	unsigned long long	 pid, nfds = 0;
	int			*list = NULL;
	char			**nlist = NULL;
	int			 i, fd, flags, ret = -1;

	if (fds != NULL)
		*fds = NULL;
	if (names != NULL)
		*names = NULL;

	s_pid = getenv("LISTEN_PID");
	s_fds = getenv("LISTEN_FDS");
	s_names = getenv("LISTEN_FDNAMES");
	if (s_pid == NULL || s_fds == NULL) {
		ret = 0;
		goto done;
	}
	if (parse_ull(s_pid, &pid) == -1) {
		log_warnx("LISTEN_PID=%s: not a process id", s_pid);
		goto done;
	}
	/* Meant for another process (we were started by the activated one). */
	if (pid != (unsigned long long)getpid()) {
		ret = 0;
		goto done;
	}
	if (parse_ull(s_fds, &nfds) == -1 || nfds > SD_LISTEN_FDS_MAX) {
		log_warnx("LISTEN_FDS=%s: not a descriptor count", s_fds);
		goto done;
	}
	if (nfds == 0) {
		ret = 0;
		goto done;
	}

	for (i = 0; i < (int)nfds; i++) {
		fd = SD_LISTEN_FDS_START + i;
		/* Keep listeners from leaking into anything we exec. */
		if ((flags = fcntl(fd, F_GETFD)) == -1 ||
		    fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == -1) {
			log_warn("LISTEN_FDS=%s: fd %d", s_fds, fd);
			goto done;
		}
	}
	if (names != NULL &&
	    (nlist = listen_names(s_names, (int)nfds)) == NULL)
		goto done;
	if (fds != NULL) {
		if ((list = calloc(nfds, sizeof(*list))) == NULL) {
			log_warn("sd_listen_fds: calloc");
			goto done;
		}
		for (i = 0; i < (int)nfds; i++)
			list[i] = SD_LISTEN_FDS_START + i;
	}
	if (fds != NULL)
		*fds = list;
	if (names != NULL)
		*names = nlist;
	list = NULL;
	nlist = NULL;
	ret = (int)nfds;
done:
	free(list);
	names_free(nlist, (int)nfds);
	/* Children (plugins may spawn some) must not think they are meant. */
	listen_unsetenv();
	return ret;
}

/*
 * Does fd suit a listener of kind (enum asockd_listener_kind)?  TCP and UDP
 * accept IPv4 and IPv6 sockets (the socket unit, not the config, chose the
 * address); stream sockets must already be listening.  Returns 1 when it
 * does, 0 when not, -1 with errno when fd is not a socket at all.
 */
int
sd_match_kind(int fd, int kind)
{
	int		 type, domain, acc;
	socklen_t	 len;

	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
		return -1;
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1)
		return -1;
	if (type == SOCK_STREAM) {
		len = sizeof(acc);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == -1)
			return -1;
		if (!acc)
			return 0;
	}
	switch (kind) {
	case ASOCKD_TCP:
		return type == SOCK_STREAM &&
		    (domain == AF_INET || domain == AF_INET6);
	case ASOCKD_UDP:
		return type == SOCK_DGRAM &&
		    (domain == AF_INET || domain == AF_INET6);
	case ASOCKD_UNIX:
		return type == SOCK_STREAM && domain == AF_UNIX;
	case ASOCKD_UNIX_DGRAM:
		return type == SOCK_DGRAM && domain == AF_UNIX;
	}
	return 0;
}
