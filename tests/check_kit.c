/*
 * check_kit.c - libasockd-test (<asockd/test.h>) tested by use: the
 * bundled plugins (echo, chargen, http, chat) and the contract probe run
 * under the kit, with its contract checks, and plugins linked into this
 * file pin the kit's own rules (no nesting, close after the callback,
 * the virtual clock, outbound connects, backpressure).  Nothing here
 * starts the daemon or opens a socket.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <asockd/test.h>

static struct asockd_test *
load(const char *name, const char *ini)
{
	struct asockd_test	*t;
	const char		*dir;
	char			 path[4096], *err = NULL;

	dir = strcmp(name, "probe") == 0 || strcmp(name, "kitbad") == 0 ?
	    getenv("ASOCKD_TEST_PLUGIN_DIR") : getenv("ASOCKD_PLUGIN_DIR");
	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/%s.so", dir, name);
	t = asockd_test_load(path, ini, &err);
	ck_assert_msg(t != NULL, "%s: %s", path, err ? err : "?");
	return t;
}

/* The whole output of c as a string (the tests' outputs are text). */
static const char *
out(struct asockd_conn *c)
{
	size_t	 len;

	return asockd_test_output(c, &len);
}

static void
contract(struct asockd_test *t, struct asockd_listener *l, const char *in,
    size_t len)
{
	int	 n = asockd_test_contract(l, in, len);

	ck_assert_msg(n == 0, "%d problems:\n%s%s", n, asockd_test_report(t),
	    asockd_test_violations(t));
}

/* ---------------------------------------------------------------- echo */

START_TEST(test_echo_raw)
{
	struct asockd_test	*t = load("echo", NULL);
	struct asockd_listener	*l;
	struct asockd_conn	*c;

	l = asockd_test_listener(t, "echo", ASOCKD_TCP, ASOCKD_TEST_RAW);
	ck_assert_int_eq(asockd_test_accept(l, "192.0.2.1:4000", &c), 0);
	ck_assert_int_eq(asockd_test_feed_chunks(c, "hello, world", 12, 5),
	    0);
	ck_assert_str_eq(out(c), "hello, world");
	ck_assert_int_eq(asockd_test_closed(c), 0);
	ck_assert_int_eq(asockd_test_eof(c), 0);
	ck_assert_int_eq(asockd_test_closed(c), ASOCKD_CLOSE_PEER);
	ck_assert_int_eq(asockd_test_peer_eof(c), 1);
	ck_assert_int_eq(asockd_test_feed(c, "x", 1), -EPIPE);
	ck_assert_int_eq(asockd_test_nviolations(t), 0);
	asockd_test_free(t);
}
END_TEST

START_TEST(test_echo_framed)
{
	struct asockd_test	*t = load("echo", NULL);
	struct asockd_listener	*line, *len;
	struct asockd_conn	*c, *d;
	const char		*m;
	size_t			 n;

	line = asockd_test_listener(t, "line", ASOCKD_TCP, ASOCKD_TEST_LINE);
	len = asockd_test_listener(t, "len", ASOCKD_UNIX, ASOCKD_TEST_LENGTH);
	ck_assert_int_eq(asockd_test_accept(line, NULL, &c), 0);
	ck_assert_int_eq(asockd_test_feed(c, "a\r\nbc", 5), 0);
	ck_assert_int_eq(asockd_test_feed(c, "d\n", 2), 0);
	ck_assert_ptr_nonnull(m = asockd_test_message(c, &n));
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(m[0], 'a');
	ck_assert_ptr_nonnull(m = asockd_test_message(c, &n));
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(memcmp(m, "bcd", 3), 0);
	ck_assert_ptr_null(asockd_test_message(c, &n));

	/* a zero-length frame breaks the framing: protocol, aborted */
	ck_assert_int_eq(asockd_test_accept(len, NULL, &d), 0);
	ck_assert_int_eq(asockd_test_feed(d, "\0\0\0\2hi", 6), 0);
	ck_assert_ptr_nonnull(m = asockd_test_message(d, &n));
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(asockd_test_feed(d, "\0\0\0\0", 4), 0);
	ck_assert_int_eq(asockd_test_closed(d), ASOCKD_CLOSE_PROTOCOL);
	ck_assert_int_eq(asockd_test_peer_eof(d), 2);
	ck_assert_ptr_nonnull(strstr(asockd_test_log(t),
	    "zero-length frame"));
	asockd_test_free(t);
}
END_TEST

START_TEST(test_echo_backpressure)
{
	struct asockd_test	*t = load("echo", NULL);
	struct asockd_listener	*l;
	struct asockd_conn	*c;
	char			 big[3000];
	size_t			 n;

	memset(big, 'x', sizeof(big));
	l = asockd_test_listener(t, "echo", ASOCKD_TCP, ASOCKD_TEST_RAW);
	ck_assert_int_eq(asockd_test_option(l, "sndbuf", 100), 0);
	ck_assert_int_eq(asockd_test_option(l, "sndq_high", 1000), 0);
	ck_assert_int_eq(asockd_test_option(l, "sndq_low", 10), 0);
	ck_assert_int_eq(asockd_test_option(l, "nonsense", 1), -EINVAL);
	ck_assert_int_eq(asockd_test_accept(l, NULL, &c), 0);
	ck_assert_int_eq(asockd_test_peer_reading(c, 0), 0);
	/* 100 bytes fill the socket, 1900 queue: over the mark */
	ck_assert_int_eq(asockd_test_feed(c, big, 2000), 0);
	/* these wait: a backpressured connection is handed nothing */
	ck_assert_int_eq(asockd_test_feed(c, big, 1000), 0);
	asockd_test_output(c, &n);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(asockd_test_peer_reading(c, 1), 0);
	asockd_test_run(t, 100);
	asockd_test_output(c, &n);
	ck_assert_int_eq(n, 3000);
	ck_assert_int_eq(asockd_test_closed(c), 0);
	asockd_test_free(t);
}
END_TEST

START_TEST(test_echo_overflow)
{
	struct asockd_test	*t = load("echo", NULL);
	struct asockd_listener	*l;
	struct asockd_conn	*c;
	char			 big[5000];

	memset(big, 'y', sizeof(big));
	l = asockd_test_listener(t, "echo", ASOCKD_TCP, ASOCKD_TEST_RAW);
	ck_assert_int_eq(asockd_test_option(l, "sndbuf", 0), 0);
	ck_assert_int_eq(asockd_test_option(l, "sndq_max", 4096), 0);
	ck_assert_int_eq(asockd_test_accept(l, NULL, &c), 0);
	ck_assert_int_eq(asockd_test_peer_reading(c, 0), 0);
	ck_assert_int_eq(asockd_test_feed(c, big, sizeof(big)), 0);
	ck_assert_int_eq(asockd_test_closed(c), ASOCKD_CLOSE_OVERFLOW);
	asockd_test_free(t);
}
END_TEST

START_TEST(test_echo_datagram)
{
	struct asockd_test	*t = load("echo", NULL);
	struct asockd_listener	*l;
	const char		*d;
	char			 to[64];
	size_t			 n;

	l = asockd_test_listener(t, "udp", ASOCKD_UDP, ASOCKD_TEST_RAW);
	ck_assert_ptr_null(asockd_test_listener(t, "x", ASOCKD_UDP,
	    ASOCKD_TEST_LINE));
	ck_assert_int_eq(asockd_test_datagram(l, "ping", 4,
	    "[2001:db8::1]:53"), 0);
	ck_assert_ptr_nonnull(d = asockd_test_sent_datagram(l, &n, to,
	    sizeof(to)));
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(memcmp(d, "ping", 4), 0);
	ck_assert_str_eq(to, "[2001:db8::1]:53");
	ck_assert_ptr_null(asockd_test_sent_datagram(l, &n, NULL, 0));
	asockd_test_free(t);
}
END_TEST

START_TEST(test_echo_contract)
{
	struct asockd_test	*t = load("echo", NULL);
	static const char	 archive[] = "\0\0\0\x05\x92\xa1" "a\xc3\x01";

	contract(t, asockd_test_listener(t, "raw", ASOCKD_TCP,
	    ASOCKD_TEST_RAW), "hello\nworld\n", 12);
	contract(t, asockd_test_listener(t, "line", ASOCKD_TCP,
	    ASOCKD_TEST_LINE), "one\r\ntwo\nthree\n", 15);
	contract(t, asockd_test_listener(t, "len", ASOCKD_TCP,
	    ASOCKD_TEST_LENGTH), "\0\0\0\3abc\0\0\0\1z", 12);
	contract(t, asockd_test_listener(t, "archive", ASOCKD_TCP,
	    ASOCKD_TEST_ARCHIVE), archive, sizeof(archive) - 1);
	asockd_test_free(t);
}
END_TEST

/* ---------------------------------------------------------------- chargen */

START_TEST(test_chargen_settings)
{
	struct asockd_test	*t;
	char			*err = NULL;
	char			 path[4096];

	snprintf(path, sizeof(path), "%s/chargen.so",
	    getenv("ASOCKD_PLUGIN_DIR"));
	t = asockd_test_load(path, "[chargen]\nline_length = 0\n", &err);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "ini:2: [chargen] line_length") != NULL,
	    "%s", err);
	free(err);
	t = asockd_test_load(path, "[chargen]\ncolour = red\n", &err);
	ck_assert_ptr_null(t);
	ck_assert_msg(strstr(err, "ini:2: [chargen] colour: unknown") !=
	    NULL, "%s", err);
	free(err);
	ck_assert_ptr_null(asockd_test_load("/nonexistent/x.so", NULL,
	    &err));
	ck_assert_ptr_nonnull(strstr(err, "cannot load"));
	free(err);
}
END_TEST

START_TEST(test_chargen_flow)
{
	struct asockd_test	*t = load("chargen",
	    "[chargen]\nline_length = 10\n");
	struct asockd_listener	*l;
	struct asockd_conn	*c;
	size_t			 n, m;
	const char		*o;

	l = asockd_test_listener(t, "chargen", ASOCKD_TCP, ASOCKD_TEST_RAW);
	ck_assert_int_eq(asockd_test_option(l, "sndq_high", 4096), 0);
	ck_assert_int_eq(asockd_test_option(l, "sndq_low", 1024), 0);
	ck_assert_int_eq(asockd_test_option(l, "sndbuf", 1024), 0);
	ck_assert_int_eq(asockd_test_accept(l, NULL, &c), 0);
	/* the peer read a socketful; now it stops */
	ck_assert_int_eq(asockd_test_peer_reading(c, 0), 0);
	asockd_test_output_clear(c);
	asockd_test_run(t, 20);
	o = asockd_test_output(c, &n);
	ck_assert_int_eq(n, 0);
	/* it filled until writable() turned 0, then waits for on_send */
	ck_assert_int_eq(asockd_test_peer_reading(c, 1), 0);
	o = asockd_test_output(c, &n);
	ck_assert_uint_gt(n, 4096);
	ck_assert_ptr_nonnull(memmem(o, n, "\r\n!\"#$%&'()*\r\n", 14));
	asockd_test_run(t, 20);
	asockd_test_output(c, &m);
	ck_assert_uint_gt(m, n);	/* on_send refilled it */
	contract(t, l, "ignored", 7);
	asockd_test_free(t);
}
END_TEST

/* ---------------------------------------------------------------- http */

START_TEST(test_http)
{
	struct asockd_test	*t = load("http",
	    "[http]\nbody = hi\\n\nheader_timeout = 5\n");
	struct asockd_listener	*l;
	struct asockd_conn	*c, *d;
	static const char	 req[] = "GET / HTTP/1.1\r\nHost: x\r\n"
	    "Connection: close\r\n\r\n";

	l = asockd_test_listener(t, "http", ASOCKD_TCP, ASOCKD_TEST_RAW);
	ck_assert_int_eq(asockd_test_accept(l, NULL, &c), 0);
	ck_assert_int_eq(asockd_test_feed_chunks(c, req, sizeof(req) - 1, 3),
	    0);
	ck_assert_msg(strncmp(out(c), "HTTP/1.1 200", 12) == 0, "%s", out(c));
	ck_assert_ptr_nonnull(strstr(out(c), "\r\n\r\nhi\n"));
	ck_assert_int_eq(asockd_test_closed(c), ASOCKD_CLOSE_LOCAL);

	/* half a request head, then the header timeout on the clock */
	ck_assert_int_eq(asockd_test_accept(l, NULL, &d), 0);
	ck_assert_int_eq(asockd_test_feed(d, "GET / HT", 8), 0);
	asockd_test_advance(t, 4.5);
	ck_assert_int_eq(asockd_test_closed(d), 0);
	asockd_test_advance(t, 1);
	ck_assert_msg(strncmp(out(d), "HTTP/1.1 408", 12) == 0, "%s", out(d));
	asockd_test_advance(t, 60);
	ck_assert_int_ne(asockd_test_closed(d), 0);

	contract(t, l, req, sizeof(req) - 1);
	ck_assert_int_eq(asockd_test_nviolations(t), 0);
	asockd_test_free(t);
}
END_TEST

/* ---------------------------------------------------------------- chat */

/* A frame of ["cmd", arg] (arg NULL: ["cmd"]) into buf; its length. */
static size_t
chat_frame(unsigned char *buf, const char *cmd, const char *arg)
{
	size_t	 n = 4, cl = strlen(cmd), al = arg ? strlen(arg) : 0;

	buf[n++] = arg ? 0x92 : 0x91;
	buf[n++] = 0xa0 | cl;
	memcpy(buf + n, cmd, cl);
	n += cl;
	if (arg != NULL) {
		buf[n++] = 0xa0 | al;
		memcpy(buf + n, arg, al);
		n += al;
	}
	buf[0] = buf[1] = 0;
	buf[2] = (n - 4) >> 8;
	buf[3] = n - 4;
	return n;
}

START_TEST(test_chat)
{
	struct asockd_test	*t = load("chat", "[chat]\nhistory = 2\n");
	struct asockd_listener	*l;
	struct asockd_conn	*a, *b;
	unsigned char		 f[128], session[256];
	const unsigned char	*m;
	size_t			 n, len;

	l = asockd_test_listener(t, "room", ASOCKD_TCP, ASOCKD_TEST_ARCHIVE);
	ck_assert_int_eq(asockd_test_accept(l, NULL, &a), 0);
	ck_assert_int_eq(asockd_test_accept(l, NULL, &b), 0);
	n = chat_frame(f, "join", "ann");
	ck_assert_int_eq(asockd_test_feed(a, f, n), 0);
	n = chat_frame(f, "join", "bob");
	ck_assert_int_eq(asockd_test_feed_chunks(b, f, n, 1), 0);
	n = chat_frame(f, "say", "hi");
	ck_assert_int_eq(asockd_test_feed(a, f, n), 0);
	/* ann saw: joined ann, joined bob, msg ann hi */
	ck_assert_ptr_nonnull(m = asockd_test_message(a, &n));
	ck_assert_ptr_nonnull(m = asockd_test_message(a, &n));
	ck_assert_ptr_nonnull(m = asockd_test_message(a, &n));
	ck_assert_int_eq(n, 1 + 4 + 4 + 3);
	ck_assert_int_eq(memcmp(m, "\x93\xa3msg\xa3" "ann\xa2hi", n), 0);
	/* bob leaves by reset: ann sees ["left", "bob"] */
	ck_assert_int_eq(asockd_test_reset(b), 0);
	ck_assert_int_eq(asockd_test_closed(b), ASOCKD_CLOSE_RESET);
	ck_assert_ptr_nonnull(m = asockd_test_message(a, &n));
	ck_assert_int_eq(memcmp(m, "\x92\xa4left\xa3" "bob", n), 0);

	len = chat_frame(session, "join", "cy");
	len += chat_frame(session + len, "say", "yo");
	len += chat_frame(session + len, "leave", NULL);
	contract(t, l, (const char *)session, len);
	asockd_test_free(t);
}
END_TEST

/* ---------------------------------------------------------------- others */

/* discard, daytime and time keep the contract too (TCP and UDP). */
START_TEST(test_small_plugins)
{
	static const char	*names[] = { "discard", "daytime", "time" };
	struct asockd_test	*t;
	struct asockd_listener	*l, *u;
	const void		*d;
	size_t			 i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		t = load(names[i], NULL);
		l = asockd_test_listener(t, names[i], ASOCKD_TCP,
		    ASOCKD_TEST_RAW);
		contract(t, l, "some bytes\r\n", 12);
		u = asockd_test_listener(t, "udp", ASOCKD_UDP,
		    ASOCKD_TEST_RAW);
		ck_assert_int_eq(asockd_test_datagram(u, "?", 1, NULL), 0);
		d = asockd_test_sent_datagram(u, &n, NULL, 0);
		/* discard answers nothing; daytime and time answer */
		ck_assert_int_eq(d != NULL, strcmp(names[i], "discard") != 0);
		ck_assert_int_eq(asockd_test_nviolations(t), 0);
		asockd_test_free(t);
	}
}
END_TEST

/* ---------------------------------------------------------------- probe */

START_TEST(test_probe)
{
	struct asockd_test	*t = load("probe", NULL);
	struct asockd_listener	*l;
	struct asockd_conn	*c;

	l = asockd_test_listener(t, "probe", ASOCKD_TCP, ASOCKD_TEST_RAW);
	ck_assert_int_eq(asockd_test_accept(l, NULL, &c), 0);
	ck_assert_int_eq(asockd_test_feed(c, "echo hi\nti", 10), 0);
	ck_assert_int_eq(asockd_test_feed(c, "mer 1500\n", 9), 0);
	ck_assert_str_eq(out(c), "hi\n");
	asockd_test_advance(t, 1.4);
	ck_assert_str_eq(out(c), "hi\n");
	asockd_test_advance(t, 0.2);
	ck_assert_str_eq(out(c), "hi\ntick\n");
	ck_assert_int_eq(asockd_test_feed(c, "close\n", 6), 0);
	ck_assert_str_eq(out(c), "hi\ntick\nbye\n");
	ck_assert_int_eq(asockd_test_closed(c), ASOCKD_CLOSE_LOCAL);
	ck_assert_ptr_null(strstr(asockd_test_log(t), "NESTED"));
	ck_assert_msg(strstr(asockd_test_log(t), "send after close rc=-32") !=
	    NULL, "%s", asockd_test_log(t));
	contract(t, l, "echo a\necho b\ntimer 10\n", 23);
	asockd_test_free(t);
}
END_TEST

/* ---------------------------------------------------------------- kitbad */

START_TEST(test_contract_catches)
{
	struct asockd_test	*t = load("kitbad", NULL);
	struct asockd_listener	*l;
	const char		*r, *v;

	l = asockd_test_listener(t, "bad", ASOCKD_TCP, ASOCKD_TEST_RAW);
	ck_assert_int_gt(asockd_test_contract(l, "abc", 3), 0);
	r = asockd_test_report(t);
	v = asockd_test_violations(t);
	ck_assert_msg(strstr(r, "split at byte 1: output differs") != NULL,
	    "%s", r);
	ck_assert_msg(strstr(v, "host->send after on_close") != NULL, "%s",
	    v);
	ck_assert_msg(strstr(v, "timer_stop on a timer already freed") !=
	    NULL, "%s", v);
	asockd_test_free(t);
}
END_TEST

/* ---------------------------------------------------------------- linked */

/*
 * A plugin linked into this file: it records the order of its
 * callbacks and checks that none runs inside another.
 */
static const struct asockd_host *lh;
static struct asockd_instance *linst;
static int ldepth, lnested, lcloses, lconnect_err = 1;
static char ltrace[1024];

#define ENTER(what) do {						\
	if (ldepth++ > 0)						\
		lnested++;						\
	strncat(ltrace, what " ", sizeof(ltrace) - strlen(ltrace) - 1); \
} while (0)
#define LEAVE()	ldepth--

static int
l_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	lh = h;
	linst = inst;
	return 0;
}

static void
l_tick(struct asockd_timer *tm, void *arg)
{
	ENTER("tick");
	(void)lh->send(arg, "tick\n", 5);
	LEAVE();
}

static size_t
l_receive(struct asockd_conn *c, const void *data, size_t len)
{
	struct asockd_conn	*o;

	ENTER("receive");
	if (len >= 5 && memcmp(data, "close", 5) == 0) {
		ck_assert_int_eq(lh->close(c), 0);
		ck_assert_int_eq(lh->close(c), -EALREADY);
		/* the close waits for the callback: no on_close yet */
		ck_assert_int_eq(lcloses, 0);
		ck_assert_int_eq(lh->send(c, "x", 1), -EPIPE);
	} else if (len >= 5 && memcmp(data, "timer", 5) == 0)
		ck_assert_ptr_nonnull(lh->timer_start(linst, c, 5, 0, l_tick,
		    c));
	else if (len >= 7 && memcmp(data, "connect", 7) == 0) {
		ck_assert_int_eq(lh->connect(linst, "udp://1.2.3.4:5", NULL,
		    &o), -EPROTONOSUPPORT);
		ck_assert_int_eq(lh->connect(linst, "nonsense", NULL, &o),
		    -EINVAL);
		ck_assert_int_eq(lh->connect(linst, "tcp://192.0.2.9:80", c,
		    &o), 0);
		ck_assert_int_eq(lh->send(o, "early", 5), -ENOTCONN);
	} else
		(void)lh->send(c, data, len);
	LEAVE();
	return len;
}

static void
l_connect(struct asockd_conn *c, int err)
{
	ENTER("connect");
	lconnect_err = err;
	if (err == 0)
		(void)lh->send(c, "GET\n", 4);
	LEAVE();
}

static void
l_close(struct asockd_conn *c, int reason)
{
	ENTER("close");
	lcloses++;
	ck_assert_int_eq(lh->send(c, "x", 1), -EPIPE);
	ck_assert_int_eq(lh->close(c), -EALREADY);
	LEAVE();
}

static const struct asockd_setting l_settings[] = {
	{ .section = "l", .name = "n", .type = ASOCKD_SET_INT, .def = "7",
	  .min = 1, .max = 10, .help = "a number" },
	{ .name = NULL }
};

static const struct asockd_plugin ldesc = {
	.abi_major = ASOCKD_ABI_MAJOR,
	.abi_minor = 2,
	.size = sizeof(struct asockd_plugin),
	.setting_size = sizeof(struct asockd_setting),
	.name = "linked",
	.init = l_init,
	.on_receive = l_receive,
	.on_connect = l_connect,
	.on_close = l_close,
	.settings = l_settings,
};

static void
lreset(void)
{
	ldepth = lnested = lcloses = 0;
	lconnect_err = 1;
	ltrace[0] = '\0';
}

START_TEST(test_linked_rules)
{
	struct asockd_plugin	 newer;
	struct asockd_test	*t;
	struct asockd_listener	*l;
	struct asockd_conn	*c;
	long long		 v;
	char			*err;

	lreset();
	ck_assert_ptr_null(asockd_test_new(&ldesc, "[l]\nn = 11\n", &err));
	ck_assert_msg(strstr(err, "ini:2:") != NULL, "%s", err);
	free(err);
	/* a newer SDK's plugin, or another major, is refused */
	newer = ldesc;
	newer.abi_minor = ASOCKD_ABI_MINOR + 1;
	ck_assert_ptr_null(asockd_test_new(&newer, NULL, &err));
	ck_assert_msg(strstr(err, "was built for plugin ABI") != NULL, "%s",
	    err);
	free(err);
	newer.abi_minor = 0;
	newer.abi_major = ASOCKD_ABI_MAJOR + 1;
	ck_assert_ptr_null(asockd_test_new(&newer, NULL, NULL));
	ck_assert_ptr_nonnull(t = asockd_test_new(&ldesc, "[l]\n", NULL));
	/* the 1.2 table, whatever minor the SDK is at */
	ck_assert_int_eq(lh->abi_minor, ASOCKD_TEST_ABI_MINOR);
	ck_assert_uint_eq(lh->size, offsetof(struct asockd_host, wr_raw) +
	    sizeof(lh->wr_raw));
	/* the table's default, whatever def the getter gives */
	ck_assert_int_eq(lh->ini_int(linst, "l", "n", 99, &v), 0);
	ck_assert_int_eq(v, 7);
	l = asockd_test_listener(t, "l", ASOCKD_TCP, ASOCKD_TEST_RAW);
	ck_assert_int_eq(asockd_test_accept(l, "[::1]:999", &c), 0);
	ck_assert_str_eq(lh->peer_name(c), "[::1]:999");
	ck_assert_int_eq(asockd_test_feed(c, "close", 5), 0);
	ck_assert_int_eq(lcloses, 1);
	ck_assert_int_eq(asockd_test_closed(c), ASOCKD_CLOSE_LOCAL);
	ck_assert_str_eq(ltrace, "receive close ");
	ck_assert_int_eq(lnested, 0);
	/* the handle is a tombstone: using it is a violation, not a crash */
	ck_assert_int_eq(lh->send(c, "x", 1), -EPIPE);
	ck_assert_int_eq(asockd_test_nviolations(t), 1);
	ck_assert_ptr_nonnull(strstr(asockd_test_violations(t),
	    "host->send after on_close"));
	asockd_test_free(t);
}
END_TEST

START_TEST(test_linked_clock)
{
	struct asockd_test	*t;
	struct asockd_listener	*l;
	struct asockd_conn	*c, *d;

	lreset();
	ck_assert_ptr_nonnull(t = asockd_test_new(&ldesc, NULL, NULL));
	l = asockd_test_listener(t, "l", ASOCKD_TCP, ASOCKD_TEST_RAW);
	ck_assert_int_eq(asockd_test_option(l, "idle_timeout", 20), 0);
	ck_assert_int_eq(asockd_test_accept(l, NULL, &c), 0);
	ck_assert_int_eq(asockd_test_feed(c, "timer", 5), 0);
	asockd_test_advance(t, 4.9);
	ck_assert_str_eq(out(c), "");
	asockd_test_advance(t, 0.2);
	ck_assert_str_eq(out(c), "tick\n");
	ck_assert(asockd_test_now(t) > 5.0 && asockd_test_now(t) < 5.2);
	/* idle since the tick went out at 5 s: closed at 25 s */
	asockd_test_advance(t, 19.8);
	ck_assert_int_eq(asockd_test_closed(c), 0);
	asockd_test_advance(t, 0.2);
	ck_assert_int_eq(asockd_test_closed(c), ASOCKD_CLOSE_TIMEOUT);

	/* with output queued the idle timeout aborts */
	ck_assert_int_eq(asockd_test_option(l, "sndbuf", 0), 0);
	ck_assert_int_eq(asockd_test_accept(l, NULL, &d), 0);
	ck_assert_int_eq(asockd_test_peer_reading(d, 0), 0);
	ck_assert_int_eq(asockd_test_feed(d, "data", 4), 0);
	asockd_test_advance(t, 21);
	ck_assert_int_eq(asockd_test_closed(d), ASOCKD_CLOSE_TIMEOUT);
	ck_assert_int_eq(asockd_test_peer_eof(d), 2);
	ck_assert_int_eq(lnested, 0);
	asockd_test_free(t);
}
END_TEST

START_TEST(test_linked_connect)
{
	struct asockd_test	*t;
	struct asockd_listener	*l;
	struct asockd_conn	*c, *o;
	const char		*target;

	lreset();
	ck_assert_ptr_nonnull(t = asockd_test_new(&ldesc, NULL, NULL));
	l = asockd_test_listener(t, "l", ASOCKD_TCP, ASOCKD_TEST_RAW);
	ck_assert_int_eq(asockd_test_accept(l, NULL, &c), 0);
	ck_assert_int_eq(asockd_test_feed(c, "connect", 7), 0);
	ck_assert_ptr_nonnull(o = asockd_test_connect_next(t, &target));
	ck_assert_str_eq(target, "tcp://192.0.2.9:80");
	ck_assert_int_eq(asockd_test_connect_finish(o, -ECONNREFUSED), 0);
	ck_assert_int_eq(lconnect_err, -ECONNREFUSED);
	ck_assert_int_eq(asockd_test_closed(o), ASOCKD_CLOSE_CONNECT);
	ck_assert_int_eq(asockd_test_connect_finish(o, 0), -EALREADY);
	ck_assert_int_eq(lcloses, 0);	/* a failed connect: no on_close */

	ck_assert_int_eq(asockd_test_feed(c, "connect", 7), 0);
	ck_assert_ptr_nonnull(o = asockd_test_connect_next(t, NULL));
	ck_assert_int_eq(asockd_test_connect_finish(o, 0), 0);
	ck_assert_int_eq(lconnect_err, 0);
	ck_assert_str_eq(out(o), "GET\n");
	ck_assert_int_eq(asockd_test_feed(o, "back", 4), 0);
	ck_assert_str_eq(out(o), "GET\nback");
	ck_assert_int_eq(asockd_test_eof(o), 0);
	ck_assert_int_eq(asockd_test_closed(o), ASOCKD_CLOSE_PEER);
	ck_assert_int_eq(lcloses, 1);
	ck_assert_ptr_null(asockd_test_connect_next(t, NULL));
	ck_assert_int_eq(lnested, 0);
	asockd_test_free(t);
	ck_assert_int_eq(lcloses, 2);	/* c, closed by the shutdown */
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("kit");
	TCase	*tc = tcase_create("kit");
	SRunner	*sr;
	int	 failed, ran;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_echo_raw);
	tcase_add_test(tc, test_echo_framed);
	tcase_add_test(tc, test_echo_backpressure);
	tcase_add_test(tc, test_echo_overflow);
	tcase_add_test(tc, test_echo_datagram);
	tcase_add_test(tc, test_echo_contract);
	tcase_add_test(tc, test_chargen_settings);
	tcase_add_test(tc, test_chargen_flow);
	tcase_add_test(tc, test_http);
	tcase_add_test(tc, test_chat);
	tcase_add_test(tc, test_small_plugins);
	tcase_add_test(tc, test_probe);
	tcase_add_test(tc, test_contract_catches);
	tcase_add_test(tc, test_linked_rules);
	tcase_add_test(tc, test_linked_clock);
	tcase_add_test(tc, test_linked_connect);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	ran = srunner_ntests_run(sr);
	srunner_free(sr);
	/* CK_RUN_CASE=typo runs nothing and would pass */
	if (ran == 0) {
		fprintf(stderr, "no tests ran\n");
		return 1;
	}
	return failed == 0 ? 0 : 1;
}
