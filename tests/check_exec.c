/*
 * check_exec.c - the exec plugin (a program per connection) and the host
 * calls under it (host->spawn, child_kill, attach_fd, ini_each), through
 * the real daemon.
 *
 * Each test starts a daemon with one worker and its own exec.ini, talks
 * to the program over loopback and reads the daemon's log for what the
 * host says about the child (its exit status, SIGKILL).  Afterwards the
 * worker must have no child left (no zombie: /proc/PID/stat of every
 * process is scanned for the worker as parent) and no more descriptors
 * than before (/proc/WORKER/fd).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define TMO	5000

static const char conf_text[] =
	"daemon: { workers = 1; };\n"
	"plugins: { exec = { path = \"exec.so\";\n"
	"    config = \"@TMP@/exec.ini\"; }; };\n"
	"listeners: (\n"
	"  { name = \"exec\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"exec\"; }\n"
	");\n";

static struct daemon	*d;
static int		 port;
static pid_t		 worker;

static void
start(const char *ini)
{
	char	*path, *log, *p;

	path = h_write_file("exec.ini", ini);
	free(path);
	d = h_daemon_start(conf_text, (char *)NULL);
	ck_assert_ptr_nonnull(d);
	port = h_port(d, "exec");
	ck_assert_int_gt(port, 0);
	ck_assert(h_log_wait(d, "worker 0 started (pid ", TMO));
	log = h_log_text(d);
	p = strstr(log, "worker 0 started (pid ");
	worker = (pid_t)atol(p + strlen("worker 0 started (pid "));
	free(log);
	ck_assert_int_gt(worker, 1);
}

static void
stop(void)
{
	if (d != NULL) {
		h_daemon_stop(d, 10000);
		h_daemon_free(d);
		d = NULL;
	}
}

/* Processes whose parent is pid (zombies included). */
static int
children_of(pid_t pid)
{
	DIR		*dir;
	struct dirent	*de;
	char		 path[300], buf[512], *p;
	FILE		*fp;
	int		 n = 0, ppid;

	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), fp) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == pid)
			n++;
		fclose(fp);
	}
	closedir(dir);
	return n;
}

static int
fd_count(pid_t pid)
{
	DIR		*dir;
	struct dirent	*de;
	char		 path[64];
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Wait (bounded) until the worker has no child left. */
static int
no_children(void)
{
	int	 i;

	for (i = 0; i < 100; i++) {
		if (children_of(worker) == 0)
			return 1;
		usleep(50000);
	}
	return 0;
}

/*
 * The worker's descriptors once n sessions (client, stdio, stderr: three
 * connections each) have logged their close lines.
 */
static int
settled(int n)
{
	int	 i;

	for (i = 0; i < 100 && h_log_count(d, ": closed (") < 3 * n; i++)
		usleep(50000);
	ck_assert_int_eq(h_log_count(d, ": closed ("), 3 * n);
	return fd_count(worker);
}

static int
connect_exec(void)
{
	int	 fd = h_tcp_connect("127.0.0.1", port);

	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Send what, end the stream, read all that comes back. */
static ssize_t
talk(const char *what, char *out, size_t max)
{
	ssize_t	 n;
	int	 fd = connect_exec();

	ck_assert_int_eq(h_write_all(fd, what, strlen(what)),
	    (ssize_t)strlen(what));
	shutdown(fd, SHUT_WR);
	n = h_read_eof(fd, out, max - 1, TMO);
	close(fd);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	return n;
}

/* A peer reset: SO_LINGER 0, then close. */
static void
reset_close(int fd)
{
	struct linger	 lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

START_TEST(test_echo)
{
	char	 out[256];
	int	 fds;

	start("[exec]\ncommand = /bin/cat\n");
	talk("warm up\n", out, sizeof(out));
	ck_assert(h_log_wait(d, "exited with status 0", TMO));
	ck_assert(no_children());
	fds = settled(1);
	ck_assert_int_gt(fds, 0);
	/* the client's EOF reaches the program, its answer comes back */
	ck_assert_int_eq(talk("hello\nworld\n", out, sizeof(out)), 12);
	ck_assert_str_eq(out, "hello\nworld\n");
	ck_assert(h_log_wait(d, "outbound exec conn 5 peer child ", TMO));
	ck_assert(no_children());
	ck_assert_int_eq(settled(2), fds);
	stop();
}
END_TEST

START_TEST(test_environment)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	char			 out[4096], want[64];
	ssize_t			 n;
	int			 fd;

	start("[exec]\ncommand = /usr/bin/env\n"
	    "[env]\nFOO = bar baz\nLANG = C\n");
	fd = connect_exec();
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	shutdown(fd, SHUT_WR);
	n = h_read_eof(fd, out, sizeof(out) - 1, TMO);
	close(fd);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_ptr_nonnull(strstr(out, "FOO=bar baz\n"));
	ck_assert_ptr_nonnull(strstr(out, "LANG=C\n"));
	ck_assert_ptr_nonnull(strstr(out, "PROTO=TCP\n"));
	ck_assert_ptr_nonnull(strstr(out, "TCPREMOTEIP=127.0.0.1\n"));
	ck_assert_ptr_nonnull(strstr(out, "TCPLOCALIP=127.0.0.1\n"));
	snprintf(want, sizeof(want), "TCPREMOTEPORT=%d\n",
	    ntohs(sin.sin_port));
	ck_assert_ptr_nonnull(strstr(out, want));
	snprintf(want, sizeof(want), "TCPLOCALPORT=%d\n", port);
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert_ptr_nonnull(strstr(out, "PATH=/usr/local/bin:/usr/bin:/bin"));
	/* nothing of the daemon's own environment */
	ck_assert_ptr_null(strstr(out, "ASOCKD_BIN="));
	stop();
}
END_TEST

/*
 * The program leads a session and process group of its own (child_kill
 * signals the group) without a controlling terminal: in /proc/self/stat
 * pgrp and session are its pid, tty_nr is 0.
 */
START_TEST(test_process_group)
{
	char	 out[1024], *p;
	int	 pid, pgrp, sid, tty;

	start("[exec]\ncommand = /bin/cat /proc/self/stat\n");
	ck_assert_int_gt(talk("", out, sizeof(out)), 0);
	ck_assert_int_eq(sscanf(out, "%d", &pid), 1);
	ck_assert_ptr_nonnull(p = strrchr(out, ')'));
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %d %d %d", &pgrp, &sid, &tty),
	    3);
	ck_assert_int_eq(pgrp, pid);
	ck_assert_int_eq(sid, pid);
	ck_assert_int_eq(tty, 0);
	ck_assert(no_children());
	stop();
}
END_TEST

/* On a unix: listener only PROTO=UNIX is set. */
START_TEST(test_environment_unix)
{
	char	 out[4096], *path;
	ssize_t	 n;
	int	 fd;

	free(h_write_file("exec.ini", "[exec]\ncommand = /usr/bin/env\n"));
	d = h_daemon_start("daemon: { workers = 1; };\n"
	    "plugins: { exec = { path = \"exec.so\";\n"
	    "    config = \"@TMP@/exec.ini\"; }; };\n"
	    "listeners: ( { name = \"u\"; listen = \"unix:@TMP@/e.sock\";"
	    " plugin = \"exec\"; } );\n", (char *)NULL);
	ck_assert_ptr_nonnull(d);
	path = h_expand("@TMP@/e.sock");
	fd = h_unix_connect(path);
	free(path);
	ck_assert_int_ge(fd, 0);
	shutdown(fd, SHUT_WR);
	n = h_read_eof(fd, out, sizeof(out) - 1, TMO);
	close(fd);
	ck_assert_int_gt(n, 0);
	out[n] = '\0';
	ck_assert_ptr_nonnull(strstr(out, "PROTO=UNIX\n"));
	ck_assert_ptr_null(strstr(out, "TCPREMOTEIP="));
	stop();
}
END_TEST

/* Only stdin, stdout and stderr reach the program. */
START_TEST(test_no_fd_leak)
{
	char	 out[256];

	start("[exec]\ncommand = /bin/ls /proc/self/fd\n");
	talk("", out, sizeof(out));
	/* ls's own directory descriptor is the 3 */
	ck_assert_str_eq(out, "0\n1\n2\n3\n");
	stop();
}
END_TEST

START_TEST(test_stderr)
{
	char	 out[256];

	start("[exec]\ncommand = /bin/sh -c \"echo out; echo oops >&2;"
	    " printf 'two\\nhalf' >&2\"\n");
	talk("", out, sizeof(out));
	ck_assert_str_eq(out, "out\n");
	ck_assert(h_log_wait(d, "listener exec conn 1 peer 127.0.0.1:", TMO));
	ck_assert(h_log_wait(d, "stderr: oops", TMO));
	ck_assert(h_log_wait(d, "stderr: two", TMO));
	/* a last line without a newline is logged at the end */
	ck_assert(h_log_wait(d, "stderr: half", TMO));
	ck_assert_int_eq(h_log_count(d, ": stderr: oops"), 1);
	stop();
}
END_TEST

/*
 * A program that floods its stderr: stderr_burst lines are logged, the
 * rest counted in one line at the end; with stderr_rate 0, every line.
 */
START_TEST(test_stderr_flood)
{
	char	 out[256];

	start("[exec]\nstderr_burst = 5\nstderr_rate = 0.001\n"
	    "command = /bin/sh -c \"i=0; while [ $i -lt 1000 ]; do"
	    " echo line$i >&2; i=$((i + 1)); done; echo done\"\n");
	talk("", out, sizeof(out));
	ck_assert_str_eq(out, "done\n");
	ck_assert_msg(h_log_wait(d, "stderr: 995 line(s) not logged (over"
	    " stderr_rate 0.001/s, stderr_burst 5)", TMO), "%s",
	    h_log_text(d));
	ck_assert_int_eq(h_log_count(d, ": stderr: line"), 5);
	ck_assert_int_eq(h_log_count(d, ": stderr: line4"), 1);
	ck_assert_int_eq(h_log_count(d, ": stderr: line5"), 0);
	stop();

	start("[exec]\nstderr_rate = 0\n"
	    "command = /bin/sh -c \"i=0; while [ $i -lt 300 ]; do"
	    " echo line$i >&2; i=$((i + 1)); done; echo done\"\n");
	talk("", out, sizeof(out));
	ck_assert_str_eq(out, "done\n");
	ck_assert(h_log_wait(d, ": stderr: line299", TMO));
	ck_assert_int_eq(h_log_count(d, ": stderr: line"), 300);
	ck_assert_int_eq(h_log_count(d, "not logged"), 0);
	stop();
}
END_TEST

START_TEST(test_exits_early)
{
	char	 out[256];
	ssize_t	 n;
	int	 fd;

	start("[exec]\ncommand = /bin/sh -c \"echo bye; exit 3\"\n");
	fd = connect_exec();
	/* the client does not end its stream: the program's exit ends it */
	n = h_read_eof(fd, out, sizeof(out) - 1, TMO);
	ck_assert_int_eq(n, 4);
	out[n] = '\0';
	ck_assert_str_eq(out, "bye\n");
	close(fd);
	ck_assert(h_log_wait(d, "exited with status 3", TMO));
	ck_assert(no_children());
	stop();
}
END_TEST

/* A program that ignores SIGTERM gets SIGKILL after kill_timeout. */
START_TEST(test_ignores_sigterm)
{
	char	 buf[16];
	int	 fd;

	start("[exec]\ncommand = /bin/sh -c \"trap '' TERM; echo ready;"
	    " while :; do sleep 0.1; done\"\nkill_timeout = 0.5\n");
	fd = connect_exec();
	ck_assert_int_eq(h_read_n(fd, buf, 6, TMO), 6);
	reset_close(fd);
	ck_assert(h_log_wait(d, "still running: SIGKILL", TMO));
	ck_assert(h_log_wait(d, "killed by signal 9", TMO));
	ck_assert(no_children());
	stop();
}
END_TEST

/* A client that resets mid-stream: the program is terminated. */
START_TEST(test_client_reset)
{
	char	 buf[65536], out[64];
	int	 fd, fds, i;

	start("[exec]\ncommand = /usr/bin/yes\n");
	talk("", out, 2);	/* a first one, read only in part */
	ck_assert(h_log_wait(d, "killed by signal 15", TMO));
	ck_assert(no_children());
	fds = settled(1);
	fd = connect_exec();
	ck_assert_int_eq(h_read_n(fd, buf, sizeof(buf), TMO),
	    (ssize_t)sizeof(buf));
	/* yes writes forever: the host holds only a bounded queue */
	usleep(200000);
	ck_assert_int_lt(h_rss_kb(worker), 64 * 1024);
	reset_close(fd);
	ck_assert(h_log_wait(d, "closed (reset)", TMO));
	for (i = 0; i < 100 && h_log_count(d, "killed by signal 15") < 2;
	    i++)
		usleep(50000);
	ck_assert_int_eq(h_log_count(d, "killed by signal 15"), 2);
	ck_assert(no_children());
	ck_assert_int_eq(settled(2), fds);
	/* and the daemon serves on */
	ck_assert_int_eq(talk("", out, 3), 2);
	stop();
}
END_TEST

/*
 * 32 MB through cat, both ways at once: the program only reads while its
 * output is read, so holding the output's reads for the input's queue
 * (rather than pacing each side by the other) would deadlock.
 */
START_TEST(test_bulk)
{
	static unsigned char	 out[65536], in[65536];
	const long long		 want = 32LL << 20;
	long long		 sent = 0, got = 0, end;
	struct pollfd		 pfd;
	uint32_t		 hs = 2166136261u, hr = 2166136261u;
	size_t			 i;
	ssize_t			 n;
	int			 fd, shut = 0;

	start("[exec]\ncommand = /bin/cat\n");
	for (i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i * 7 + i / 251);
	fd = connect_exec();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	end = h_now_ms() + 30000;
	while (h_now_ms() < end) {
		if (sent == want && !shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < want ? POLLOUT : 0);
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((pfd.revents & POLLOUT) && sent < want) {
			n = write(fd, out + sent % sizeof(out),
			    sizeof(out) - sent % sizeof(out));
			if (n > 0) {
				for (i = 0; i < (size_t)n; i++)
					hs = (hs ^ out[(sent + i) %
					    sizeof(out)]) * 16777619u;
				sent += n;
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP)) {
			if ((n = read(fd, in, sizeof(in))) == 0)
				break;
			for (i = 0; n > 0 && i < (size_t)n; i++)
				hr = (hr ^ in[i]) * 16777619u;
			if (n > 0)
				got += n;
		}
	}
	close(fd);
	ck_assert_int_eq(sent, want);
	ck_assert_int_eq(got, want);
	ck_assert_uint_eq(hr, hs);
	stop();
}
END_TEST

#define NCONC	200

START_TEST(test_concurrent)
{
	static int	 fds[NCONC];
	char		 msg[32], out[32];
	int		 i, base;

	start("[exec]\ncommand = /bin/cat\n");
	talk("x", out, sizeof(out));
	ck_assert(no_children());
	base = settled(1);
	for (i = 0; i < NCONC; i++)
		fds[i] = connect_exec();
	for (i = 0; i < NCONC; i++) {
		snprintf(msg, sizeof(msg), "client %d\n", i);
		ck_assert_int_eq(h_write_all(fds[i], msg, strlen(msg)),
		    (ssize_t)strlen(msg));
	}
	for (i = 0; i < NCONC; i++) {
		snprintf(msg, sizeof(msg), "client %d\n", i);
		memset(out, 0, sizeof(out));
		ck_assert_int_eq(h_read_n(fds[i], out, strlen(msg), TMO),
		    (ssize_t)strlen(msg));
		ck_assert_str_eq(out, msg);
	}
	ck_assert_int_eq(children_of(worker), NCONC);
	for (i = 0; i < NCONC; i++) {
		shutdown(fds[i], SHUT_WR);
		ck_assert(h_wait_eof(fds[i], TMO));
		close(fds[i]);
	}
	ck_assert(no_children());
	for (i = 0; i < 100 && h_log_count(d, "exited with status 0") <
	    NCONC + 1; i++)
		usleep(50000);
	ck_assert_int_eq(h_log_count(d, "exited with status 0"), NCONC + 1);
	ck_assert_int_eq(settled(NCONC + 1), base);
	stop();
}
END_TEST

START_TEST(test_max_instances)
{
	char	 buf[8];
	int	 a, b;

	start("[exec]\ncommand = /bin/cat\nmax_instances = 1\n");
	a = connect_exec();
	ck_assert_int_eq(h_write_all(a, "1", 1), 1);
	ck_assert_int_eq(h_read_n(a, buf, 1, TMO), 1);
	b = connect_exec();
	ck_assert(h_wait_eof(b, TMO) || errno == ECONNRESET);
	close(b);
	ck_assert(h_log_wait(d, "max_instances (1) programs running:"
	    " refused", TMO));
	close(a);
	stop();
}
END_TEST

/* Stopping the daemon terminates the programs, and waits for them. */
START_TEST(test_daemon_stop)
{
	char	 buf[8];
	int	 fd, rc;

	start("[exec]\ncommand = /bin/sh -c \"trap '' TERM; echo ready;"
	    " while :; do sleep 0.1; done\"\nkill_timeout = 0.3\n");
	fd = connect_exec();
	ck_assert_int_eq(h_read_n(fd, buf, 6, TMO), 6);
	rc = h_daemon_stop(d, 10000);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(h_log_count(d, "killed by signal 9"), 1);
	ck_assert_int_eq(kill(worker, 0), -1);
	close(fd);
	h_daemon_free(d);
	d = NULL;
}
END_TEST

/* Limits, nice value, directory and ids reach the program. */
START_TEST(test_limits)
{
	char	 out[256];

	/* (a file size limit, not nofile: valgrind, which CI runs the
	 * daemon under, refuses to lower RLIMIT_NOFILE in its children) */
	start("[exec]\ncommand = /bin/sh -c \"ulimit -f;nice;pwd;id -u\"\n"
	    "rlimit_fsize = 1048576\nnice = 5\ncwd = /tmp\n");
	talk("", out, sizeof(out));
	/* sh counts in 512-byte blocks */
	ck_assert_msg(strncmp(out, "2048\n5\n/tmp\n", 12) == 0, "%s", out);
	stop();
	if (geteuid() != 0)
		return;		/* switching ids needs root */
	start("[exec]\ncommand = /bin/sh -c \"id -u;id -g;id -G\"\n"
	    "user = nobody\ngroup = nogroup\n");
	talk("", out, sizeof(out));
	ck_assert_msg(strcmp(out, "65534\n65534\n65534\n") == 0, "%s",
	    out);
	stop();
}
END_TEST

/* A step that fails before the exec: the client is refused, logged. */
START_TEST(test_spawn_fails)
{
	char	 out[16];
	int	 fd;

	start("[exec]\ncommand = /bin/cat\ncwd = /no/such/dir\n");
	fd = connect_exec();
	ck_assert_int_le(h_read_eof(fd, out, sizeof(out), TMO), 0);
	close(fd);
	ck_assert(h_log_wait(d, "cannot run /bin/cat: No such file or"
	    " directory", TMO));
	ck_assert(no_children());
	stop();
}
END_TEST

/* The ABI 1.3 calls' errors, seen by a plugin (tests/plugins/). */
/*
 * A step that fails in the child, after the fork (here the exec of an
 * executable file that is no program: ENOEXEC), is the child's exit with
 * status 127, and the log names the step and the error.
 */
START_TEST(test_spawn_fails_late)
{
	char	 out[16], *path, *ini;
	int	 fd;

	path = h_write_file("noprog", "\x01\x02 not a program\n");
	ck_assert_int_eq(chmod(path, 0755), 0);
	ini = h_expand("[exec]\ncommand = @TMP@/noprog\n");
	start(ini);
	free(ini);
	fd = connect_exec();
	ck_assert_int_le(h_read_eof(fd, out, sizeof(out), TMO), 0);
	close(fd);
	ck_assert(h_log_wait(d, "/noprog: exec: Exec format error", TMO));
	ck_assert(h_log_wait(d, "exited with status 127", TMO));
	ck_assert(no_children());
	free(path);
	stop();
}
END_TEST

START_TEST(test_abi_errors)
{
	char	 out[512], want[256];
	int	 fd;

	d = h_daemon_start("daemon: { workers = 1; };\n"
	    "plugins: { probe = { path = \"@TEST_PLUGIN_DIR@/spawnprobe.so\";"
	    " }; };\n"
	    "listeners: ( { name = \"probe\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"probe\"; } );\n", (char *)NULL);
	ck_assert_ptr_nonnull(d);
	fd = h_tcp_connect("127.0.0.1", h_port(d, "probe"));
	ck_assert_int_ge(fd, 0);
	memset(out, 0, sizeof(out));
	ck_assert_int_gt(h_read_eof(fd, out, sizeof(out) - 1, TMO), 0);
	close(fd);
	snprintf(want, sizeof(want), "notsock=%d relative=%d noent=%d"
	    " size=%d fds=-1,-1 kill=0 again=%d each=0,0\nexit=signal 15\n",
	    -ENOTSOCK, -EINVAL, -ENOENT, -EINVAL, -EALREADY);
	ck_assert_str_eq(out, want);
	ck_assert(h_log_wait(d, "plugin probe: child ", TMO));
	ck_assert(h_log_wait(d, "killed by signal 15", TMO));
	stop();
}
END_TEST

/* A worker that dies takes its programs along (PR_SET_PDEATHSIG). */
START_TEST(test_worker_killed)
{
	char	 buf[8], *log, *p;
	pid_t	 child;
	int	 fd, i;

	start("[exec]\ncommand = /bin/sh -c \"echo ready;exec sleep 30\"\n");
	fd = connect_exec();
	ck_assert_int_eq(h_read_n(fd, buf, 6, TMO), 6);
	ck_assert(h_log_wait(d, "plugin exec: child ", TMO));
	log = h_log_text(d);
	p = strstr(log, "plugin exec: child ");
	child = atol(p + strlen("plugin exec: child "));
	free(log);
	ck_assert_int_gt(child, 1);
	ck_assert_int_eq(kill(child, 0), 0);
	ck_assert_int_eq(kill(worker, SIGKILL), 0);
	for (i = 0; i < 100 && kill(child, 0) == 0; i++)
		usleep(50000);
	ck_assert_int_eq(kill(child, 0), -1);
	close(fd);
	stop();
}
END_TEST

START_TEST(test_bad_settings)
{
	char	 out[4096], *conf, *ini;
	char	*argv[] = { "asockd", "-t", "-c", NULL, "-P", NULL, NULL };
	int	 rc;

	ini = h_write_file("exec.ini", "[exec]\ncomand = /bin/cat\n");
	conf = h_write_file("exec.conf", conf_text);
	argv[3] = conf;
	argv[5] = getenv("ASOCKD_PLUGIN_DIR");
	rc = h_run(argv, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "exec.ini:2: [exec] comand: unknown") !=
	    NULL, "%s", out);
	free(ini);

	ini = h_write_file("exec.ini", "[exec]\ncommand = /no/such\n");
	rc = h_run(argv, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "/no/such: not an executable") != NULL,
	    "%s", out);
	free(ini);

	ini = h_write_file("exec.ini", "[exec]\ncommand = /bin/sh -c \"x\n");
	rc = h_run(argv, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "unterminated quote") != NULL, "%s", out);
	free(ini);
	free(conf);
}
END_TEST

static Suite *
exec_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("exec");
	tc = tcase_create("exec");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, NULL, stop);
	tcase_add_test(tc, test_echo);
	tcase_add_test(tc, test_environment);
	tcase_add_test(tc, test_process_group);
	tcase_add_test(tc, test_environment_unix);
	tcase_add_test(tc, test_no_fd_leak);
	tcase_add_test(tc, test_stderr);
	tcase_add_test(tc, test_stderr_flood);
	tcase_add_test(tc, test_exits_early);
	tcase_add_test(tc, test_ignores_sigterm);
	tcase_add_test(tc, test_client_reset);
	tcase_add_test(tc, test_bulk);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_max_instances);
	tcase_add_test(tc, test_daemon_stop);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_spawn_fails);
	tcase_add_test(tc, test_spawn_fails_late);
	tcase_add_test(tc, test_abi_errors);
	tcase_add_test(tc, test_worker_killed);
	tcase_add_test(tc, test_bad_settings);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(exec_suite());
}
