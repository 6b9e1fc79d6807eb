/*
 * check_cat.c - the asockd-cat binary against a real daemon.
 *
 * asockd-cat runs with a fixed stdin (written at once, then closed) and
 * its stdout and stderr are collected until it exits.  Its session ends
 * deterministically: at stdin EOF it shuts down its write side, the
 * daemon delivers every byte before the EOF, flushes its replies and
 * closes, and asockd-cat exits when the peer has closed.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char conf_text[] =
	"daemon: { log_level = \"debug\"; workers = 1; };\n"
	"plugins: { chat = { path = \"chat.so\"; };\n"
	"    echo = { path = \"echo.so\"; }; };\n"
	"listeners: (\n"
	"  { name = \"chat\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"chat\"; framing = \"archive\"; },\n"
	"  { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"echo\"; },\n"
	"  { name = \"echou\"; listen = \"unix:@TMP@/echo.sock\";\n"
	"    plugin = \"echo\"; },\n"
	"  { name = \"echod\"; listen = \"udp://127.0.0.1:0\";\n"
	"    plugin = \"echo\"; }\n"
	");\n";

struct run {
	int	 status;	/* exit code, 128+signal */
	char	 out[8192];
	char	 err[8192];
};

static struct daemon	*d;

static void
start(void)
{
	char *dir;

	dir = h_expand("@PLUGIN_DIR@");
	d = h_daemon_start(conf_text, "-P", dir, (char *)NULL);
	free(dir);
	ck_assert_ptr_nonnull(d);
}

static void
stop(void)
{
	if (d != NULL) {
		h_daemon_stop(d, 5000);
		h_daemon_free(d);
		d = NULL;
	}
}

static char *
tcp_uri(const char *listener)
{
	static char buf[64];
	int port;

	port = h_port(d, listener);
	ck_assert_int_gt(port, 0);
	snprintf(buf, sizeof(buf), "%s://127.0.0.1:%d",
	    strcmp(listener, "echod") == 0 ? "udp" : "tcp", port);
	return (buf);
}

/*
 * Run asockd-cat with args (NULL-terminated) and input on its stdin; wait
 * at most 15 s for it to exit.
 */
static void
cat_run(struct run *r, const char *input, ...)
{
	char *argv[16];
	int in[2], out[2], err[2];
	struct pollfd pfd[2];
	size_t olen = 0, elen = 0;
	long long deadline;
	va_list ap;
	ssize_t n;
	pid_t pid;
	int argc = 0, st, open_fds;

	argv[argc++] = (char *)"asockd-cat";
	va_start(ap, input);
	while ((argv[argc] = va_arg(ap, char *)) != NULL && argc < 14)
		argc++;
	va_end(ap);
	argv[argc] = NULL;

	ck_assert(pipe(in) == 0 && pipe(out) == 0 && pipe(err) == 0);
	if ((pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		execv(ASOCKD_CAT, argv);
		_exit(127);
	}
	ck_assert_int_gt(pid, 0);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	/* Small inputs: the pipe takes them whole. */
	ck_assert_int_eq(h_write_all(in[1], input, strlen(input)),
	    (ssize_t)strlen(input));
	close(in[1]);

	memset(r, 0, sizeof(*r));
	deadline = h_now_ms() + 15000;
	open_fds = 2;
	pfd[0].fd = out[0];
	pfd[1].fd = err[0];
	pfd[0].events = pfd[1].events = POLLIN;
	while (open_fds > 0 && h_now_ms() < deadline) {
		if (poll(pfd, 2, 200) <= 0)
			continue;
		if (pfd[0].revents) {
			n = read(out[0], r->out + olen,
			    sizeof(r->out) - 1 - olen);
			if (n <= 0) {
				pfd[0].fd = -1;
				open_fds--;
			} else
				olen += n;
		}
		if (pfd[1].revents) {
			n = read(err[0], r->err + elen,
			    sizeof(r->err) - 1 - elen);
			if (n <= 0) {
				pfd[1].fd = -1;
				open_fds--;
			} else
				elen += n;
		}
	}
	close(out[0]);
	close(err[0]);
	if (open_fds > 0)
		kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	ck_assert_msg(open_fds == 0, "asockd-cat did not exit; out: %s",
	    r->out);
}

/* Raw mode against echo: what goes in comes back, exit 0. */
START_TEST(test_raw_echo)
{
	static const char text[] = "hello\nworld\n";
	struct run r;
	char *sock;

	start();
	cat_run(&r, text, tcp_uri("echo"), NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, text);

	sock = h_expand("unix:@TMP@/echo.sock");
	cat_run(&r, text, sock, NULL);
	free(sock);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, text);

	/* Datagrams: one per line, replies collected during --wait. */
	cat_run(&r, "one\ntwo\n", "--wait", "1", tcp_uri("echod"), NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out, "one\ntwo\n");
	stop();
}
END_TEST

/*
 * Archive mode against a raw echo listener: the frames come back as they
 * went, so this is a JSON -> MessagePack -> JSON round trip.
 */
START_TEST(test_archive_mapping)
{
	static const char in[] =
	    "{\"a\":[1,-2,1.5,null,true,false,\"\\u00e9\"],\"b\":{}}\n"
	    "\n"
	    "{\"$bin\":\"AAEC/w==\"}\n"
	    "[[],{\"k\":{\"$bin\":\"\"}},9007199254740993,"
	    "-9223372036854775808]\n"
	    "\"last line without LF\"";
	static const char want[] =
	    "{\"a\":[1,-2,1.5,null,true,false,\"\xc3\xa9\"],\"b\":{}}\n"
	    "{\"$bin\":\"AAEC/w==\"}\n"
	    "[[],{\"k\":{\"$bin\":\"\"}},9007199254740993,"
	    "-9223372036854775808]\n"
	    "\"last line without LF\"\n";
	struct run r;

	start();
	cat_run(&r, in, "--archive", tcp_uri("echo"), NULL);
	ck_assert_msg(r.status == 0, "status %d, stderr %s", r.status, r.err);
	ck_assert_str_eq(r.out, want);
	ck_assert_str_eq(r.err, "");
	stop();
}
END_TEST

/* Archive mode against chat: a whole session, one bad line. */
START_TEST(test_archive_chat)
{
	static const char in[] =
	    "[\"join\",\"zed\"]\n"
	    "[\"say\",\"hello\"]\n"
	    "this is not json\n"
	    "{\"$bin\":\"AAE=\"}\n"
	    "[\"leave\"]\n";
	static const char want[] =
	    "[\"joined\",\"zed\"]\n"
	    "[\"msg\",\"zed\",\"hello\"]\n"
	    "[\"error\",\"malformed message: not an array\"]\n"
	    "[\"left\",\"zed\"]\n";
	struct run r;

	start();
	cat_run(&r, in, "-a", "--timeout", "5", tcp_uri("chat"), NULL);
	ck_assert_int_eq(r.status, 5);
	ck_assert_str_eq(r.out, want);
	ck_assert_msg(strstr(r.err, "stdin:3:") != NULL, "stderr: %s", r.err);

	/* A second session, joined when its connection ends. */
	cat_run(&r, "[\"join\",\"amy\"]\n[\"say\",\"bye\"]\n", "--archive",
	    tcp_uri("chat"), NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_str_eq(r.out,
	    "[\"msg\",\"zed\",\"hello\"]\n"
	    "[\"joined\",\"amy\"]\n"
	    "[\"msg\",\"amy\",\"bye\"]\n");
	stop();
}
END_TEST

/* Exit codes for usage and connect errors, without a daemon. */
START_TEST(test_exit_codes)
{
	struct run r;
	char *sock;

	cat_run(&r, "", NULL);
	ck_assert_int_eq(r.status, 2);
	cat_run(&r, "", "bogus:/x", NULL);
	ck_assert_int_eq(r.status, 2);
	cat_run(&r, "", "--archive", "udp://127.0.0.1:9", NULL);
	ck_assert_int_eq(r.status, 2);
	cat_run(&r, "", "--timeout", "soon", "tcp://127.0.0.1:9", NULL);
	ck_assert_int_eq(r.status, 2);
	sock = h_expand("unix:@TMP@/nobody.sock");
	cat_run(&r, "", sock, NULL);
	free(sock);
	ck_assert_int_eq(r.status, 3);
	cat_run(&r, "", "--help", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "usage:"));
	cat_run(&r, "", "--version", NULL);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(strstr(r.out, PACKAGE_VERSION));
}
END_TEST

static Suite *
cat_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("cat");
	tc = tcase_create("cat");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_exit_codes);
	tcase_add_test(tc, test_raw_echo);
	tcase_add_test(tc, test_archive_mapping);
	tcase_add_test(tc, test_archive_chat);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (h_run_suite(cat_suite()));
}
