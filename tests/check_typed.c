/*
 * check_typed.c - the host's archive API end to end: typed values written
 * by a plugin (tests/plugins/typed.c) decode with msgpack-c on the client
 * side as the same types; typed getters report type mismatches and the end
 * of the message; wr_broadcast reaches every connection of the listener.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

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

/* Receive one frame and unpack its next value into u. */
static void
next(struct asockd_client *cl, msgpack_unpacked *u, int recv)
{
	if (recv)
		ck_assert_int_eq(asockd_client_recv(cl, 5000), 0);
	ck_assert_int_eq(asockd_client_next(cl, u), 0);
}

START_TEST(test_types)
{
	struct asockd_client	*cl = dial();
	msgpack_unpacked	 u;
	msgpack_object		 o;

	ck_assert_int_eq(asockd_client_send_strings(cl, "types", NULL), 0);
	msgpack_unpacked_init(&u);
	next(cl, &u, 1);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_NIL);
	next(cl, &u, 0);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_BOOLEAN);
	ck_assert(u.data.via.boolean);
	next(cl, &u, 0);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
	ck_assert_int_eq(u.data.via.i64, -5);
	next(cl, &u, 0);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	ck_assert_uint_eq(u.data.via.u64, 300);
	next(cl, &u, 0);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_FLOAT32);
	ck_assert(u.data.via.f64 == 1.5);
	next(cl, &u, 0);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_FLOAT64);
	ck_assert(u.data.via.f64 == 2.25);
	next(cl, &u, 0);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_STR);
	ck_assert_uint_eq(u.data.via.str.size, 2);
	ck_assert(memcmp(u.data.via.str.ptr, "\xc3\xa9", 2) == 0);
	next(cl, &u, 0);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_BIN);
	ck_assert_uint_eq(u.data.via.bin.size, 2);
	next(cl, &u, 0);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_MAP);
	ck_assert_uint_eq(u.data.via.map.size, 1);
	o = u.data.via.map.ptr[0].key;
	ck_assert_int_eq(o.type, MSGPACK_OBJECT_STR);
	ck_assert_int_eq(asockd_client_next(cl, &u), -ENODATA);
	msgpack_unpacked_destroy(&u);
	asockd_client_close(cl);
}
END_TEST

START_TEST(test_getters)
{
	struct asockd_client	*cl = dial();
	msgpack_packer		*pk = asockd_client_packer(cl);
	msgpack_unpacked	 u;
	msgpack_object		*a;

	/* ["sum", 1, -2, 40] */
	msgpack_pack_array(pk, 4);
	msgpack_pack_str(pk, 3);
	msgpack_pack_str_body(pk, "sum", 3);
	msgpack_pack_int(pk, 1);
	msgpack_pack_int(pk, -2);
	msgpack_pack_int(pk, 40);
	ck_assert_int_eq(asockd_client_send(cl, 5000), 0);
	msgpack_unpacked_init(&u);
	next(cl, &u, 1);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_ARRAY);
	a = u.data.via.array.ptr;
	ck_assert_int_eq(a[1].via.i64, 39);

	/* ["mismatch", 7]: -EPROTO for the wrong type, -ENODATA past end */
	msgpack_pack_array(pk, 2);
	msgpack_pack_str(pk, 8);
	msgpack_pack_str_body(pk, "mismatch", 8);
	msgpack_pack_int(pk, 7);
	ck_assert_int_eq(asockd_client_send(cl, 5000), 0);
	next(cl, &u, 1);
	a = u.data.via.array.ptr;
	ck_assert_int_eq(a[1].via.i64, -EPROTO);
	ck_assert_int_eq(a[2].via.i64, -ENODATA);

	/* a valid frame that is not a command */
	msgpack_pack_int(pk, 12);
	ck_assert_int_eq(asockd_client_send(cl, 5000), 0);
	next(cl, &u, 1);
	ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(u.data.via.array.ptr[0].via.str.size, 3);
	msgpack_unpacked_destroy(&u);
	asockd_client_close(cl);
}
END_TEST

START_TEST(test_broadcast)
{
	struct asockd_client	*cl[3];
	msgpack_unpacked	 u;
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
	msgpack_unpacked_init(&u);
	for (i = 0; i < 3; i++) {
		next(cl[i], &u, 1);
		ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_ARRAY);
		ck_assert_uint_eq(u.data.via.array.size, 2);
		ck_assert_uint_eq(u.data.via.array.ptr[1].via.str.size, 6);
		ck_assert(memcmp(u.data.via.array.ptr[1].via.str.ptr,
		    "hi all", 6) == 0);
	}
	msgpack_unpacked_destroy(&u);
	for (i = 0; i < 3; i++)
		asockd_client_close(cl[i]);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("typed");
	TCase	*tc = tcase_create("typed");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_types);
	tcase_add_test(tc, test_getters);
	tcase_add_test(tc, test_broadcast);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
