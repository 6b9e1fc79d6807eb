/*
 * addr.h - listen and connect addresses (addr.c).  Shared by the daemon
 * and libasockd-client, which is built with addr.c, so that a URI means
 * the same socket address to both: nothing here needs libev or the rest
 * of the daemon.
 */
#ifndef ASOCKD_ADDR_H
#define ASOCKD_ADDR_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

#include "asockd/plugin.h"	/* enum asockd_listener_kind */

/* ---------------------------------------------------------------- addr.c */

/* A parsed listen/connect address. */
struct addr {
	int			 kind;	/* enum asockd_listener_kind */
	struct sockaddr_storage	 ss;	/* bound/connect address */
	socklen_t		 sslen;
	char			 host[256];	/* TCP/UDP: host as written */
	int			 port;		/* TCP/UDP: port (0 allowed) */
};

/*
 * Parse "tcp://HOST:PORT", "udp://HOST:PORT", "unix:/path",
 * "unix-dgram:/path".  HOST is an IPv4 literal, "[v6]" literal, "*" or
 * nothing (0.0.0.0), or a name: resolved with getaddrinfo when resolve is
 * set (blocking: config time only), else left with sslen 0 for the
 * caller to resolve.  Returns 0, or -1 with a message in err.
 */
int	 addr_parse(const char *uri, int resolve, struct addr *a, char *err,
	    size_t errlen);
/* Format sa as "127.0.0.1:7007", "[::1]:7007" or "unix:/path". */
void	 addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
	    size_t buflen);
/* The URI of a (bound) address: "tcp://127.0.0.1:40123". */
void	 addr_uri(int kind, const struct sockaddr *sa, socklen_t len,
	    char *buf, size_t buflen);
const char *addr_kind_name(int kind);

#endif /* ASOCKD_ADDR_H */
