/*
 * addr.c - listen and connect addresses: parsing the URIs of the config
 * file ("tcp://HOST:PORT", "udp://HOST:PORT", "unix:/path",
 * "unix-dgram:/path") into socket addresses, and formatting socket
 * addresses back for logs.
 *
 * HOST is an IPv4 literal, an IPv6 literal in brackets, "*" or nothing
 * (the IPv4 wildcard 0.0.0.0), or a name.  Names are resolved with
 * getaddrinfo() only when the caller asks for it, because the lookup
 * blocks: the config parser does, the outbound connect path resolves on
 * its own and only wants the host and port split.
 *
 * libasockd-client (asockd-cat) is built with this file and parses the
 * URIs it connects to here too, so both sides agree on every form.  The
 * wildcard is the same address to both; connected to, Linux takes
 * 0.0.0.0 and [::] for this host, so "tcp://:7007" reaches a listener on
 * "tcp://:7007" (docs/config.md, Addresses).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

static const struct {
	const char	*prefix;
	int		 kind;
} schemes[] = {
	{ "tcp://",		ASOCKD_TCP },
	{ "udp://",		ASOCKD_UDP },
	{ "unix-dgram:",	ASOCKD_UNIX_DGRAM },
	{ "unix:",		ASOCKD_UNIX },
};

const char *
addr_kind_name(int kind)
{
	switch (kind) {
	case ASOCKD_TCP:
		return "tcp";
	case ASOCKD_UDP:
		return "udp";
	case ASOCKD_UNIX:
		return "unix";
	case ASOCKD_UNIX_DGRAM:
		return "unix-dgram";
	}
	return "unknown";
}

static int
parse_unix(const char *uri, const char *path, struct addr *a, char *err,
    size_t errlen)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&a->ss;
	size_t			 len = strlen(path);

	if (len == 0) {
		snprintf(err, errlen, "missing socket path in '%s'", uri);
		return -1;
	}
	/* sun_path needs room for the terminating NUL. */
	if (len >= sizeof(sun->sun_path)) {
		snprintf(err, errlen, "socket path too long in '%s' "
		    "(%zu bytes, at most %zu)", uri, len,
		    sizeof(sun->sun_path) - 1);
		return -1;
	}
	sun->sun_family = AF_UNIX;
	/* never the abstract namespace: a configured socket is a file */
	memcpy(sun->sun_path, path, len + 1);
	a->sslen = offsetof(struct sockaddr_un, sun_path) + len + 1;
	return 0;
}

static int
parse_port(const char *uri, const char *s, int *port, char *err,
    size_t errlen)
{
	const char	*p;
	long		 v = 0;

	if (*s == '\0') {
		snprintf(err, errlen, "missing port in '%s'", uri);
		return -1;
	}
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || p - s >= 6)
			goto bad;
		v = v * 10 + (*p - '0');
	}
	if (v > 65535)
		goto bad;
	*port = (int)v;
	return 0;
bad:
	snprintf(err, errlen, "bad port '%s' in '%s'", s, uri);
	return -1;
}

/* Resolve a host name (blocking). */
static int
resolve_host(const char *uri, struct addr *a, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 serv[8];
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = a->kind == ASOCKD_UDP ? SOCK_DGRAM : SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	snprintf(serv, sizeof(serv), "%d", a->port);
	rc = getaddrinfo(a->host, serv, &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY) {
		/* AI_ADDRCONFIG hides loopback names without a network. */
		hints.ai_flags = AI_NUMERICSERV;
		rc = getaddrinfo(a->host, serv, &hints, &res);
	}
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve '%s' in '%s': %s",
		    a->host, uri, gai_strerror(rc));
		return -1;
	}
	if (res->ai_addrlen > sizeof(a->ss)) {
		freeaddrinfo(res);
		snprintf(err, errlen, "cannot resolve '%s' in '%s'",
		    a->host, uri);
		return -1;
	}
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int
parse_inet(const char *uri, const char *rest, int resolve, struct addr *a,
    char *err, size_t errlen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a->ss;
	const char		*colon, *end;
	size_t			 hlen;
	int			 v6 = 0;

	if (*rest == '[') {
		if ((end = strchr(rest, ']')) == NULL) {
			snprintf(err, errlen, "missing ']' in '%s'", uri);
			return -1;
		}
		if (end[1] != ':') {
			snprintf(err, errlen, "missing port in '%s'", uri);
			return -1;
		}
		rest++;
		hlen = end - rest;
		colon = end + 1;
		v6 = 1;
	} else {
		if ((colon = strrchr(rest, ':')) == NULL) {
			snprintf(err, errlen, "missing port in '%s'", uri);
			return -1;
		}
		hlen = colon - rest;
		if (memchr(rest, ':', hlen) != NULL) {
			snprintf(err, errlen, "IPv6 address must be in "
			    "brackets in '%s'", uri);
			return -1;
		}
		if (memchr(rest, '/', hlen) != NULL) {
			snprintf(err, errlen, "bad host in '%s'", uri);
			return -1;
		}
	}
	if (hlen >= sizeof(a->host)) {
		snprintf(err, errlen, "host name too long in '%s'", uri);
		return -1;
	}
	memcpy(a->host, rest, hlen);
	a->host[hlen] = '\0';
	if (parse_port(uri, colon + 1, &a->port, err, errlen) == -1)
		return -1;

	if (v6) {
		memset(sin6, 0, sizeof(*sin6));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		if (inet_pton(AF_INET6, a->host, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen, "bad IPv6 address '%s' in '%s'",
			    a->host, uri);
			return -1;
		}
		a->sslen = sizeof(*sin6);
		return 0;
	}

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(a->port);
	if (hlen == 0 || strcmp(a->host, "*") == 0) {
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		a->sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET, a->host, &sin->sin_addr) == 1) {
		a->sslen = sizeof(*sin);
		return 0;
	}
	/* A name: without resolve, leave the address empty (sslen 0). */
	memset(&a->ss, 0, sizeof(a->ss));
	if (!resolve)
		return 0;
	return resolve_host(uri, a, err, errlen);
}

int
addr_parse(const char *uri, int resolve, struct addr *a, char *err,
    size_t errlen)
{
	const char	*colon;
	size_t		 i, plen;
	int		 n;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		plen = strlen(schemes[i].prefix);
		if (strncmp(uri, schemes[i].prefix, plen) != 0)
			continue;
		a->kind = schemes[i].kind;
		if (a->kind == ASOCKD_UNIX || a->kind == ASOCKD_UNIX_DGRAM)
			return parse_unix(uri, uri + plen, a, err, errlen);
		return parse_inet(uri, uri + plen, resolve, a, err, errlen);
	}

	/* Name the scheme in the message when there is one. */
	if ((colon = strchr(uri, ':')) != NULL && colon != uri) {
		n = (int)(colon - uri);
		snprintf(err, errlen, "unknown scheme '%.*s' in '%s' "
		    "(tcp://, udp://, unix:, unix-dgram:)", n, uri, uri);
	} else
		snprintf(err, errlen, "bad address '%s' (expected tcp://HOST:"
		    "PORT, udp://HOST:PORT, unix:PATH or unix-dgram:PATH)",
		    uri);
	return -1;
}

void
addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
    size_t buflen)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;
	const struct sockaddr_un	*sun;
	char				 host[INET6_ADDRSTRLEN];
	size_t				 plen;

	if (sa == NULL || len < sizeof(sa_family_t)) {
		snprintf(buf, buflen, "?");
		return;
	}
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, buflen, "%s:%d", host, ntohs(sin->sin_port));
		break;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, buflen, "[%s]:%d", host, ntohs(sin6->sin6_port));
		break;
	case AF_UNIX:
		sun = (const struct sockaddr_un *)sa;
		if (len <= offsetof(struct sockaddr_un, sun_path)) {
			/* An unbound peer of a unix socket. */
			snprintf(buf, buflen, "unix:");
			break;
		}
		plen = len - offsetof(struct sockaddr_un, sun_path);
		if (plen > sizeof(sun->sun_path))
			plen = sizeof(sun->sun_path);
		if (sun->sun_path[0] == '\0')	/* abstract namespace */
			snprintf(buf, buflen, "unix:@%.*s", (int)plen - 1,
			    sun->sun_path + 1);
		else
			snprintf(buf, buflen, "unix:%.*s",
			    (int)strnlen(sun->sun_path, plen), sun->sun_path);
		break;
	default:
		snprintf(buf, buflen, "family-%d", sa->sa_family);
		break;
	}
}

void
addr_uri(int kind, const struct sockaddr *sa, socklen_t len, char *buf,
    size_t buflen)
{
	char	 s[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];

	addr_format(sa, len, s, sizeof(s));
	switch (kind) {
	case ASOCKD_TCP:
	case ASOCKD_UDP:
		snprintf(buf, buflen, "%s://%s", addr_kind_name(kind), s);
		break;
	case ASOCKD_UNIX_DGRAM:
		/* addr_format wrote "unix:PATH". */
		snprintf(buf, buflen, "unix-dgram:%s",
		    strncmp(s, "unix:", 5) == 0 ? s + 5 : s);
		break;
	default:
		snprintf(buf, buflen, "%s", s);
		break;
	}
}
