/*
 * gai.c - test-only LD_PRELOAD library: getaddrinfo() for the name
 * "two.asockd.test" returns two addresses, 127.0.0.1 port 1 (where
 * nothing listens) and then 127.0.0.1 at the requested port, so a test
 * can check that the daemon's outbound connect tries the next address of
 * a name when the first one refuses.  Every other name goes to libc.
 *
 * Each node is one allocation, the addrinfo followed by its sockaddr, as
 * glibc makes them, so glibc's own freeaddrinfo() frees the list.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dlfcn.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

int	 getaddrinfo(const char *, const char *, const struct addrinfo *,
	    struct addrinfo **);

static struct addrinfo *
node(int port, struct addrinfo *next)
{
	struct addrinfo		*ai;
	struct sockaddr_in	*sin;

	if ((ai = calloc(1, sizeof(*ai) + sizeof(*sin))) == NULL)
		return NULL;
	sin = (struct sockaddr_in *)(ai + 1);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ai->ai_family = AF_INET;
	ai->ai_socktype = SOCK_STREAM;
	ai->ai_protocol = IPPROTO_TCP;
	ai->ai_addrlen = sizeof(*sin);
	ai->ai_addr = (struct sockaddr *)sin;
	ai->ai_next = next;
	return ai;
}

int
getaddrinfo(const char *name, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	int	(*real)(const char *, const char *, const struct addrinfo *,
		    struct addrinfo **);
	struct addrinfo	*second;

	if (name != NULL && service != NULL &&
	    strcmp(name, "two.asockd.test") == 0) {
		if ((second = node(atoi(service), NULL)) == NULL ||
		    (*res = node(1, second)) == NULL)
			return EAI_MEMORY;
		return 0;
	}
	real = (int (*)(const char *, const char *, const struct addrinfo *,
	    struct addrinfo **))dlsym(RTLD_NEXT, "getaddrinfo");
	if (real == NULL)
		return EAI_SYSTEM;
	return real(name, service, hints, res);
}
