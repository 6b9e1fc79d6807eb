/*
 * check_addr.c - unit tests of daemon/addr.c: every address form of the
 * config file, the error messages for bad ones, and the formatting of
 * socket addresses for logs.  libasockd-client is built with the same
 * parser: its verdicts and messages must be the daemon's, and the
 * wildcard ("tcp://:PORT" and the "*" form) must connect to this host.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "asockd.h"
#include "asockd/client.h"
#include "harness.h"

static struct addr	 a;
static char		 err[512];

static int
parse(const char *uri, int resolve)
{
	err[0] = '\0';
	return addr_parse(uri, resolve, &a, err, sizeof(err));
}

static void
check_v4(const char *ip, int port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a.ss;
	char			 buf[INET_ADDRSTRLEN];

	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_uint_eq(a.sslen, sizeof(*sin));
	ck_assert_int_eq(ntohs(sin->sin_port), port);
	ck_assert_int_eq(a.port, port);
	inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
	ck_assert_str_eq(buf, ip);
}

START_TEST(tcp_v4)
{
	ck_assert_int_eq(parse("tcp://127.0.0.1:7007", 0), 0);
	ck_assert_int_eq(a.kind, ASOCKD_TCP);
	ck_assert_str_eq(a.host, "127.0.0.1");
	check_v4("127.0.0.1", 7007);

	ck_assert_int_eq(parse("udp://10.1.2.3:53", 0), 0);
	ck_assert_int_eq(a.kind, ASOCKD_UDP);
	check_v4("10.1.2.3", 53);
}
END_TEST

START_TEST(port_range)
{
	ck_assert_int_eq(parse("tcp://127.0.0.1:0", 0), 0);
	check_v4("127.0.0.1", 0);
	ck_assert_int_eq(parse("tcp://127.0.0.1:65535", 0), 0);
	check_v4("127.0.0.1", 65535);

	ck_assert_int_eq(parse("tcp://127.0.0.1:65536", 0), -1);
	ck_assert_str_eq(err, "bad port '65536' in 'tcp://127.0.0.1:65536'");
	ck_assert_int_eq(parse("tcp://127.0.0.1:70000", 0), -1);
	ck_assert_str_eq(err, "bad port '70000' in 'tcp://127.0.0.1:70000'");
	ck_assert_int_eq(parse("tcp://127.0.0.1:-1", 0), -1);
	ck_assert_ptr_nonnull(strstr(err, "bad port '-1'"));
	ck_assert_int_eq(parse("tcp://127.0.0.1:80x", 0), -1);
	ck_assert_ptr_nonnull(strstr(err, "bad port '80x'"));
	ck_assert_int_eq(parse("tcp://127.0.0.1:99999999999999", 0), -1);
	ck_assert_ptr_nonnull(strstr(err, "bad port"));
	ck_assert_int_eq(parse("tcp://127.0.0.1:", 0), -1);
	ck_assert_str_eq(err, "missing port in 'tcp://127.0.0.1:'");
	ck_assert_int_eq(parse("tcp://127.0.0.1", 0), -1);
	ck_assert_str_eq(err, "missing port in 'tcp://127.0.0.1'");
}
END_TEST

START_TEST(wildcard)
{
	ck_assert_int_eq(parse("tcp://*:8080", 0), 0);
	check_v4("0.0.0.0", 8080);
	ck_assert_int_eq(parse("tcp://:8080", 0), 0);
	check_v4("0.0.0.0", 8080);
	ck_assert_int_eq(parse("udp://0.0.0.0:8080", 0), 0);
	check_v4("0.0.0.0", 8080);
	ck_assert_int_eq(parse("tcp://[::]:8080", 0), 0);
	ck_assert_int_eq(a.ss.ss_family, AF_INET6);
	ck_assert(IN6_IS_ADDR_UNSPECIFIED(
	    &((struct sockaddr_in6 *)&a.ss)->sin6_addr));
}
END_TEST

START_TEST(ipv6)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a.ss;
	char			 buf[INET6_ADDRSTRLEN];

	ck_assert_int_eq(parse("tcp://[::1]:7007", 0), 0);
	ck_assert_int_eq(a.kind, ASOCKD_TCP);
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_uint_eq(a.sslen, sizeof(*sin6));
	ck_assert_int_eq(ntohs(sin6->sin6_port), 7007);
	ck_assert_str_eq(a.host, "::1");
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

	ck_assert_int_eq(parse("udp://[fe80::1:2]:0", 0), 0);
	inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
	ck_assert_str_eq(buf, "fe80::1:2");
	ck_assert_int_eq(a.port, 0);

	ck_assert_int_eq(parse("tcp://[::1:7007", 0), -1);
	ck_assert_str_eq(err, "missing ']' in 'tcp://[::1:7007'");
	ck_assert_int_eq(parse("tcp://[::1]7007", 0), -1);
	ck_assert_ptr_nonnull(strstr(err, "missing port"));
	ck_assert_int_eq(parse("tcp://[::g]:7007", 0), -1);
	ck_assert_str_eq(err, "bad IPv6 address '::g' in 'tcp://[::g]:7007'");
	ck_assert_int_eq(parse("tcp://[127.0.0.1]:7007", 0), -1);
	ck_assert_ptr_nonnull(strstr(err, "bad IPv6 address"));
	ck_assert_int_eq(parse("tcp://::1:7007", 0), -1);
	ck_assert_ptr_nonnull(strstr(err, "must be in brackets"));
}
END_TEST

START_TEST(names)
{
	/* Without resolve a name is split but not looked up. */
	ck_assert_int_eq(parse("tcp://example.invalid:25", 0), 0);
	ck_assert_str_eq(a.host, "example.invalid");
	ck_assert_int_eq(a.port, 25);
	ck_assert_uint_eq(a.sslen, 0);

	/* localhost is in /etc/hosts everywhere. */
	ck_assert_int_eq(parse("tcp://localhost:7007", 1), 0);
	ck_assert_str_eq(a.host, "localhost");
	ck_assert(a.ss.ss_family == AF_INET || a.ss.ss_family == AF_INET6);
	ck_assert_uint_gt(a.sslen, 0);
	if (a.ss.ss_family == AF_INET)
		check_v4("127.0.0.1", 7007);
	else
		ck_assert_int_eq(ntohs(
		    ((struct sockaddr_in6 *)&a.ss)->sin6_port), 7007);

	/* .invalid never resolves (RFC 6761). */
	ck_assert_int_eq(parse("udp://no-such-host.invalid:25", 1), -1);
	ck_assert_ptr_nonnull(strstr(err,
	    "cannot resolve 'no-such-host.invalid' in "
	    "'udp://no-such-host.invalid:25'"));
}
END_TEST

START_TEST(unix_paths)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&a.ss;

	ck_assert_int_eq(parse("unix:/tmp/asockd.sock", 1), 0);
	ck_assert_int_eq(a.kind, ASOCKD_UNIX);
	ck_assert_int_eq(sun->sun_family, AF_UNIX);
	ck_assert_str_eq(sun->sun_path, "/tmp/asockd.sock");
	ck_assert_uint_eq(a.sslen, offsetof(struct sockaddr_un, sun_path) +
	    strlen("/tmp/asockd.sock") + 1);

	ck_assert_int_eq(parse("unix-dgram:/run/x.sock", 1), 0);
	ck_assert_int_eq(a.kind, ASOCKD_UNIX_DGRAM);
	ck_assert_str_eq(sun->sun_path, "/run/x.sock");

	/* Relative paths are allowed (relative to the daemon's cwd). */
	ck_assert_int_eq(parse("unix:rel/x.sock", 1), 0);
	ck_assert_str_eq(sun->sun_path, "rel/x.sock");

	ck_assert_int_eq(parse("unix:", 1), -1);
	ck_assert_str_eq(err, "missing socket path in 'unix:'");
	ck_assert_int_eq(parse("unix-dgram:", 1), -1);
	ck_assert_str_eq(err, "missing socket path in 'unix-dgram:'");
}
END_TEST

START_TEST(unix_overflow)
{
	struct sockaddr_un	 sun;
	char			 uri[300], path[200];
	size_t			 max = sizeof(sun.sun_path) - 1;

	/* The longest path that fits with its NUL... */
	memset(path, 'p', max);
	path[0] = '/';
	path[max] = '\0';
	snprintf(uri, sizeof(uri), "unix:%s", path);
	ck_assert_int_eq(parse(uri, 1), 0);
	ck_assert_str_eq(((struct sockaddr_un *)&a.ss)->sun_path, path);

	/* ...and one byte more. */
	path[max] = 'p';
	path[max + 1] = '\0';
	snprintf(uri, sizeof(uri), "unix-dgram:%s", path);
	ck_assert_int_eq(parse(uri, 1), -1);
	ck_assert_ptr_nonnull(strstr(err, "socket path too long"));
	ck_assert_ptr_nonnull(strstr(err, "(108 bytes, at most 107)"));
}
END_TEST

START_TEST(bad_scheme)
{
	ck_assert_int_eq(parse("foo://127.0.0.1:1", 1), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown scheme 'foo' in "
	    "'foo://127.0.0.1:1'"));
	ck_assert_int_eq(parse("TCP://127.0.0.1:1", 1), -1);
	ck_assert_ptr_nonnull(strstr(err, "unknown scheme 'TCP'"));
	ck_assert_int_eq(parse("127.0.0.1", 1), -1);
	ck_assert_ptr_nonnull(strstr(err, "bad address '127.0.0.1'"));
	ck_assert_int_eq(parse("", 1), -1);
	ck_assert_ptr_nonnull(strstr(err, "bad address ''"));
	ck_assert_int_eq(parse("tcp://a/b:1", 1), -1);
	ck_assert_ptr_nonnull(strstr(err, "bad host"));
}
END_TEST

START_TEST(format)
{
	struct sockaddr_un	 sun;
	char			 buf[200];

	ck_assert_int_eq(parse("tcp://127.0.0.1:7007", 0), 0);
	addr_format((struct sockaddr *)&a.ss, a.sslen, buf, sizeof(buf));
	ck_assert_str_eq(buf, "127.0.0.1:7007");
	addr_uri(a.kind, (struct sockaddr *)&a.ss, a.sslen, buf, sizeof(buf));
	ck_assert_str_eq(buf, "tcp://127.0.0.1:7007");

	ck_assert_int_eq(parse("udp://[::1]:0", 0), 0);
	addr_format((struct sockaddr *)&a.ss, a.sslen, buf, sizeof(buf));
	ck_assert_str_eq(buf, "[::1]:0");
	addr_uri(a.kind, (struct sockaddr *)&a.ss, a.sslen, buf, sizeof(buf));
	ck_assert_str_eq(buf, "udp://[::1]:0");

	ck_assert_int_eq(parse("unix:/tmp/a.sock", 0), 0);
	addr_format((struct sockaddr *)&a.ss, a.sslen, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:/tmp/a.sock");
	addr_uri(a.kind, (struct sockaddr *)&a.ss, a.sslen, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix:/tmp/a.sock");

	ck_assert_int_eq(parse("unix-dgram:/tmp/d.sock", 0), 0);
	addr_uri(a.kind, (struct sockaddr *)&a.ss, a.sslen, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unix-dgram:/tmp/d.sock");

	/* The unnamed peer of a unix socket. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	addr_format((struct sockaddr *)&sun, sizeof(sa_family_t), buf,
	    sizeof(buf));
	ck_assert_str_eq(buf, "unix:");

	/* Truncation keeps the buffer terminated. */
	ck_assert_int_eq(parse("tcp://127.0.0.1:7007", 0), 0);
	addr_uri(a.kind, (struct sockaddr *)&a.ss, a.sslen, buf, 8);
	ck_assert_str_eq(buf, "tcp://1");
}
END_TEST

START_TEST(kind_names)
{
	ck_assert_str_eq(addr_kind_name(ASOCKD_TCP), "tcp");
	ck_assert_str_eq(addr_kind_name(ASOCKD_UDP), "udp");
	ck_assert_str_eq(addr_kind_name(ASOCKD_UNIX), "unix");
	ck_assert_str_eq(addr_kind_name(ASOCKD_UNIX_DGRAM), "unix-dgram");
	ck_assert_str_eq(addr_kind_name(0), "unknown");
}
END_TEST

/* The client accepts and refuses what the daemon does, with its words. */
START_TEST(client_agrees)
{
	static const char	*uris[] = {
		"tcp://127.0.0.1:7007", "tcp://:7007", "tcp://*:7007",
		"udp://:53", "udp://*:53", "tcp://[::]:1", "tcp://[::1]:7007",
		"tcp://localhost:7007", "unix:/tmp/x.sock",
		"unix-dgram:/tmp/d.sock", "unix:rel.sock",
		"tcp://127.0.0.1", "tcp://127.0.0.1:", "tcp://:65536",
		"tcp://::1:7007", "tcp://[::1:7007", "tcp://a/b:1", "unix:",
		"foo://x:1", "", "127.0.0.1:7007", "tcp://*:x",
	};
	char	 cerr[512];
	size_t	 i;
	int	 rv, want;

	for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		want = parse(uris[i], 0);
		cerr[0] = '\0';
		rv = asockd_client_uri_check(uris[i], cerr, sizeof(cerr));
		if (want == 0) {
			ck_assert_msg(rv == SOCK_STREAM || rv == SOCK_DGRAM,
			    "%s: client says %d (%s)", uris[i], rv, cerr);
			ck_assert_int_eq(rv == SOCK_DGRAM,
			    a.kind == ASOCKD_UDP ||
			    a.kind == ASOCKD_UNIX_DGRAM);
		} else {
			ck_assert_msg(rv == -EINVAL, "%s: client says %d",
			    uris[i], rv);
			ck_assert_str_eq(cerr, err);
		}
	}
	ck_assert_int_eq(asockd_client_uri_check(NULL, NULL, 0), -EINVAL);
}
END_TEST

/* The empty and "*" hosts reach a listener on this host. */
START_TEST(client_wildcard)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	static const char	*forms[] = { "tcp://:%d", "tcp://*:%d",
	    "tcp://0.0.0.0:%d", "tcp://127.0.0.1:%d", "tcp://localhost:%d" };
	char			 uri[64];
	size_t			 i;
	int			 lfd, fd, sfd, rv;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(uri, sizeof(uri), forms[i], ntohs(sin.sin_port));
		rv = asockd_client_dial(uri, 5000, &fd);
		ck_assert_msg(rv == 0, "%s: %s", uri, strerror(-rv));
		sfd = accept(lfd, NULL, NULL);
		ck_assert_int_ge(sfd, 0);
		close(sfd);
		close(fd);
	}
	/* a malformed URI is -EINVAL, before any socket is made */
	ck_assert_int_eq(asockd_client_dial("tcp://:", 5000, &fd), -EINVAL);
	close(lfd);
}
END_TEST

static Suite *
addr_suite(void)
{
	Suite	*s = suite_create("addr");
	TCase	*tc = tcase_create("parse");

	tcase_add_test(tc, tcp_v4);
	tcase_add_test(tc, port_range);
	tcase_add_test(tc, wildcard);
	tcase_add_test(tc, ipv6);
	tcase_add_test(tc, names);
	tcase_add_test(tc, unix_paths);
	tcase_add_test(tc, unix_overflow);
	tcase_add_test(tc, bad_scheme);
	suite_add_tcase(s, tc);
	tc = tcase_create("format");
	tcase_add_test(tc, format);
	tcase_add_test(tc, kind_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("client");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, client_agrees);
	tcase_add_test(tc, client_wildcard);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(addr_suite());
}
