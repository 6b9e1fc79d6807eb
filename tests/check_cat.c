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
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

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

/*
 * The config file's wildcard forms are connect addresses too: asockd-cat
 * parses URIs with the daemon's parser, and a wildcard reaches this host.
 */
START_TEST(test_wildcard_uri)
{
	static const char *forms[] = { "tcp://:%d", "tcp://*:%d" };
	struct run r;
	char uri[64];
	size_t i;

	start();
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(uri, sizeof(uri), forms[i], h_port(d, "echo"));
		cat_run(&r, "wild\n", uri, NULL);
		ck_assert_msg(r.status == 0, "%s: status %d, stderr %s", uri,
		    r.status, r.err);
		ck_assert_str_eq(r.out, "wild\n");
	}
	stop();
}
END_TEST

/*
 * A hostile server (a child process of the test) sends a frame that
 * declares a 2^32 - 1 element array in 5 bytes: asockd-cat refuses it
 * with the checker's reason, exit 1, without trying to allocate for it.
 */
START_TEST(test_hostile_server)
{
	static const char frame[] = "\0\0\0\5\xdd\xff\xff\xff\xff";
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct pollfd pfd;
	struct run r;
	char uri[64], b[256];
	int lfd, sfd, st, i;
	pid_t pid;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", ntohs(sin.sin_port));
	if ((pid = fork()) == 0) {
		/* accept one client, send the frame, wait for its close */
		pfd.fd = lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10000) != 1 ||
		    (sfd = accept(lfd, NULL, NULL)) == -1)
			_exit(1);
		if (h_write_all(sfd, frame, sizeof(frame) - 1) !=
		    (ssize_t)sizeof(frame) - 1)
			_exit(1);
		pfd.fd = sfd;
		for (i = 0; i < 100; i++)
			if (poll(&pfd, 1, 100) == 1 &&
			    read(sfd, b, sizeof(b)) <= 0)
				_exit(0);
		_exit(1);
	}
	ck_assert_int_gt(pid, 0);
	close(lfd);
	cat_run(&r, "", "--archive", "--wait", "5", uri, NULL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(r.status == 1, "status %d, stderr %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "bad frame from peer: bad archive "
	    "payload: length past the end of the frame") != NULL,
	    "stderr: %s", r.err);
	ck_assert_str_eq(r.out, "");
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
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
	/* the parser's own message, as the config check gives it */
	cat_run(&r, "", "tcp://::1:7007", NULL);
	ck_assert_int_eq(r.status, 2);
	ck_assert_msg(strstr(r.err, "IPv6 address must be in brackets in "
	    "'tcp://::1:7007'") != NULL, "stderr: %s", r.err);
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
	tcase_add_test(tc, test_wildcard_uri);
	tcase_add_test(tc, test_hostile_server);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (h_run_suite(cat_suite()));
}
