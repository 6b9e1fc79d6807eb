/*
 * check_control.c - the control socket and asockctl, against the real
 * daemon with two workers: every show command (tables and --json), show
 * conns merged over the workers and kill conn (the plugin's close has
 * reason local), disable/enable listener, reload, reopen-logs, log-level,
 * one clear error line and exit 1 for bad commands and unknown names, a
 * stuck worker named after a timeout (while /metrics still answers), the
 * socket's mode and SO_PEERCRED refusing another uid, and asockctl
 * finding the socket through the config file.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *conf =
"daemon: { log_level = \"debug\"; workers = 2; shutdown_timeout = 2.0;\n"
"  control = \"@TMP@/ctl.sock\"; worker_timeout = 6.0;\n"
"  metrics = \"tcp://127.0.0.1:0\"; };\n"
"plugins: {\n"
"  crash = { path = \"@TEST_PLUGIN_DIR@/crash.so\"; };\n"
"  echo = { path = \"echo.so\"; };\n"
"};\n"
"listeners: (\n"
"  { name = \"crash\"; listen = \"tcp://127.0.0.1:0\"; plugin = \"crash\"; },\n"
"  { name = \"echo\"; listen = \"tcp://127.0.0.1:0\"; plugin = \"echo\"; }\n"
");\n";

static char	 out[65536];

/* asockctl ARGS (a shell word list) with -s the test's socket; exit code. */
static int
ctl(const char *args)
{
	char	 cmd[2048], *sock = h_expand("@TMP@/ctl.sock");
	FILE	*fp;
	size_t	 n = 0, r;
	int	 st;

	snprintf(cmd, sizeof(cmd), "'%s/client/asockctl' -s '%s' %s 2>&1",
	    getenv("ASOCKD_BUILDDIR"), sock, args);
	free(sock);
	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	while (n < sizeof(out) - 1 &&
	    (r = fread(out + n, 1, sizeof(out) - 1 - n, fp)) > 0)
		n += r;
	out[n] = '\0';
	st = pclose(fp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* One line of error from asockctl, exit 1. */
static void
ctl_fails(const char *args, const char *want)
{
	ck_assert_int_eq(ctl(args), 1);
	ck_assert_msg(strncmp(out, "asockctl: ", 10) == 0 &&
	    strchr(out, '\n') == out + strlen(out) - 1 &&
	    strstr(out, want) != NULL, "asockctl %s: %s", args, out);
}

static int
echo_conn(struct daemon *d)
{
	char	 buf[8];
	int	 fd = h_tcp_connect("127.0.0.1", h_port(d, "echo"));

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(h_write_all(fd, "hello", 5), 5);
	ck_assert_int_eq(h_read_n(fd, buf, 5, 5000), 5);
	return fd;
}

static struct daemon *
start(void)
{
	struct daemon	*d = h_daemon_start(conf, NULL);

	ck_assert_ptr_nonnull(d);
	/* both workers up */
	ck_assert(h_log_wait(d, "worker 1 started", 5000));
	return d;
}

START_TEST(show)
{
	struct daemon	*d = start();
	int		 fd = echo_conn(d);

	ck_assert_int_eq(ctl("show info"), 0);
	ck_assert_msg(strstr(out, "workers            2\n") != NULL &&
	    strstr(out, "generation         1\n") != NULL &&
	    strstr(out, "listeners          2\n") != NULL, "%s", out);
	ck_assert_int_eq(ctl("--json show info"), 0);
	ck_assert_msg(strstr(out, "\"workers\":2,") != NULL &&
	    out[0] == '{', "%s", out);
	ck_assert_int_eq(ctl("show listeners"), 0);
	ck_assert_msg(strncmp(out, "NAME ", 5) == 0 &&
	    strstr(out, "echo   tcp://127.0.0.1:") != NULL &&
	    strstr(out, "accepting") != NULL, "%s", out);
	ck_assert_int_eq(ctl("-j show listeners"), 0);
	ck_assert_msg(strstr(out, "{\"name\":\"echo\",") != NULL &&
	    strstr(out, "\"state\":\"accepting\",\"accepted\":1,") != NULL,
	    "%s", out);
	ck_assert_int_eq(ctl("show plugins"), 0);
	ck_assert_msg(strstr(out, "CALLBACKS") != NULL &&
	    strstr(out, "\ncrash ") != NULL && strstr(out, "\necho ") != NULL,
	    "%s", out);
	ck_assert_int_eq(ctl("show workers"), 0);
	ck_assert_msg(strstr(out, "serving") != NULL &&
	    strstr(out, "\n0 ") != NULL && strstr(out, "\n1 ") != NULL,
	    "%s", out);
	ck_assert_int_eq(ctl("--json show workers"), 0);
	ck_assert_msg(strstr(out, "\"worker\":\"1\",\"generation\":1,") !=
	    NULL, "%s", out);
	close(fd);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* show conns merges the workers; kill conn aborts with reason local. */
START_TEST(conns_kill)
{
	struct daemon	*d = start();
	int		 a = echo_conn(d), b = echo_conn(d), i;
	char		 id[32], *p;

	ck_assert_int_eq(ctl("show conns"), 0);
	ck_assert_msg(strncmp(out, "ID ", 3) == 0, "%s", out);
	/* two rows, whichever worker holds them */
	for (i = 0, p = out; (p = strstr(p, " echo ")) != NULL; p++)
		i++;
	ck_assert_msg(i == 2, "%s", out);
	ck_assert_int_eq(ctl("show conns crash"), 0);
	ck_assert_msg(strstr(out, " echo ") == NULL, "%s", out);
	ck_assert_int_eq(ctl("--json show conns echo"), 0);
	ck_assert_ptr_nonnull(p = strstr(out, "\"id\":\""));
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(p + 6, "\""), p + 6);
	ck_assert_msg(strstr(out, "\"in\":5,\"out\":5,\"queued\":0,"
	    "\"state\":\"open\"") != NULL, "%s", out);
	{
		char	 args[64];

		snprintf(args, sizeof(args), "kill conn %s", id);
		ck_assert_int_eq(ctl(args), 0);
		ck_assert_msg(strstr(out, ": aborted\n") != NULL, "%s", out);
	}
	ck_assert(h_log_wait(d, "aborted by asockctl", 5000));
	ck_assert(h_log_wait(d, "closed (local)", 5000));
	/* one of the two is gone (a reset), the other still echoes */
	ck_assert(h_wait_eof(a, 300) || h_wait_eof(b, 300) ||
	    h_wait_eof(a, 3000));
	ck_assert_int_eq(ctl("show conns"), 0);
	for (i = 0, p = out; (p = strstr(p, " echo ")) != NULL; p++)
		i++;
	ck_assert_msg(i == 1, "%s", out);
	ctl_fails("kill conn 0:99999", "no connection 99999");
	ctl_fails("kill conn nonsense", "no connection 'nonsense'");
	close(a);
	close(b);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

START_TEST(disable_enable)
{
	struct daemon	*d = start();
	char		 buf[8];
	int		 fd;

	ck_assert_int_eq(ctl("disable listener echo"), 0);
	ck_assert_str_eq(out, "listener echo: disabled (new clients wait in"
	    " the backlog)\n");
	ck_assert_int_eq(ctl("show listeners"), 0);
	ck_assert_msg(strstr(out, "disabled") != NULL, "%s", out);
	/* the client waits in the backlog: no answer */
	fd = h_tcp_connect("127.0.0.1", h_port(d, "echo"));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(h_write_all(fd, "hello", 5), 5);
	ck_assert_int_le(h_read_n(fd, buf, 5, 500), 0);
	/* enabled: it is accepted and served */
	ck_assert_int_eq(ctl("enable listener echo"), 0);
	ck_assert_int_eq(h_read_n(fd, buf, 5, 5000), 5);
	close(fd);
	ctl_fails("disable listener nope", "no listener 'nope'");
	ctl_fails("enable listener", "unknown command");
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

START_TEST(reload_logs_level)
{
	struct daemon	*d = start();
	int		 fd, before;

	ck_assert_int_eq(ctl("reload"), 0);
	ck_assert(h_log_wait(d, "SIGHUP: reloading", 5000));
	ck_assert(h_log_wait(d, "new worker(s)", 10000));
	ck_assert_int_eq(ctl("show info"), 0);
	ck_assert_msg(strstr(out, "generation         2\n") != NULL &&
	    strstr(out, "reloads_ok         1\n") != NULL, "%s", out);
	ck_assert_int_eq(ctl("reopen-logs"), 0);
	ck_assert(h_log_wait(d, "SIGUSR1: no daemon.log_file to reopen",
	    5000));
	/* warning: the workers stop logging closed connections */
	ck_assert_int_eq(ctl("log-level warning"), 0);
	ck_assert_str_eq(out, "log level warning\n");
	before = h_log_count(d, "closed (peer)");
	fd = echo_conn(d);
	close(fd);
	usleep(300 * 1000);
	ck_assert_int_eq(h_log_count(d, "closed (peer)"), before);
	ck_assert_int_eq(ctl("log-level info"), 0);
	fd = echo_conn(d);
	close(fd);
	ck_assert(h_log_wait(d, "closed (peer)", 5000));
	ctl_fails("log-level loud", "unknown log level 'loud'");
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

START_TEST(bad_commands)
{
	struct daemon	*d = start();

	ctl_fails("frobnicate", "unknown command 'frobnicate'");
	ctl_fails("show", "unknown command 'show'");
	ctl_fails("show nothing", "unknown command 'show nothing'");
	ctl_fails("show conns nope", "no listener 'nope'");
	ctl_fails("show info extra words here", "too many words");
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
	/* no daemon: the socket is named */
	ctl_fails("show info", "ctl.sock: ");
}
END_TEST

/* A stuck worker is named after the timeout; /metrics still answers. */
START_TEST(stuck_worker)
{
	struct daemon	*d = start();
	char		*log, *p, req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	char		 buf[4096];
	long long	 t0;
	int		 fd, m, mp = -1;

	fd = h_tcp_connect("127.0.0.1", h_port(d, "crash"));
	ck_assert_int_eq(h_write_all(fd, "hang\n", 5), 5);
	usleep(200 * 1000);
	t0 = h_now_ms();
	ck_assert_int_eq(ctl("show conns"), 0);
	ck_assert_msg(strstr(out, "did not answer within 2 s") != NULL,
	    "%s", out);
	ck_assert_int_lt(h_now_ms() - t0, 8000);
	log = h_log_text(d);
	if ((p = strstr(log, "metrics on tcp://127.0.0.1:")) != NULL)
		mp = atoi(p + strlen("metrics on tcp://127.0.0.1:"));
	free(log);
	ck_assert_int_gt(mp, 0);
	m = h_tcp_connect("127.0.0.1", mp);
	ck_assert_int_eq(h_write_all(m, req, strlen(req)),
	    (ssize_t)strlen(req));
	ck_assert_int_gt(h_read_eof(m, buf, sizeof(buf) - 1, 5000), 12);
	ck_assert(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	close(m);
	close(fd);
	h_daemon_stop(d, 20000);
	h_daemon_free(d);
}
END_TEST

/* Mode 0600; another uid is refused by SO_PEERCRED. */
START_TEST(peercred)
{
	struct daemon	*d = start();
	struct sockaddr_un sun;
	struct stat	 st;
	char		*sock = h_expand("@TMP@/ctl.sock"), *copy, *slash;
	char		 buf[256];
	pid_t		 pid;
	int		 status;

	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_uid, geteuid());
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP peercred: only root can be another"
		    " uid\n");
		goto done;
	}
	/* let nobody reach the socket; only SO_PEERCRED stops it now */
	ck_assert_int_eq(chmod(h_tmpdir(), 0755), 0);
	copy = strdup(h_tmpdir());
	slash = strrchr(copy, '/');
	*slash = '\0';
	chmod(copy, 0755);
	free(copy);
	ck_assert_int_eq(chmod(sock, 0666), 0);
	if ((pid = fork()) == 0) {
		int	 fd;
		ssize_t	 n;

		if (setgid(65534) == -1 || setuid(65534) == -1)
			_exit(2);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			_exit(3);
		(void)write(fd, "show info\n", 10);
		n = h_read_eof(fd, buf, sizeof(buf) - 1, 5000);
		buf[n > 0 ? n : 0] = '\0';
		_exit(strstr(buf, "error: uid 65534 may not use") != NULL ?
		    0 : 4);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert(h_log_wait(d, "control: refused a client with uid 65534",
	    5000));
done:
	free(sock);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* Without -s asockctl reads daemon.control from the config (-c). */
START_TEST(socket_from_config)
{
	struct daemon	*d = start();
	char		 cmd[2048];
	FILE		*fp;
	size_t		 n;
	int		 st;

	snprintf(cmd, sizeof(cmd), "'%s/client/asockctl' -c '%s' show info"
	    " 2>&1", getenv("ASOCKD_BUILDDIR"), d->conf);
	ck_assert_ptr_nonnull(fp = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, fp);
	out[n] = '\0';
	st = pclose(fp);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	    strstr(out, "version ") != NULL, "%s", out);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/*
 * Workers that die are replaced and the master goes on serving: the
 * channel to a dead worker must not take the loop's last reference
 * (the master and new workers once left their loops here).
 */
START_TEST(survives_crashes)
{
	struct daemon	*d = start();
	int		 i, fd;

	for (i = 1; i <= 3; i++) {
		fd = h_tcp_connect("127.0.0.1", h_port(d, "crash"));
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(h_write_all(fd, "segv\n", 5), 5);
		ck_assert(h_wait_eof(fd, 5000));
		close(fd);
		ck_assert(h_log_wait(d, "(SIGSEGV)", 5000));
		usleep(600 * 1000);	/* the replacement starts */
	}
	ck_assert_int_eq(ctl("show info"), 0);
	ck_assert_msg(strstr(out, "workers_restarted  3\n") != NULL &&
	    strstr(out, "workers            2\n") != NULL, "%s", out);
	ck_assert_int_eq(h_log_count(d, "exited with status 0"), 0);
	close(echo_conn(d));
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* -t checks that the control socket's directory exists. */
START_TEST(test_checks_dir)
{
	char	*path, out2[4096];
	char	*argv[] = { "asockd", "-t", "-P", NULL, "-c", NULL, NULL };

	path = h_write_file("nodir.conf",
	    "daemon: { control = \"no/such/dir/ctl.sock\"; };\n"
	    "plugins: { echo = { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; } );\n");
	argv[3] = getenv("ASOCKD_PLUGIN_DIR");
	argv[5] = path;
	ck_assert_int_eq(h_run(argv, out2, sizeof(out2)), 1);
	ck_assert_msg(strstr(out2, "daemon.control: ") != NULL &&
	    strstr(out2, "no/such/dir: No such file or directory") != NULL,
	    "%s", out2);
	free(path);
}
END_TEST

static Suite *
control_suite(void)
{
	Suite	*s = suite_create("control");
	TCase	*tc;

	tc = tcase_create("control");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, show);
	tcase_add_test(tc, conns_kill);
	tcase_add_test(tc, disable_enable);
	tcase_add_test(tc, reload_logs_level);
	tcase_add_test(tc, bad_commands);
	tcase_add_test(tc, stuck_worker);
	tcase_add_test(tc, peercred);
	tcase_add_test(tc, socket_from_config);
	tcase_add_test(tc, survives_crashes);
	tcase_add_test(tc, test_checks_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(control_suite());
}
