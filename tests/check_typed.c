/*
 * check_typed.c - the host's archive API end to end: typed values written
 * by a plugin (tests/plugins/typed.c) read back with libasockd-client's
 * reader as the same types; typed getters report type mismatches and the
 * end of the message; wr_broadcast reaches every connection of the
 * listener.  Then the client against a hostile server of the test's own:
 * frames that declare huge counts, deep nesting or bad lengths are refused
 * before anything is read or allocated.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd/client.h"
#include "harness.h"

static const char *conf =
"daemon: { workers = 1; };\n"
"plugins: { typed = { path = \"@TEST_PLUGIN_DIR@/typed.so\"; }; };\n"
"listeners: ( { name = \"t\"; listen = \"tcp://127.0.0.1:0\";\n"
"  plugin = \"typed\"; framing = \"archive\"; } );\n";

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

static struct asockd_client *
dial(void)
{
	struct asockd_client	*cl;
	char			 uri[64];

	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", h_port(d, "t"));
	ck_assert_int_eq(asockd_client_connect(uri, 5000, &cl), 0);
	return cl;
}

START_TEST(test_types)
{
	struct asockd_client	*cl = dial();
	const char		*s;
	const void		*p;
	size_t			 len;
	int64_t			 i;
	uint64_t		 u;
	uint32_t		 n;
	double			 f;
	int			 b, is32;

	ck_assert_int_eq(asockd_client_send_strings(cl, "types", NULL), 0);
	ck_assert_int_eq(asockd_client_recv(cl, 5000), 0);
	ck_assert_ptr_null(asockd_client_why(cl));
	ck_assert_int_eq(asockd_client_rd_next_type(cl), ASOCKD_CLIENT_T_NIL);
	ck_assert_int_eq(asockd_client_rd_nil(cl), 0);
	ck_assert_int_eq(asockd_client_rd_bool(cl, &b), 0);
	ck_assert(b);
	/* a getter of another type consumes nothing */
	ck_assert_int_eq(asockd_client_rd_uint(cl, &u), -EPROTO);
	ck_assert_int_eq(asockd_client_rd_int(cl, &i), 0);
	ck_assert_int_eq(i, -5);
	ck_assert_int_eq(asockd_client_rd_next_type(cl),
	    ASOCKD_CLIENT_T_UINT);
	ck_assert_int_eq(asockd_client_rd_uint(cl, &u), 0);
	ck_assert_uint_eq(u, 300);
	ck_assert_int_eq(asockd_client_rd_double(cl, &f, &is32), 0);
	ck_assert(f == 1.5 && is32);
	ck_assert_int_eq(asockd_client_rd_double(cl, &f, &is32), 0);
	ck_assert(f == 2.25 && !is32);
	ck_assert_int_eq(asockd_client_rd_str(cl, &s, &len), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert(memcmp(s, "\xc3\xa9", 2) == 0);
	ck_assert_int_eq(asockd_client_rd_bin(cl, &p, &len), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(asockd_client_rd_map(cl, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(asockd_client_rd_next_type(cl), ASOCKD_CLIENT_T_STR);
	ck_assert_int_eq(asockd_client_rd_skip(cl), 0);	/* key */
	ck_assert_int_eq(asockd_client_rd_skip(cl), 0);	/* value */
	ck_assert_int_eq(asockd_client_rd_next_type(cl),
	    ASOCKD_CLIENT_T_NONE);
	ck_assert_int_eq(asockd_client_rd_nil(cl), -ENODATA);
	ck_assert_int_eq(asockd_client_rd_skip(cl), -ENODATA);
	asockd_client_close(cl);
}
END_TEST

/* Receive ["NAME", int] and return the int. */
static int64_t
recv_pair(struct asockd_client *cl, const char *name)
{
	const char	*s;
	size_t		 len;
	uint32_t	 n;
	int64_t		 v;

	ck_assert_int_eq(asockd_client_recv(cl, 5000), 0);
	ck_assert_int_eq(asockd_client_rd_array(cl, &n), 0);
	ck_assert_uint_ge(n, 2);
	ck_assert_int_eq(asockd_client_rd_str(cl, &s, &len), 0);
	ck_assert_uint_eq(len, strlen(name));
	ck_assert(memcmp(s, name, len) == 0);
	ck_assert_int_eq(asockd_client_rd_int(cl, &v), 0);
	return v;
}

START_TEST(test_getters)
{
	struct asockd_client	*cl = dial();
	int64_t			 v;

	/* ["sum", 1, -2, 40] */
	ck_assert_int_eq(asockd_client_wr_array(cl, 4), 0);
	ck_assert_int_eq(asockd_client_wr_str(cl, "sum", 3), 0);
	ck_assert_int_eq(asockd_client_wr_int(cl, 1), 0);
	ck_assert_int_eq(asockd_client_wr_int(cl, -2), 0);
	ck_assert_int_eq(asockd_client_wr_int(cl, 40), 0);
	ck_assert_int_eq(asockd_client_send(cl, 5000), 0);
	ck_assert_int_eq(recv_pair(cl, "sum"), 39);

	/* ["mismatch", 7]: -EPROTO for the wrong type, -ENODATA past end */
	ck_assert_int_eq(asockd_client_wr_array(cl, 2), 0);
	ck_assert_int_eq(asockd_client_wr_str(cl, "mismatch", 8), 0);
	ck_assert_int_eq(asockd_client_wr_int(cl, 7), 0);
	ck_assert_int_eq(asockd_client_send(cl, 5000), 0);
	ck_assert_int_eq(recv_pair(cl, "rc"), -EPROTO);
	ck_assert_int_eq(asockd_client_rd_int(cl, &v), 0);
	ck_assert_int_eq(v, -ENODATA);

	/* a valid frame that is not a command */
	ck_assert_int_eq(asockd_client_wr_int(cl, 12), 0);
	ck_assert_int_eq(asockd_client_send(cl, 5000), 0);
	ck_assert_int_eq(asockd_client_recv(cl, 5000), 0);
	ck_assert_int_eq(asockd_client_rd_next_type(cl),
	    ASOCKD_CLIENT_T_ARRAY);

	/* the writer refuses what the daemon would close the connection for */
	ck_assert_int_eq(asockd_client_wr_str(cl, "\xc0\x80", 2), -EINVAL);
	ck_assert_int_eq(asockd_client_wr_raw(cl, "\x92\x01", 2), -EINVAL);
	ck_assert_int_eq(asockd_client_wr_ext(cl, 128, "", 0), -EINVAL);
	ck_assert_int_eq(asockd_client_send(cl, 5000), -EMSGSIZE);
	asockd_client_close(cl);
}
END_TEST

/* Every writer call, in the shortest encoding MessagePack has for it. */
START_TEST(test_writer)
{
	static const char	 want[] = "\xc0\xc2"
	    "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"
	    "\xd3\x80\0\0\0\0\0\0\0"
	    "\xca\x3f\0\0\0" "\xcb\xbf\xd0\0\0\0\0\0\0"
	    "\xc4\x02\0\1" "\xc7\x03\xfd" "abc" "\x91\xc0";
	struct asockd_client	*cl = dial();
	const void		*p;
	size_t			 len;

	ck_assert_int_eq(asockd_client_wr_nil(cl), 0);
	ck_assert_int_eq(asockd_client_wr_bool(cl, 0), 0);
	ck_assert_int_eq(asockd_client_wr_uint(cl, UINT64_MAX), 0);
	ck_assert_int_eq(asockd_client_wr_int(cl, INT64_MIN), 0);
	ck_assert_int_eq(asockd_client_wr_float(cl, 0.5f), 0);
	ck_assert_int_eq(asockd_client_wr_double(cl, -0.25), 0);
	ck_assert_int_eq(asockd_client_wr_bin(cl, "\0\1", 2), 0);
	ck_assert_int_eq(asockd_client_wr_ext(cl, -3, "abc", 3), 0);
	ck_assert_int_eq(asockd_client_wr_raw(cl, "\x91\xc0", 2), 0);
	p = asockd_client_wr_data(cl, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	ck_assert(memcmp(p, want, len) == 0);
	asockd_client_wr_reset(cl);
	ck_assert_ptr_null(asockd_client_wr_data(cl, &len));
	ck_assert_uint_eq(len, 0);
	asockd_client_close(cl);
}
END_TEST

START_TEST(test_broadcast)
{
	struct asockd_client	*cl[3];
	const char		*s;
	size_t			 len;
	uint32_t		 n;
	int			 i;

	for (i = 0; i < 3; i++)
		cl[i] = dial();
	/* every connection is open at the daemon before the broadcast */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(asockd_client_send_strings(cl[i], "sum",
		    NULL), 0);
		ck_assert_int_eq(asockd_client_recv(cl[i], 5000), 0);
	}
	ck_assert_int_eq(asockd_client_send_strings(cl[1], "bcast", "hi all",
	    NULL), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(asockd_client_recv(cl[i], 5000), 0);
		ck_assert_int_eq(asockd_client_rd_array(cl[i], &n), 0);
		ck_assert_uint_eq(n, 2);
		ck_assert_int_eq(asockd_client_rd_skip(cl[i]), 0);
		ck_assert_int_eq(asockd_client_rd_str(cl[i], &s, &len), 0);
		ck_assert_uint_eq(len, 6);
		ck_assert(memcmp(s, "hi all", 6) == 0);
	}
	for (i = 0; i < 3; i++)
		asockd_client_close(cl[i]);
}
END_TEST

/* --- a hostile server: a listening socket of the test's own --- */

static int	 hs_lfd = -1;
static char	 hs_uri[64];

static void
hostile_setup(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);

	hs_lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(hs_lfd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(hs_lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	ck_assert_int_eq(listen(hs_lfd, 4), 0);
	ck_assert_int_eq(getsockname(hs_lfd, (struct sockaddr *)&sin, &len),
	    0);
	snprintf(hs_uri, sizeof(hs_uri), "tcp://127.0.0.1:%d",
	    ntohs(sin.sin_port));
}

static void
hostile_teardown(void)
{
	close(hs_lfd);
}

/* A client connected to the hostile server, and the server's end. */
static struct asockd_client *
hostile_dial(int *sfd)
{
	struct asockd_client	*cl;

	/* the kernel completes the handshake before accept */
	ck_assert_int_eq(asockd_client_connect(hs_uri, 5000, &cl), 0);
	*sfd = accept(hs_lfd, NULL, NULL);
	ck_assert_int_ge(*sfd, 0);
	return cl;
}

static void
hostile_send(int sfd, const void *p, size_t len)
{
	ck_assert_int_eq(h_write_all(sfd, p, len), (ssize_t)len);
}

/*
 * Frames that declare far more than they hold: an array32 of 2^32 - 1
 * elements in a 5-byte payload (msgpack_unpack_next would ask for 96 GB),
 * one of 64 Mi (it would get its 1.5 GB), a map32 and a str32 alike.
 * Each is refused with -EBADMSG before anything reads it, and the stream
 * stays in step: the frame after it reads fine.
 */
START_TEST(test_hostile_counts)
{
	static const struct {
		const char	*frame;
		size_t		 len;
		const char	*why;
	} bad[] = {
		{ "\0\0\0\5\xdd\xff\xff\xff\xff", 9, "length past the end" },
		{ "\0\0\0\5\xdd\x04\0\0\0", 9, "length past the end" },
		{ "\0\0\0\5\xdf\xff\xff\xff\xff", 9, "length past the end" },
		{ "\0\0\0\5\xdb\xff\xff\xff\xff", 9, "length past the end" },
		{ "\0\0\0\2\xcd\x01", 6, "truncated value" },
		{ "\0\0\0\1\xc1", 5, "invalid format byte" },
		{ "\0\0\0\3\xa2\xc0\x80", 7, "not valid UTF-8" },
	};
	struct asockd_client	*cl;
	const void		*p;
	size_t			 i, len;
	int			 sfd;

	cl = hostile_dial(&sfd);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hostile_send(sfd, bad[i].frame, bad[i].len);
		ck_assert_int_eq(asockd_client_recv(cl, 5000), -EBADMSG);
		ck_assert_ptr_nonnull(asockd_client_why(cl));
		ck_assert_msg(strstr(asockd_client_why(cl), bad[i].why) !=
		    NULL, "frame %zu: %s", i, asockd_client_why(cl));
		/* nothing to read, but the bytes are there to log */
		ck_assert_int_eq(asockd_client_rd_next_type(cl),
		    ASOCKD_CLIENT_T_NONE);
		ck_assert_int_eq(asockd_client_rd_array(cl, &(uint32_t){0}),
		    -ENODATA);
		ck_assert_int_eq(asockd_client_rd_raw(cl, &p, &len),
		    -ENODATA);
		ck_assert_ptr_nonnull(asockd_client_frame(cl, &len));
		ck_assert_uint_eq(len, bad[i].len - 4);

		hostile_send(sfd, "\0\0\0\1\xc0", 5);
		ck_assert_int_eq(asockd_client_recv(cl, 5000), 0);
		ck_assert_ptr_null(asockd_client_why(cl));
		ck_assert_int_eq(asockd_client_rd_nil(cl), 0);
	}
	close(sfd);
	ck_assert_int_eq(asockd_client_recv(cl, 5000), -ENOTCONN);
	asockd_client_close(cl);
}
END_TEST

/* Nesting: 64 levels are read, 65 are refused (msgpack-c stops at 32). */
START_TEST(test_hostile_depth)
{
	struct asockd_client	*cl;
	unsigned char		 f[4 + 66];
	uint32_t		 n;
	int			 sfd, i;

	cl = hostile_dial(&sfd);
	memset(f, 0x91, sizeof(f));
	f[0] = f[1] = f[2] = 0;
	f[3] = 65;			/* 64 x 0x91, then nil */
	f[4 + 64] = 0xc0;
	hostile_send(sfd, f, 4 + 65);
	ck_assert_int_eq(asockd_client_recv(cl, 5000), 0);
	for (i = 0; i < 64; i++)
		ck_assert_int_eq(asockd_client_rd_array(cl, &n), 0);
	ck_assert_int_eq(asockd_client_rd_nil(cl), 0);

	memset(f, 0x91, sizeof(f));
	f[0] = f[1] = f[2] = 0;
	f[3] = 66;			/* 65 x 0x91, then nil */
	f[4 + 65] = 0xc0;
	hostile_send(sfd, f, 4 + 66);
	ck_assert_int_eq(asockd_client_recv(cl, 5000), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(asockd_client_why(cl), "nesting"));
	close(sfd);
	asockd_client_close(cl);
}
END_TEST

/* Frame headers: over max_frame or 0 cannot be resynchronised. */
START_TEST(test_hostile_length)
{
	struct asockd_client	*cl;
	int			 sfd;

	cl = hostile_dial(&sfd);
	hostile_send(sfd, "\xff\xff\xff\xff", 4);
	ck_assert_int_eq(asockd_client_recv(cl, 5000), -EMSGSIZE);
	ck_assert_str_eq(asockd_client_why(cl), "frame too large");
	close(sfd);
	asockd_client_close(cl);

	cl = hostile_dial(&sfd);
	hostile_send(sfd, "\0\0\0\0", 4);
	ck_assert_int_eq(asockd_client_recv(cl, 5000), -EMSGSIZE);
	ck_assert_str_eq(asockd_client_why(cl), "zero-length frame");
	close(sfd);
	asockd_client_close(cl);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("typed");
	TCase	*tc = tcase_create("typed");
	TCase	*th = tcase_create("hostile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_types);
	tcase_add_test(tc, test_getters);
	tcase_add_test(tc, test_writer);
	tcase_add_test(tc, test_broadcast);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(th, hostile_setup, hostile_teardown);
	tcase_set_timeout(th, 30);
	tcase_add_test(th, test_hostile_counts);
	tcase_add_test(th, test_hostile_depth);
	tcase_add_test(th, test_hostile_length);
	suite_add_tcase(s, th);
	return h_run_suite(s);
}
