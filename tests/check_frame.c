/*
 * check_frame.c - unit tests of frame.c (line, length and archive framing),
 * mp_check() and utf8_valid().
 *
 * Every mode is driven both with whole buffers and one byte at a time (the
 * way a slow peer delivers), and at the limits: exactly max and max + 1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "asockd.h"
#include "harness.h"

#define BUF_MAX	4096

/* Frame a whole buffer; the message is copied to out (NUL-terminated). */
static ssize_t
next(int framing, const void *buf, size_t len, size_t max, char *out,
    size_t *outlen, const char **why)
{
	const unsigned char	*msg = NULL;
	size_t			 msglen = 0;
	ssize_t			 rv;

	*why = NULL;
	rv = frame_next(framing, buf, len, max, &msg, &msglen, why);
	if (rv > 0) {
		ck_assert_uint_le(msglen, BUF_MAX - 1);
		ck_assert_ptr_nonnull(msg);
		memcpy(out, msg, msglen);
		out[msglen] = '\0';
		*outlen = msglen;
	} else if (rv == -1)
		ck_assert_ptr_nonnull(*why);
	return rv;
}

/*
 * Deliver in one byte at a time, framing after each byte as the host does;
 * collect the messages, "|"-separated, into out.  Returns the number of
 * messages, or -1 when the framing failed (*why set).
 */
static int
trickle(int framing, const void *in, size_t inlen, size_t max, char *out,
    const char **why)
{
	unsigned char	 buf[BUF_MAX];
	char		 msg[BUF_MAX];
	size_t		 have = 0, msglen, i;
	ssize_t		 rv;
	int		 n = 0;

	out[0] = '\0';
	for (i = 0; i < inlen; i++) {
		buf[have++] = ((const unsigned char *)in)[i];
		/* Every complete message in the buffer, not just one. */
		while (have > 0 &&
		    (rv = next(framing, buf, have, max, msg, &msglen,
		    why)) != 0) {
			if (rv == -1)
				return -1;
			ck_assert_int_le(rv, have);
			memmove(buf, buf + rv, have - rv);
			have -= rv;
			if (n++ > 0)
				strcat(out, "|");
			strcat(out, msg);
		}
	}
	return n;
}

/* ---------------------------------------------------------------- line */

START_TEST(line_basic)
{
	char		 m[BUF_MAX];
	size_t		 ml;
	const char	*why;

	ck_assert_int_eq(next(FRAMING_LINE, "abc\n", 4, 16, m, &ml, &why), 4);
	ck_assert_str_eq(m, "abc");
	ck_assert_int_eq(next(FRAMING_LINE, "abc\r\nx", 6, 16, m, &ml, &why),
	    5);
	ck_assert_str_eq(m, "abc");
	ck_assert_uint_eq(ml, 3);
	/* Empty lines are valid empty messages. */
	ck_assert_int_eq(next(FRAMING_LINE, "\n", 1, 16, m, &ml, &why), 1);
	ck_assert_uint_eq(ml, 0);
	ck_assert_int_eq(next(FRAMING_LINE, "\r\n", 2, 16, m, &ml, &why), 2);
	ck_assert_uint_eq(ml, 0);
	/* A CR that is not before the LF is content. */
	ck_assert_int_eq(next(FRAMING_LINE, "a\rb\n", 4, 16, m, &ml, &why), 4);
	ck_assert_str_eq(m, "a\rb");
	/* Only one CR is stripped. */
	ck_assert_int_eq(next(FRAMING_LINE, "a\r\r\n", 4, 16, m, &ml, &why),
	    4);
	ck_assert_str_eq(m, "a\r");
	/* Incomplete. */
	ck_assert_int_eq(next(FRAMING_LINE, "abc", 3, 16, m, &ml, &why), 0);
	ck_assert_int_eq(next(FRAMING_LINE, "abc\r", 4, 16, m, &ml, &why), 0);
	ck_assert_int_eq(next(FRAMING_LINE, "", 0, 16, m, &ml, &why), 0);
}
END_TEST

START_TEST(line_trickle)
{
	const char	*in = "one\ntwo\r\n\nfour\r\n\r\nsix\n";
	char		 out[BUF_MAX];
	const char	*why;

	ck_assert_int_eq(trickle(FRAMING_LINE, in, strlen(in), 8, out, &why),
	    6);
	ck_assert_str_eq(out, "one|two||four||six");
}
END_TEST

START_TEST(line_max)
{
	char		 m[BUF_MAX];
	size_t		 ml;
	const char	*why;

	/* Exactly max bytes, with either terminator. */
	ck_assert_int_eq(next(FRAMING_LINE, "12345678\n", 9, 8, m, &ml, &why),
	    9);
	ck_assert_str_eq(m, "12345678");
	ck_assert_int_eq(next(FRAMING_LINE, "12345678\r\n", 10, 8, m, &ml,
	    &why), 10);
	ck_assert_str_eq(m, "12345678");
	/* max bytes and a CR: the LF may still come. */
	ck_assert_int_eq(next(FRAMING_LINE, "12345678\r", 9, 8, m, &ml, &why),
	    0);
	/* max + 1. */
	ck_assert_int_eq(next(FRAMING_LINE, "123456789\n", 10, 8, m, &ml,
	    &why), -1);
	ck_assert_str_eq(why, "line too long");
	ck_assert_int_eq(next(FRAMING_LINE, "123456789\r\n", 11, 8, m, &ml,
	    &why), -1);
	/* Decided as soon as max + 1 bytes are there, without an LF. */
	ck_assert_int_eq(next(FRAMING_LINE, "123456789", 9, 8, m, &ml, &why),
	    -1);
	ck_assert_str_eq(why, "line too long");
	ck_assert_int_eq(next(FRAMING_LINE, "12345678\rx", 10, 8, m, &ml,
	    &why), -1);
	ck_assert_int_eq(next(FRAMING_LINE, "12345678", 8, 8, m, &ml, &why),
	    0);
	/* A long line after a good one fails only when it is reached. */
	ck_assert_int_eq(next(FRAMING_LINE, "ok\n123456789", 12, 8, m, &ml,
	    &why), 3);
	/* max 0: only empty lines. */
	ck_assert_int_eq(next(FRAMING_LINE, "\r\n", 2, 0, m, &ml, &why), 2);
	ck_assert_int_eq(next(FRAMING_LINE, "x", 1, 0, m, &ml, &why), -1);
	/* An unlimited max does not overflow. */
	ck_assert_int_eq(next(FRAMING_LINE, "abc", 3, SIZE_MAX, m, &ml, &why),
	    0);
	ck_assert_int_eq(next(FRAMING_LINE, "abc\n", 4, SIZE_MAX, m, &ml,
	    &why), 4);
}
END_TEST

START_TEST(line_trickle_too_long)
{
	char		 out[BUF_MAX];
	const char	*why;

	ck_assert_int_eq(trickle(FRAMING_LINE, "abc\nabcdefghijk\n", 16, 8,
	    out, &why), -1);
	ck_assert_str_eq(why, "line too long");
	ck_assert_str_eq(out, "abc");
}
END_TEST

/* ---------------------------------------------------------------- length */

START_TEST(length_basic)
{
	char		 m[BUF_MAX];
	size_t		 ml;
	const char	*why;

	ck_assert_int_eq(next(FRAMING_LENGTH, "\0\0\0\3abcX", 8, 16, m, &ml,
	    &why), 7);
	ck_assert_str_eq(m, "abc");
	/* Binary payloads, including LF and NUL. */
	ck_assert_int_eq(next(FRAMING_LENGTH, "\0\0\0\2\n\0", 6, 16, m, &ml,
	    &why), 6);
	ck_assert_uint_eq(ml, 2);
	ck_assert_int_eq(memcmp(m, "\n\0", 2), 0);
	/* Incomplete header or payload. */
	ck_assert_int_eq(next(FRAMING_LENGTH, "", 0, 16, m, &ml, &why), 0);
	ck_assert_int_eq(next(FRAMING_LENGTH, "\0\0\0", 3, 16, m, &ml, &why),
	    0);
	ck_assert_int_eq(next(FRAMING_LENGTH, "\0\0\0\3ab", 6, 16, m, &ml,
	    &why), 0);
	ck_assert_int_eq(next(FRAMING_LENGTH, "\0\0\0\0", 4, 16, m, &ml,
	    &why), -1);
	ck_assert_str_eq(why, "zero-length frame");
	/* Big-endian: 0x00000100 is 256, not 1 << 24. */
	ck_assert_int_eq(next(FRAMING_LENGTH, "\0\0\1\0", 4, 256, m, &ml,
	    &why), 0);
	ck_assert_int_eq(next(FRAMING_LENGTH, "\0\0\1\0", 4, 255, m, &ml,
	    &why), -1);
}
END_TEST

START_TEST(length_max)
{
	unsigned char	 buf[4 + 40];
	char		 m[BUF_MAX];
	size_t		 ml;
	const char	*why;

	memset(buf, 'x', sizeof(buf));
	buf[0] = buf[1] = buf[2] = 0;
	buf[3] = 32;
	ck_assert_int_eq(next(FRAMING_LENGTH, buf, 36, 32, m, &ml, &why), 36);
	ck_assert_uint_eq(ml, 32);
	buf[3] = 33;
	/* Refused on the header alone, before the payload is there. */
	ck_assert_int_eq(next(FRAMING_LENGTH, buf, 4, 32, m, &ml, &why), -1);
	ck_assert_str_eq(why, "frame too large");
	ck_assert_int_eq(next(FRAMING_LENGTH, "\xff\xff\xff\xff", 4, 1 << 20,
	    m, &ml, &why), -1);
	ck_assert_str_eq(why, "frame too large");
	/* The largest length the prefix can carry, with a max above it. */
	ck_assert_int_eq(next(FRAMING_LENGTH, "\xff\xff\xff\xff", 4,
	    SIZE_MAX, m, &ml, &why), 0);
}
END_TEST

START_TEST(length_trickle)
{
	const char	 in[] = "\0\0\0\3one\0\0\0\1x\0\0\0\5three";
	char		 out[BUF_MAX];
	const char	*why;

	ck_assert_int_eq(trickle(FRAMING_LENGTH, in, sizeof(in) - 1, 8, out,
	    &why), 3);
	ck_assert_str_eq(out, "one|x|three");
	ck_assert_int_eq(trickle(FRAMING_LENGTH, "\0\0\0\1a\0\0\0\0", 9, 8,
	    out, &why), -1);
	ck_assert_str_eq(why, "zero-length frame");
	ck_assert_int_eq(trickle(FRAMING_LENGTH, "\0\0\0\11", 4, 8, out,
	    &why), -1);
	ck_assert_str_eq(why, "frame too large");
}
END_TEST

START_TEST(framing_unknown)
{
	char		 m[BUF_MAX];
	size_t		 ml;
	const char	*why;

	ck_assert_int_eq(next(FRAMING_RAW, "abc\n", 4, 16, m, &ml, &why), -1);
	ck_assert_int_eq(next(42, "abc\n", 4, 16, m, &ml, &why), -1);
}
END_TEST

/* ---------------------------------------------------------------- archive */

/* frame_next() in archive mode over a 4-byte header + payload p. */
static ssize_t
arch(const void *p, size_t len, size_t max, const char **why)
{
	unsigned char	 buf[BUF_MAX];
	char		 m[BUF_MAX];
	size_t		 ml;

	ck_assert_uint_le(len, BUF_MAX - 4);
	buf[0] = len >> 24;
	buf[1] = len >> 16;
	buf[2] = len >> 8;
	buf[3] = len;
	memcpy(buf + 4, p, len);
	return next(FRAMING_ARCHIVE, buf, len + 4, max, m, &ml, why);
}

#define ARCH(lit)	arch(lit, sizeof(lit) - 1, BUF_MAX, &why)
#define BAD(lit)	do {						\
	ck_assert_int_eq(ARCH(lit), -1);				\
	ck_assert(strncmp(why, "bad archive payload: ", 21) == 0);	\
} while (0)

START_TEST(archive_good)
{
	const char	*why;

	ck_assert_int_eq(ARCH("\xc0"), 5);
	/* Several values in one frame: 1, "hi", [true, nil], {"a": -1}. */
	ck_assert_int_eq(ARCH("\x01\xa2hi\x92\xc3\xc0\x81\xa1" "a\xff"), 15);
	/* Every family: bin, ext, float32/64, uint64, int64, empty str. */
	ck_assert_int_eq(ARCH("\xc4\x02\0\xff\xd4\x01\x02\xca\x3f\xc0\0\0"
	    "\xcb\x3f\xf8\0\0\0\0\0\0\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
	    "\xd3\x80\0\0\0\0\0\0\0\xa0\x90\x80"), 4 + 42);
	/* Strings may hold NUL and any valid UTF-8, not a cut sequence. */
	ck_assert_int_eq(ARCH("\xa7\0\xc3\xa9\xf0\x9f\x98\x80"), 12);
	ck_assert_int_eq(ARCH("\xa6\0\xc3\xa9\xf0\x9f\x98"), -1);
	ck_assert_int_eq(mp_check(
	    (const unsigned char *)"\x93\1\2\3", 4, &why), 0);
}
END_TEST

START_TEST(archive_malformed)
{
	const char	*why;

	/* Truncated values. */
	BAD("\xa5" "abc");
	BAD("\xcd\x01");
	BAD("\xcb\0\0\0");
	BAD("\xd9");
	BAD("\xc5\x00\x09" "abc");
	/* A trailing partial value after a good one. */
	BAD("\x01\x92\x01");
	BAD("\x01\x81\xa1" "a");
	/* Never-used byte. */
	BAD("\xc1");
	ck_assert_str_eq(why, "bad archive payload: invalid format byte 0xc1");
	/* Invalid UTF-8: overlong, surrogate, stray continuation. */
	BAD("\xa2\xc0\x80");
	ck_assert_str_eq(why, "bad archive payload: string is not valid "
	    "UTF-8");
	BAD("\xa3\xed\xa0\x80");
	BAD("\xa1\x80");
	/* ...also as a map key, deep inside. */
	BAD("\x91\x91\x81\xa1\xff\x01");
	/* But bin is not UTF-8 checked. */
	ck_assert_int_eq(ARCH("\xc4\x01\xff"), 7);
	/* Lengths larger than the frame. */
	BAD("\xdb\xff\xff\xff\xff" "abc");
	ck_assert_str_eq(why, "bad archive payload: length past the end of "
	    "the frame");
	BAD("\xc6\x00\x00\x10\x00" "abc");
	BAD("\xc9\x00\x00\x00\x05\x01" "ab");
	BAD("\xdc\x00\x05\x01\x02");
	BAD("\x95\x01\x02");
	/* Size bombs: 4 billion map entries, 64 Mi array elements. */
	BAD("\xdf\xff\xff\xff\xff\x01\x02\x03\x04\x05");
	ck_assert_str_eq(why, "bad archive payload: length past the end of "
	    "the frame");
	BAD("\xdd\x04\x00\x00\x00\x01\x02\x03\x04\x05");
	/* A map needs two values per entry. */
	BAD("\x82\x01\x02\x03");
}
END_TEST

START_TEST(archive_depth)
{
	unsigned char	 buf[BUF_MAX];
	const char	*why;
	int		 i;

	/* 64 nested arrays, the innermost holding nil: accepted. */
	for (i = 0; i < 64; i++)
		buf[i] = 0x91;
	buf[64] = 0xc0;
	ck_assert_int_eq(arch(buf, 65, BUF_MAX, &why), 65 + 4);
	/* 64 nested, the innermost empty. */
	buf[63] = 0x90;
	ck_assert_int_eq(arch(buf, 64, BUF_MAX, &why), 64 + 4);
	/* 65: refused. */
	for (i = 0; i < 65; i++)
		buf[i] = 0x91;
	buf[65] = 0xc0;
	ck_assert_int_eq(arch(buf, 66, BUF_MAX, &why), -1);
	ck_assert_str_eq(why, "bad archive payload: nesting deeper than 64");
	buf[64] = 0x90;
	ck_assert_int_eq(arch(buf, 65, BUF_MAX, &why), -1);
	/* Maps count too; a depth bomb of 4000 levels fails fast. */
	for (i = 0; i < 4000; i++)
		buf[i] = i % 2 ? 0x81 : 0x91;
	ck_assert_int_eq(arch(buf, 4000, BUF_MAX, &why), -1);
	ck_assert_str_eq(why, "bad archive payload: nesting deeper than 64");
	/* Wide but shallow is fine: [[], [], ...]. */
	buf[0] = 0xdc;
	buf[1] = 0x0f;
	buf[2] = 0xa0;
	memset(buf + 3, 0x90, 4000);
	ck_assert_int_eq(arch(buf, 3 + 4000, BUF_MAX, &why), 4 + 3 + 4000);
}
END_TEST

START_TEST(archive_limits)
{
	const char	*why;

	/* frame limits apply first; an empty payload is a zero frame. */
	ck_assert_int_eq(arch("\xa3" "abc", 4, 4, &why), 8);
	ck_assert_int_eq(arch("\xa4" "abcd", 5, 4, &why), -1);
	ck_assert_str_eq(why, "frame too large");
	ck_assert_int_eq(arch("", 0, 4, &why), -1);
	ck_assert_str_eq(why, "zero-length frame");
	ck_assert_int_eq(mp_check((const unsigned char *)"", 0,
	    &why), -1);
}
END_TEST

START_TEST(archive_trickle)
{
	const char	 in[] = "\0\0\0\1\xc3\0\0\0\3\xa2hi\0\0\0\2\x91\x01";
	char		 out[BUF_MAX];
	const char	*why;

	ck_assert_int_eq(trickle(FRAMING_ARCHIVE, in, sizeof(in) - 1, 16,
	    out, &why), 3);
	ck_assert_int_eq(trickle(FRAMING_ARCHIVE, "\0\0\0\2\x91\xc1", 6, 16,
	    out, &why), -1);
	ck_assert_str_eq(why, "bad archive payload: invalid format byte 0xc1");
}
END_TEST

/* ---------------------------------------------------------------- utf8 */

#define U8(lit)	utf8_valid((const unsigned char *)(lit), sizeof(lit) - 1)

START_TEST(utf8)
{
	ck_assert_int_eq(utf8_valid(NULL, 0), 1);
	ck_assert_int_eq(U8("plain ascii"), 1);
	ck_assert_int_eq(U8("\0nul"), 1);
	ck_assert_int_eq(U8("\xc2\x80"), 1);		/* U+0080 */
	ck_assert_int_eq(U8("\xdf\xbf"), 1);		/* U+07FF */
	ck_assert_int_eq(U8("\xe0\xa0\x80"), 1);	/* U+0800 */
	ck_assert_int_eq(U8("\xed\x9f\xbf"), 1);	/* U+D7FF */
	ck_assert_int_eq(U8("\xee\x80\x80"), 1);	/* U+E000 */
	ck_assert_int_eq(U8("\xef\xbf\xbf"), 1);	/* U+FFFF */
	ck_assert_int_eq(U8("\xf0\x90\x80\x80"), 1);	/* U+10000 */
	ck_assert_int_eq(U8("\xf4\x8f\xbf\xbf"), 1);	/* U+10FFFF */
	ck_assert_int_eq(U8("caf\xc3\xa9 \xe2\x82\xac"), 1);

	ck_assert_int_eq(U8("\x80"), 0);		/* continuation */
	ck_assert_int_eq(U8("\xbf"), 0);
	ck_assert_int_eq(U8("\xc0\x80"), 0);		/* overlong NUL */
	ck_assert_int_eq(U8("\xc1\xbf"), 0);		/* overlong */
	ck_assert_int_eq(U8("\xe0\x80\x80"), 0);	/* overlong */
	ck_assert_int_eq(U8("\xe0\x9f\xbf"), 0);	/* overlong */
	ck_assert_int_eq(U8("\xf0\x80\x80\x80"), 0);	/* overlong */
	ck_assert_int_eq(U8("\xf0\x8f\xbf\xbf"), 0);	/* overlong */
	ck_assert_int_eq(U8("\xed\xa0\x80"), 0);	/* U+D800 */
	ck_assert_int_eq(U8("\xed\xbf\xbf"), 0);	/* U+DFFF */
	ck_assert_int_eq(U8("\xf4\x90\x80\x80"), 0);	/* U+110000 */
	ck_assert_int_eq(U8("\xf5\x80\x80\x80"), 0);
	ck_assert_int_eq(U8("\xff"), 0);
	ck_assert_int_eq(U8("\xc3"), 0);		/* truncated */
	ck_assert_int_eq(U8("\xe2\x82"), 0);
	ck_assert_int_eq(U8("\xf0\x9f\x98"), 0);
	ck_assert_int_eq(U8("\xe2\x28\xa1"), 0);	/* bad 2nd byte */
	ck_assert_int_eq(U8("\xe2\x82\x28"), 0);	/* bad 3rd byte */
	ck_assert_int_eq(U8("\xf0\x9f\x98\x28"), 0);	/* bad 4th byte */
	ck_assert_int_eq(U8("ok\xc3"), 0);
}
END_TEST

static Suite *
frame_suite(void)
{
	Suite	*s = suite_create("frame");
	TCase	*tc;

	tc = tcase_create("line");
	tcase_add_test(tc, line_basic);
	tcase_add_test(tc, line_trickle);
	tcase_add_test(tc, line_max);
	tcase_add_test(tc, line_trickle_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("length");
	tcase_add_test(tc, length_basic);
	tcase_add_test(tc, length_max);
	tcase_add_test(tc, length_trickle);
	tcase_add_test(tc, framing_unknown);
	suite_add_tcase(s, tc);

	tc = tcase_create("archive");
	tcase_add_test(tc, archive_good);
	tcase_add_test(tc, archive_malformed);
	tcase_add_test(tc, archive_depth);
	tcase_add_test(tc, archive_limits);
	tcase_add_test(tc, archive_trickle);
	suite_add_tcase(s, tc);

	tc = tcase_create("utf8");
	tcase_add_test(tc, utf8);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* h_run_suite fails a run in which no test ran (CK_RUN_* typos) */
	return h_run_suite(frame_suite());
}
