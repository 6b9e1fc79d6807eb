/*
 * connect.c - outbound connections started by plugins (host->connect).
 *
 * A literal address is connected at once (non-blocking); the connection's
 * write watcher reports the outcome, which conn_connected() turns into
 * on_connect.  A host name is resolved by getaddrinfo on a short-lived
 * thread, so the event loop never blocks on DNS; the thread hands its
 * result back through an ev_async watcher.  The addresses are tried in
 * getaddrinfo's order until one connects (so "localhost" works whether the
 * server listens on ::1 or 127.0.0.1).  If the plugin drops the
 * connection while the lookup runs, the result is simply discarded.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

struct resolve {
	struct asockd_conn	*conn;	/* NULL once the conn is gone */
	char			*host;
	char			*port;
	int			 gai_err;
	int			 in_thread;	/* getaddrinfo running */
	struct addrinfo		*res;
	struct addrinfo		*next;	/* address to try next */
	STAILQ_ENTRY(resolve)	 entry;
};

static STAILQ_HEAD(, resolve) resolved = STAILQ_HEAD_INITIALIZER(resolved);
static pthread_mutex_t	 resolved_mtx = PTHREAD_MUTEX_INITIALIZER;
static ev_async		 resolved_async;
static int		 connect_ready;

static int
connect_sock(struct addr *a)
{
	int	 fd, one = 1;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	/* as for accepted connections: small writes go out at once */
	if (a->ss.ss_family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a->ss, a->sslen) == -1 &&
	    errno != EINPROGRESS) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static void *
resolve_thread(void *arg)
{
	struct resolve	*r = arg;
	struct addrinfo	 hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	r->gai_err = getaddrinfo(r->host, r->port, &hints, &r->res);
	pthread_mutex_lock(&resolved_mtx);
	STAILQ_INSERT_TAIL(&resolved, r, entry);
	pthread_mutex_unlock(&resolved_mtx);
	ev_async_send(proc.loop, &resolved_async);
	return NULL;
}

static void
resolve_free(struct resolve *r)
{
	if (r->res != NULL)
		freeaddrinfo(r->res);
	free(r->host);
	free(r->port);
	free(r);
}

/*
 * Start a connect to the next address of c's lookup.  Returns 0 when an
 * attempt is under way, or the last error when no address is left.
 */
static int
connect_next(struct asockd_conn *c)
{
	struct resolve	*r = c->resolving;
	struct addr	 a;
	int		 fd = -EHOSTUNREACH;

	while (r->next != NULL) {
		memset(&a, 0, sizeof(a));
		memcpy(&a.ss, r->next->ai_addr, r->next->ai_addrlen);
		a.sslen = r->next->ai_addrlen;
		r->next = r->next->ai_next;
		if ((fd = connect_sock(&a)) < 0)
			continue;
		if (c->fd != -1)
			close(c->fd);	/* the failed attempt */
		c->fd = fd;
		ev_io_set(&c->rio, fd, EV_READ);
		ev_io_set(&c->wio, fd, EV_WRITE);
		ev_io_start(proc.loop, &c->wio);
		return 0;
	}
	return fd;
}

/* An attempt of c failed: try the next address.  0 when one started. */
int
connect_retry(struct asockd_conn *c, int err)
{
	if (c->resolving == NULL || c->resolving->in_thread ||
	    c->resolving->next == NULL)
		return -1;
	conn_log(c, LOG_DEBUG, "connect: %s; trying the next address",
	    strerror(-err));
	return connect_next(c) == 0 ? 0 : -1;
}

static void
resolve_done(struct resolve *r)
{
	struct asockd_conn	*c = r->conn;
	int			 err;

	if (c == NULL) {
		resolve_free(r);	/* the plugin dropped it meanwhile */
		return;
	}
	r->in_thread = 0;
	if (r->gai_err != 0) {
		conn_log(c, LOG_INFO, "cannot resolve %s: %s", r->host,
		    gai_strerror(r->gai_err));
		conn_connected(c, r->gai_err == EAI_NONAME ? -ENOENT :
		    -EHOSTUNREACH);
		return;
	}
	/* the addresses in getaddrinfo's order, one after the other */
	r->next = r->res;
	if ((err = connect_next(c)) < 0)
		conn_connected(c, err);
}

static void
resolved_cb(struct ev_loop *lp, ev_async *w, int revents)
{
	struct resolve	*r;

	for (;;) {
		pthread_mutex_lock(&resolved_mtx);
		if ((r = STAILQ_FIRST(&resolved)) != NULL)
			STAILQ_REMOVE_HEAD(&resolved, entry);
		pthread_mutex_unlock(&resolved_mtx);
		if (r == NULL)
			break;
		resolve_done(r);
	}
}

void
connect_init(void)
{
	ev_async_init(&resolved_async, resolved_cb);
	ev_async_start(proc.loop, &resolved_async);
	/* pending lookups alone do not keep us */
	ev_unref(proc.loop);
	connect_ready = 1;
}

/* The conn is connected or going away: drop its lookup. */
void
connect_forget(struct asockd_conn *c)
{
	struct resolve	*r = c->resolving;

	if (r == NULL)
		return;
	c->resolving = NULL;
	if (r->in_thread)
		r->conn = NULL;		/* resolve_done frees it */
	else
		resolve_free(r);
}

int
connect_start(struct asockd_instance *inst, const char *target,
    void *udata, struct asockd_conn **out)
{
	struct asockd_conn	*c;
	struct resolve		*r;
	struct addr		 a;
	pthread_t		 tid;
	pthread_attr_t		 attr;
	char			 err[256], peer[300], *tcp = NULL;
	int			 fd, tls = 0, rc;

	if (!connect_ready)
		return -EAGAIN;
	/* tls://HOST:PORT is tcp://HOST:PORT with a verified TLS client */
	if (strncmp(target, "tls://", 6) == 0) {
		tls = 1;
		xasprintf(&tcp, "tcp://%s", target + 6);
		target = tcp;
	}
	rc = addr_parse(target, 0, &a, err, sizeof(err));
	free(tcp);
	if (rc == -1)
		return -EINVAL;
	if (a.kind != ASOCKD_TCP && a.kind != ASOCKD_UNIX)
		return -EPROTONOSUPPORT;
	if (tls && a.host[0] == '\0')
		return -EINVAL;		/* nothing to verify against */
	if (a.sslen > 0) {
		/* a literal address: connect now */
		if ((fd = connect_sock(&a)) < 0)
			return fd;
		addr_format((struct sockaddr *)&a.ss, a.sslen, peer,
		    sizeof(peer));
		c = conn_outbound(inst, fd, peer, udata);
		if (tls)
			c->tls_host = xstrdup(a.host);
		if (out != NULL)
			*out = c;
		return 0;
	}
	/* a name: resolve it on a thread of its own */
	r = xcalloc(1, sizeof(*r));
	r->host = xstrdup(a.host);
	xasprintf(&r->port, "%d", a.port);
	snprintf(peer, sizeof(peer), "%s:%d", a.host, a.port);
	c = conn_outbound(inst, -1, peer, udata);
	if (tls)
		c->tls_host = xstrdup(a.host);
	c->resolving = r;
	r->conn = c;
	r->in_thread = 1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&tid, &attr, resolve_thread, r) != 0) {
		pthread_attr_destroy(&attr);
		r->in_thread = 0;
		conn_abort(c, ASOCKD_CLOSE_CONNECT);	/* frees r */
		return -EAGAIN;
	}
	pthread_attr_destroy(&attr);
	if (out != NULL)
		*out = c;
	return 0;
}
