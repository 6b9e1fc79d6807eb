/*
 * check_sendq.c - unit tests of the output queue (daemon/sendq.c): byte
 * order across chunks, partial consumption, coalescing of small pushes,
 * and flushing into a socket that takes only part of it.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"
#include "harness.h"

START_TEST(test_push_consume_order)
{
	struct sendq	 q;
	struct iovec	 iov[ASOCKD_IOV_MAX];
	unsigned char	 big[40000], out[50000];
	size_t		 i, got = 0;
	int		 n, k;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)i;
	sendq_init(&q);
	sendq_push(&q, "abc", 3);
	sendq_push(&q, big, sizeof(big));
	sendq_push(&q, "xyz", 3);
	ck_assert_uint_eq(q.len, 3 + sizeof(big) + 3);
	sendq_consume(&q, 2);
	ck_assert_uint_eq(q.len, 1 + sizeof(big) + 3);
	n = sendq_iov(&q, iov, ASOCKD_IOV_MAX);
	ck_assert_int_ge(n, 1);
	for (k = 0; k < n; k++) {
		memcpy(out + got, iov[k].iov_base, iov[k].iov_len);
		got += iov[k].iov_len;
	}
	ck_assert_uint_eq(got, q.len);
	ck_assert_int_eq(out[0], 'c');
	ck_assert(memcmp(out + 1, big, sizeof(big)) == 0);
	ck_assert(memcmp(out + 1 + sizeof(big), "xyz", 3) == 0);
	sendq_consume(&q, q.len);
	ck_assert_uint_eq(q.len, 0);
	ck_assert_int_eq(sendq_iov(&q, iov, ASOCKD_IOV_MAX), 0);
	sendq_free(&q);
}
END_TEST

/* Many tiny pushes share chunks: far fewer iovecs than pushes. */
START_TEST(test_small_pushes_coalesce)
{
	struct sendq	 q;
	struct iovec	 iov[ASOCKD_IOV_MAX];
	int		 i;

	sendq_init(&q);
	for (i = 0; i < 1000; i++)
		sendq_push(&q, "0123456789", 10);
	ck_assert_uint_eq(q.len, 10000);
	ck_assert_int_eq(sendq_iov(&q, iov, ASOCKD_IOV_MAX), 1);
	sendq_push(&q, "", 0);
	ck_assert_uint_eq(q.len, 10000);
	sendq_free(&q);
	ck_assert_uint_eq(q.len, 0);
}
END_TEST

/* Flush into a socketpair with a small buffer: partial writes keep the
 * rest queued, in order, and EAGAIN is not an error. */
START_TEST(test_flush_partial)
{
	struct sendq	 q;
	static unsigned char data[1 << 20], got[1 << 20];
	size_t		 total = 0, i;
	ssize_t		 n, r;
	int		 sv[2], sz = 4096;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 31 + 7);
	sendq_init(&q);
	for (i = 0; i < sizeof(data); i += 1000)
		sendq_push(&q, data + i, i + 1000 <= sizeof(data) ? 1000 :
		    sizeof(data) - i);
	while (q.len > 0) {
		n = sendq_flush(&q, sv[0]);
		ck_assert_int_ge(n, 0);
		r = read(sv[1], got + total, sizeof(got) - total);
		ck_assert_int_ge(r, 0);
		total += r;
	}
	while (total < sizeof(data)) {
		r = read(sv[1], got + total, sizeof(got) - total);
		ck_assert_int_gt(r, 0);
		total += r;
	}
	ck_assert(memcmp(got, data, sizeof(data)) == 0);
	/* a closed peer is an error, not a silent loss */
	close(sv[1]);
	sendq_push(&q, "x", 1);
	errno = 0;
	ck_assert_int_eq(sendq_flush(&q, sv[0]), -1);
	ck_assert_int_eq(errno, EPIPE);
	sendq_free(&q);
	close(sv[0]);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("sendq");
	TCase	*tc = tcase_create("sendq");

	tcase_add_test(tc, test_push_consume_order);
	tcase_add_test(tc, test_small_pushes_coalesce);
	tcase_add_test(tc, test_flush_partial);
	suite_add_tcase(s, tc);
	return h_run_suite(s);
}
