/*
 * check_framing.c - framed listeners end to end: the echo plugin on line,
 * length and archive listeners gets whole messages and answers each in the
 * same framing; peers that break the framing (an over-long line or frame,
 * a zero length, a truncated frame at close, a bad MessagePack payload)
 * are aborted (a TCP peer gets a reset) with a log line naming them, while
 * other connections keep working.
 */
#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static const char *conf =
"daemon: { workers = 1; };\n"
"plugins: { echo = { path = \"echo.so\"; }; };\n"
"listeners: (\n"
"  { name = \"line\"; listen = \"tcp://127.0.0.1:0\"; plugin = \"echo\";\n"
"    framing = \"line\"; max_line = 16; },\n"
"  { name = \"length\"; listen = \"tcp://127.0.0.1:0\"; plugin = \"echo\";\n"
"    framing = \"length\"; max_frame = 64; },\n"
"  { name = \"archive\"; listen = \"unix:@TMP@/archive.sock\";\n"
"    plugin = \"echo\"; framing = \"archive\"; max_frame = 64; }\n"
");\n";

static struct daemon *d;

static void
setup(void)
{
	d = h_daemon_start(conf, NULL);
	ck_assert_msg(d != NULL, "daemon did not start");
}

static void
teardown(void)
{
	ck_assert_int_eq(h_daemon_stop(d, 10000), 0);
	h_daemon_free(d);
}

static int
dial(const char *name)
{
	char	 path[600];
	int	 fd;

	if (strcmp(name, "archive") == 0) {
		snprintf(path, sizeof(path), "%s/archive.sock", h_tmpdir());
		fd = h_unix_connect(path);
	} else
		fd = h_tcp_connect("127.0.0.1", h_port(d, name));
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* The daemon aborted a TCP peer: its reads end with a reset, not EOF. */
static void
expect_reset(int fd)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	char		 buf[256];
	ssize_t		 r;
	int		 i;

	for (i = 0; i < 100; i++) {
		ck_assert_int_gt(poll(&pfd, 1, 5000), 0);
		if ((r = read(fd, buf, sizeof(buf))) > 0)
			continue;	/* replies sent before the error */
		ck_assert_msg(r == -1 && errno == ECONNRESET,
		    "read: %zd (%s), not a reset", r,
		    r == -1 ? strerror(errno) : "end of stream");
		return;
	}
	ck_abort_msg("no reset");
}

static void
frame(unsigned char *out, const void *payload, size_t len)
{
	out[0] = len >> 24;
	out[1] = len >> 16;
	out[2] = len >> 8;
	out[3] = len;
	memcpy(out + 4, payload, len);
}

START_TEST(test_line_messages)
{
	char	 buf[64];
	int	 fd = dial("line");

	/* CRLF and LF; two lines in one write; one line over two writes */
	ck_assert_int_eq(h_write_all(fd, "one\r\ntwo\nthr", 12), 12);
	usleep(50000);
	ck_assert_int_eq(h_write_all(fd, "ee\n\n", 4), 4);
	ck_assert_int_eq(h_read_n(fd, buf, 15, 5000), 15);
	buf[15] = '\0';
	ck_assert_str_eq(buf, "one\ntwo\nthree\n\n");
	close(fd);
}
END_TEST

START_TEST(test_line_too_long)
{
	int	 bad = dial("line"), good = dial("line");
	char	 buf[8];

	ck_assert_int_eq(h_write_all(bad, "0123456789abcdefXYZ", 19), 19);
	expect_reset(bad);
	ck_assert(h_log_wait(d, "framing error: line too long", 5000));
	ck_assert(h_log_wait(d, "closed (protocol)", 5000));
	/* the message names the peer */
	ck_assert(h_log_wait(d, "listener line conn 1 peer 127.0.0.1:", 5000));
	ck_assert_int_eq(h_write_all(good, "ok\n", 3), 3);
	ck_assert_int_eq(h_read_n(good, buf, 3, 5000), 3);
	ck_assert(memcmp(buf, "ok\n", 3) == 0);
	close(bad);
	close(good);
}
END_TEST

START_TEST(test_length_messages)
{
	unsigned char	 out[200], in[200];
	int		 fd = dial("length");

	frame(out, "hello", 5);
	frame(out + 9, "\0binary\0", 8);
	ck_assert_int_eq(h_write_all(fd, out, 21), 21);
	ck_assert_int_eq(h_read_n(fd, in, 21, 5000), 21);
	ck_assert(memcmp(in, out, 21) == 0);
	/* exactly max_frame */
	memset(out + 4, 'x', 64);
	frame(out, out + 4, 64);
	ck_assert_int_eq(h_write_all(fd, out, 68), 68);
	ck_assert_int_eq(h_read_n(fd, in, 68, 5000), 68);
	ck_assert(memcmp(in, out, 68) == 0);
	close(fd);
}
END_TEST

START_TEST(test_length_violations)
{
	static const unsigned char zero[4] = { 0, 0, 0, 0 };
	static const unsigned char huge[4] = { 0xff, 0xff, 0xff, 0xff };
	static const unsigned char over[4] = { 0, 0, 0, 65 };
	static const unsigned char part[6] = { 0, 0, 0, 10, 'a', 'b' };
	const unsigned char *bad[] = { zero, huge, over };
	int	 fd, i;

	for (i = 0; i < 3; i++) {
		fd = dial("length");
		ck_assert_int_eq(h_write_all(fd, bad[i], 4), 4);
		expect_reset(fd);
		close(fd);
	}
	ck_assert(h_log_wait(d, "zero-length frame", 5000));
	ck_assert_int_ge(h_log_count(d, "frame too large"), 2);
	/* truncated at end of stream */
	fd = dial("length");
	ck_assert_int_eq(h_write_all(fd, part, 6), 6);
	shutdown(fd, SHUT_WR);
	expect_reset(fd);
	ck_assert(h_log_wait(d, "truncated frame at end of stream", 5000));
	close(fd);
	for (i = 0; i < 50 && h_log_count(d, "closed (protocol)") < 4; i++)
		usleep(100000);
	ck_assert_int_eq(h_log_count(d, "closed (protocol)"), 4);
}
END_TEST

START_TEST(test_archive_messages)
{
	/* ["say", "hi"] and 7, two values in one frame */
	static const unsigned char mp[] = { 0x92, 0xa3, 's', 'a', 'y',
	    0xa2, 'h', 'i', 0x07 };
	/* a string that is not UTF-8 */
	static const unsigned char notutf8[] = { 0xa2, 0xc3, 0x28 };
	unsigned char	 out[64], in[64];
	int		 fd = dial("archive"), fd2 = dial("archive");

	frame(out, mp, sizeof(mp));
	ck_assert_int_eq(h_write_all(fd, out, 4 + sizeof(mp)),
	    (ssize_t)(4 + sizeof(mp)));
	ck_assert_int_eq(h_read_n(fd, in, 4 + sizeof(mp), 5000),
	    (ssize_t)(4 + sizeof(mp)));
	ck_assert(memcmp(in, out, 4 + sizeof(mp)) == 0);

	frame(out, notutf8, sizeof(notutf8));
	ck_assert_int_eq(h_write_all(fd2, out, 4 + sizeof(notutf8)),
	    (ssize_t)(4 + sizeof(notutf8)));
	ck_assert(h_wait_eof(fd2, 5000));
	ck_assert(h_log_wait(d, "framing error: bad archive payload", 5000));
	/* the first connection is untouched */
	frame(out, mp, sizeof(mp));
	ck_assert_int_eq(h_write_all(fd, out, 4 + sizeof(mp)),
	    (ssize_t)(4 + sizeof(mp)));
	ck_assert_int_eq(h_read_n(fd, in, 4 + sizeof(mp), 5000),
	    (ssize_t)(4 + sizeof(mp)));
	close(fd);
	close(fd2);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("framing");
	TCase	*tc = tcase_create("framing");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_line_messages);
	tcase_add_test(tc, test_line_too_long);
	tcase_add_test(tc, test_length_messages);
	tcase_add_test(tc, test_length_violations);
	tcase_add_test(tc, test_archive_messages);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
