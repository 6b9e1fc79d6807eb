/*
 * check_metrics.c - counters and GET /metrics, against the real daemon:
 * after N echo connections on two workers the master reports exactly N
 * accepted and N closed, with the bytes; the text passes promtool check
 * metrics; a real Prometheus server scrapes it and answers a query; the
 * counts survive a reload (a new generation) and a crashed worker; the
 * HTTP side answers 404 and 405; a bad daemon.metrics is a FILE:LINE
 * error.  Tests that need promtool or prometheus skip when it is missing.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define CONF_HEAD							\
	"daemon: { log_level = \"debug\"; workers = 2;"			\
	" metrics = \"tcp://127.0.0.1:0\"; shutdown_timeout = 5.0;"	\
	" };\n"							\
	"plugins: {\n"							\
	"  crash = { path = \"@TEST_PLUGIN_DIR@/crash.so\"; };\n"	\
	"  echo = { path = \"echo.so\"; };\n"				\
	"};\n"

static const char *conf =
CONF_HEAD
"listeners: (\n"
"  { name = \"crash\"; listen = \"tcp://127.0.0.1:0\"; plugin = \"crash\"; },\n"
"  { name = \"echo\"; listen = \"tcp://127.0.0.1:0\"; plugin = \"echo\";"
" framing = \"line\"; }\n"
");\n";

#define MARK	"metrics: serving GET /metrics on tcp://127.0.0.1:"

static int
metrics_port(struct daemon *d)
{
	char	*log = h_log_text(d), *p;
	int	 port = -1;

	if ((p = strstr(log, MARK)) != NULL)
		port = atoi(p + strlen(MARK));
	free(log);
	ck_assert_int_gt(port, 0);
	return port;
}

/* The whole HTTP answer to req (malloc'd). */
static char *
http(int port, const char *req)
{
	char	*buf = calloc(1, 1 << 20);
	int	 fd = h_tcp_connect("127.0.0.1", port);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(h_write_all(fd, req, strlen(req)),
	    (ssize_t)strlen(req));
	ck_assert_int_ge(h_read_eof(fd, buf, (1 << 20) - 1, 5000), 0);
	close(fd);
	return buf;
}

static char *
scrape(int port)
{
	return http(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
}

/* The value of the series that starts a line with `series ` or -1. */
static double
value(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return atof(p + n + 1);
		p += n;
	}
	return -1;
}

/* Poll /metrics until series == want (at most 10 s); the last value. */
static double
wait_value(int port, const char *series, double want)
{
	double	 v = -1;
	char	*t;
	int	 i;

	for (i = 0; i < 100; i++) {
		t = scrape(port);
		v = value(t, series);
		free(t);
		if (v == want)
			break;
		usleep(100 * 1000);
	}
	return v;
}

static void
echo_once(int port)
{
	char	 buf[8];
	int	 fd = h_tcp_connect("127.0.0.1", port);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(h_write_all(fd, "hi\n", 3), 3);
	ck_assert_int_eq(h_read_n(fd, buf, 3, 5000), 3);
	close(fd);
}

#define N	60

/* The pid of the worker that serves the crash listener connection fd. */
static long
pid_of(int fd)
{
	char	 buf[32];
	ssize_t	 i;

	ck_assert_int_eq(h_write_all(fd, "pid\n", 4), 4);
	memset(buf, 0, sizeof(buf));
	for (i = 0; i < (ssize_t)sizeof(buf) - 1; i++) {
		ck_assert_int_eq(h_read_n(fd, buf + i, 1, 5000), 1);
		if (buf[i] == '\n')
			break;
	}
	return atol(buf);
}

/* N connections over two workers: accepted = closed = N, exactly. */
START_TEST(exact_counts)
{
	struct daemon	*d = h_daemon_start(conf, NULL);
	char		*t, series[128];
	long		 first, pid;
	int		 i, mp, ep, k, fds[50];

	ck_assert_ptr_nonnull(d);
	mp = metrics_port(d);
	ep = h_port(d, "echo");
	/* connections held by both workers: the sum covers both blocks */
	ck_assert(h_log_wait(d, "worker 1 started", 5000));
	first = -1;
	for (k = 0; k < 50; k++) {
		fds[k] = h_tcp_connect("127.0.0.1", h_port(d, "crash"));
		ck_assert_int_ge(fds[k], 0);
		pid = pid_of(fds[k]);
		if (first == -1)
			first = pid;
		else if (pid != first) {
			k++;
			break;
		}
	}
	ck_assert_msg(k < 50 || pid != first, "one worker took 50 in a row");
	snprintf(series, sizeof(series), "asockd_connections_active"
	    "{listener=\"crash\"}");
	ck_assert_int_eq(wait_value(mp, series, k), k);
	ck_assert_int_eq(wait_value(mp, "asockd_connections_accepted_total"
	    "{listener=\"crash\"}", k), k);
	for (i = 0; i < k; i++)
		close(fds[i]);
	ck_assert_int_eq(wait_value(mp, series, 0), 0);
	for (i = 0; i < N; i++)
		echo_once(ep);
	ck_assert_int_eq(wait_value(mp, "asockd_connections_closed_total"
	    "{listener=\"echo\",reason=\"peer\"}", N), N);
	t = scrape(mp);
	ck_assert_msg(strncmp(t, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", t);
	ck_assert(strstr(t, "Content-Type: text/plain; version=0.0.4") != NULL);
	ck_assert_int_eq(value(t, "asockd_connections_accepted_total"
	    "{listener=\"echo\"}"), N);
	ck_assert_int_eq(value(t, "asockd_connections_active"
	    "{listener=\"echo\"}"), 0);
	ck_assert_int_eq(value(t, "asockd_received_bytes_total"
	    "{listener=\"echo\"}"), 3 * N);
	ck_assert_int_eq(value(t, "asockd_sent_bytes_total"
	    "{listener=\"echo\"}"), 3 * N);
	ck_assert_int_eq(value(t, "asockd_received_messages_total"
	    "{listener=\"echo\"}"), N);
	ck_assert_int_eq(value(t, "asockd_sent_messages_total"
	    "{listener=\"echo\"}"), N);
	/* on_message for each, init once per worker */
	ck_assert_int_eq(value(t, "asockd_plugin_callbacks_total"
	    "{plugin=\"echo\"}"), N + 2);
	ck_assert_int_eq(value(t, "asockd_plugin_callback_seconds_count"
	    "{plugin=\"echo\"}"), value(t, "asockd_plugin_callbacks_total"
	    "{plugin=\"echo\"}"));
	ck_assert_int_eq(value(t, "asockd_plugin_callback_seconds_bucket"
	    "{plugin=\"echo\",le=\"+Inf\"}"), value(t,
	    "asockd_plugin_callback_seconds_count{plugin=\"echo\"}"));
	ck_assert_int_eq(value(t, "asockd_generation"), 1);
	ck_assert_int_gt(value(t, "asockd_worker_pid"
	    "{worker=\"1\",generation=\"1\"}"), 0);
	ck_assert_int_gt(value(t, "asockd_worker_resident_memory_bytes"
	    "{worker=\"0\",generation=\"1\"}"), 0);
	free(t);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* An open connection is active; a framing error is counted. */
START_TEST(active_and_framing)
{
	struct daemon	*d = h_daemon_start(conf, NULL);
	char		 big[70000];
	int		 mp, ep, fd, bad;

	ck_assert_ptr_nonnull(d);
	mp = metrics_port(d);
	ep = h_port(d, "echo");
	fd = h_tcp_connect("127.0.0.1", ep);
	echo_once(ep);
	ck_assert_int_eq(wait_value(mp, "asockd_connections_active"
	    "{listener=\"echo\"}", 1), 1);
	/* a line longer than max_line (default) breaks the framing */
	memset(big, 'x', sizeof(big));
	bad = h_tcp_connect("127.0.0.1", ep);
	h_write_all(bad, big, sizeof(big));
	ck_assert(h_wait_eof(bad, 5000));
	close(bad);
	ck_assert_int_eq(wait_value(mp, "asockd_framing_errors_total"
	    "{listener=\"echo\"}", 1), 1);
	ck_assert_int_eq(wait_value(mp, "asockd_connections_closed_total"
	    "{listener=\"echo\",reason=\"protocol\"}", 1), 1);
	close(fd);
	ck_assert_int_eq(wait_value(mp, "asockd_connections_active"
	    "{listener=\"echo\"}", 0), 0);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* Counts survive a reload (generation 2) and a crashed worker. */
START_TEST(reload_and_crash)
{
	struct daemon	*d = h_daemon_start(conf, NULL);
	char		*t;
	int		 i, mp, ep, fd;

	ck_assert_ptr_nonnull(d);
	mp = metrics_port(d);
	ep = h_port(d, "echo");
	for (i = 0; i < 10; i++)
		echo_once(ep);
	kill(d->pid, SIGHUP);
	ck_assert(h_log_wait(d, "reload: ", 10000));
	ck_assert(h_log_wait(d, "new worker(s)", 10000));
	for (i = 0; i < 10; i++)
		echo_once(ep);
	/* a crash: the worker's counts stay, a restart is counted */
	fd = h_tcp_connect("127.0.0.1", h_port(d, "crash"));
	ck_assert_int_eq(h_write_all(fd, "segv\n", 5), 5);
	ck_assert(h_wait_eof(fd, 5000));
	close(fd);
	ck_assert_int_eq(wait_value(mp, "asockd_worker_restarts_total", 1),
	    1);
	ck_assert_int_eq(wait_value(mp, "asockd_connections_closed_total"
	    "{listener=\"echo\",reason=\"peer\"}", 20), 20);
	t = scrape(mp);
	ck_assert_int_eq(value(t, "asockd_connections_accepted_total"
	    "{listener=\"echo\"}"), 20);
	ck_assert_int_eq(value(t, "asockd_connections_accepted_total"
	    "{listener=\"crash\"}"), 1);
	ck_assert_int_eq(value(t, "asockd_reloads_total{result=\"ok\"}"), 1);
	ck_assert_int_eq(value(t, "asockd_generation"), 2);
	ck_assert_int_eq(value(t, "asockd_plugin_crashes_total"
	    "{plugin=\"crash\"}"), 1);
	ck_assert_int_eq(value(t, "asockd_plugin_quarantined"
	    "{plugin=\"crash\"}"), 0);
	/* the old generation is gone once retired */
	ck_assert_msg(strstr(t, "generation=\"1\"") == NULL ||
	    h_log_wait(d, "exited", 5000), "%s", t);
	free(t);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

START_TEST(http_errors)
{
	struct daemon	*d = h_daemon_start(conf, NULL);
	char		*t;
	int		 mp;

	ck_assert_ptr_nonnull(d);
	mp = metrics_port(d);
	t = http(mp, "GET / HTTP/1.0\r\n\r\n");
	ck_assert_msg(strncmp(t, "HTTP/1.1 404 ", 13) == 0, "%s", t);
	free(t);
	t = http(mp, "POST /metrics HTTP/1.0\r\n\r\n");
	ck_assert_msg(strncmp(t, "HTTP/1.1 405 ", 13) == 0, "%s", t);
	free(t);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* Run cmd (sh -c) with its output in out; the exit code, 127: missing. */
static int
shell(const char *cmd, char *out, size_t len)
{
	FILE	*fp = popen(cmd, "r");
	size_t	 n = 0, r;
	int	 st;

	ck_assert_ptr_nonnull(fp);
	while (n < len - 1 && (r = fread(out + n, 1, len - 1 - n, fp)) > 0)
		n += r;
	out[n] = '\0';
	st = pclose(fp);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The exposition text passes promtool check metrics. */
START_TEST(promtool_check)
{
	struct daemon	*d;
	char		 cmd[512], out[8192];
	int		 mp, rc;

	if (!h_have("promtool"))
		return;
	ck_assert_ptr_nonnull(d = h_daemon_start(conf, NULL));
	mp = metrics_port(d);
	echo_once(h_port(d, "echo"));
	snprintf(cmd, sizeof(cmd), "curl -sf http://127.0.0.1:%d/metrics |"
	    " promtool check metrics 2>&1", mp);
	rc = shell(cmd, out, sizeof(out));
	ck_assert_msg(rc == 0, "promtool: %d: %s", rc, out);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* A real Prometheus scrapes asockd; its HTTP API has the series. */
START_TEST(prometheus_scrape)
{
	struct daemon	*d;
	char		*cfg, text[1024], cmd[1024], out[8192], *tmp;
	int		 mp, pp, i, found = 0;
	pid_t		 pid;

	if (!h_have("prometheus") || !h_have("curl"))
		return;
	ck_assert_ptr_nonnull(d = h_daemon_start(conf, NULL));
	mp = metrics_port(d);
	for (i = 0; i < 7; i++)
		echo_once(h_port(d, "echo"));
	snprintf(text, sizeof(text),
	    "global:\n  scrape_interval: 1s\n"
	    "scrape_configs:\n  - job_name: asockd\n"
	    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n", mp);
	cfg = h_write_file("prometheus.yml", text);
	tmp = h_expand("@TMP@/tsdb");
	/* a port the kernel gave out and took back: free right now */
	snprintf(cmd, sizeof(cmd), "python3 -c 'import socket; s=socket."
	    "socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()"
	    "[1])'");
	ck_assert_int_eq(shell(cmd, out, sizeof(out)), 0);
	pp = atoi(out);
	ck_assert_int_gt(pp, 0);
	if ((pid = fork()) == 0) {
		char	 a1[600], a2[600], a3[64];
		int	 fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		snprintf(a1, sizeof(a1), "--config.file=%s", cfg);
		snprintf(a2, sizeof(a2), "--storage.tsdb.path=%s", tmp);
		snprintf(a3, sizeof(a3), "--web.listen-address=127.0.0.1:%d",
		    pp);
		execlp("prometheus", "prometheus", a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	snprintf(cmd, sizeof(cmd), "curl -s 'http://127.0.0.1:%d/api/v1/query"
	    "?query=asockd_connections_accepted_total%%7Blistener%%3D%%22echo"
	    "%%22%%7D'", pp);
	/* bounded: 30 s for Prometheus to start and scrape */
	for (i = 0; i < 60 && !found; i++) {
		usleep(500 * 1000);
		if (shell(cmd, out, sizeof(out)) != 0)
			continue;
		found = strstr(out, "\"status\":\"success\"") != NULL &&
		    strstr(out, "\"7\"]") != NULL;
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	ck_assert_msg(found, "Prometheus answered: %s", out);
	free(cfg);
	free(tmp);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST


static char *
slurp(const char *rel)
{
	char	 path[1024], *buf;
	FILE	*fp;
	size_t	 n;

	snprintf(path, sizeof(path), "%s/%s", getenv("ASOCKD_SRCDIR"), rel);
	ck_assert_msg((fp = fopen(path, "r")) != NULL, "%s", path);
	buf = calloc(1, 1 << 20);
	n = fread(buf, 1, (1 << 20) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/*
 * docs/observability.md names every metric the daemon serves, and holds
 * the alert rules of docs/asockd-alerts.yml, which promtool accepts.
 */
START_TEST(documented)
{
	struct daemon	*d = h_daemon_start(conf, NULL);
	char		*t, *doc, *rules, *p, name[128], cmd[1200], out[4096];
	int		 n = 0;

	ck_assert_ptr_nonnull(d);
	t = scrape(metrics_port(d));
	doc = slurp("docs/observability.md");
	for (p = t; (p = strstr(p, "\n# TYPE ")) != NULL; p++) {
		snprintf(name, sizeof(name), "`%.*s`",
		    (int)strcspn(p + 8, " "), p + 8);
		ck_assert_msg(strstr(doc, name) != NULL, "%s is not in"
		    " docs/observability.md", name);
		n++;
	}
	ck_assert_int_gt(n, 20);
	rules = slurp("docs/asockd-alerts.yml");
	ck_assert_msg(strstr(doc, rules) != NULL, "docs/observability.md"
	    " does not hold docs/asockd-alerts.yml as it is");
	if (h_have("promtool")) {
		snprintf(cmd, sizeof(cmd), "promtool check rules"
		    " '%s/docs/asockd-alerts.yml' 2>&1",
		    getenv("ASOCKD_SRCDIR"));
		ck_assert_msg(shell(cmd, out, sizeof(out)) == 0, "%s", out);
		ck_assert(strstr(out, "SUCCESS: 3 rules found") != NULL);
	}
	free(rules);
	free(doc);
	free(t);
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}
END_TEST

/* daemon.metrics must be tcp://: FILE:LINE otherwise. */
START_TEST(bad_address)
{
	char	*path, out[4096];
	char	*argv[] = { "asockd", "-t", "-c", NULL, NULL };
	int	 rc;

	path = h_write_file("bad.conf",
	    "daemon: {\n  metrics = \"unix:/tmp/m.sock\";\n};\n"
	    "plugins: { echo = { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; } );\n");
	argv[3] = path;
	rc = h_run(argv, out, sizeof(out));
	ck_assert_int_eq(rc, 1);
	ck_assert_msg(strstr(out, "bad.conf:2: daemon: metrics: "
	    "unix:/tmp/m.sock: expected tcp://HOST:PORT") != NULL, "%s", out);
	free(path);
}
END_TEST

/* A TCP connection to 127.0.0.1:port from src (127.0.0.x). */
static int
connect_v4_from(const char *src, int port)
{
	struct sockaddr_in	 a, b;
	int			 fd;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.sin_family = b.sin_family = AF_INET;
	inet_pton(AF_INET, src, &a.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &b.sin_addr);
	b.sin_port = htons(port);
	ck_assert_int_ge(fd = socket(AF_INET, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&b, sizeof(b)), 0);
	return fd;
}

/* Refusals of the access policy are counted per listener by reason. */
START_TEST(access_refusals)
{
	struct daemon	*d;
	char		 buf[8];
	int		 mport, port, fd, i;

	d = h_daemon_start(CONF_HEAD
	    "listeners: (\n"
	    "  { name = \"acl\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; allow = [ \"127.0.0.0/8\" ];"
	    " deny = [ \"127.0.0.3\" ]; }\n"
	    ");\n", NULL);
	ck_assert_ptr_nonnull(d);
	mport = metrics_port(d);
	port = h_port(d, "acl");
	for (i = 0; i < 3; i++) {
		fd = connect_v4_from("127.0.0.3", port);
		/* refused: reset or end of stream, never an echo */
		(void)h_write_all(fd, "x", 1);
		ck_assert_int_le(h_read_n(fd, buf, 1, 5000), 0);
		close(fd);
	}
	fd = connect_v4_from("127.0.0.2", port);
	ck_assert_int_eq(h_write_all(fd, "y", 1), 1);
	ck_assert_int_eq(h_read_n(fd, buf, 1, 5000), 1);
	close(fd);
	ck_assert(wait_value(mport, "asockd_connections_refused_total{"
	    "listener=\"acl\",reason=\"deny\"}", 3) == 3);
	ck_assert(wait_value(mport, "asockd_connections_accepted_total{"
	    "listener=\"acl\"}", 1) == 1);
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
}
END_TEST

/*
 * Bus messages the bus refused are counted: the chat plugin on a Redis
 * bus nothing listens on (publish fails, -ENOTCONN) serves its events to
 * its own worker, and every refused one is in
 * asockd_bus_dropped_messages_total.
 */
START_TEST(bus_dropped)
{
	static const unsigned char cmds[] = {
		0, 0, 0, 18,
		0x92, 0xa4, 'j', 'o', 'i', 'n', 0xa3, 'a', 'n', 'n',
		0x92, 0xa3, 's', 'a', 'y', 0xa2, 'h', 'i',
	};
	struct daemon	*d;
	char		 buf[64];
	double		 v = -1;
	char		*t;
	int		 mport, fd, i;

	free(h_write_file("chat.ini", "[chat]\nhistory = 0\n"));
	d = h_daemon_start(
	    "daemon: { log_level = \"debug\"; workers = 1;"
	    " metrics = \"tcp://127.0.0.1:0\"; bus = \"redis://127.0.0.1:1\";"
	    " };\n"
	    "plugins: { chat = { path = \"chat.so\";"
	    " config = \"@TMP@/chat.ini\"; }; };\n"
	    "listeners: ( { name = \"room\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"chat\"; framing = \"archive\"; } );\n", NULL);
	ck_assert_ptr_nonnull(d);
	mport = metrics_port(d);
	fd = h_tcp_connect("127.0.0.1", h_port(d, "room"));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(h_write_all(fd, cmds, sizeof(cmds)),
	    (ssize_t)sizeof(cmds));
	/* ["joined", "ann"] and ["msg", "ann", "hi"], served locally */
	ck_assert_int_eq(h_read_n(fd, buf, 4 + 12 + 4 + 12, 5000), 32);
	for (i = 0; i < 100; i++) {
		t = scrape(mport);
		v = value(t, "asockd_bus_dropped_messages_total");
		free(t);
		if (v >= 2)
			break;
		usleep(100 * 1000);
	}
	ck_assert_msg(v >= 2, "asockd_bus_dropped_messages_total %g", v);
	close(fd);
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc;

	tc = tcase_create("metrics");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, exact_counts);
	tcase_add_test(tc, active_and_framing);
	tcase_add_test(tc, reload_and_crash);
	tcase_add_test(tc, http_errors);
	tcase_add_test(tc, promtool_check);
	tcase_add_test(tc, prometheus_scrape);
	tcase_add_test(tc, bad_address);
	tcase_add_test(tc, documented);
	tcase_add_test(tc, access_refusals);
	tcase_add_test(tc, bus_dropped);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(metrics_suite());
}
