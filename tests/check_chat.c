/*
 * check_chat.c - the chat plugin through the real daemon, spoken to with
 * libasockd-client.
 *
 * Each test starts its own daemon (so rooms and histories start empty)
 * with two archive listeners, tcp and unix, on one plugin instance whose
 * INI file sets small limits.  Every received message is rendered as
 * compact JSON-like text (["msg","alice","hi"]) and compared as a string.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asockd/client.h"
#include "harness.h"

#define TMO	5000	/* ms for every receive that must succeed */

static const char conf_text[] =
	"daemon: { log_level = \"debug\"; workers = 1; };\n"
	"plugins: { chat = { path = \"chat.so\";\n"
	"    config = \"@TMP@/chat.ini\"; }; };\n"
	"listeners: (\n"
	"  { name = \"chat\"; listen = \"tcp://127.0.0.1:0\";\n"
	"    plugin = \"chat\"; framing = \"archive\"; },\n"
	"  { name = \"chatu\"; listen = \"unix:@TMP@/chat.sock\";\n"
	"    plugin = \"chat\"; framing = \"archive\"; }\n"
	");\n";

static const char ini_text[] =
	"[chat]\n"
	"max_nick = 8\n"
	"max_text = 16\n"
	"history = 3\n";

static struct daemon	*d;
static char		 uri[2][300];	/* tcp, unix */

static void
start(void)
{
	char *dir, *path, *sock;
	int port;

	path = h_write_file("chat.ini", ini_text);
	free(path);
	dir = h_expand("@PLUGIN_DIR@");
	d = h_daemon_start(conf_text, "-P", dir, (char *)NULL);
	free(dir);
	ck_assert_ptr_nonnull(d);
	port = h_port(d, "chat");
	ck_assert_int_gt(port, 0);
	snprintf(uri[0], sizeof(uri[0]), "tcp://127.0.0.1:%d", port);
	sock = h_expand("unix:@TMP@/chat.sock");
	snprintf(uri[1], sizeof(uri[1]), "%s", sock);
	free(sock);
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

static struct asockd_client *
cl_open(int which)
{
	struct asockd_client *cl = NULL;
	int rv;

	rv = asockd_client_connect(uri[which], TMO, &cl);
	ck_assert_msg(rv == 0, "connect %s: %s", uri[which], strerror(-rv));
	return (cl);
}

/* Append the next value of cl's frame as compact text ("str", 12, [..]). */
static void
render(struct asockd_client *cl, char *buf, size_t size)
{
	size_t len = strlen(buf), slen;
	const char *s;
	uint64_t u;
	uint32_t i, n;

	switch (asockd_client_rd_next_type(cl)) {
	case ASOCKD_CLIENT_T_STR:
		ck_assert_int_eq(asockd_client_rd_str(cl, &s, &slen), 0);
		snprintf(buf + len, size - len, "\"%.*s\"", (int)slen, s);
		break;
	case ASOCKD_CLIENT_T_UINT:
		ck_assert_int_eq(asockd_client_rd_uint(cl, &u), 0);
		snprintf(buf + len, size - len, "%llu", (unsigned long long)u);
		break;
	case ASOCKD_CLIENT_T_ARRAY:
		ck_assert_int_eq(asockd_client_rd_array(cl, &n), 0);
		snprintf(buf + len, size - len, "[");
		for (i = 0; i < n; i++) {
			if (i > 0)
				strncat(buf, ",", size - strlen(buf) - 1);
			render(cl, buf, size);
		}
		strncat(buf, "]", size - strlen(buf) - 1);
		break;
	default:
		snprintf(buf + len, size - len, "?%d",
		    (int)asockd_client_rd_next_type(cl));
		ck_assert_int_eq(asockd_client_rd_skip(cl), 0);
		break;
	}
}

/* Receive one frame holding one value; returns its text (static). */
static const char *
next_msg(struct asockd_client *cl)
{
	static char text[4096];
	int rv;

	rv = asockd_client_recv(cl, TMO);
	ck_assert_msg(rv == 0, "recv: %s", strerror(-rv));
	ck_assert_int_ne(asockd_client_rd_next_type(cl), ASOCKD_CLIENT_T_NONE);
	text[0] = '\0';
	render(cl, text, sizeof(text));
	ck_assert_int_eq(asockd_client_rd_next_type(cl), ASOCKD_CLIENT_T_NONE);
	return (text);
}

static void
expect(struct asockd_client *cl, const char *want)
{
	ck_assert_str_eq(next_msg(cl), want);
}

/* Nothing arrives within ms. */
static void
expect_nothing(struct asockd_client *cl, int ms)
{
	int rv;

	rv = asockd_client_recv(cl, ms);
	ck_assert_msg(rv == -ETIMEDOUT, "expected silence, got %d", rv);
}

static void
say(struct asockd_client *cl, const char *text)
{
	ck_assert_int_eq(asockd_client_send_strings(cl, "say", text, NULL), 0);
}

/* Three clients on one listener (_i: 0 tcp, 1 unix). */
START_TEST(test_three_clients)
{
	struct asockd_client *a, *b, *c, *all[3];
	char seq[3][3][256];
	int i, j;

	start();
	a = cl_open(_i);
	b = cl_open(_i);
	c = cl_open(_i);
	all[0] = a;
	all[1] = b;
	all[2] = c;

	asockd_client_send_strings(a, "join", "alice", NULL);
	expect(a, "[\"joined\",\"alice\"]");
	asockd_client_send_strings(b, "join", "bob", NULL);
	expect(a, "[\"joined\",\"bob\"]");
	expect(b, "[\"joined\",\"bob\"]");
	asockd_client_send_strings(c, "join", "carol", NULL);
	for (i = 0; i < 3; i++)
		expect(all[i], "[\"joined\",\"carol\"]");

	/* All three talk at once: everyone sees the same order. */
	say(a, "from a");
	say(b, "from b");
	say(c, "from c");
	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++)
			snprintf(seq[i][j], sizeof(seq[i][j]), "%s",
			    next_msg(all[i]));
	for (i = 1; i < 3; i++)
		for (j = 0; j < 3; j++)
			ck_assert_str_eq(seq[i][j], seq[0][j]);
	for (j = 0; j < 3; j++)
		ck_assert_msg(
		    strcmp(seq[0][j], "[\"msg\",\"alice\",\"from a\"]") == 0 ||
		    strcmp(seq[0][j], "[\"msg\",\"bob\",\"from b\"]") == 0 ||
		    strcmp(seq[0][j], "[\"msg\",\"carol\",\"from c\"]") == 0,
		    "unexpected %s", seq[0][j]);
	ck_assert_str_ne(seq[0][0], seq[0][1]);
	ck_assert_str_ne(seq[0][1], seq[0][2]);
	ck_assert_str_ne(seq[0][0], seq[0][2]);

	/* bob leaves (and sees it), stays connected, hears nothing more. */
	asockd_client_send_strings(b, "leave", NULL);
	for (i = 0; i < 3; i++)
		expect(all[i], "[\"left\",\"bob\"]");
	say(a, "still here");
	expect(a, "[\"msg\",\"alice\",\"still here\"]");
	expect(c, "[\"msg\",\"alice\",\"still here\"]");
	expect_nothing(b, 200);
	say(b, "ghost");
	expect(b, "[\"error\",\"not joined\"]");

	/* carol's connection closes while joined. */
	asockd_client_close(c);
	expect(a, "[\"left\",\"carol\"]");

	/* bob joins again and gets the history (the last 3 messages). */
	asockd_client_send_strings(b, "join", "bob", NULL);
	expect(b, seq[0][1]);
	expect(b, seq[0][2]);
	expect(b, "[\"msg\",\"alice\",\"still here\"]");
	expect(b, "[\"joined\",\"bob\"]");
	expect(a, "[\"joined\",\"bob\"]");

	asockd_client_close(a);
	expect(b, "[\"left\",\"alice\"]");
	asockd_client_close(b);
	stop();
}
END_TEST

/* Every bad command gets an error, and the connection stays usable. */
START_TEST(test_errors)
{
	struct asockd_client *a, *b;

	start();
	a = cl_open(0);
	b = cl_open(0);

	say(a, "too early");
	expect(a, "[\"error\",\"not joined\"]");
	asockd_client_send_strings(a, "leave", NULL);
	expect(a, "[\"error\",\"not joined\"]");
	asockd_client_send_strings(a, "join", "", NULL);
	expect(a, "[\"error\",\"bad nick: empty or too long\"]");
	asockd_client_send_strings(a, "join", "ninechars", NULL);
	expect(a, "[\"error\",\"bad nick: empty or too long\"]");
	asockd_client_send_strings(a, "join", "tab\there", NULL);
	expect(a, "[\"error\",\"bad nick: control character\"]");
	asockd_client_send_strings(a, "join", "alice", NULL);
	expect(a, "[\"joined\",\"alice\"]");
	asockd_client_send_strings(a, "join", "alice2", NULL);
	expect(a, "[\"error\",\"already joined\"]");

	/* Duplicate nick: b is refused, a hears nothing. */
	asockd_client_send_strings(b, "join", "alice", NULL);
	expect(b, "[\"error\",\"nick in use\"]");
	expect_nothing(a, 100);

	say(a, "");
	expect(a, "[\"error\",\"empty text\"]");
	say(a, "seventeen bytes!!");
	expect(a, "[\"error\",\"text too long\"]");
	say(a, "sixteen bytes!!!");
	expect(a, "[\"msg\",\"alice\",\"sixteen bytes!!!\"]");

	/* Garbage: a valid frame whose value is not an array. */
	asockd_client_wr_int(a, 42);
	ck_assert_int_eq(asockd_client_send(a, TMO), 0);
	expect(a, "[\"error\",\"malformed message: not an array\"]");
	asockd_client_wr_map(a, 1);
	asockd_client_wr_int(a, 1);
	asockd_client_wr_array(a, 0);
	ck_assert_int_eq(asockd_client_send(a, TMO), 0);
	expect(a, "[\"error\",\"malformed message: not an array\"]");
	asockd_client_wr_array(a, 0);
	ck_assert_int_eq(asockd_client_send(a, TMO), 0);
	expect(a, "[\"error\",\"malformed message: no command\"]");
	asockd_client_send_strings(a, "dance", NULL);
	expect(a, "[\"error\",\"unknown command\"]");
	asockd_client_send_strings(a, "say", NULL);
	expect(a, "[\"error\",\"malformed message: wrong arguments\"]");
	asockd_client_send_strings(a, "say", "x", "y", NULL);
	expect(a, "[\"error\",\"malformed message: wrong arguments\"]");
	asockd_client_wr_array(a, 2);
	asockd_client_wr_str(a, "say", 3);
	asockd_client_wr_int(a, 7);
	ck_assert_int_eq(asockd_client_send(a, TMO), 0);
	expect(a, "[\"error\",\"malformed message: wrong arguments\"]");

	/* Two commands in one frame are two commands. */
	asockd_client_wr_array(a, 2);
	asockd_client_wr_str(a, "say", 3);
	asockd_client_wr_str(a, "one", 3);
	asockd_client_wr_array(a, 2);
	asockd_client_wr_str(a, "say", 3);
	asockd_client_wr_str(a, "two", 3);
	ck_assert_int_eq(asockd_client_send(a, TMO), 0);
	expect(a, "[\"msg\",\"alice\",\"one\"]");
	expect(a, "[\"msg\",\"alice\",\"two\"]");

	/* Still connected and working after all that; b too. */
	say(a, "ok");
	expect(a, "[\"msg\",\"alice\",\"ok\"]");
	asockd_client_send_strings(b, "join", "bob", NULL);
	/* b gets the last 3 messages first. */
	expect(b, "[\"msg\",\"alice\",\"one\"]");
	expect(b, "[\"msg\",\"alice\",\"two\"]");
	expect(b, "[\"msg\",\"alice\",\"ok\"]");
	expect(b, "[\"joined\",\"bob\"]");
	expect(a, "[\"joined\",\"bob\"]");
	asockd_client_close(a);
	asockd_client_close(b);
	stop();
}
END_TEST

/* History is per listener: the unix room does not see the tcp one. */
START_TEST(test_rooms)
{
	struct asockd_client *t, *u;

	start();
	t = cl_open(0);
	u = cl_open(1);
	asockd_client_send_strings(t, "join", "same", NULL);
	expect(t, "[\"joined\",\"same\"]");
	say(t, "tcp only");
	expect(t, "[\"msg\",\"same\",\"tcp only\"]");
	/* The same nick is free in the other room, with no history. */
	asockd_client_send_strings(u, "join", "same", NULL);
	expect(u, "[\"joined\",\"same\"]");
	expect_nothing(t, 100);
	asockd_client_close(t);
	asockd_client_close(u);
	stop();
}
END_TEST

static Suite *
chat_suite(void)
{
	Suite *s;
	TCase *tc;

	s = suite_create("chat");
	tc = tcase_create("chat");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_three_clients, 0, 2);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_rooms);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	return (h_run_suite(chat_suite()));
}
