/*
 * check_plugins.c - the bundled plugins (echo, discard, daytime, chargen,
 * time) and the plugin loader, tested against the real daemon.
 *
 * Each test starts its own asockd (check forks a child per test, and the
 * harness kills what a child started when it exits).  Listeners use port
 * 0; the harness reads the bound ports from the daemon's log.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "asockd/plugin.h"
#include "harness.h"

#define CHARGEN_LINE	74		/* 72 characters + CR LF */
#define TIME_OFFSET	2208988800LL	/* 1900-01-01 .. 1970-01-01 */

static const char plugins_conf[] =
	"plugins: {\n"
	"  echo: { path = \"echo.so\"; };\n"
	"  discard: { path = \"discard.so\"; };\n"
	"  daytime: { path = \"daytime.so\"; };\n"
	"  chargen: { path = \"chargen.so\"; };\n"
	"  time: { path = \"time.so\"; };\n"
	"};\n";

/* The standard daemon's listeners: every bundled plugin, every kind. */
static const struct {
	const char	*name;
	const char	*listen;
	const char	*plugin;
} listeners[] = {
	{ "echo4", "tcp://127.0.0.1:0", "echo" },
	{ "echo6", "tcp://[::1]:0", "echo" },	/* only with IPv6 */
	{ "echo-udp", "udp://127.0.0.1:0", "echo" },
	{ "echo-unix", "unix:@TMP@/echo.sock", "echo" },
	{ "echo-dgram", "unix-dgram:@TMP@/echo-dg.sock", "echo" },
	{ "discard", "tcp://127.0.0.1:0", "discard" },
	{ "discard-udp", "udp://127.0.0.1:0", "discard" },
	{ "daytime", "tcp://127.0.0.1:0", "daytime" },
	{ "daytime-udp", "udp://127.0.0.1:0", "daytime" },
	{ "chargen", "tcp://127.0.0.1:0", "chargen" },
	{ "chargen-udp", "udp://127.0.0.1:0", "chargen" },
	{ "time", "tcp://127.0.0.1:0", "time" },
	{ "time-udp", "udp://127.0.0.1:0", "time" },
};

/* 1 when this machine can bind ::1 (containers often have no IPv6). */
static int
have_ipv6(void)
{
	struct sockaddr_in6	 sin6;
	int			 fd, ok;

	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) == -1)
		return 0;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return ok;
}

/* The daemon with every bundled plugin on every kind of listener. */
static struct daemon *
start_std(void)
{
	struct daemon	*d;
	char		 conf[4096];
	size_t		 i, len;
	int		 v6 = have_ipv6();

	len = snprintf(conf, sizeof(conf), "%slisteners: (\n", plugins_conf);
	for (i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++) {
		if (!v6 && strchr(listeners[i].listen, '[') != NULL)
			continue;
		len += snprintf(conf + len, sizeof(conf) - len,
		    "%s  { name = \"%s\"; listen = \"%s\";"
		    " plugin = \"%s\"; }\n",
		    i == 0 ? "" : ",", listeners[i].name, listeners[i].listen,
		    listeners[i].plugin);
		ck_assert(len < sizeof(conf));
	}
	snprintf(conf + len, sizeof(conf) - len, ");\n");
	d = h_daemon_start(conf, NULL);
	ck_assert_msg(d != NULL, "asockd did not start");
	return d;
}

static int
connect_port(struct daemon *d, const char *listener)
{
	int	 port, fd;

	port = h_port(d, listener);
	ck_assert_msg(port > 0, "no port for listener %s", listener);
	fd = h_tcp_connect("127.0.0.1", port);
	ck_assert_msg(fd != -1, "connect to %s failed", listener);
	return fd;
}

static int
udp_port(struct daemon *d, const char *listener)
{
	int	 port, fd;

	port = h_port(d, listener);
	ck_assert_msg(port > 0, "no port for listener %s", listener);
	fd = h_udp_connect("127.0.0.1", port);
	ck_assert_msg(fd != -1, "udp socket for %s failed", listener);
	return fd;
}

/* Send msg and expect it back on a stream socket. */
static void
echo_stream(int fd)
{
	static const char	 msg[] = "hello, asockd\r\n";
	char			 buf[sizeof(msg)];

	ck_assert_int_eq(h_write_all(fd, msg, sizeof(msg) - 1),
	    sizeof(msg) - 1);
	ck_assert_int_eq(h_read_n(fd, buf, sizeof(msg) - 1, 5000),
	    sizeof(msg) - 1);
	ck_assert(memcmp(buf, msg, sizeof(msg) - 1) == 0);
}

/* Send one datagram and expect the same one back. */
static void
echo_dgram(int fd)
{
	static const char	 msg[] = "datagram\n";
	char			 buf[256];
	ssize_t			 n;

	ck_assert_int_eq(send(fd, msg, sizeof(msg) - 1, 0), sizeof(msg) - 1);
	n = recv(fd, buf, sizeof(buf), 0);
	ck_assert_int_eq(n, sizeof(msg) - 1);
	ck_assert(memcmp(buf, msg, n) == 0);
}

/* One datagram answer to an empty request; returns its length. */
static ssize_t
dgram_ask(int fd, void *buf, size_t len)
{
	ssize_t	 n;

	ck_assert_int_eq(send(fd, "?", 1, 0), 1);
	n = recv(fd, buf, len, 0);
	ck_assert_msg(n >= 0, "no datagram reply");
	return n;
}

START_TEST(echo_tcp4)
{
	struct daemon	*d = start_std();
	int		 fd = connect_port(d, "echo4");

	echo_stream(fd);
	echo_stream(fd);	/* the connection stays open */
	close(fd);
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
}
END_TEST

START_TEST(echo_tcp6)
{
	struct daemon	*d;
	int		 fd;

	if (!have_ipv6()) {
		fprintf(stderr, "echo_tcp6: no IPv6 loopback, skipped\n");
		return;
	}
	d = start_std();
	fd = h_tcp_connect("::1", h_port(d, "echo6"));
	ck_assert(fd != -1);
	echo_stream(fd);
	close(fd);
	h_daemon_free(d);
}
END_TEST

START_TEST(echo_udp)
{
	struct daemon	*d = start_std();
	int		 fd = udp_port(d, "echo-udp");

	echo_dgram(fd);
	echo_dgram(fd);
	close(fd);
	h_daemon_free(d);
}
END_TEST

START_TEST(echo_unix)
{
	struct daemon	*d = start_std();
	char		 path[512];
	int		 fd;

	snprintf(path, sizeof(path), "%s/echo.sock", h_tmpdir());
	fd = h_unix_connect(path);
	ck_assert(fd != -1);
	echo_stream(fd);
	close(fd);
	h_daemon_free(d);
}
END_TEST

START_TEST(echo_unix_dgram)
{
	struct daemon	*d = start_std();
	char		 path[512];
	int		 fd;

	snprintf(path, sizeof(path), "%s/echo-dg.sock", h_tmpdir());
	fd = h_unix_dgram_connect(path);
	ck_assert(fd != -1);
	echo_dgram(fd);
	close(fd);
	h_daemon_free(d);
}
END_TEST

/*
 * 1 MiB through echo, written and read at the same time with poll: a
 * client that wrote everything first would deadlock against the host's
 * backpressure (the host stops reading while its queue is full).
 */
START_TEST(echo_1mib)
{
	struct daemon	*d = start_std();
	const size_t	 total = 1024 * 1024;
	unsigned char	*out, *in;
	struct pollfd	 pfd;
	size_t		 sent = 0, got = 0, i;
	long long	 end;
	ssize_t		 n;
	int		 fd;

	out = malloc(total);
	in = malloc(total);
	ck_assert(out != NULL && in != NULL);
	srandom(42);
	for (i = 0; i < total; i++)
		out[i] = random() & 0xff;
	fd = connect_port(d, "echo4");
	end = h_now_ms() + 20000;
	while (got < total && h_now_ms() < end) {
		pfd.fd = fd;
		pfd.events = POLLIN | (sent < total ? POLLOUT : 0);
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (pfd.revents & POLLOUT) {
			n = send(fd, out + sent, total - sent < 65536 ?
			    total - sent : 65536, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n > 0)
				sent += n;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, in + got, total - got, MSG_DONTWAIT);
			ck_assert_msg(n != 0, "EOF after %zu bytes", got);
			if (n > 0)
				got += n;
		}
	}
	ck_assert_uint_eq(sent, total);
	ck_assert_uint_eq(got, total);
	ck_assert(memcmp(in, out, total) == 0);
	close(fd);
	free(in);
	free(out);
	h_daemon_free(d);
}
END_TEST

START_TEST(discard_tcp)
{
	struct daemon	*d = start_std();
	char		 buf[65536], rbuf[16];
	int		 fd, i;

	memset(buf, 'x', sizeof(buf));
	fd = connect_port(d, "discard");
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(h_write_all(fd, buf, sizeof(buf)),
		    sizeof(buf));
	/* Nothing comes back; our EOF makes the host close gracefully. */
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	ck_assert_int_eq(h_read_eof(fd, rbuf, sizeof(rbuf), 5000), 0);
	close(fd);

	fd = udp_port(d, "discard-udp");
	ck_assert_int_eq(send(fd, "x", 1, 0), 1);
	{
		struct pollfd pfd = { fd, POLLIN, 0 };

		ck_assert_int_eq(poll(&pfd, 1, 300), 0);
	}
	close(fd);
	/* Still serving. */
	fd = connect_port(d, "echo4");
	echo_stream(fd);
	close(fd);
	h_daemon_free(d);
}
END_TEST

/* Check "Wednesday, November 25, 2026 11:22:33-UTC\r\n" against now. */
static void
check_daytime(const char *line, size_t len)
{
	struct tm	 tm;
	const char	*rest;
	time_t		 now = time(NULL), t;

	ck_assert_msg(len > 2 && line[len - 2] == '\r' && line[len - 1] == '\n',
	    "daytime line not CRLF-terminated: %.*s", (int)len, line);
	memset(&tm, 0, sizeof(tm));
	rest = strptime(line, "%A, %B %d, %Y %H:%M:%S", &tm);
	ck_assert_msg(rest != NULL, "daytime line unparsable: %.*s",
	    (int)len, line);
	tm.tm_isdst = -1;
	t = mktime(&tm);	/* the plugin printed local time */
	ck_assert_msg(t > now - 10 && t < now + 10, "daytime is off: %.*s",
	    (int)len, line);
}

START_TEST(daytime)
{
	struct daemon	*d = start_std();
	char		 buf[256];
	ssize_t		 n;
	int		 fd;

	fd = connect_port(d, "daytime");
	n = h_read_eof(fd, buf, sizeof(buf) - 1, 5000);
	buf[n > 0 ? n : 0] = '\0';
	check_daytime(buf, n);
	ck_assert(h_wait_eof(fd, 2000));
	close(fd);

	fd = udp_port(d, "daytime-udp");
	n = dgram_ask(fd, buf, sizeof(buf) - 1);
	buf[n] = '\0';
	check_daytime(buf, n);
	close(fd);
	h_daemon_free(d);
}
END_TEST

static void
check_time(const unsigned char *b)
{
	long long	 t, now;

	t = (long long)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
	now = (long long)time(NULL) + TIME_OFFSET;
	now &= 0xffffffffLL;	/* RFC 868 wraps in 2036 */
	ck_assert_msg(llabs(t - now) <= 5, "time %lld, expected %lld", t, now);
}

START_TEST(time_tcp_udp)
{
	struct daemon	*d = start_std();
	unsigned char	 buf[16];
	int		 fd;

	fd = connect_port(d, "time");
	ck_assert_int_eq(h_read_eof(fd, buf, sizeof(buf), 5000), 4);
	check_time(buf);
	close(fd);

	fd = udp_port(d, "time-udp");
	ck_assert_int_eq(dgram_ask(fd, buf, sizeof(buf)), 4);
	check_time(buf);
	close(fd);
	h_daemon_free(d);
}
END_TEST

/* The byte at stream offset off of the RFC 864 pattern, width chars. */
static char
chargen_at_width(unsigned long long off, unsigned int width)
{
	unsigned long long	 line = off / (width + 2);
	unsigned int		 col = off % (width + 2);

	if (col == width)
		return '\r';
	if (col == width + 1)
		return '\n';
	return ' ' + (line + col) % 95;
}

/* The same with the RFC's 72-character lines. */
static char
chargen_at(unsigned long long off)
{
	return chargen_at_width(off, CHARGEN_LINE - 2);
}

START_TEST(chargen_pattern)
{
	struct daemon	*d = start_std();
	char		 buf[CHARGEN_LINE * 200];
	char		 ring[2 * 95 * CHARGEN_LINE];
	size_t		 i;
	ssize_t		 n;
	int		 fd, k;

	fd = connect_port(d, "chargen");
	n = h_read_n(fd, buf, sizeof(buf), 5000);
	ck_assert_int_eq(n, sizeof(buf));
	/* The first lines, spelled out. */
	ck_assert(memcmp(buf, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGH"
	    "IJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n", CHARGEN_LINE) == 0);
	ck_assert(memcmp(buf + CHARGEN_LINE, "!\"#$%&'()*+,-./0123456789:;<="
	    ">?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefgh\r\n",
	    CHARGEN_LINE) == 0);
	for (i = 0; i < sizeof(buf); i++)
		ck_assert_msg(buf[i] == chargen_at(i), "byte %zu", i);
	close(fd);

	/* UDP: up to 512 bytes, a slice of the pattern. */
	for (i = 0; i < sizeof(ring); i++)
		ring[i] = chargen_at(i);
	fd = udp_port(d, "chargen-udp");
	for (k = 0; k < 5; k++) {
		n = dgram_ask(fd, buf, sizeof(buf));
		ck_assert_int_le(n, 512);
		ck_assert(n == 0 || memmem(ring, sizeof(ring), buf, n) != NULL);
	}
	close(fd);
	h_daemon_free(d);
}
END_TEST

/* [chargen] line_length from the plugin's INI file. */
START_TEST(chargen_ini)
{
	struct daemon	*d;
	char		 buf[12 * 300];
	size_t		 i;
	int		 fd;

	free(h_write_file("chargen.ini", "[chargen]\nline_length = 10\n"));
	d = h_daemon_start(
	    "plugins: { chargen: { path = \"chargen.so\";"
	    " config = \"@TMP@/chargen.ini\"; }; };\n"
	    "listeners: ( { name = \"chargen\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"chargen\"; } );\n", NULL);
	ck_assert(d != NULL);
	fd = connect_port(d, "chargen");
	ck_assert_int_eq(h_read_n(fd, buf, sizeof(buf), 5000), sizeof(buf));
	ck_assert(memcmp(buf, " !\"#$%&'()\r\n!\"#$%&'()*\r\n", 24) == 0);
	for (i = 0; i < sizeof(buf); i++)
		ck_assert_msg(buf[i] == chargen_at_width(i, 10), "byte %zu", i);
	close(fd);
	h_daemon_free(d);
}
END_TEST

/*
 * chargen against a reader that takes 64 KiB per 100 ms: chargen may only
 * send while host->writable() says so, so the daemon's memory stays flat.
 * A plugin that ignored backpressure would queue gigabytes in 3 s; one
 * that never resumed from on_send would stall in the fast phase.
 */
START_TEST(chargen_slow_reader)
{
	struct daemon		*d = start_std();
	static char		 buf[65536];
	unsigned long long	 off = 0, stop;
	long			 rss0, rss, peak = 0;
	long long		 end;
	size_t			 i;
	ssize_t			 n;
	int			 fd;

	fd = connect_port(d, "chargen");
	usleep(100 * 1000);
	rss0 = h_rss_kb(d->pid);
	ck_assert(rss0 > 0);
	end = h_now_ms() + 3000;
	while (h_now_ms() < end) {
		n = h_read_n(fd, buf, sizeof(buf), 5000);
		ck_assert_int_eq(n, sizeof(buf));
		for (i = 0; i < (size_t)n; i++, off++)
			if (buf[i] != chargen_at(off))
				ck_abort_msg("pattern broken at %llu", off);
		rss = h_rss_kb(d->pid);
		if (rss > peak)
			peak = rss;
		usleep(100 * 1000);
	}
	ck_assert_msg(peak - rss0 < 8 * 1024,
	    "daemon RSS grew from %ld to %ld KiB", rss0, peak);

	/*
	 * Then 16 MiB as fast as we can: more than the socket buffers and
	 * the queue hold, so generation must resume from on_send many times.
	 */
	stop = off + 16 * 1024 * 1024;
	while (off < stop) {
		n = h_read_n(fd, buf, sizeof(buf), 5000);
		ck_assert_msg(n == sizeof(buf), "stalled at %llu", off);
		for (i = 0; i < (size_t)n; i++, off++)
			if (buf[i] != chargen_at(off))
				ck_abort_msg("pattern broken at %llu", off);
	}
	close(fd);
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
}
END_TEST

/* refuse.so refuses every 2nd connection (the 1st, 3rd, ...). */
START_TEST(refused)
{
	struct daemon	*d;
	int		 fd, i;
	char		 buf[8];

	free(h_write_file("refuse.ini", "[refuse]\nevery = 2\n"));
	d = h_daemon_start(
	    "plugins: {\n"
	    "  refuse: { path = \"@TEST_PLUGIN_DIR@/refuse.so\";\n"
	    "    config = \"@TMP@/refuse.ini\"; };\n"
	    "  echo: { path = \"echo.so\"; };\n"
	    "};\n"
	    "listeners: (\n"
	    "  { name = \"refuse\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"refuse\"; workers = 1; },\n"
	    "  { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; }\n"
	    ");\n", NULL);
	ck_assert(d != NULL);
	for (i = 0; i < 4; i++) {
		fd = connect_port(d, "refuse");
		if (i % 2 == 0) {
			/* Refused: EOF or a reset at once, no data. */
			ck_assert_msg(h_wait_eof(fd, 2000),
			    "connection %d not closed", i);
		} else {
			ck_assert_int_eq(h_write_all(fd, "ping", 4), 4);
			ck_assert_int_eq(h_read_n(fd, buf, 4, 5000), 4);
			ck_assert(memcmp(buf, "ping", 4) == 0);
		}
		close(fd);
	}
	ck_assert(h_log_wait(d, "refused", 2000));
	fd = connect_port(d, "echo");
	echo_stream(fd);
	close(fd);
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
}
END_TEST

/*
 * Start the daemon on a config whose plugin `path` must be refused;
 * returns its exit code with its output in out.
 */
static int
run_bad_plugin(const char *path, char *out, size_t outlen)
{
	char	 text[1024], *conf;
	int	 rc;
	char	*argv[] = { NULL, (char *)"-f", (char *)"-l",
	    (char *)"debug", (char *)"-c", NULL, (char *)"-P", NULL, NULL };

	snprintf(text, sizeof(text),
	    "plugins: { bad: { path = \"%s\"; }; };\n"
	    "listeners: ( { name = \"bad\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"bad\"; } );\n", path);
	conf = h_write_file("bad.conf", text);
	argv[5] = conf;
	argv[7] = getenv("ASOCKD_TEST_PLUGIN_DIR");
	if (argv[7] == NULL)
		argv[7] = (char *)".";
	argv[0] = (char *)"asockd";
	rc = h_run(argv, out, outlen);
	free(conf);
	return rc;
}

START_TEST(bad_abi)
{
	char	 out[8192], v[32];
	int	 rc;

	rc = run_bad_plugin("badabi.so", out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "badabi.so") != NULL, "no file: %s", out);
	/* Both versions: the plugin's major and the daemon's major.minor. */
	snprintf(v, sizeof(v), "%d.%d", ASOCKD_ABI_MAJOR, ASOCKD_ABI_MINOR);
	ck_assert_msg(strstr(out, v) != NULL, "no daemon ABI: %s", out);
	snprintf(v, sizeof(v), "%d.", ASOCKD_ABI_MAJOR + 1);
	ck_assert_msg(strstr(out, v) != NULL, "no plugin ABI: %s", out);
}
END_TEST

START_TEST(no_symbol)
{
	char	 out[8192];
	int	 rc;

	rc = run_bad_plugin("nosym.so", out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "nosym.so") != NULL, "no file: %s", out);
	ck_assert_msg(strstr(out, ASOCKD_PLUGIN_SYMBOL_NAME) != NULL,
	    "no symbol name: %s", out);
}
END_TEST

START_TEST(missing_file)
{
	char	 out[8192];
	int	 rc;

	rc = run_bad_plugin("no-such-plugin.so", out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "no-such-plugin.so") != NULL,
	    "no file: %s", out);
}
END_TEST

/*
 * A plugin compiled as C++ (tests/plugins/cxx.cc, -std=c++11 -pedantic)
 * loads and answers: its descriptor has C linkage.  Two instances: one
 * with the default of its settings table, one with an INI file.
 */
START_TEST(cxx_plugin)
{
	struct daemon	*d;
	char		 buf[32];
	int		 fd;

	free(h_write_file("cxx.ini", "[cxx]\nprefix = >>\n"));
	d = h_daemon_start(
	    "plugins: {\n"
	    "  cxx: { path = \"@TEST_PLUGIN_DIR@/cxx.so\"; };\n"
	    "  cxx2: { path = \"@TEST_PLUGIN_DIR@/cxx.so\";"
	    " config = \"@TMP@/cxx.ini\"; };\n"
	    "};\n"
	    "listeners: (\n"
	    "  { name = \"cxx\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"cxx\"; },\n"
	    "  { name = \"cxx2\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"cxx2\"; }\n"
	    ");\n", NULL);
	ck_assert_msg(d != NULL, "asockd did not start with a C++ plugin");
	fd = connect_port(d, "cxx");
	ck_assert_int_eq(h_write_all(fd, "hello\nab", 8), 8);
	ck_assert_int_eq(h_read_n(fd, buf, 11, 5000), 11);
	ck_assert(memcmp(buf, "cxx: olleh\n", 11) == 0);
	ck_assert_int_eq(h_write_all(fd, "c\n", 2), 2);
	ck_assert_int_eq(h_read_n(fd, buf, 9, 5000), 9);
	ck_assert(memcmp(buf, "cxx: cba\n", 9) == 0);
	close(fd);
	fd = connect_port(d, "cxx2");
	ck_assert_int_eq(h_write_all(fd, "xyz\n", 4), 4);
	ck_assert_int_eq(h_read_n(fd, buf, 6, 5000), 6);
	ck_assert(memcmp(buf, ">>zyx\n", 6) == 0);
	close(fd);
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
}
END_TEST

/*
 * Run asockd [-t] on chargen with an INI file of ini_text; returns the
 * exit code, with the output in out and the INI path in *ini.
 */
static int
run_chargen_ini(const char *ini_text, int test, char **ini, char *out,
    size_t outlen)
{
	char	 text[1024], *conf;
	int	 rc;
	char	*argv[] = { (char *)"asockd", (char *)"-f", (char *)"-c",
	    NULL, (char *)"-P", NULL, NULL, NULL };

	*ini = h_write_file("settings.ini", ini_text);
	snprintf(text, sizeof(text),
	    "plugins: { chargen: { path = \"chargen.so\";"
	    " config = \"%s\"; }; };\n"
	    "listeners: ( { name = \"c\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"chargen\"; } );\n", *ini);
	conf = h_write_file("settings.conf", text);
	argv[3] = conf;
	argv[5] = getenv("ASOCKD_PLUGIN_DIR");
	if (argv[5] == NULL)
		argv[5] = (char *)".";
	if (test)
		argv[6] = (char *)"-t";
	rc = h_run(argv, out, outlen);
	free(conf);
	return rc;
}

/* A misspelled key is an error naming FILE:LINE, in -t and at start. */
START_TEST(settings_unknown_key)
{
	char	 out[8192], where[1200], *ini;
	int	 rc, test;

	for (test = 1; test >= 0; test--) {
		rc = run_chargen_ini("[chargen]\n; the length\n"
		    "line_lenght = 10\n", test, &ini, out, sizeof(out));
		ck_assert_msg(rc != 0 && rc < 128, "-t %d: exit %d: %s", test,
		    rc, out);
		snprintf(where, sizeof(where), "%s:3: [chargen] line_lenght:"
		    " unknown setting", ini);
		ck_assert_msg(strstr(out, where) != NULL, "no '%s' in: %s",
		    where, out);
		free(ini);
	}
	/* a correct file passes */
	rc = run_chargen_ini("[chargen]\nline_length = 10\n", 1, &ini, out,
	    sizeof(out));
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "configuration OK") != NULL, "%s", out);
	free(ini);
}
END_TEST

/* Values out of range or of the wrong type: FILE:LINE, each of them. */
START_TEST(settings_bad_value)
{
	char	 out[8192], where[1200], *ini;
	int	 rc;

	rc = run_chargen_ini("[chargen]\nline_length = 2000\n", 1, &ini, out,
	    sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	snprintf(where, sizeof(where), "%s:2: [chargen] line_length: 2000 is"
	    " out of range 1..1024", ini);
	ck_assert_msg(strstr(out, where) != NULL, "no '%s' in: %s", where,
	    out);
	free(ini);

	rc = run_chargen_ini("[chargen]\nline_length = 0\n[other]\nx = 1\n",
	    1, &ini, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	snprintf(where, sizeof(where), "%s:2: [chargen] line_length: 0 is"
	    " out of range", ini);
	ck_assert_msg(strstr(out, where) != NULL, "no '%s' in: %s", where,
	    out);
	snprintf(where, sizeof(where), "%s:4: [other] x: unknown", ini);
	ck_assert_msg(strstr(out, where) != NULL, "no '%s' in: %s", where,
	    out);
	free(ini);

	rc = run_chargen_ini("[chargen]\nline_length = wide\n", 0, &ini, out,
	    sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	snprintf(where, sizeof(where), "%s:2: [chargen] line_length: 'wide'"
	    " is not an integer", ini);
	ck_assert_msg(strstr(out, where) != NULL, "no '%s' in: %s", where,
	    out);
	free(ini);
}
END_TEST

static int
run_help(const char *dir, const char *arg, char *out, size_t outlen)
{
	char	*argv[] = { (char *)"asockd", (char *)"-P", NULL,
	    (char *)"--plugin-help", NULL, NULL };

	argv[2] = (char *)(uintptr_t)dir;
	argv[4] = (char *)(uintptr_t)arg;
	return h_run(argv, out, outlen);
}

/* --plugin-help prints the table: key, type, range, default, help. */
START_TEST(plugin_help)
{
	const char	*pdir = getenv("ASOCKD_PLUGIN_DIR");
	const char	*tdir = getenv("ASOCKD_TEST_PLUGIN_DIR");
	char		 out[8192], path[1024];
	int		 rc;

	ck_assert(pdir != NULL && tdir != NULL);
	rc = run_help(pdir, "chargen", out, sizeof(out));
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "plugin chargen 1.0") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "[chargen]\nline_length = 72\n"
	    "    integer, 1..1024, default 72\n"
	    "    characters per line before CR LF") != NULL, "%s", out);

	/* by path; a C++ plugin's string setting */
	snprintf(path, sizeof(path), "%s/cxx.so", tdir);
	rc = run_help("/nonexistent", path, out, sizeof(out));
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "[cxx]\nprefix = cxx: \n"
	    "    string, default cxx: \n") != NULL, "%s", out);

	rc = run_help(pdir, "echo.so", out, sizeof(out));
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "takes no settings") != NULL, "%s", out);

	/* a plugin without a table (the getters only) */
	rc = run_help(tdir, "refuse", out, sizeof(out));
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "declares no settings table") != NULL,
	    "%s", out);

	rc = run_help(tdir, "no-such-plugin", out, sizeof(out));
	ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
	ck_assert_msg(strstr(out, "no-such-plugin.so") != NULL, "%s", out);
}
END_TEST

/*
 * Local users (issue 10): StrictModes for plugins and their INI files,
 * unix socket owner and mode, and -t checking what start-up checks.
 */

/* Copy the build tree's echo.so to path with mode. */
static void
copy_echo(const char *path, mode_t mode)
{
	const char	*dir = getenv("ASOCKD_PLUGIN_DIR");
	char		 src[1024], buf[65536];
	FILE		*in, *out;
	size_t		 n;

	snprintf(src, sizeof(src), "%s/echo.so", dir != NULL ? dir : ".");
	ck_assert_msg((in = fopen(src, "rb")) != NULL, "open %s", src);
	ck_assert_msg((out = fopen(path, "wb")) != NULL, "open %s", path);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A directory under the test's tmpdir with mode (whatever the umask). */
static char *
tmp_subdir(const char *name, mode_t mode)
{
	char	*d;

	if (asprintf(&d, "%s/%s", h_tmpdir(), name) == -1)
		abort();
	ck_assert_int_eq(mkdir(d, 0700), 0);
	ck_assert_int_eq(chmod(d, mode), 0);
	return d;
}

/*
 * Run `asockd [-t] -f -c CONF` on text (written to name) and return its
 * exit code, with its output in out.
 */
static int
run_conf(const char *name, const char *text, int test, char *out,
    size_t outlen)
{
	char	*conf, *dir;
	int	 rc;
	char	*argv[] = { (char *)"asockd", (char *)"-f", (char *)"-c",
	    NULL, (char *)"-P", NULL, NULL, NULL };

	conf = h_write_file(name, text);
	ck_assert_int_eq(chmod(conf, 0644), 0);
	argv[3] = conf;
	dir = getenv("ASOCKD_PLUGIN_DIR");
	argv[5] = dir != NULL ? dir : (char *)".";
	if (test)
		argv[6] = (char *)"-t";
	rc = h_run(argv, out, outlen);
	free(conf);
	return rc;
}

/* Assert that out has "FILE:LINE: ..." for the config name in tmpdir. */
static void
out_has_at(const char *out, const char *name, int line)
{
	char	 want[1024];

	snprintf(want, sizeof(want), "%s/%s:%d: ", h_tmpdir(), name, line);
	ck_assert_msg(strstr(out, want) != NULL, "no %s in: %s", want, out);
}

#define OUT_HAS(out, s) \
	ck_assert_msg(strstr((out), (s)) != NULL, "no \"%s\" in: %s", (s), \
	    (out))

START_TEST(strict_plugin_file)
{
	char	 out[8192], text[2048], want[1024], *so;
	int	 rc;

	if (asprintf(&so, "%s/echo-ww.so", h_tmpdir()) == -1)
		abort();
	copy_echo(so, 0666);
	snprintf(text, sizeof(text),
	    "plugins: { ww: { path = \"%s\"; }; };\n"
	    "listeners: ( { name = \"ww\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"ww\"; } );\n", so);
	rc = run_conf("ww.conf", text, 0, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	out_has_at(out, "ww.conf", 1);
	snprintf(want, sizeof(want), "plugin 'ww': refusing %s: %s is "
	    "writable by others (mode 0666)", so, so);
	OUT_HAS(out, want);
	/* -t says the same */
	rc = run_conf("ww.conf", text, 1, out, sizeof(out));
	ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
	OUT_HAS(out, want);
	/* once fixed it starts */
	ck_assert_int_eq(chmod(so, 0644), 0);
	rc = run_conf("ww.conf", text, 1, out, sizeof(out));
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	free(so);
}
END_TEST

START_TEST(strict_plugin_dir)
{
	struct group	*gr;
	char		 out[8192], text[2048], want[1024], *dir, *so;
	int		 rc;

	dir = tmp_subdir("gw", 0755);
	if (asprintf(&so, "%s/echo.so", dir) == -1)
		abort();
	copy_echo(so, 0755);
	/* nogroup: not root's private group */
	ck_assert_ptr_nonnull(gr = getgrnam("nogroup"));
	ck_assert_int_eq(chown(dir, (uid_t)-1, gr->gr_gid), 0);
	ck_assert_int_eq(chmod(dir, 0775), 0);
	snprintf(text, sizeof(text),
	    "listeners: ( { name = \"gw\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"gw\"; } );\n"
	    "plugins: { gw: { path = \"%s\"; }; };\n", so);
	rc = run_conf("gw.conf", text, 0, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	out_has_at(out, "gw.conf", 2);
	snprintf(want, sizeof(want), "plugin 'gw': refusing %s: %s is "
	    "writable by group nogroup (mode 0775)", so, dir);
	OUT_HAS(out, want);
	free(so);
	free(dir);
}
END_TEST

START_TEST(strict_plugin_ini)
{
	char	 out[8192], text[2048], want[1024], *ini;
	int	 rc;

	ini = h_write_file("ww.ini", "[echo]\n");
	ck_assert_int_eq(chmod(ini, 0666), 0);
	snprintf(text, sizeof(text),
	    "plugins: {\n"
	    "  echo: { path = \"echo.so\"; config = \"%s\"; };\n"
	    "};\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; } );\n", ini);
	rc = run_conf("ini.conf", text, 0, out, sizeof(out));
	ck_assert_msg(rc != 0 && rc < 128, "exit %d: %s", rc, out);
	out_has_at(out, "ini.conf", 2);
	snprintf(want, sizeof(want), "%s: refused: %s is writable by others"
	    " (mode 0666)", ini, ini);
	OUT_HAS(out, want);
	snprintf(want, sizeof(want), "plugin 'echo': bad settings file %s",
	    ini);
	OUT_HAS(out, want);
	free(ini);
}
END_TEST

/*
 * Run the daemon under umask 000: a wrapper script sets it (and runs any
 * wrapper already asked for, valgrind say).
 */
static void
wrap_umask0(void)
{
	const char	*old = getenv("ASOCKD_WRAPPER");
	char		 text[1024], *sh;

	snprintf(text, sizeof(text), "#!/bin/sh\numask 000\nexec %s \"$@\"\n",
	    old != NULL ? old : "");
	sh = h_write_file("umask0.sh", text);
	ck_assert_int_eq(chmod(sh, 0755), 0);
	setenv("ASOCKD_WRAPPER", sh, 1);
	free(sh);
}

START_TEST(unix_socket_mode)
{
	struct daemon	*d;
	struct stat	 st;
	struct passwd	*pw;
	struct group	*gr;
	char		 a[512], b[512];
	int		 fd;

	ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
	ck_assert_ptr_nonnull(gr = getgrnam("nogroup"));
	wrap_umask0();
	d = h_daemon_start(
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: (\n"
	    "  { name = \"a\"; listen = \"unix:@TMP@/a.sock\";"
	    " plugin = \"echo\"; },\n"
	    "  { name = \"b\"; listen = \"unix-dgram:@TMP@/b.sock\";"
	    " plugin = \"echo\";\n"
	    "    owner = \"nobody\"; group = \"nogroup\"; mode = \"0640\"; }\n"
	    ");\n", NULL);
	ck_assert_msg(d != NULL, "asockd did not start");
	snprintf(a, sizeof(a), "%s/a.sock", h_tmpdir());
	snprintf(b, sizeof(b), "%s/b.sock", h_tmpdir());
	/* the default, whatever the umask (it was 0777 under umask 000) */
	ck_assert_int_eq(stat(a, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_uint_eq(st.st_gid, getegid());
	ck_assert_int_eq(stat(b, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_uint_eq(st.st_uid, pw->pw_uid);
	ck_assert_uint_eq(st.st_gid, gr->gr_gid);
	ck_assert_int_ne(fd = h_unix_connect(a), -1);
	echo_stream(fd);
	close(fd);
	ck_assert_int_eq(h_daemon_stop(d, 5000), 0);
	h_daemon_free(d);
}
END_TEST

/* Let other users search the harness's temporary directories. */
static void
open_tmpdir(void)
{
	char	 dir[1024], *slash;

	snprintf(dir, sizeof(dir), "%s", h_tmpdir());
	ck_assert_int_eq(chmod(dir, 0755), 0);
	/* the per-run directory above a test's own (see harness.c) */
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if ((slash = strrchr(dir, '/')) != NULL &&
		    strncmp(slash + 1, "asockd-test.", 12) == 0)
			ck_assert_int_eq(chmod(dir, 0755), 0);
	}
}

/* -t loads the plugins as daemon.user, as the workers do. */
START_TEST(test_as_user)
{
	char	 out[8192], text[2048], want[1024], *dir, *so;
	int	 rc;

	/* nobody must reach the directory; only the file is root's */
	open_tmpdir();
	dir = tmp_subdir("p", 0755);
	if (asprintf(&so, "%s/echo.so", dir) == -1)
		abort();
	copy_echo(so, 0600);
	snprintf(text, sizeof(text),
	    "daemon: { user = \"nobody\"; };\n"
	    "plugins: { e: { path = \"%s\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"e\"; } );\n", so);
	rc = run_conf("user.conf", text, 1, out, sizeof(out));
	ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
	out_has_at(out, "user.conf", 2);
	snprintf(want, sizeof(want), "plugin 'e': cannot load %s", so);
	OUT_HAS(out, want);
	OUT_HAS(out, "configuration has errors");
	ck_assert_msg(strstr(out, "configuration OK") == NULL, "%s", out);
	/* readable by nobody: fine */
	ck_assert_int_eq(chmod(so, 0644), 0);
	rc = run_conf("user.conf", text, 1, out, sizeof(out));
	ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
	OUT_HAS(out, "configuration OK");
	free(so);
	free(dir);
}
END_TEST

/* -t checks that a unix socket can be created where the config says. */
START_TEST(test_unix_dir)
{
	char	 out[8192], want[1024];
	int	 rc;

	rc = run_conf("dir.conf",
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"u\"; listen = \"unix:@TMP@/nodir/u.sock\";"
	    " plugin = \"echo\"; } );\n", 1, out, sizeof(out));
	ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
	out_has_at(out, "dir.conf", 2);
	snprintf(want, sizeof(want), "listener u: cannot bind %s/nodir/u.sock:"
	    " directory %s/nodir: No such file or directory", h_tmpdir(),
	    h_tmpdir());
	OUT_HAS(out, want);
	/* a file in the socket's place */
	free(h_write_file("notsock", "x"));
	rc = run_conf("dir.conf",
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"u\"; listen = \"unix:@TMP@/notsock\";"
	    " plugin = \"echo\"; } );\n", 1, out, sizeof(out));
	ck_assert_msg(rc == 1, "exit %d: %s", rc, out);
	out_has_at(out, "dir.conf", 2);
	OUT_HAS(out, "notsock exists and is not a socket");
}
END_TEST

static Suite *
plugins_suite(void)
{
	Suite	*s = suite_create("plugins");
	TCase	*tc;

	tc = tcase_create("bundled");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, echo_tcp4);
	tcase_add_test(tc, echo_tcp6);
	tcase_add_test(tc, echo_udp);
	tcase_add_test(tc, echo_unix);
	tcase_add_test(tc, echo_unix_dgram);
	tcase_add_test(tc, echo_1mib);
	tcase_add_test(tc, discard_tcp);
	tcase_add_test(tc, daytime);
	tcase_add_test(tc, time_tcp_udp);
	tcase_add_test(tc, chargen_pattern);
	tcase_add_test(tc, chargen_ini);
	tcase_add_test(tc, chargen_slow_reader);
	suite_add_tcase(s, tc);

	tc = tcase_create("loader");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, bad_abi);
	tcase_add_test(tc, no_symbol);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, cxx_plugin);
	tcase_add_test(tc, settings_unknown_key);
	tcase_add_test(tc, settings_bad_value);
	tcase_add_test(tc, plugin_help);
	suite_add_tcase(s, tc);

	tc = tcase_create("local-users");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, strict_plugin_file);
	tcase_add_test(tc, strict_plugin_dir);
	tcase_add_test(tc, strict_plugin_ini);
	tcase_add_test(tc, unix_socket_mode);
	tcase_add_test(tc, test_as_user);
	tcase_add_test(tc, test_unix_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(plugins_suite());
}
