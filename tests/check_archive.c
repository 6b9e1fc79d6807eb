/*
 * check_archive.c - unit tests of the archive reader and writer
 * (archive.c): every type written, checked by mp_check() and
 * read back; the exact bytes of the wire format; and malformed input:
 * truncated values, wrong types, invalid UTF-8, depth and size bombs.
 * The calls of ABI 1.2 (ext, float width, raw values) also go through the
 * real daemon (tests/plugins/values.c), next to a plugin built for ABI 1.1
 * (tests/plugins/minor1.c).
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "asockd.h"
#include "harness.h"

/* A reader over a string literal (which may hold NUL bytes). */
#define RD(lit)	archive_rd_open((lit), sizeof(lit) - 1)

static struct asockd_reader *
rd_writer(struct asockd_writer *w)
{
	const void	*p;
	const char	*why;
	size_t		 len;

	p = archive_wr_data(w, &len);
	ck_assert_int_eq(mp_check(p, len, &why), 0);
	return archive_rd_open(p, len);
}

/* The writer's bytes equal the literal. */
#define WR_IS(w, lit)	do {						\
	size_t	 l_;							\
	const void *p_ = archive_wr_data((w), &l_);			\
	ck_assert_uint_eq(l_, sizeof(lit) - 1);				\
	ck_assert_int_eq(memcmp(p_, (lit), l_), 0);			\
} while (0)

START_TEST(roundtrip_scalars)
{
	static const int64_t	 ints[] = { 0, 1, 127, 128, 255, 256, 65535,
	    65536, 4294967295LL, 4294967296LL, INT64_MAX, -1, -32, -33,
	    -128, -129, -32768, -32769, -2147483648LL, -2147483649LL,
	    INT64_MIN };
	static const uint64_t	 uints[] = { 0, 127, 128, 65536, UINT32_MAX,
	    (uint64_t)INT64_MAX + 1, UINT64_MAX };
	struct asockd_writer	*w;
	struct asockd_reader	*r;
	int64_t			 iv;
	uint64_t		 uv;
	double			 dv;
	float			 fv;
	int			 bv;
	size_t			 i;

	w = archive_wr_new();
	ck_assert_int_eq(archive_wr_nil(w), 0);
	ck_assert_int_eq(archive_wr_bool(w, 1), 0);
	ck_assert_int_eq(archive_wr_bool(w, 0), 0);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		ck_assert_int_eq(archive_wr_int(w, ints[i]), 0);
	for (i = 0; i < sizeof(uints) / sizeof(uints[0]); i++)
		ck_assert_int_eq(archive_wr_uint(w, uints[i]), 0);
	ck_assert_int_eq(archive_wr_float(w, 1.5f), 0);
	ck_assert_int_eq(archive_wr_float(w, -FLT_MAX), 0);
	ck_assert_int_eq(archive_wr_double(w, 0.1), 0);
	ck_assert_int_eq(archive_wr_double(w, -DBL_MAX), 0);
	ck_assert_int_eq(archive_wr_double(w, INFINITY), 0);
	ck_assert_int_eq(archive_wr_double(w, 0x1.fffffefp127), 0);
	ck_assert_int_eq(archive_wr_double(w, -0x1.ffffffp127), 0);
	ck_assert_int_eq(archive_wr_double(w, 0.1), 0);

	r = rd_writer(w);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_NIL);
	ck_assert_int_eq(archive_rd_nil(r), 0);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_BOOL);
	ck_assert_int_eq(archive_rd_bool(r, &bv), 0);
	ck_assert_int_eq(bv, 1);
	ck_assert_int_eq(archive_rd_bool(r, &bv), 0);
	ck_assert_int_eq(bv, 0);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		ck_assert_int_eq(archive_rd_next_type(r),
		    ints[i] < 0 ? ASOCKD_T_INT : ASOCKD_T_UINT);
		ck_assert_int_eq(archive_rd_int(r, &iv), 0);
		ck_assert(iv == ints[i]);
	}
	for (i = 0; i < sizeof(uints) / sizeof(uints[0]); i++) {
		ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_UINT);
		ck_assert_int_eq(archive_rd_uint(r, &uv), 0);
		ck_assert(uv == uints[i]);
	}
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_FLOAT);
	ck_assert_int_eq(archive_rd_float(r, &fv), 0);
	ck_assert(fv == 1.5f);
	/* rd_double takes a float32 too. */
	ck_assert_int_eq(archive_rd_double(r, &dv), 0);
	ck_assert(dv == -FLT_MAX);
	ck_assert_int_eq(archive_rd_double(r, &dv), 0);
	ck_assert(dv == 0.1);
	/* rd_float takes a float64, rounded. */
	ck_assert_int_eq(archive_rd_float(r, &fv), 0);
	ck_assert(isinf(fv) && fv < 0);
	ck_assert_int_eq(archive_rd_double(r, &dv), 0);
	ck_assert(isinf(dv) && dv > 0);
	/* Just above FLT_MAX rounds to it; half an ulp more overflows. */
	ck_assert_int_eq(archive_rd_float(r, &fv), 0);
	ck_assert(fv == FLT_MAX);
	ck_assert_int_eq(archive_rd_float(r, &fv), 0);
	ck_assert(isinf(fv) && fv < 0);
	ck_assert_int_eq(archive_rd_float(r, &fv), 0);
	ck_assert(fv == 0.1f);
	/* The end. */
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_NONE);
	ck_assert_int_eq(archive_rd_nil(r), -ENODATA);
	ck_assert_int_eq(archive_rd_int(r, &iv), -ENODATA);
	ck_assert_int_eq(archive_rd_skip(r), -ENODATA);
	archive_rd_free(r);
	archive_wr_free(w);
}
END_TEST

START_TEST(roundtrip_str_bin)
{
	static const size_t	 lens[] = { 0, 1, 31, 32, 255, 256, 65535,
	    65536, 100000 };
	struct asockd_writer	*w;
	struct asockd_reader	*r;
	char			*big;
	const char		*s;
	const void		*p;
	size_t			 i, len;

	big = malloc(100000);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < 100000; i++)
		big[i] = 'a' + i % 26;
	w = archive_wr_new();
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ck_assert_int_eq(archive_wr_str(w, big, lens[i]), 0);
		ck_assert_int_eq(archive_wr_bin(w, big, lens[i]), 0);
	}
	ck_assert_int_eq(archive_wr_str(w, "\0caf\xc3\xa9 \xf0\x9f\x98\x80",
	    11), 0);
	ck_assert_int_eq(archive_wr_str(w, NULL, 0), 0);
	ck_assert_int_eq(archive_wr_bin(w, NULL, 0), 0);

	r = rd_writer(w);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_STR);
		/* Strings are not binaries and the other way round. */
		ck_assert_int_eq(archive_rd_bin(r, &p, &len), -EPROTO);
		ck_assert_int_eq(archive_rd_str(r, &s, &len), 0);
		ck_assert_uint_eq(len, lens[i]);
		ck_assert_int_eq(memcmp(s, big, len), 0);
		ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_BIN);
		ck_assert_int_eq(archive_rd_str(r, &s, &len), -EPROTO);
		ck_assert_int_eq(archive_rd_bin(r, &p, &len), 0);
		ck_assert_uint_eq(len, lens[i]);
		ck_assert_int_eq(memcmp(p, big, len), 0);
	}
	ck_assert_int_eq(archive_rd_str(r, &s, &len), 0);
	ck_assert_uint_eq(len, 11);
	ck_assert_int_eq(memcmp(s, "\0caf\xc3\xa9 \xf0\x9f\x98\x80", 11), 0);
	ck_assert_int_eq(archive_rd_str(r, &s, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(archive_rd_bin(r, &p, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_NONE);
	archive_rd_free(r);
	archive_wr_free(w);
	free(big);
}
END_TEST

START_TEST(roundtrip_containers)
{
	struct asockd_writer	*w;
	struct asockd_reader	*r;
	uint32_t		 n;
	const char		*s;
	size_t			 len;
	int64_t			 iv;

	/* {"name": "chat", "list": [1, [], {}], "n": nil} then 7. */
	w = archive_wr_new();
	ck_assert_int_eq(archive_wr_map(w, 3), 0);
	ck_assert_int_eq(archive_wr_str(w, "name", 4), 0);
	ck_assert_int_eq(archive_wr_str(w, "chat", 4), 0);
	ck_assert_int_eq(archive_wr_str(w, "list", 4), 0);
	ck_assert_int_eq(archive_wr_array(w, 3), 0);
	ck_assert_int_eq(archive_wr_int(w, 1), 0);
	ck_assert_int_eq(archive_wr_array(w, 0), 0);
	ck_assert_int_eq(archive_wr_map(w, 0), 0);
	ck_assert_int_eq(archive_wr_str(w, "n", 1), 0);
	ck_assert_int_eq(archive_wr_nil(w), 0);
	ck_assert_int_eq(archive_wr_int(w, 7), 0);

	r = rd_writer(w);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_MAP);
	ck_assert_int_eq(archive_rd_array(r, &n), -EPROTO);
	ck_assert_int_eq(archive_rd_map(r, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(archive_rd_str(r, &s, &len), 0);
	ck_assert_int_eq(archive_rd_skip(r), 0);		/* "chat" */
	ck_assert_int_eq(archive_rd_str(r, &s, &len), 0);
	ck_assert_int_eq(len, 4);
	ck_assert_int_eq(memcmp(s, "list", 4), 0);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_ARRAY);
	ck_assert_int_eq(archive_rd_map(r, &n), -EPROTO);
	ck_assert_int_eq(archive_rd_array(r, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(archive_rd_int(r, &iv), 0);
	ck_assert_int_eq(iv, 1);
	ck_assert_int_eq(archive_rd_array(r, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(archive_rd_map(r, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(archive_rd_skip(r), 0);		/* "n" */
	ck_assert_int_eq(archive_rd_nil(r), 0);
	ck_assert_int_eq(archive_rd_int(r, &iv), 0);
	ck_assert_int_eq(iv, 7);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_NONE);
	archive_rd_free(r);

	/* rd_skip takes the whole map, contents and all. */
	r = rd_writer(w);
	ck_assert_int_eq(archive_rd_skip(r), 0);
	ck_assert_int_eq(archive_rd_int(r, &iv), 0);
	ck_assert_int_eq(iv, 7);
	ck_assert_int_eq(archive_rd_skip(r), -ENODATA);
	archive_rd_free(r);
	archive_wr_free(w);
}
END_TEST

/* The exact bytes of the wire format (docs/archive.md). */
START_TEST(writer_bytes)
{
	struct asockd_writer	*w;
	size_t			 len;

	w = archive_wr_new();
	archive_wr_data(w, &len);
	ck_assert_uint_eq(len, 0);
	archive_wr_int(w, 1);
	archive_wr_int(w, -1);
	archive_wr_uint(w, 256);
	archive_wr_int(w, -200);
	archive_wr_str(w, "hi", 2);
	archive_wr_bin(w, "\x01", 1);
	archive_wr_array(w, 2);
	archive_wr_bool(w, 1);
	archive_wr_nil(w);
	archive_wr_double(w, 1.5);
	archive_wr_float(w, 1.5f);
	archive_wr_map(w, 70000);
	WR_IS(w, "\x01\xff\xcd\x01\x00\xd1\xff\x38\xa2hi\xc4\x01\x01"
	    "\x92\xc3\xc0\xcb\x3f\xf8\0\0\0\0\0\0\xca\x3f\xc0\0\0"
	    "\xdf\x00\x01\x11\x70");
	archive_wr_reset(w);
	archive_wr_data(w, &len);
	ck_assert_uint_eq(len, 0);
	/* The docs' example message: ["say", "h\xc3\xa9"]. */
	archive_wr_array(w, 2);
	archive_wr_str(w, "say", 3);
	archive_wr_str(w, "h\xc3\xa9", 3);
	WR_IS(w, "\x92\xa3say\xa3h\xc3\xa9");
	archive_wr_free(w);
	archive_wr_free(NULL);
}
END_TEST

START_TEST(writer_utf8)
{
	struct asockd_writer	*w;
	size_t			 len;

	w = archive_wr_new();
	archive_wr_int(w, 5);
	ck_assert_int_eq(archive_wr_str(w, "\xc0\x80", 2), -EINVAL);
	ck_assert_int_eq(archive_wr_str(w, "\xed\xa0\x80", 3), -EINVAL);
	ck_assert_int_eq(archive_wr_str(w, "ab\xff", 3), -EINVAL);
	ck_assert_int_eq(archive_wr_str(w, "\xe2\x82", 2), -EINVAL);
	ck_assert_int_eq(archive_wr_str(w, NULL, 3), -EINVAL);
	ck_assert_int_eq(archive_wr_bin(w, NULL, 3), -EINVAL);
	/* Nothing was written by the failed calls. */
	archive_wr_data(w, &len);
	ck_assert_uint_eq(len, 1);
	/* Bytes that are not UTF-8 go as bin. */
	ck_assert_int_eq(archive_wr_bin(w, "ab\xff", 3), 0);
	archive_wr_free(w);
}
END_TEST

START_TEST(reader_types)
{
	struct asockd_reader	*r;
	int64_t			 iv;
	uint64_t		 uv;
	double			 dv;
	float			 fv;
	int			 bv;
	uint32_t		 n;
	const char		*s;
	const void		*p;
	size_t			 len;

	/* A wrong getter consumes nothing: every one on a string. */
	r = RD("\xa1x");
	ck_assert_int_eq(archive_rd_nil(r), -EPROTO);
	ck_assert_int_eq(archive_rd_bool(r, &bv), -EPROTO);
	ck_assert_int_eq(archive_rd_int(r, &iv), -EPROTO);
	ck_assert_int_eq(archive_rd_uint(r, &uv), -EPROTO);
	ck_assert_int_eq(archive_rd_float(r, &fv), -EPROTO);
	ck_assert_int_eq(archive_rd_double(r, &dv), -EPROTO);
	ck_assert_int_eq(archive_rd_bin(r, &p, &len), -EPROTO);
	ck_assert_int_eq(archive_rd_array(r, &n), -EPROTO);
	ck_assert_int_eq(archive_rd_map(r, &n), -EPROTO);
	ck_assert_int_eq(archive_rd_str(r, &s, &len), 0);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_NONE);
	archive_rd_free(r);

	/* A string is not nil, a nil is not false, an int is not a float. */
	r = RD("\xc0\xc2\x05");
	ck_assert_int_eq(archive_rd_str(r, &s, &len), -EPROTO);
	ck_assert_int_eq(archive_rd_bool(r, &bv), -EPROTO);
	ck_assert_int_eq(archive_rd_nil(r), 0);
	ck_assert_int_eq(archive_rd_nil(r), -EPROTO);
	ck_assert_int_eq(archive_rd_bool(r, &bv), 0);
	ck_assert_int_eq(bv, 0);
	ck_assert_int_eq(archive_rd_double(r, &dv), -EPROTO);
	ck_assert_int_eq(archive_rd_uint(r, &uv), 0);
	ck_assert_uint_eq(uv, 5);
	archive_rd_free(r);

	/* rd_uint refuses negatives; rd_int refuses what int64 cannot hold. */
	r = RD("\xff\xd0\x80\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
	    "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff");
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_INT);
	ck_assert_int_eq(archive_rd_uint(r, &uv), -EPROTO);
	ck_assert_int_eq(archive_rd_int(r, &iv), 0);
	ck_assert_int_eq(iv, -1);
	ck_assert_int_eq(archive_rd_uint(r, &uv), -EPROTO);
	ck_assert_int_eq(archive_rd_int(r, &iv), 0);
	ck_assert_int_eq(iv, -128);
	ck_assert_int_eq(archive_rd_int(r, &iv), -EPROTO);
	ck_assert_int_eq(archive_rd_uint(r, &uv), 0);
	ck_assert(uv == UINT64_MAX);
	ck_assert_int_eq(archive_rd_int(r, &iv), 0);
	ck_assert(iv == INT64_MAX);
	archive_rd_free(r);

	/* Signed formats holding values >= 0 are UINT, as msgpack-c says. */
	r = RD("\xd0\x05\xd3\0\0\0\0\0\0\0\x07\xd1\xff\xfe");
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_UINT);
	ck_assert_int_eq(archive_rd_uint(r, &uv), 0);
	ck_assert_uint_eq(uv, 5);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_UINT);
	ck_assert_int_eq(archive_rd_int(r, &iv), 0);
	ck_assert_int_eq(iv, 7);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_INT);
	ck_assert_int_eq(archive_rd_int(r, &iv), 0);
	ck_assert_int_eq(iv, -2);
	archive_rd_free(r);

	/* ext: typed as such, only skipped. */
	r = RD("\xd4\x01\x02\xc7\x03\x05" "abc\x01");
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_EXT);
	ck_assert_int_eq(archive_rd_bin(r, &p, &len), -EPROTO);
	ck_assert_int_eq(archive_rd_skip(r), 0);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_EXT);
	ck_assert_int_eq(archive_rd_skip(r), 0);
	ck_assert_int_eq(archive_rd_uint(r, &uv), 0);
	archive_rd_free(r);

	/* An empty reader. */
	r = archive_rd_open(NULL, 0);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_NONE);
	ck_assert_int_eq(archive_rd_str(r, &s, &len), -ENODATA);
	archive_rd_free(r);
	archive_rd_free(NULL);
}
END_TEST

START_TEST(reader_truncated)
{
	struct asockd_reader	*r;
	uint64_t		 uv;
	int64_t			 iv;
	double			 dv;
	uint32_t		 n;
	const char		*s;
	const void		*p;
	size_t			 len;

	r = RD("\xce\x00\x01");
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_UINT);
	ck_assert_int_eq(archive_rd_uint(r, &uv), -EBADMSG);
	ck_assert_int_eq(archive_rd_int(r, &iv), -EBADMSG);
	ck_assert_int_eq(archive_rd_skip(r), -EBADMSG);
	archive_rd_free(r);

	r = RD("\xcb\x3f\xf8");
	ck_assert_int_eq(archive_rd_double(r, &dv), -EBADMSG);
	archive_rd_free(r);

	r = RD("\xd3\x80");
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_INT);
	ck_assert_int_eq(archive_rd_int(r, &iv), -EBADMSG);
	archive_rd_free(r);

	/* Lengths larger than the message. */
	r = RD("\xa5" "ab");
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_STR);
	ck_assert_int_eq(archive_rd_str(r, &s, &len), -EBADMSG);
	archive_rd_free(r);
	r = RD("\xd9");
	ck_assert_int_eq(archive_rd_str(r, &s, &len), -EBADMSG);
	archive_rd_free(r);
	r = RD("\xc6\xff\xff\xff\xff" "ab");
	ck_assert_int_eq(archive_rd_bin(r, &p, &len), -EBADMSG);
	ck_assert_int_eq(archive_rd_skip(r), -EBADMSG);
	archive_rd_free(r);

	/* A count that cannot fit: refused at the header. */
	r = RD("\xdf\xff\xff\xff\xff\x01\x02\x03\x04\x05");
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_MAP);
	ck_assert_int_eq(archive_rd_map(r, &n), -EBADMSG);
	ck_assert_int_eq(archive_rd_skip(r), -EBADMSG);
	archive_rd_free(r);
	r = RD("\xdd\x04\x00\x00\x00\x01\x02\x03\x04\x05");
	ck_assert_int_eq(archive_rd_array(r, &n), -EBADMSG);
	archive_rd_free(r);
	r = RD("\x82\x01\x02\x03");
	ck_assert_int_eq(archive_rd_map(r, &n), -EBADMSG);
	archive_rd_free(r);

	/* A count that fits the bytes but not the values. */
	r = RD("\x93\x01\xa5" "ab");
	ck_assert_int_eq(archive_rd_array(r, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(archive_rd_uint(r, &uv), 0);
	ck_assert_int_eq(archive_rd_str(r, &s, &len), -EBADMSG);
	archive_rd_free(r);
	r = RD("\x92\x01\x91");
	ck_assert_int_eq(archive_rd_skip(r), -EBADMSG);
	ck_assert_int_eq(archive_rd_array(r, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(archive_rd_skip(r), 0);
	ck_assert_int_eq(archive_rd_skip(r), -EBADMSG);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_ARRAY);
	archive_rd_free(r);

	/* The never-used byte. */
	r = RD("\xc1");
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_NONE);
	ck_assert_int_eq(archive_rd_nil(r), -EBADMSG);
	ck_assert_int_eq(archive_rd_skip(r), -EBADMSG);
	archive_rd_free(r);
}
END_TEST

START_TEST(reader_utf8)
{
	struct asockd_reader	*r;
	const char		*s;
	const void		*p;
	size_t			 len;

	r = RD("\xa2\xc0\x80\xa3\xed\xa0\x80\xa1\x80\xa2\xc3\xa9");
	ck_assert_int_eq(archive_rd_str(r, &s, &len), -EBADMSG);
	ck_assert_int_eq(archive_rd_skip(r), -EBADMSG);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_STR);
	archive_rd_free(r);

	/* The same bytes as bin are fine. */
	r = RD("\xc4\x02\xc0\x80");
	ck_assert_int_eq(archive_rd_bin(r, &p, &len), 0);
	archive_rd_free(r);

	/* A bad key deep inside makes rd_skip fail. */
	r = RD("\x91\x81\xa1\xff\x01");
	ck_assert_int_eq(archive_rd_skip(r), -EBADMSG);
	archive_rd_free(r);
}
END_TEST

START_TEST(reader_depth)
{
	unsigned char		 buf[10000];
	struct asockd_reader	*r;
	uint32_t		 n;
	int			 i;

	for (i = 0; i < 64; i++)
		buf[i] = 0x91;
	buf[64] = 0xc0;
	r = archive_rd_open(buf, 65);
	ck_assert_int_eq(archive_rd_skip(r), 0);
	archive_rd_free(r);

	buf[64] = 0x91;
	buf[65] = 0xc0;
	r = archive_rd_open(buf, 66);
	ck_assert_int_eq(archive_rd_skip(r), -EBADMSG);
	/* Reading level by level is the plugin's own business. */
	for (i = 0; i < 65; i++)
		ck_assert_int_eq(archive_rd_array(r, &n), 0);
	ck_assert_int_eq(archive_rd_nil(r), 0);
	archive_rd_free(r);

	/* A depth bomb: no recursion, no stack overflow. */
	memset(buf, 0x91, sizeof(buf));
	r = archive_rd_open(buf, sizeof(buf));
	ck_assert_int_eq(archive_rd_skip(r), -EBADMSG);
	archive_rd_free(r);
}
END_TEST

START_TEST(reader_gc)
{
	struct asockd_reader	*r;
	int			 i;

	/* Readers a plugin did not free go at the end of its callback. */
	for (i = 0; i < 10; i++)
		r = RD("\x01");
	archive_rd_free(r);
	archive_rd_gc();
	archive_rd_gc();
	r = RD("\x01");
	ck_assert_int_eq(archive_rd_skip(r), 0);
	archive_rd_gc();
}
END_TEST

/* ABI 1.2: ext values, in every ext format, and timestamps. */
START_TEST(ext_values)
{
	static const size_t	 lens[] = { 1, 2, 4, 8, 16, 0, 3, 255, 256,
	    65535, 65536, 70000 };
	struct asockd_writer	*w;
	struct asockd_reader	*r;
	unsigned char		*big;
	const void		*p;
	size_t			 i, len;
	int8_t			 type;
	uint64_t		 uv;

	big = malloc(70000);
	ck_assert_ptr_nonnull(big);
	for (i = 0; i < 70000; i++)
		big[i] = i * 7;
	w = archive_wr_new();
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		ck_assert_int_eq(archive_wr_ext(w, (int8_t)((int)i * 23 - 128),
		    big, lens[i]), 0);
	ck_assert_int_eq(archive_wr_ext(w, 0, NULL, 0), 0);
	r = rd_writer(w);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_EXT);
		ck_assert_int_eq(archive_rd_bin(r, &p, &len), -EPROTO);
		ck_assert_int_eq(archive_rd_float_bits(r), -EPROTO);
		ck_assert_int_eq(archive_rd_ext(r, &type, &p, &len), 0);
		ck_assert_int_eq(type, (int8_t)((int)i * 23 - 128));
		ck_assert_uint_eq(len, lens[i]);
		ck_assert_int_eq(memcmp(p, big, len), 0);
	}
	ck_assert_int_eq(archive_rd_ext(r, &type, &p, &len), 0);
	ck_assert_int_eq(type, 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(archive_rd_ext(r, &type, &p, &len), -ENODATA);
	archive_rd_free(r);

	/* The shortest format for each size; -1 is a timestamp. */
	archive_wr_reset(w);
	archive_wr_ext(w, 5, "\x01", 1);
	archive_wr_ext(w, -3, "abc", 3);
	archive_wr_ext(w, 127, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x10",
	    16);
	archive_wr_ext(w, -1, "\0\0\0\x01", 4);
	WR_IS(w, "\xd4\x05\x01\xc7\x03\xfd" "abc"
	    "\xd8\x7f\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x10"
	    "\xd6\xff\0\0\0\x01");
	/* Timestamps no decoder would take are refused, nothing written. */
	ck_assert_int_eq(archive_wr_ext(w, -1, "abc", 3), -EINVAL);
	ck_assert_int_eq(archive_wr_ext(w, -1, NULL, 0), -EINVAL);
	ck_assert_int_eq(archive_wr_ext(w, -1,
	    "\xee\x6b\x28\0\0\0\0\0", 8), -EINVAL);	/* 10^9 ns */
	ck_assert_int_eq(archive_wr_ext(w, -1,
	    "\xee\x6b\x27\xfc\0\0\0\0", 8), 0);	/* 10^9-1 ns */
	ck_assert_int_eq(archive_wr_ext(w, -1,
	    "\x3b\x9a\xca\0\0\0\0\0\0\0\0\0", 12), -EINVAL);
	ck_assert_int_eq(archive_wr_ext(w, -1,
	    "\x3b\x9a\xc9\xff\0\0\0\0\0\0\0\0", 12), 0);
	ck_assert_int_eq(archive_wr_ext(w, 9, NULL, 2), -EINVAL);
	archive_wr_data(w, &len);
	ck_assert_uint_eq(len, 3 + 6 + 18 + 6 + 10 + 15);
	archive_wr_free(w);

	/* A truncated ext consumes nothing. */
	r = RD("\xc7\x05\x01" "ab");
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_EXT);
	ck_assert_int_eq(archive_rd_ext(r, &type, &p, &len), -EBADMSG);
	archive_rd_free(r);
	r = RD("\xd5\x01\x02\x03\x04");
	ck_assert_int_eq(archive_rd_ext(r, &type, &p, &len), 0);
	ck_assert_int_eq(type, 1);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(memcmp(p, "\x02\x03", 2), 0);
	ck_assert_int_eq(archive_rd_uint(r, &uv), 0);
	ck_assert_uint_eq(uv, 4);
	archive_rd_free(r);
	free(big);
}
END_TEST

/* ABI 1.2: a float32 is told from a float64. */
START_TEST(float_bits)
{
	struct asockd_reader	*r;
	float			 fv;
	double			 dv;

	r = RD("\xca\x3f\xc0\0\0\xcb\x3f\xf8\0\0\0\0\0\0"
	    "\x01\xca\x3f");
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_FLOAT);
	ck_assert_int_eq(archive_rd_float_bits(r), 32);
	ck_assert_int_eq(archive_rd_float_bits(r), 32);	/* not consumed */
	ck_assert_int_eq(archive_rd_float(r, &fv), 0);
	ck_assert(fv == 1.5f);
	ck_assert_int_eq(archive_rd_float_bits(r), 64);
	ck_assert_int_eq(archive_rd_double(r, &dv), 0);
	ck_assert(dv == 1.5);
	ck_assert_int_eq(archive_rd_float_bits(r), -EPROTO);
	ck_assert_int_eq(archive_rd_skip(r), 0);
	ck_assert_int_eq(archive_rd_float_bits(r), -EBADMSG);
	archive_rd_free(r);
	r = archive_rd_open(NULL, 0);
	ck_assert_int_eq(archive_rd_float_bits(r), -ENODATA);
	archive_rd_free(r);
}
END_TEST

/* ABI 1.2: whole values as their encoded bytes. */
START_TEST(raw_values)
{
	static const char	 msg[] = "\x93\x01\x81\xa1k\xd4\x02\x03"
	    "\xca\x40\x20\0\0" "\xa2hi" "\xc0";
	struct asockd_writer	*w;
	struct asockd_reader	*r;
	const void		*p;
	size_t			 len;
	uint32_t		 n;

	/* rd_raw takes the whole array; rd_copy passes values unchanged. */
	r = RD(msg);
	ck_assert_int_eq(archive_rd_raw(r, &p, &len), 0);
	ck_assert_uint_eq(len, 13);
	ck_assert_ptr_eq(p, msg);
	w = archive_wr_new();
	ck_assert_int_eq(archive_wr_raw(w, p, len), 0);
	ck_assert_int_eq(archive_rd_copy(r, w), 0);
	ck_assert_int_eq(archive_rd_copy(r, w), 0);
	ck_assert_int_eq(archive_rd_copy(r, w), -ENODATA);
	ck_assert_int_eq(archive_rd_raw(r, &p, &len), -ENODATA);
	WR_IS(w, msg);
	archive_rd_free(r);

	/* Inside a container, one element at a time. */
	r = RD(msg);
	archive_wr_reset(w);
	ck_assert_int_eq(archive_rd_array(r, &n), 0);
	ck_assert_int_eq(archive_wr_array(w, 2), 0);
	ck_assert_int_eq(archive_rd_skip(r), 0);
	ck_assert_int_eq(archive_rd_copy(r, w), 0);	/* the map */
	ck_assert_int_eq(archive_rd_raw(r, &p, &len), 0);	/* float32 */
	ck_assert_int_eq(archive_wr_raw(w, p, len), 0);
	WR_IS(w, "\x92\x81\xa1k\xd4\x02\x03\xca\x40\x20\0\0");
	archive_rd_free(r);

	/* Malformed values are not taken, nor written. */
	r = RD("\x92\x01\xa3" "ab");
	ck_assert_int_eq(archive_rd_raw(r, &p, &len), -EBADMSG);
	ck_assert_int_eq(archive_rd_copy(r, w), -EBADMSG);
	ck_assert_int_eq(archive_rd_next_type(r), ASOCKD_T_ARRAY);
	archive_rd_free(r);
	archive_wr_reset(w);
	ck_assert_int_eq(archive_wr_raw(w, "\xc1", 1), -EINVAL);
	ck_assert_int_eq(archive_wr_raw(w, "\xa3" "ab", 3), -EINVAL);
	ck_assert_int_eq(archive_wr_raw(w, "\x92\x01", 2), -EINVAL);
	ck_assert_int_eq(archive_wr_raw(w, "\xa2\xc0\x80", 3), -EINVAL);
	ck_assert_int_eq(archive_wr_raw(w, "", 0), -EINVAL);
	ck_assert_int_eq(archive_wr_raw(w, NULL, 1), -EINVAL);
	archive_wr_data(w, &len);
	ck_assert_uint_eq(len, 0);
	/* Several whole values at once are fine. */
	ck_assert_int_eq(archive_wr_raw(w, "\x01\x02\xc0", 3), 0);
	WR_IS(w, "\x01\x02\xc0");
	archive_wr_free(w);
}
END_TEST

/* ---------------------------------------------- through the real daemon */

static const char values_conf[] =
"daemon: { workers = 1; };\n"
"plugins: { values = { path = \"@TEST_PLUGIN_DIR@/values.so\"; };\n"
"  minor1 = { path = \"@TEST_PLUGIN_DIR@/minor1.so\"; };\n"
"  echo = { path = \"@PLUGIN_DIR@/echo.so\"; }; };\n"
"listeners: (\n"
"  { name = \"v\"; listen = \"tcp://127.0.0.1:0\";\n"
"    plugin = \"values\"; framing = \"archive\"; },\n"
"  { name = \"old\"; listen = \"tcp://127.0.0.1:0\";\n"
"    plugin = \"minor1\"; framing = \"archive\"; },\n"
"  { name = \"echo\"; listen = \"tcp://127.0.0.1:0\";\n"
"    plugin = \"echo\"; framing = \"archive\"; } );\n";

static struct daemon	*vd;

static void
values_start(void)
{
	vd = h_daemon_start(values_conf, NULL);
	ck_assert_msg(vd != NULL, "daemon did not start");
}

static void
values_stop(void)
{
	ck_assert_int_eq(h_daemon_stop(vd, 10000), 0);
	h_daemon_free(vd);
}

/* Send payload as one frame; receive one frame into buf, return its
 * length. */
static size_t
exchange(int fd, const void *payload, size_t len, unsigned char *buf,
    size_t cap)
{
	unsigned char	 hdr[4] = { len >> 24, len >> 16, len >> 8, len };
	ssize_t		 r;

	ck_assert_int_eq(h_write_all(fd, hdr, 4), 4);
	ck_assert_int_eq(h_write_all(fd, payload, len), (ssize_t)len);
	ck_assert_int_ge(r = h_read_frame(fd, buf, cap, 5000), 0);
	return (size_t)r;
}

/*
 * Elements covering every ext format, a timestamp, float32 (1.5, -0.0)
 * and float64 (0.1) at top level and inside an array, and a few others.
 * build_values() puts them after a command name in an array.
 */
static size_t
values_elements(unsigned char *p)
{
	static const unsigned char	 head[] =
	    "\xd4\x05\x01"				/* fixext 1, type 5 */
	    "\xc7\x03\xfd" "abc"			/* ext 8, type -3 */
	    "\xd8\x7f" "0123456789abcdef"		/* fixext 16 */
	    "\xd6\xff\0\0\0\x01"			/* timestamp 32 */
	    "\xca\x3f\xc0\0\0"			/* float32 1.5 */
	    "\xca\x80\0\0\0"				/* float32 -0.0 */
	    "\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a"	/* float64 0.1 */
	    "\x92\xd4\x01\x02\xca\x40\x20\0\0"	/* [ext, 2.5f] */
	    "\xa1s\x07";
	size_t				 n = sizeof(head) - 1;

	memcpy(p, head, n);
	/* ext 16 of 300 bytes, type -128 */
	memcpy(p + n, "\xc8\x01\x2c\x80", 4);
	memset(p + n + 4, 0xc1, 300);	/* ext bodies are not values */
	return n + 304;
}

#define NELEMENTS	11

static size_t
build_values(unsigned char *p, const char *cmd, size_t *elen)
{
	size_t	 n = strlen(cmd);

	p[0] = 0x90 | (1 + NELEMENTS);
	p[1] = 0xa0 | n;
	memcpy(p + 2, cmd, n);
	*elen = values_elements(p + 2 + n);
	return 2 + n + *elen;
}

/* copy, raw and typed each hand back the elements byte for byte. */
START_TEST(daemon_roundtrip)
{
	static const char *const cmds[] = { "copy", "raw", "typed" };
	unsigned char	 msg[1024], reply[1024];
	size_t		 len, elen, n, i;
	int		 fd;

	values_start();
	fd = h_tcp_connect("127.0.0.1", h_port(vd, "v"));
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 3; i++) {
		len = build_values(msg, cmds[i], &elen);
		n = exchange(fd, msg, len, reply, sizeof(reply));
		ck_assert_msg(n == elen && memcmp(reply, msg + len - elen,
		    n) == 0, "%s: reply of %zu bytes differs", cmds[i], n);
	}
	/* float32 is reported as such, float64 too. */
	n = exchange(fd, "\x95\xa8" "describe" "\xca\x3f\xc0\0\0"
	    "\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a\xc7\x03\xfd" "abc" "\x07",
	    31, reply, sizeof(reply));
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(memcmp(reply, "\x94\xa3" "f32" "\xa3" "f64"
	    "\xa8" "ext -3 3" "\xa1-", n), 0);
	close(fd);
	values_stop();
}
END_TEST

/* A plugin built for ABI 1.1 loads and runs in a 1.2 (or later) daemon. */
START_TEST(daemon_minor1)
{
	unsigned char	 reply[64];
	size_t		 n;
	int		 fd;

	values_start();
	ck_assert_int_ge(ASOCKD_ABI_MINOR, 2);
	fd = h_tcp_connect("127.0.0.1", h_port(vd, "old"));
	ck_assert_int_ge(fd, 0);
	n = exchange(fd, "\x91\xc0", 2, reply, sizeof(reply));
	ck_assert_uint_eq(n, 9);
	/* [ "minor", the plugin's minor 1, the daemon's ] */
	ck_assert_int_eq(memcmp(reply, "\x93\xa5minor\x01", 8), 0);
	ck_assert_int_eq(reply[8], ASOCKD_ABI_MINOR);
	close(fd);
	values_stop();
}
END_TEST

/*
 * The Python client of docs/archive.md, taken from the page itself, run
 * with Debian's python3-msgpack against the echo plugin (the page's
 * multi-value example) and the values plugin (ext and timestamp).
 */
static const char recipe_driver[] =
"\n"
"import sys\n"
"s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
"send_frame(s, 1, -200, True, {'n': 3.5})\n"
"got = recv_frame(s)\n"
"assert got == [1, -200, True, {'n': 3.5}], got\n"
"p = b'\\x01\\xd1\\xff\\x38\\xc3\\x81\\xa1n\\xcb\\x40\\x0c' + bytes(6)\n"
"try:\n"
"    msgpack.unpackb(p)\n"
"    sys.exit('unpackb took several values')\n"
"except msgpack.ExtraData:\n"
"    pass\n"
"v = socket.create_connection(('127.0.0.1', int(sys.argv[2])))\n"
"send_frame(v, ['copy', msgpack.ExtType(5, b'ab'),\n"
"    msgpack.Timestamp(1, 500), {1: 'x'}])\n"
"got = recv_frame(v)\n"
"assert got == [msgpack.ExtType(5, b'ab'), msgpack.Timestamp(1, 500),\n"
"    {1: 'x'}], got\n"
"print('recipe ok')\n";

START_TEST(python_recipe)
{
	const char	*src = getenv("ASOCKD_SRCDIR");
	char		 path[1024], cmd[2048], *doc, *p, *q, *script, *out;
	FILE		*f;
	long		 len;
	int		 rc;

	ck_assert_ptr_nonnull(src);
	snprintf(path, sizeof(path), "%s/docs/archive.md", src);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	ck_assert_int_gt(len = ftell(f), 0);
	rewind(f);
	ck_assert_ptr_nonnull(doc = calloc(1, len + 1));
	ck_assert_int_eq(fread(doc, 1, len, f), len);
	fclose(f);
	/* The first python block that defines recv_frame. */
	p = doc;
	while ((p = strstr(p, "```python\n")) != NULL) {
		p += strlen("```python\n");
		ck_assert_ptr_nonnull(q = strstr(p, "\n```"));
		if (memmem(p, q - p, "def recv_frame", 14) != NULL)
			break;
	}
	ck_assert_msg(p != NULL, "no recipe in %s", path);
	ck_assert_ptr_nonnull(script = calloc(1, (q - p) + 2 +
	    sizeof(recipe_driver)));
	memcpy(script, p, q - p + 1);
	strcat(script, recipe_driver);
	p = h_write_file("recipe.py", script);

	values_start();
	snprintf(cmd, sizeof(cmd), "timeout 30 /usr/bin/python3 %s %d %d "
	    "> %s.out 2>&1", p, h_port(vd, "echo"), h_port(vd, "v"), p);
	rc = system(cmd);
	snprintf(path, sizeof(path), "%s.out", p);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	ck_assert_ptr_nonnull(out = calloc(1, 4096));
	len = (long)fread(out, 1, 4095, f);
	fclose(f);
	ck_assert_msg(rc == 0 && strstr(out, "recipe ok") != NULL,
	    "python recipe (rc %d): %s", rc, out);
	values_stop();
	free(out);
	free(p);
	free(script);
	free(doc);
}
END_TEST

static Suite *
archive_suite(void)
{
	Suite	*s = suite_create("archive");
	TCase	*tc;

	tc = tcase_create("roundtrip");
	tcase_add_test(tc, roundtrip_scalars);
	tcase_add_test(tc, roundtrip_str_bin);
	tcase_add_test(tc, roundtrip_containers);
	tcase_add_test(tc, writer_bytes);
	tcase_add_test(tc, writer_utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("reader");
	tcase_add_test(tc, reader_types);
	tcase_add_test(tc, reader_truncated);
	tcase_add_test(tc, reader_utf8);
	tcase_add_test(tc, reader_depth);
	tcase_add_test(tc, reader_gc);
	suite_add_tcase(s, tc);

	tc = tcase_create("abi12");
	tcase_add_test(tc, ext_values);
	tcase_add_test(tc, float_bits);
	tcase_add_test(tc, raw_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, daemon_roundtrip);
	tcase_add_test(tc, daemon_minor1);
	tcase_add_test(tc, python_recipe);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* h_run_suite fails a run in which no test ran (CK_RUN_* typos) */
	return h_run_suite(archive_suite());
}
