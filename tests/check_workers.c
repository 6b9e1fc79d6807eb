/*
 * check_workers.c - the master and its workers, against the real daemon:
 * several workers serve one listener, a crashing worker is logged and
 * replaced while the others keep serving, a plugin that keeps crashing is
 * quarantined, a pinned listener has one worker, SIGHUP reloads (a broken
 * config changes nothing, listeners come and go, and a client under load
 * sees no failure across ten reloads), SIGTERM and the pidfile.
 *
 * The crash plugin (tests/plugins/crash.c) answers "pid" with its
 * worker's pid and dies on "segv" or "abort".
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define CONF_PLUGINS							\
	"plugins: {\n"							\
	"  crash = { path = \"@TEST_PLUGIN_DIR@/crash.so\"; };\n"	\
	"  echo = { path = \"echo.so\"; };\n"				\
	"};\n"

static const char *two_conf =
"daemon: { log_level = \"debug\"; workers = 2; shutdown_timeout = 5.0; };\n"
CONF_PLUGINS
"listeners: (\n"
"  { name = \"crash\"; listen = \"tcp://127.0.0.1:0\"; plugin = \"crash\"; },\n"
"  { name = \"echo\"; listen = \"tcp://127.0.0.1:0\"; plugin = \"echo\"; }\n"
");\n";

static int
conn(struct daemon *d, const char *listener)
{
	int	 fd = h_tcp_connect("127.0.0.1", h_port(d, listener));

	ck_assert_msg(fd >= 0, "connect to %s: %s", listener, strerror(errno));
	return fd;
}

static void
say(int fd, const char *s)
{
	ck_assert_int_eq(h_write_all(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* The pid of the worker serving fd (a crash listener connection). */
static long
pid_of(int fd)
{
	char	 buf[32];
	ssize_t	 n, i;

	say(fd, "pid\n");
	memset(buf, 0, sizeof(buf));
	for (i = 0; i < (ssize_t)sizeof(buf) - 1; i++) {
		n = h_read_n(fd, buf + i, 1, 5000);
		ck_assert_int_eq(n, 1);
		if (buf[i] == '\n')
			break;
	}
	return atol(buf);
}

static void
expect(int fd, const char *want)
{
	char	 buf[256];
	size_t	 n = strlen(want);

	ck_assert_int_eq(h_read_n(fd, buf, n, 5000), (ssize_t)n);
	ck_assert(memcmp(buf, want, n) == 0);
}

/* The port of listener name as last logged (a reload may rebind it). */
static int
last_port(struct daemon *d, const char *name)
{
	char	*log = h_log_text(d), pat[128], *p, *last = NULL;
	int	 port = -1;

	snprintf(pat, sizeof(pat), "listener %s: listening on ", name);
	for (p = log; (p = strstr(p, pat)) != NULL; p++)
		last = p;
	if (last != NULL && (p = strchr(last, '\n')) != NULL) {
		*p = '\0';
		if ((p = strrchr(last, ':')) != NULL)
			port = atoi(p + 1);
	}
	free(log);
	return port;
}

static void
echo_ok(int fd, const char *s)
{
	char	 buf[256];
	size_t	 n = strlen(s);

	say(fd, s);
	ck_assert_int_eq(h_read_n(fd, buf, n, 5000), (ssize_t)n);
	ck_assert(memcmp(buf, s, n) == 0);
}

/* Wait until the log has at least n lines with s. */
static int
log_wait_n(struct daemon *d, const char *s, int n, int timeout_ms)
{
	long long	 end = h_now_ms() + timeout_ms;

	while (h_now_ms() < end) {
		if (h_log_count(d, s) >= n)
			return 1;
		usleep(10 * 1000);
	}
	return 0;
}

/* Replace d's config file (placeholders expanded). */
static void
rewrite_conf(struct daemon *d, const char *text)
{
	char	*s = h_expand(text);
	FILE	*f = fopen(d->conf, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(s, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	free(s);
}

/*
 * Every worker serves every listener: while one is blocked inside the
 * plugin, new connections go to another.
 */
START_TEST(several_workers)
{
	struct daemon	*d = h_daemon_start(two_conf, NULL);
	int		 a, b;
	long		 pa, pb;

	ck_assert_ptr_nonnull(d);
	a = conn(d, "crash");
	pa = pid_of(a);
	ck_assert_int_gt(pa, 0);
	ck_assert_int_ne(pa, d->pid);
	say(a, "sleep\n");
	usleep(20 * 1000);
	b = conn(d, "crash");
	pb = pid_of(b);
	ck_assert_int_gt(pb, 0);
	ck_assert_int_ne(pb, pa);
	ck_assert_int_ne(pb, d->pid);
	expect(a, "slept\n");
	close(a);
	close(b);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* A connection on another worker than a's (which is kept busy). */
static int
conn_other(struct daemon *d, int a, long *got)
{
	int	 fd;

	say(a, "sleep\n");
	usleep(20 * 1000);
	fd = conn(d, "crash");
	*got = pid_of(fd);
	expect(a, "slept\n");
	return fd;
}

/*
 * A worker killed by a plugin: logged with signal and plugin, replaced,
 * and a connection on the other worker never notices.
 */
START_TEST(crash_respawn)
{
	struct daemon	*d = h_daemon_start(two_conf, NULL);
	int		 a, b, c;
	long		 pa, pb, pc;

	ck_assert_ptr_nonnull(d);
	a = conn(d, "crash");
	pa = pid_of(a);
	b = conn_other(d, a, &pb);
	ck_assert_int_ne(pb, pa);
	say(b, "segv\n");
	ck_assert(h_wait_eof(b, 5000));
	close(b);
	ck_assert_msg(h_log_wait(d, "killed by signal 11 (SIGSEGV) in plugin"
	    " crash; plugins loaded: crash, echo", 5000), "%s",
	    h_log_text(d));
	/* the other worker's connection goes on */
	ck_assert_int_eq(pid_of(a), pa);
	echo_ok(a, "still here\n");
	/* replaced: a third pid serves */
	ck_assert(log_wait_n(d, " started (pid", 3, 5000));
	c = conn_other(d, a, &pc);
	ck_assert_int_ne(pc, pa);
	ck_assert_int_ne(pc, pb);
	say(c, "abort\n");
	ck_assert(h_wait_eof(c, 5000));
	close(c);
	ck_assert(h_log_wait(d, "(SIGABRT) in plugin crash", 5000));
	ck_assert_int_eq(pid_of(a), pa);
	close(a);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* Five crashes in a minute: the plugin's listener closes, others serve. */
START_TEST(quarantine)
{
	struct daemon	*d = h_daemon_start(two_conf, NULL);
	int		 i, fd, port;
	long long	 end;

	ck_assert_ptr_nonnull(d);
	port = h_port(d, "crash");
	for (i = 1; i <= 5; i++) {
		ck_assert(log_wait_n(d, " started (pid", i + 1, 5000));
		fd = conn(d, "crash");
		say(fd, "segv\n");
		ck_assert(h_wait_eof(fd, 5000));
		close(fd);
		ck_assert(log_wait_n(d, "in plugin crash", i, 5000));
	}
	ck_assert_msg(h_log_wait(d, "plugin crash: quarantined: it killed 5"
	    " workers", 5000), "%s", h_log_text(d));
	ck_assert(h_log_wait(d, "listener crash: closed", 5000));
	/* refused once every worker has let go of the socket */
	end = h_now_ms() + 5000;
	while ((fd = h_tcp_connect("127.0.0.1", port)) >= 0 &&
	    h_now_ms() < end) {
		close(fd);
		usleep(50 * 1000);
	}
	ck_assert_int_lt(fd, 0);
	fd = conn(d, "echo");
	echo_ok(fd, "echo lives\n");
	close(fd);
	/* a reload brings the listener back */
	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	ck_assert(h_log_wait(d, "new worker(s)", 10000));
	ck_assert_int_eq(h_log_count(d, "listener crash: listening on"), 2);
	fd = h_tcp_connect("127.0.0.1", last_port(d, "crash"));
	ck_assert_int_ge(fd, 0);
	echo_ok(fd, "back\n");
	close(fd);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/*
 * SIGKILL from outside (the OOM killer, an operator) is not a plugin
 * crash: six of them within a minute, with one plugin loaded (the one
 * that would otherwise be blamed), and the listener stays open.
 */
START_TEST(sigkill_not_counted)
{
	struct daemon	*d = h_daemon_start(
	    "daemon: { log_level = \"debug\"; workers = 2; };\n"
	    "plugins: { crash = { path = \"@TEST_PLUGIN_DIR@/crash.so\"; };"
	    " };\n"
	    "listeners: ( { name = \"crash\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"crash\"; } );\n", NULL);
	int	 i, fd;
	long	 pid;

	ck_assert_ptr_nonnull(d);
	for (i = 1; i <= 6; i++) {
		ck_assert(log_wait_n(d, " started (pid", i + 1, 10000));
		fd = conn(d, "crash");
		pid = pid_of(fd);
		ck_assert_int_eq(kill((pid_t)pid, SIGKILL), 0);
		ck_assert(h_wait_eof(fd, 5000));
		close(fd);
		ck_assert(log_wait_n(d, "(SIGKILL)", i, 5000));
	}
	ck_assert(log_wait_n(d, " started (pid", 8, 10000));
	ck_assert_msg(h_log_count(d, "quarantined") == 0, "%s",
	    h_log_text(d));
	ck_assert_int_eq(h_log_count(d, "listener crash: closed"), 0);
	fd = conn(d, "crash");
	echo_ok(fd, "still open\n");
	close(fd);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/*
 * A worker that could not load its second plugin names only the first as
 * loaded, not the config's list.
 */
START_TEST(load_failure_loaded)
{
	char	*conf = h_write_file("badabi.conf",
	    "plugins: {\n"
	    "  echo = { path = \"echo.so\"; };\n"
	    "  bad = { path = \"@TEST_PLUGIN_DIR@/badabi.so\"; };\n"
	    "};\n"
	    "listeners: (\n"
	    "  { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; },\n"
	    "  { name = \"bad\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"bad\"; }\n"
	    ");\n");
	char	*argv[] = { "asockd", "-f", "-P", getenv("ASOCKD_PLUGIN_DIR"),
	    "-c", conf, NULL };
	static char out[65536];

	ck_assert_int_eq(h_run(argv, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "before it was up; plugins loaded: echo\n")
	    != NULL, "%s", out);
	free(conf);
}
END_TEST

/*
 * Start `asockd -f -c FILE` with stderr on a file that JOURNAL_STREAM names
 * (as systemd does when stderr is the journal).  Not registered with the
 * harness: h_daemon_wait and h_log_* work on it.
 */
static struct daemon *
start_journal(const char *conf_text)
{
	struct daemon	*d = calloc(1, sizeof(*d));
	char		*path, js[64];
	struct stat	 st;
	pid_t		 pid;
	int		 fd;

	ck_assert_ptr_nonnull(d);
	path = h_write_file("journal.conf", conf_text);
	snprintf(d->conf, sizeof(d->conf), "%s", path);
	free(path);
	snprintf(d->log, sizeof(d->log), "%s/journal.log", h_tmpdir());
	fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dup2(fd, STDERR_FILENO) == -1)
			_exit(127);
		setenv("JOURNAL_STREAM", js, 1);
		execl(getenv("ASOCKD_BIN"), "asockd", "-f", "-l", "debug",
		    "-P", getenv("ASOCKD_PLUGIN_DIR"), "-c", d->conf,
		    (char *)NULL);
		_exit(127);
	}
	close(fd);
	d->pid = pid;
	return d;
}

/*
 * Under journald: a start-up failure is logged at err (<3>), and every
 * line names its process, so the worker's own lines can be told from the
 * master's.
 */
START_TEST(journal_priorities)
{
	struct daemon	*d = start_journal(
	    "daemon: { workers = 1; };\n"
	    "plugins: {\n"
	    "  echo = { path = \"echo.so\"; };\n"
	    "  bad = { path = \"@TEST_PLUGIN_DIR@/badabi.so\"; };\n"
	    "};\n"
	    "listeners: ( { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; } );\n");
	char	*log, *p, want[1024];
	long	 wpid;

	ck_assert_int_eq(h_daemon_wait(d, 10000), 1);
	log = h_log_text(d);
	snprintf(want, sizeof(want), "\n<3>[%ld] start-up failed: ",
	    (long)d->pid);
	ck_assert_msg(strstr(log, want) != NULL, "no %s in:\n%s", want + 1,
	    log);
	p = strstr(log, "] worker 0 (pid ");
	ck_assert_msg(p != NULL, "%s", log);
	wpid = atol(p + strlen("] worker 0 (pid "));
	ck_assert_int_gt(wpid, 0);
	ck_assert_int_ne(wpid, d->pid);
	snprintf(want, sizeof(want), "<3>[%ld] %s: a plugin could not be"
	    " loaded\n", wpid, d->conf);
	ck_assert_msg(strstr(log, want) != NULL, "no %s in:\n%s", want, log);
	/* every line has a priority and a pid */
	for (p = log; *p != '\0'; p = strchr(p, '\n') + 1) {
		ck_assert_msg(p[0] == '<' && p[2] == '>' && p[3] == '[',
		    "line without <N>[PID]: %.80s", p);
		if (strchr(p, '\n') == NULL)
			break;
	}
	free(log);
	free(d);
}
END_TEST

/* A listener with workers = 1 is served by one worker only. */
START_TEST(pinned)
{
	struct daemon	*d = h_daemon_start(
	    "daemon: { log_level = \"debug\"; workers = 3; };\n"
	    CONF_PLUGINS
	    "listeners: ( { name = \"crash\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "  plugin = \"crash\"; workers = 1; } );\n", NULL);
	int		 fds[16], i;
	long		 first = 0, p;

	ck_assert_ptr_nonnull(d);
	for (i = 0; i < 16; i++)
		fds[i] = conn(d, "crash");
	for (i = 0; i < 16; i++) {
		p = pid_of(fds[i]);
		if (first == 0)
			first = p;
		ck_assert_int_eq(p, first);
	}
	for (i = 0; i < 16; i++)
		close(fds[i]);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* A broken config on SIGHUP: FILE:LINE logged, the old one serves. */
START_TEST(reload_broken)
{
	struct daemon	*d = h_daemon_start(two_conf, NULL);
	char		 want[600];
	int		 fd;

	ck_assert_ptr_nonnull(d);
	fd = conn(d, "echo");
	rewrite_conf(d, "daemon: { workers = 2; };\n"
	    "listeners: ( { name = \"x\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "  plugin = \"nosuch\"; bogus = 1; } );\n");
	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	ck_assert(h_log_wait(d, "keeping the running configuration", 5000));
	snprintf(want, sizeof(want), "%s:3:", d->conf);
	ck_assert_msg(h_log_count(d, want) > 0, "no %s in\n%s", want,
	    h_log_text(d));
	echo_ok(fd, "same connection\n");
	close(fd);
	fd = conn(d, "echo");
	echo_ok(fd, "new connection\n");
	close(fd);
	ck_assert_int_eq(h_log_count(d, "new worker(s)"), 0);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* SIGHUP adds and removes listeners; the kept one keeps its port. */
START_TEST(reload_listeners)
{
	struct daemon	*d = h_daemon_start(two_conf, NULL);
	int		 fd, echo_port, crash_port;
	long long	 end;

	ck_assert_ptr_nonnull(d);
	echo_port = h_port(d, "echo");
	crash_port = h_port(d, "crash");
	rewrite_conf(d,
	    "daemon: { log_level = \"debug\"; workers = 2; };\n"
	    CONF_PLUGINS
	    "listeners: (\n"
	    "  { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; },\n"
	    "  { name = \"sock\"; listen = \"unix:@TMP@/added.sock\";"
	    " plugin = \"echo\"; }\n"
	    ");\n");
	ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
	ck_assert_msg(h_log_wait(d, "new worker(s)", 10000), "%s",
	    h_log_text(d));
	ck_assert(h_log_wait(d, "listener crash: closed", 5000));
	ck_assert_int_eq(h_port(d, "echo"), echo_port);
	fd = conn(d, "echo");
	echo_ok(fd, "kept\n");
	close(fd);
	{
		char *path = h_expand("@TMP@/added.sock");

		fd = h_unix_connect(path);
		ck_assert_int_ge(fd, 0);
		echo_ok(fd, "added\n");
		close(fd);
		ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
		/* the master removes the socket file at exit */
		ck_assert_int_eq(access(path, F_OK), -1);
		free(path);
	}
	end = h_now_ms() + 2000;
	while ((fd = h_tcp_connect("127.0.0.1", crash_port)) >= 0 &&
	    h_now_ms() < end) {
		close(fd);
		usleep(50 * 1000);
	}
	ck_assert_int_lt(fd, 0);
	h_daemon_free(d);
}
END_TEST

/*
 * The load client: connections one after another for up to ms, each
 * sending a few KiB and reading them back.  Writes "OK N" or the first
 * failure to out.
 */
static void
load_client(int port, long long ms, int out)
{
	static char	 buf[8192], back[8192];
	long long	 end = h_now_ms() + ms;
	unsigned int	 n = 0, i;
	ssize_t		 len;
	int		 fd;
	char		 msg[256];

	while (h_now_ms() < end) {
		if ((fd = h_tcp_connect("127.0.0.1", port)) < 0) {
			len = snprintf(msg, sizeof(msg), "connect #%u: %s\n",
			    n, strerror(errno));
			goto out;
		}
		for (i = 0; i < sizeof(buf); i++)
			buf[i] = (char)(n + i * 7);
		if (h_write_all(fd, buf, sizeof(buf)) != sizeof(buf)) {
			len = snprintf(msg, sizeof(msg), "write #%u: %s\n",
			    n, strerror(errno));
			goto out;
		}
		if ((len = h_read_n(fd, back, sizeof(back), 5000)) !=
		    sizeof(back) || memcmp(buf, back, sizeof(buf)) != 0) {
			len = snprintf(msg, sizeof(msg), "read #%u: %zd bytes,"
			    " %s\n", n, len, strerror(errno));
			goto out;
		}
		close(fd);
		n++;
	}
	len = snprintf(msg, sizeof(msg), "OK %u\n", n);
out:
	(void)!write(out, msg, (size_t)len);
	_exit(0);
}

/* Ten reloads under load: no failed connect, reset or lost byte. */
START_TEST(reload_under_load)
{
	struct daemon	*d = h_daemon_start(two_conf, NULL);
	char		 res[256];
	int		 p[2], i, st;
	unsigned int	 n = 0;
	pid_t		 pid;
	ssize_t		 r;

	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		load_client(h_port(d, "echo"), 8000, p[1]);
	}
	ck_assert_int_gt(pid, 0);
	close(p[1]);
	usleep(200 * 1000);
	for (i = 1; i <= 10; i++) {
		ck_assert_int_eq(kill(d->pid, SIGHUP), 0);
		ck_assert_msg(log_wait_n(d, "new worker(s)", i, 10000),
		    "reload %d did not finish:\n%s", i, h_log_text(d));
		usleep(200 * 1000);
	}
	memset(res, 0, sizeof(res));
	r = read(p[0], res, sizeof(res) - 1);
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(r > 0 && sscanf(res, "OK %u", &n) == 1,
	    "load client: %s", r > 0 ? res : "no result");
	ck_assert_msg(n > 100, "only %u connections", n);
	ck_assert_int_eq(h_log_count(d, "killed by signal"), 0);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* SIGTERM stops every worker and exits 0; the pidfile comes and goes. */
/* Workers drop to daemon.user/group before loading plugins; the master
 * keeps its identity (it binds new ports on reload). */
START_TEST(privileges_dropped)
{
	struct daemon	*d;
	char		 src[1024], dst[1024], status[4096], line[256];
	char		*base, *copy;
	FILE		*in, *out, *f;
	long		 pid;
	int		 fd, ch, uid = -1, gid = -1;

	if (geteuid() != 0)
		return;		/* only root can switch users */
	/* the plugin must be readable by nobody: copy it under a
	 * world-searchable directory */
	ck_assert_int_eq(chmod(h_tmpdir(), 0755), 0);
	copy = strdup(h_tmpdir());
	ck_assert_ptr_nonnull(copy);
	base = strrchr(copy, '/');
	*base = '\0';
	ck_assert_int_eq(chmod(copy, 0755), 0);
	free(copy);
	snprintf(src, sizeof(src), "%s/crash.so",
	    getenv("ASOCKD_TEST_PLUGIN_DIR"));
	snprintf(dst, sizeof(dst), "%s/crash.so", h_tmpdir());
	ck_assert_ptr_nonnull(in = fopen(src, "rb"));
	ck_assert_ptr_nonnull(out = fopen(dst, "wb"));
	while ((ch = getc(in)) != EOF)
		putc(ch, out);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_int_eq(chmod(dst, 0755), 0);

	d = h_daemon_start(
	    "daemon: { workers = 1; user = \"nobody\";"
	    " group = \"nogroup\"; };\n"
	    "plugins: { crash = { path = \"@TMP@/crash.so\"; }; };\n"
	    "listeners: ( { name = \"crash\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "  plugin = \"crash\"; } );\n", NULL);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_eq(h_log_count(d, "running as root"), 0);
	fd = conn(d, "crash");
	pid = pid_of(fd);
	ck_assert_int_ne(pid, d->pid);
	snprintf(status, sizeof(status), "/proc/%ld/status", pid);
	ck_assert_ptr_nonnull(f = fopen(status, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Uid:", 4) == 0)
			uid = atoi(line + 5);
		if (strncmp(line, "Gid:", 4) == 0)
			gid = atoi(line + 5);
	}
	fclose(f);
	ck_assert_int_eq(uid, 65534);
	ck_assert_int_eq(gid, 65534);
	close(fd);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* Count lines of path containing s (0 when the file is missing). */
static int
file_count(const char *path, const char *s)
{
	char	 line[1024];
	FILE	*f;
	int	 n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, s) != NULL)
			n++;
	fclose(f);
	return n;
}

static int
file_wait(const char *path, const char *s, int n)
{
	long long	 end = h_now_ms() + 10000;

	while (h_now_ms() < end) {
		if (file_count(path, s) >= n)
			return 1;
		usleep(20000);
	}
	return 0;
}

/* daemon.log_file: every process logs there; after a rotation SIGUSR1
 * makes the master and the workers write to the new file. */
START_TEST(log_file_reopen)
{
	char		*cf, *log, *old;
	char		 port[16];
	pid_t		 pid;
	int		 fd, status, p;
	FILE		*f;
	char		 line[1024], *s;

	cf = h_write_file("logfile.conf",
	    "daemon: { workers = 2; log_file = \"asockd.log\"; };\n"
	    CONF_PLUGINS
	    "listeners: ( { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "  plugin = \"echo\"; } );\n");
	log = h_expand("@TMP@/asockd.log");
	old = h_expand("@TMP@/asockd.log.1");
	if ((pid = fork()) == 0) {
		execl(getenv("ASOCKD_BIN"), "asockd", "-f", "-l", "debug", "-c",
		    cf, "-P", getenv("ASOCKD_PLUGIN_DIR"), (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert_msg(file_wait(log, " ready", 1), "no ready line in %s", log);
	ck_assert(file_wait(log, " started (pid", 2));
	/* the bound port, from the log file */
	ck_assert_ptr_nonnull(f = fopen(log, "r"));
	p = -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if ((s = strstr(line, "listening on tcp://127.0.0.1:")) != NULL)
			p = atoi(s + strlen("listening on tcp://127.0.0.1:"));
	fclose(f);
	ck_assert_int_gt(p, 0);
	snprintf(port, sizeof(port), "%d", p);

	fd = h_tcp_connect("127.0.0.1", p);
	echo_ok(fd, "one\n");
	close(fd);
	ck_assert(file_wait(log, "closed (peer)", 1));
	/* time stamps: 2026-11-25T12:00:00 asockd[pid]: ... */
	ck_assert_ptr_nonnull(f = fopen(log, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_msg(line[4] == '-' && line[10] == 'T' &&
	    strstr(line, " asockd[") != NULL, "%s", line);

	ck_assert_int_eq(rename(log, old), 0);
	kill(pid, SIGUSR1);
	ck_assert(file_wait(log, "SIGUSR1: reopened", 1));
	usleep(200000);		/* the workers follow the master */
	fd = h_tcp_connect("127.0.0.1", p);
	echo_ok(fd, "two\n");
	close(fd);
	/* the worker's close line goes to the new file */
	ck_assert(file_wait(log, "closed (peer)", 1));
	ck_assert_int_eq(file_count(old, "closed (peer)"), 1);

	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert(file_wait(log, "stopped", 1));
	free(cf);
	free(log);
	free(old);
}
END_TEST

/* Fill the file system of dir: a file written until ENOSPC. */
static char *
fill_fs(const char *dir)
{
	static char	 block[4096];
	char		*path;
	int		 fd, i;

	ck_assert_int_ge(asprintf(&path, "%s/filler", dir), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 1024 && write(fd, block, sizeof(block)) > 0; i++)
		;
	for (i = 0; i < 8192 && write(fd, block, 1) > 0; i++)
		;
	ck_assert_int_eq(errno, ENOSPC);
	close(fd);
	return path;
}

/*
 * daemon.log_file on a full disk (a 64 KiB tmpfs): lines that do not fit
 * are dropped whole, none is left as a fragment glued to a later one, and
 * once there is space again the loss is reported.  Skipped where tmpfs
 * cannot be mounted (not root, no CAP_SYS_ADMIN).
 */
START_TEST(log_file_full)
{
	char		*dir, *cf, *log, *filler, *text, *p, *nl;
	char		 line[1024], *s;
	pid_t		 pid;
	int		 fd, i, n, port = -1, status;
	FILE		*f;

	dir = h_expand("@TMP@/small");
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	/* in a mount namespace of this test's process: no mount outlives it */
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("tmpfs", dir, "tmpfs", 0, "size=64k") == -1) {
		fprintf(stderr, "log_file_full: skipped: mount tmpfs: %s\n",
		    strerror(errno));
		free(dir);
		return;
	}
	cf = h_write_file("full.conf",
	    "daemon: { workers = 1; log_file = \"small/asockd.log\"; };\n"
	    CONF_PLUGINS
	    "listeners: ( { name = \"echo\";"
	    " listen = \"tcp://127.0.0.1:0\"; plugin = \"echo\"; } );\n");
	log = h_expand("@TMP@/small/asockd.log");
	if ((pid = fork()) == 0) {
		execl(getenv("ASOCKD_BIN"), "asockd", "-f", "-l", "debug", "-c",
		    cf, "-P", getenv("ASOCKD_PLUGIN_DIR"), (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	ck_assert(file_wait(log, " started (pid", 1));
	ck_assert_ptr_nonnull(f = fopen(log, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if ((s = strstr(line, "listening on tcp://127.0.0.1:")))
			port = atoi(strrchr(s, ':') + 1);
	fclose(f);
	ck_assert_int_gt(port, 0);

	filler = fill_fs(dir);
	for (i = 0; i < 40; i++) {
		fd = h_tcp_connect("127.0.0.1", port);
		echo_ok(fd, "into the void\n");
		close(fd);
	}
	usleep(200 * 1000);
	/* the last page of the log had room for a few, not for all */
	n = file_count(log, "closed (peer)");
	ck_assert_int_lt(n, 40);
	ck_assert_int_eq(unlink(filler), 0);
	fd = h_tcp_connect("127.0.0.1", port);
	echo_ok(fd, "space again\n");
	close(fd);
	ck_assert_msg(file_wait(log, " lines dropped: the log could not be"
	    " written (No space left on device)", 1), "no drop report");
	ck_assert(file_wait(log, "closed (peer)", n + 1));

	kill(pid, SIGTERM);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* every line whole: a time stamp, one "asockd[", a newline */
	ck_assert_ptr_nonnull(f = fopen(log, "r"));
	text = calloc(1, 65536 + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_gt(fread(text, 1, 65536, f), 0);
	fclose(f);
	for (p = text; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		ck_assert_msg(nl != NULL, "unterminated last line: %s", p);
		*nl = '\0';
		ck_assert_msg(p[4] == '-' && p[10] == 'T' &&
		    (s = strstr(p, " asockd[")) != NULL &&
		    strstr(s + 8, "asockd[") == NULL, "bad line: %s", p);
	}
	free(text);
	umount2(dir, MNT_DETACH);
	free(filler);
	free(cf);
	free(log);
	free(dir);
}
END_TEST

/*
 * Without -f the command the user ran waits for the real outcome: 1 when
 * a plugin's init fails in the workers (with the reason on stderr), 0 once
 * the daemon serves (it keeps running, detached, and is stopped through
 * its pidfile).
 */
START_TEST(detach_outcome)
{
	static char	 out[65536];
	char		*bad, *good, *pidf, *log, line[1024], *s;
	char		*argv[] = { "asockd", "-P", getenv("ASOCKD_PLUGIN_DIR"),
	    "-c", NULL, NULL };
	long long	 end;
	long		 pid;
	int		 fd, port = -1;
	FILE		*f;

	free(h_write_file("bad.ini", "[chargen]\nline_length = 0\n"));
	bad = h_write_file("detach-bad.conf",
	    "daemon: { pidfile = \"@TMP@/detach-bad.pid\"; };\n"
	    "plugins: { chargen: { path = \"chargen.so\";"
	    " config = \"@TMP@/bad.ini\"; }; };\n"
	    "listeners: ( { name = \"c\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"chargen\"; } );\n");
	argv[4] = bad;
	ck_assert_int_eq(h_run(argv, out, sizeof(out)), 1);
	ck_assert_msg(strstr(out, "line_length: 0 is out of range") != NULL &&
	    strstr(out, "start-up failed") != NULL, "%s", out);
	pidf = h_expand("@TMP@/detach-bad.pid");
	ck_assert_int_eq(access(pidf, F_OK), -1);	/* it is gone */
	free(pidf);

	good = h_write_file("detach-good.conf",
	    "daemon: { pidfile = \"@TMP@/detach.pid\";"
	    " log_file = \"detach.log\"; workers = 2; };\n"
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; } );\n");
	argv[4] = good;
	ck_assert_msg(h_run(argv, out, sizeof(out)) == 0, "%s", out);
	/* ready before it returned: pidfile written, both workers up */
	pidf = h_expand("@TMP@/detach.pid");
	log = h_expand("@TMP@/detach.log");
	ck_assert_ptr_nonnull(f = fopen(pidf, "r"));
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	pid = atol(line);
	ck_assert_int_gt(pid, 1);
	ck_assert_int_eq(kill((pid_t)pid, 0), 0);
	ck_assert_int_eq(file_count(log, " ready: "), 1);
	ck_assert_int_eq(file_count(log, " started (pid"), 2);
	ck_assert_ptr_nonnull(f = fopen(log, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if ((s = strstr(line, "listening on tcp://127.0.0.1:")))
			port = atoi(strrchr(s, ':') + 1);
	fclose(f);
	ck_assert_int_gt(port, 0);
	fd = h_tcp_connect("127.0.0.1", port);
	echo_ok(fd, "detached\n");
	close(fd);
	ck_assert_int_eq(kill((pid_t)pid, SIGTERM), 0);
	end = h_now_ms() + 10000;
	while (access(pidf, F_OK) == 0 && h_now_ms() < end)
		usleep(20 * 1000);
	ck_assert_int_eq(access(pidf, F_OK), -1);
	ck_assert(file_wait(log, "stopped", 1));
	free(pidf);
	free(log);
	free(bad);
	free(good);
}
END_TEST

/*
 * A worker out of file descriptors (its RLIMIT_NOFILE lowered to 16 from
 * outside) with 40 connections waiting: it retries every 0.1 s, but logs
 * one line when the shortage starts and one when it ends, not two per
 * retry.
 */
START_TEST(emfile_log)
{
	struct daemon	*d = h_daemon_start(
	    "daemon: { workers = 1; };\n"
	    CONF_PLUGINS
	    "listeners: ( { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; } );\n", NULL);
	struct rlimit	 rl = { 16, 16 };
	char		*log, *p;
	long		 wpid;
	int		 fds[40], i, n;

	ck_assert_ptr_nonnull(d);
	ck_assert(h_log_wait(d, " started (pid", 5000));
	log = h_log_text(d);
	p = strstr(log, " started (pid ");
	wpid = atol(p + strlen(" started (pid "));
	free(log);
	ck_assert_int_gt(wpid, 0);
	ck_assert_int_eq(prlimit((pid_t)wpid, RLIMIT_NOFILE, &rl, NULL), 0);
	for (i = 0; i < 40; i++)
		ck_assert_int_ge(fds[i] = conn(d, "echo"), 0);
	ck_assert(h_log_wait(d, "Too many open files", 5000));
	usleep(2500 * 1000);	/* 25 retries */
	n = h_log_count(d, "accept4");
	ck_assert_msg(n >= 1 && n <= 3, "%d accept4 lines", n);
	ck_assert_int_eq(h_log_count(d, "resuming accepting"), 0);
	for (i = 0; i < 40; i++)
		close(fds[i]);
	ck_assert_msg(h_log_wait(d, "resuming accepting connections after",
	    10000), "%s", h_log_text(d));
	ck_assert_int_le(h_log_count(d, "accept4"), 4);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* A plugin that never returns: the master notices the stuck loop after
 * daemon.worker_timeout, aborts the worker (the crash handler names the
 * plugin) and replaces it; the other worker serves on. */
START_TEST(hung_worker)
{
	struct daemon	*d = h_daemon_start(
	    "daemon: { log_level = \"debug\"; workers = 2;"
	    " worker_timeout = 1.0; };\n"
	    CONF_PLUGINS
	    "listeners: (\n"
	    "  { name = \"crash\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"crash\"; },\n"
	    "  { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; }\n"
	    ");\n", NULL);
	int	 fd, e;

	ck_assert_ptr_nonnull(d);
	ck_assert(log_wait_n(d, " started (pid", 2, 5000));
	fd = conn(d, "crash");
	say(fd, "hang\n");
	ck_assert(h_log_wait(d, "unresponsive for", 10000));
	ck_assert(h_log_wait(d, "in plugin crash", 10000));
	ck_assert(h_wait_eof(fd, 5000));
	close(fd);
	/* replaced, and serving */
	ck_assert(log_wait_n(d, " started (pid", 3, 10000));
	e = conn(d, "echo");
	echo_ok(e, "alive\n");
	close(e);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* Ctrl-C reaches every process of the group: workers leave SIGINT to the
 * master, whose SIGTERM then drains them (no abort). */
START_TEST(sigint_group)
{
	struct daemon	*d = h_daemon_start(two_conf, NULL);
	long		 wpid;
	int		 fd;

	ck_assert_ptr_nonnull(d);
	fd = conn(d, "crash");
	wpid = pid_of(fd);
	kill((pid_t)wpid, SIGINT);	/* ignored by the worker */
	usleep(200000);
	ck_assert_int_eq(pid_of(fd), wpid);
	kill((pid_t)wpid, SIGINT);	/* as a terminal sends it: both */
	kill(d->pid, SIGINT);
	ck_assert_int_eq(h_daemon_wait(d, 10000), 0);
	ck_assert_int_eq(h_log_count(d, "not waiting for"), 0);
	ck_assert(h_wait_eof(fd, 5000));
	close(fd);
	h_daemon_free(d);
}
END_TEST

/* systemd's control-group kill: SIGTERM reaches the master and every
 * worker at once.  Still a graceful stop: queued output is flushed. */
START_TEST(sigterm_group)
{
	struct daemon	*d = h_daemon_start(two_conf, NULL);
	long		 wpid;
	int		 fd;

	ck_assert_ptr_nonnull(d);
	fd = conn(d, "crash");
	wpid = pid_of(fd);
	kill((pid_t)wpid, SIGTERM);
	kill(d->pid, SIGTERM);
	ck_assert_int_eq(h_daemon_wait(d, 10000), 0);
	ck_assert_int_eq(h_log_count(d, "not waiting for"), 0);
	ck_assert(h_wait_eof(fd, 5000));
	close(fd);
	h_daemon_free(d);
}
END_TEST

/* A second SIGTERM to the master: the workers abort at once (SIGQUIT)
 * instead of waiting for a peer that does not read. */
START_TEST(sigterm_twice)
{
	struct daemon	*d = h_daemon_start(two_conf, NULL);
	static char	 junk[65536];
	int		 fd, i;

	ck_assert_ptr_nonnull(d);
	fd = conn(d, "echo");
	/* echo fills its queue for a client that never reads */
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	for (i = 0; i < 400; i++)
		if (write(fd, junk, sizeof(junk)) == -1)
			usleep(10000);
	kill(d->pid, SIGTERM);
	ck_assert(h_log_wait(d, "stopping 2 worker(s)", 5000));
	usleep(300000);		/* the drain has begun and is stuck */
	kill(d->pid, SIGTERM);
	ck_assert_int_eq(h_daemon_wait(d, 10000), 0);
	/* aborted at once, not by shutdown_timeout */
	ck_assert_int_eq(h_log_count(d, "still open after"), 0);
	ck_assert(h_log_wait(d, "workers stop now", 1000));
	ck_assert(h_log_wait(d, "SIGQUIT: not waiting for 1 connection(s)",
	    1000));
	close(fd);
	h_daemon_free(d);
}
END_TEST

/* max_connections holds across workers: with 2 workers and a limit of 2,
 * a third connection waits in the backlog until one closes. */
START_TEST(max_connections_shared)
{
	struct daemon	*d = h_daemon_start(
	    "daemon: { log_level = \"debug\"; workers = 2; };\n"
	    CONF_PLUGINS
	    "listeners: ( { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\";\n  max_connections = 2; } );\n", NULL);
	char	 buf[8];
	int	 a, b, c;

	ck_assert_ptr_nonnull(d);
	ck_assert(log_wait_n(d, " started (pid", 2, 5000));
	a = conn(d, "echo");
	echo_ok(a, "a\n");
	b = conn(d, "echo");
	echo_ok(b, "b\n");
	c = conn(d, "echo");		/* completes in the kernel's backlog */
	say(c, "c\n");
	ck_assert_int_le(h_read_n(c, buf, 2, 500), 0);	/* not served */
	ck_assert_int_eq(h_log_count(d, "max_connections (2) reached"
	    " (1 in this worker)"), 2);
	close(a);
	ck_assert_int_eq(h_read_n(c, buf, 2, 5000), 2);
	ck_assert(memcmp(buf, "c\n", 2) == 0);
	close(b);
	close(c);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

START_TEST(sigterm_pidfile)
{
	struct daemon	*d = h_daemon_start(
	    "daemon: { log_level = \"debug\"; workers = 3;\n"
	    "  pidfile = \"@TMP@/asockd.pid\"; };\n"
	    CONF_PLUGINS
	    "listeners: ( { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";\n"
	    "  plugin = \"echo\"; } );\n", NULL);
	char		*path = h_expand("@TMP@/asockd.pid");
	char		 buf[64];
	FILE		*f;
	int		 fd;

	ck_assert_ptr_nonnull(d);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_int_eq(atol(buf), d->pid);
	ck_assert(log_wait_n(d, " started (pid", 3, 5000));
	fd = conn(d, "echo");
	echo_ok(fd, "bye\n");
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	ck_assert(h_wait_eof(fd, 1000));
	close(fd);
	ck_assert_int_eq(h_log_count(d, "shutting down"), 3);
	ck_assert_int_eq(access(path, F_OK), -1);
	free(path);
	h_daemon_free(d);
}
END_TEST

static Suite *
workers_suite(void)
{
	Suite	*s = suite_create("workers");
	TCase	*tc;

	tc = tcase_create("workers");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, several_workers);
	tcase_add_test(tc, crash_respawn);
	tcase_add_test(tc, quarantine);
	tcase_add_test(tc, sigkill_not_counted);
	tcase_add_test(tc, load_failure_loaded);
	tcase_add_test(tc, journal_priorities);
	tcase_add_test(tc, pinned);
	tcase_add_test(tc, sigterm_pidfile);
	tcase_add_test(tc, privileges_dropped);
	tcase_add_test(tc, log_file_reopen);
	tcase_add_test(tc, log_file_full);
	tcase_add_test(tc, detach_outcome);
	tcase_add_test(tc, emfile_log);
	tcase_add_test(tc, hung_worker);
	tcase_add_test(tc, sigint_group);
	tcase_add_test(tc, sigterm_group);
	tcase_add_test(tc, sigterm_twice);
	tcase_add_test(tc, max_connections_shared);
	suite_add_tcase(s, tc);

	tc = tcase_create("reload");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reload_broken);
	tcase_add_test(tc, reload_listeners);
	tcase_add_test(tc, reload_under_load);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(workers_suite());
}
