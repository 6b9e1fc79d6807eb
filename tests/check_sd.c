/*
 * check_sd.c - the systemd protocols of daemon/sd.c.
 *
 * Unit tests send notifications to a datagram socket the test binds (a
 * path and an abstract name) and hand sd_listen_fds() descriptors the test
 * set up at fd 3.  Descriptor 3 may be check's own message file, so every
 * test that takes it over runs in a child of its own (in_child()).
 *
 * Integration tests start the real daemon: with NOTIFY_SOCKET pointing at
 * the test's socket (READY=1, RELOADING=1, STOPPING=1), and through socket
 * activation on a TCP socket the test bound, the way systemd would.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asockd.h"
#include "harness.h"

/* Prototypes the lead adds to asockd.h (sd.c section). */
int	 sd_notify_reloading(void);
int	 sd_watchdog_enabled(uint64_t *);
int	 sd_match_kind(int, int);

/* ---------------------------------------------------------------- helpers */

/* A datagram socket bound at path (or "@name": abstract), 2 s timeout. */
static int
notify_bind(const char *path)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { 2, 0 };
	socklen_t		 len;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sun, len) == 0,
	    "bind %s: %s", path, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return (fd);
}

/* Receive one datagram as a string; "" on timeout. */
static char *
notify_recv(int fd, char *buf, size_t len)
{
	ssize_t	 n;

	n = recv(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return (buf);
}

/* Wait up to timeout_ms for a datagram containing what; 1 if it came. */
static int
notify_wait(int fd, const char *what, char *buf, size_t len, int timeout_ms)
{
	long long	 end = h_now_ms() + timeout_ms;
	struct pollfd	 pfd;
	ssize_t		 n;

	while (h_now_ms() < end) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(end - h_now_ms())) <= 0)
			continue;
		n = recv(fd, buf, len - 1, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, what) != NULL)
			return (1);
	}
	return (0);
}

static char *
notify_path(void)
{
	static int	 seq;
	char		*p;

	ck_assert_int_ge(asprintf(&p, "%s/notify%d", h_tmpdir(), seq++), 0);
	return (p);
}

/* A TCP socket listening on 127.0.0.1:0; its port in *port. */
static int
tcp_listen(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	if (port != NULL)
		*port = ntohs(sin.sin_port);
	return (fd);
}

/*
 * Run fn in a child and fail unless it exits 0.  Children report with
 * CHILD_ASSERT, which names the line on stderr before exiting 1.
 */
#define CHILD_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: child: failed: %s\n",		\
		    __FILE__, __LINE__, #c);				\
		_exit(1);						\
	}								\
} while (0)

static void
in_child(void (*fn)(void))
{
	pid_t	 pid;
	int	 status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child failed (status %d), see stderr", status);
}

/* Put fd at target (dup2) and close the original. */
static void
move_fd(int fd, int target)
{
	if (fd == target)
		return;
	CHILD_ASSERT(dup2(fd, target) == target);
	close(fd);
}

static void
set_listen_env(long pid, const char *nfds, const char *names)
{
	char	 buf[32];

	snprintf(buf, sizeof(buf), "%ld", pid);
	setenv("LISTEN_PID", buf, 1);
	setenv("LISTEN_FDS", nfds, 1);
	if (names != NULL)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

static int
env_cleared(void)
{
	return (getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL &&
	    getenv("LISTEN_FDNAMES") == NULL);
}

/* ---------------------------------------------------------------- notify */

START_TEST(notify_to_path)
{
	char	*path = notify_path(), buf[512];
	int	 fd;

	fd = notify_bind(path);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(sd_notifyf("READY=1\nSTATUS=%d workers", 4), 1);
	ck_assert_str_eq(notify_recv(fd, buf, sizeof(buf)),
	    "READY=1\nSTATUS=4 workers");
	ck_assert_int_eq(sd_notifyf("STOPPING=1"), 1);
	ck_assert_str_eq(notify_recv(fd, buf, sizeof(buf)), "STOPPING=1");
	close(fd);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(notify_to_abstract)
{
	char	 name[64], buf[512];
	int	 fd;

	snprintf(name, sizeof(name), "@asockd-check-sd-%ld-%ld",
	    (long)getpid(), (long)h_now_ms());
	fd = notify_bind(name);
	setenv("NOTIFY_SOCKET", name, 1);
	ck_assert_int_eq(sd_notifyf("STATUS=%s", "abstract"), 1);
	ck_assert_str_eq(notify_recv(fd, buf, sizeof(buf)), "STATUS=abstract");
	close(fd);
}
END_TEST

START_TEST(notify_unset)
{
	unsetenv("NOTIFY_SOCKET");
	errno = 0;
	ck_assert_int_eq(sd_notifyf("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	ck_assert_int_eq(sd_notifyf("READY=1"), 0);
}
END_TEST

START_TEST(notify_bad_address)
{
	char	 longpath[300];

	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	errno = 0;
	ck_assert_int_eq(sd_notifyf("READY=1"), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);

	longpath[0] = '@';
	setenv("NOTIFY_SOCKET", longpath, 1);
	ck_assert_int_eq(sd_notifyf("READY=1"), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);

	/* Neither a path nor an abstract name. */
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	ck_assert_int_eq(sd_notifyf("READY=1"), -1);
	ck_assert_int_eq(errno, EAFNOSUPPORT);

	/* Nobody listening there. */
	setenv("NOTIFY_SOCKET", "/nonexistent/asockd/notify", 1);
	errno = 0;
	ck_assert_int_eq(sd_notifyf("READY=1"), -1);
	ck_assert_int_ne(errno, 0);
}
END_TEST

START_TEST(notify_reloading)
{
	char			*path = notify_path(), buf[512], *p;
	struct timespec		 ts;
	unsigned long long	 now, usec;
	int			 fd;

	fd = notify_bind(path);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(sd_notify_reloading(), 1);
	notify_recv(fd, buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, "RELOADING=1\nMONOTONIC_USEC=", 27) == 0,
	    "got \"%s\"", buf);
	usec = strtoull(buf + 27, &p, 10);
	ck_assert_int_eq(*p, '\0');
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (unsigned long long)ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
	ck_assert_msg(usec <= now && now - usec < 5000000ULL,
	    "MONOTONIC_USEC %llu, now %llu", usec, now);
	close(fd);
	unlink(path);
	free(path);
}
END_TEST

/* ---------------------------------------------------------------- watchdog */

START_TEST(watchdog)
{
	uint64_t	 usec;
	char		 buf[32];

	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	ck_assert_int_eq(sd_watchdog_enabled(&usec), 0);

	setenv("WATCHDOG_USEC", "3000000", 1);
	ck_assert_int_eq(sd_watchdog_enabled(&usec), 1);
	ck_assert_uint_eq(usec, 3000000);

	snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", buf, 1);
	ck_assert_int_eq(sd_watchdog_enabled(&usec), 1);
	snprintf(buf, sizeof(buf), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", buf, 1);
	ck_assert_int_eq(sd_watchdog_enabled(&usec), 0);

	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "3s", 1);
	ck_assert_int_eq(sd_watchdog_enabled(&usec), -1);
	setenv("WATCHDOG_USEC", "0", 1);
	ck_assert_int_eq(sd_watchdog_enabled(&usec), -1);
}
END_TEST

/* ---------------------------------------------------------------- listen */

static void
listen_two_named(void)
{
	int	*fds, flags;
	char	**names;

	move_fd(tcp_listen(NULL), 3);
	move_fd(socket(AF_INET, SOCK_DGRAM, 0), 4);
	/* Activated sockets arrive without FD_CLOEXEC. */
	CHILD_ASSERT(fcntl(3, F_SETFD, 0) == 0);
	set_listen_env((long)getpid(), "2", "echo-tcp:echo-udp");

	CHILD_ASSERT(sd_listen_fds(&fds, &names) == 2);
	CHILD_ASSERT(fds[0] == 3 && fds[1] == 4);
	CHILD_ASSERT(strcmp(names[0], "echo-tcp") == 0);
	CHILD_ASSERT(strcmp(names[1], "echo-udp") == 0);
	flags = fcntl(3, F_GETFD);
	CHILD_ASSERT(flags != -1 && (flags & FD_CLOEXEC));
	CHILD_ASSERT(env_cleared());
	CHILD_ASSERT(sd_match_kind(3, ASOCKD_TCP) == 1);
	CHILD_ASSERT(sd_match_kind(3, ASOCKD_UDP) == 0);
	CHILD_ASSERT(sd_match_kind(4, ASOCKD_UDP) == 1);
	CHILD_ASSERT(sd_match_kind(4, ASOCKD_UNIX_DGRAM) == 0);
	free(fds);
	free(names[0]);
	free(names[1]);
	free(names);

	/* Cleared: a second call finds nothing. */
	CHILD_ASSERT(sd_listen_fds(&fds, &names) == 0);
	CHILD_ASSERT(fds == NULL && names == NULL);
}

START_TEST(listen_named)
{
	in_child(listen_two_named);
}
END_TEST

static void
listen_unnamed(void)
{
	int	*fds;
	char	**names;

	move_fd(tcp_listen(NULL), 3);
	set_listen_env((long)getpid(), "1", NULL);
	CHILD_ASSERT(sd_listen_fds(&fds, &names) == 1);
	CHILD_ASSERT(fds[0] == 3);
	CHILD_ASSERT(strcmp(names[0], "unknown") == 0);
	free(fds);
	free(names[0]);
	free(names);
	CHILD_ASSERT(env_cleared());
}

START_TEST(listen_no_names)
{
	in_child(listen_unnamed);
}
END_TEST

static void
listen_other_pid(void)
{
	int	*fds;
	char	**names;

	move_fd(tcp_listen(NULL), 3);
	CHILD_ASSERT(fcntl(3, F_SETFD, 0) == 0);
	set_listen_env((long)getpid() + 1, "1", "echo-tcp");
	CHILD_ASSERT(sd_listen_fds(&fds, &names) == 0);
	CHILD_ASSERT(fds == NULL && names == NULL);
	CHILD_ASSERT(env_cleared());
	/* Not ours: left exactly as it was. */
	CHILD_ASSERT(fcntl(3, F_GETFD) == 0);
}

START_TEST(listen_wrong_pid)
{
	in_child(listen_other_pid);
}
END_TEST

static void
listen_garbage(void)
{
	static const char *bad[] = { "", "x", "1x", "-1", " 1", "99999999999" };
	int	*fds;
	char	**names;
	size_t	 i;

	move_fd(tcp_listen(NULL), 3);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_listen_env((long)getpid(), bad[i], NULL);
		CHILD_ASSERT(sd_listen_fds(&fds, &names) == -1);
		CHILD_ASSERT(fds == NULL && names == NULL);
		CHILD_ASSERT(env_cleared());
	}

	/* A garbage LISTEN_PID. */
	setenv("LISTEN_PID", "self", 1);
	setenv("LISTEN_FDS", "1", 1);
	CHILD_ASSERT(sd_listen_fds(&fds, &names) == -1);

	/* More descriptors announced than there are. */
	close(4);
	set_listen_env((long)getpid(), "2", NULL);
	CHILD_ASSERT(sd_listen_fds(&fds, &names) == -1);

	/* Names that do not pair up with the descriptors. */
	set_listen_env((long)getpid(), "1", "a:b");
	CHILD_ASSERT(sd_listen_fds(&fds, &names) == -1);
	CHILD_ASSERT(env_cleared());

	/* Zero descriptors is "not activated". */
	set_listen_env((long)getpid(), "0", NULL);
	CHILD_ASSERT(sd_listen_fds(&fds, &names) == 0);
	/* Without names the count is still returned. */
	set_listen_env((long)getpid(), "1", "x");
	CHILD_ASSERT(sd_listen_fds(NULL, NULL) == 1);
}

START_TEST(listen_bad_env)
{
	in_child(listen_garbage);
}
END_TEST

START_TEST(match_kind)
{
	int	 l, c, u, p[2];

	l = tcp_listen(NULL);
	c = socket(AF_INET, SOCK_STREAM, 0);
	u = socket(AF_UNIX, SOCK_DGRAM, 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(sd_match_kind(l, ASOCKD_TCP), 1);
	ck_assert_int_eq(sd_match_kind(l, ASOCKD_UNIX), 0);
	/* A stream socket that is not listening is no listener. */
	ck_assert_int_eq(sd_match_kind(c, ASOCKD_TCP), 0);
	ck_assert_int_eq(sd_match_kind(u, ASOCKD_UNIX_DGRAM), 1);
	ck_assert_int_eq(sd_match_kind(u, ASOCKD_UDP), 0);
	ck_assert_int_eq(sd_match_kind(p[0], ASOCKD_TCP), -1);
	ck_assert_int_eq(errno, ENOTSOCK);
	close(l);
	close(c);
	close(u);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ---------------------------------------------------------------- daemon */

static const char echo_conf[] =
    "daemon: {\n"
    "  plugin_dir = \"@PLUGIN_DIR@\";\n"
    "};\n"
    "plugins: {\n"
    "  echo = { path = \"echo.so\"; };\n"
    "};\n"
    "listeners: (\n"
    "  { name = \"echo-tcp\"; listen = \"tcp://127.0.0.1:0\";"
    " plugin = \"echo\"; },\n"
    "  { name = \"other\"; listen = \"tcp://127.0.0.1:0\";"
    " plugin = \"echo\"; }\n"
    ");\n";

/* Round-trip a line through the echo listener on port. */
static void
echo_check(int port)
{
	static const char msg[] = "hello, activated world\n";
	char	 buf[sizeof(msg)];
	int	 fd;

	fd = h_tcp_connect("127.0.0.1", port);
	ck_assert_msg(fd >= 0, "connect to port %d", port);
	ck_assert_int_eq(h_write_all(fd, msg, sizeof(msg) - 1),
	    sizeof(msg) - 1);
	ck_assert_int_eq(h_read_n(fd, buf, sizeof(msg) - 1, 5000),
	    sizeof(msg) - 1);
	ck_assert_mem_eq(buf, msg, sizeof(msg) - 1);
	close(fd);
}

/* Start the echo daemon with NOTIFY_SOCKET at a socket of the test's. */
static struct daemon *
start_notified(int *fd, char **path)
{
	struct daemon	*d;
	char		 buf[1024], want[64];

	*path = notify_path();
	*fd = notify_bind(*path);
	setenv("NOTIFY_SOCKET", *path, 1);
	d = h_daemon_start(echo_conf, NULL);
	unsetenv("NOTIFY_SOCKET");
	ck_assert_ptr_nonnull(d);

	ck_assert_msg(notify_wait(*fd, "READY=1", buf, sizeof(buf), 5000),
	    "no READY=1 from the daemon");
	snprintf(want, sizeof(want), "MAINPID=%ld", (long)d->pid);
	ck_assert_msg(strstr(buf, want) != NULL, "READY without %s: %s",
	    want, buf);
	ck_assert_msg(strstr(buf, "STATUS=") != NULL, "no STATUS: %s", buf);
	return (d);
}

START_TEST(daemon_notify)
{
	struct daemon	*d;
	char		*path, buf[1024];
	int		 fd;

	d = start_notified(&fd, &path);
	echo_check(h_port(d, "echo-tcp"));
	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	ck_assert_msg(notify_wait(fd, "STOPPING=1", buf, sizeof(buf), 5000),
	    "no STOPPING=1 on SIGTERM");
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
	close(fd);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(daemon_reload_notify)
{
	struct daemon	*d;
	char		*path, buf[1024];
	int		 fd;

	d = start_notified(&fd, &path);
	/* SIGHUP: RELOADING=1 with its timestamp, then READY=1 again. */
	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	ck_assert_msg(notify_wait(fd, "RELOADING=1", buf, sizeof(buf), 5000),
	    "no RELOADING=1 on SIGHUP");
	ck_assert_msg(strstr(buf, "MONOTONIC_USEC=") != NULL,
	    "RELOADING=1 without MONOTONIC_USEC: %s", buf);
	ck_assert_msg(notify_wait(fd, "READY=1", buf, sizeof(buf), 5000),
	    "no READY=1 after the reload");
	echo_check(h_port(d, "echo-tcp"));
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
	close(fd);
	unlink(path);
	free(path);
}
END_TEST

/*
 * Start the daemon the way systemd does for a socket unit: sock at fd 3,
 * LISTEN_PID set to the child's own pid between fork and exec.  The
 * daemon's stderr goes to d->log so the harness can read it.
 */
static struct daemon *
start_activated(const char *conf_text, int sock, const char *fdname)
{
	struct daemon	*d;
	const char	*bin;
	char		*path, pidbuf[32];
	pid_t		 pid;
	int		 logfd;
	static int	 seq;

	bin = getenv("ASOCKD_BIN");
	ck_assert_msg(bin != NULL, "ASOCKD_BIN is not set");
	d = calloc(1, sizeof(*d));
	ck_assert_ptr_nonnull(d);
	snprintf(pidbuf, sizeof(pidbuf), "activated%d.conf", seq);
	/* h_write_file expands @PLUGIN_DIR@ and friends. */
	path = h_write_file(pidbuf, conf_text);
	snprintf(d->conf, sizeof(d->conf), "%s", path);
	free(path);
	snprintf(d->log, sizeof(d->log), "%s/activated%d.log", h_tmpdir(),
	    seq++);
	logfd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(logfd, 0);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dup2(logfd, 2) == -1 || dup2(sock, 3) == -1)
			_exit(127);
		if (sock != 3)
			close(sock);
		/* Do not outlive a test that failed or timed out. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* dup2 clears FD_CLOEXEC on 3: it survives exec. */
		snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
		setenv("LISTEN_PID", pidbuf, 1);
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_FDNAMES", fdname, 1);
		execl(bin, bin, "-f", "-l", "debug", "-c", d->conf,
		    (char *)NULL);
		_exit(127);
	}
	close(logfd);
	d->pid = pid;
	return (d);
}

START_TEST(daemon_activated)
{
	struct daemon	*d;
	int		 sock, port, other;

	sock = tcp_listen(&port);
	d = start_activated(echo_conf, sock, "echo-tcp");
	/* Only the daemon holds the socket now: echo proves it took it. */
	close(sock);
	ck_assert_msg(h_log_wait(d, "ready", 10000), "daemon not ready:\n%s",
	    h_log_text(d));
	echo_check(port);
	echo_check(port);
	/* A listener that was not passed in is bound as usual. */
	other = h_port(d, "other");
	ck_assert_int_gt(other, 0);
	ck_assert_int_ne(other, port);
	echo_check(other);
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
}
END_TEST

START_TEST(daemon_activated_unknown_name)
{
	struct daemon	*d;
	int		 sock, port;

	/* A name no listener has: warned about and closed, the rest binds. */
	sock = tcp_listen(&port);
	d = start_activated(echo_conf, sock, "no-such-listener");
	close(sock);
	ck_assert_msg(h_log_wait(d, "ready", 10000), "daemon not ready:\n%s",
	    h_log_text(d));
	ck_assert_int_ge(h_log_count(d, "no-such-listener"), 1);
	echo_check(h_port(d, "echo-tcp"));
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
}
END_TEST

START_TEST(daemon_activated_wrong_kind)
{
	struct daemon	*d;
	int		 sock;

	/* A UDP socket handed to a TCP listener is a configuration error. */
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(sock, 0);
	d = start_activated(echo_conf, sock, "echo-tcp");
	close(sock);
	ck_assert_int_eq(h_daemon_wait(d, 10000) > 0, 1);
	ck_assert_int_ge(h_log_count(d, "echo-tcp"), 1);
	h_daemon_free(d);
}
END_TEST

/*
 * A stream socket that was bound but never listen()ed on: accept would
 * fail with EINVAL on every readable edge.  Refused at start-up, by name.
 */
START_TEST(daemon_activated_not_listening)
{
	struct daemon		*d;
	struct sockaddr_in	 sin;
	int			 sock;

	sock = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(sock, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&sin, sizeof(sin)), 0);
	d = start_activated(echo_conf, sock, "echo-tcp");
	close(sock);
	ck_assert_msg(h_daemon_wait(d, 10000) == 1, "daemon did not exit 1:"
	    "\n%s", h_log_text(d));
	ck_assert_msg(h_log_count(d, "listener echo-tcp: inherited fd 3 is"
	    " not listening") == 1, "%s", h_log_text(d));
	ck_assert_int_eq(h_log_count(d, "ready"), 0);
	h_daemon_free(d);
}
END_TEST

static Suite *
sd_suite(void)
{
	Suite	*s = suite_create("sd");
	TCase	*tc;

	tc = tcase_create("notify");
	tcase_add_test(tc, notify_to_path);
	tcase_add_test(tc, notify_to_abstract);
	tcase_add_test(tc, notify_unset);
	tcase_add_test(tc, notify_bad_address);
	tcase_add_test(tc, notify_reloading);
	tcase_add_test(tc, watchdog);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_test(tc, listen_named);
	tcase_add_test(tc, listen_no_names);
	tcase_add_test(tc, listen_wrong_pid);
	tcase_add_test(tc, listen_bad_env);
	tcase_add_test(tc, match_kind);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, daemon_notify);
	tcase_add_test(tc, daemon_reload_notify);
	tcase_add_test(tc, daemon_activated);
	tcase_add_test(tc, daemon_activated_unknown_name);
	tcase_add_test(tc, daemon_activated_wrong_kind);
	tcase_add_test(tc, daemon_activated_not_listening);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (h_run_suite(sd_suite()));
}
