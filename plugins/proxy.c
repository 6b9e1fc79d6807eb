/*
 * proxy.c - a stream proxy to a pool of upstreams, like nginx's stream
 * module or HAProxy in TCP mode.
 *
 * Each accepted client is a pair: the client and one outbound connection
 * (host->connect) to an upstream the balancer picks.  Until the upstream
 * has connected the client is paused, so its bytes wait in the kernel and
 * nothing is buffered here.  A connect that fails or takes longer than
 * connect_timeout counts against that upstream and the next one is tried,
 * up to `tries` upstreams: the client sees nothing of it.
 *
 * Bytes are passed on as they come (on_receive -> host->send of the other
 * side).  When the other side's output queue is over its high-water mark
 * (host->writable() is 0) this side is paused, and the other side's
 * on_send resumes it: memory per pair is bounded by the two queues'
 * high-water marks and one read.  An end of stream is passed on as a
 * half-close (shutdown_write); once both directions have ended, both are
 * closed.  A reset, an error or a timeout on one side aborts the other.
 *
 * With send_proxy the upstream's first bytes are a PROXY header (v1 or
 * v2, host->connect_proxy) naming the client.  A tls:// upstream is a
 * verified TLS connection made by the host (the handshake is part of
 * the connect: a failed one is a failed connect); the plugin sees
 * plaintext on both sides.
 *
 * Passive health: max_fails failed connects within fail_timeout seconds
 * mark an upstream down for fail_timeout seconds.  When every upstream is
 * down they are all tried anyway (as nginx does), so a pool that has
 * recovered is found again.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <asockd/plugin.h>

#define UPSTREAM_MAX	64	/* a pair's tried set is a 64-bit mask */

enum balance { BAL_RR, BAL_LEAST, BAL_HASH };

struct upstream {
	char		*name;		/* the key in [upstreams] */
	char		*uri;
	long long	 weight;
	long long	 current;	/* smooth weighted round robin */
	unsigned int	 active;	/* pairs using it now */
	unsigned int	 fails;		/* within the window */
	double		 fail_start;	/* first failure of the window */
	double		 down_until;	/* 0: up */
};

struct proxy {
	struct asockd_instance	*inst;
	struct upstream		 ups[UPSTREAM_MAX];
	int			 nups;
	int			 balance;	/* enum balance */
	double			 connect_timeout;
	long long		 tries;
	long long		 max_fails;	/* 0: no passive health */
	double			 fail_timeout;
	int			 send_proxy;	/* 0: off, 1: v1, 2: v2 */
};

struct pair {
	struct proxy		*px;
	struct asockd_conn	*client;
	struct asockd_conn	*up;
	struct asockd_timer	*ctimer;	/* connect_timeout */
	struct upstream		*ups;		/* the one tried or used */
	uint64_t		 tried;		/* mask of upstreams */
	int			 ntries;
	int			 connected;
	int			 client_eof;
	int			 up_eof;
	uint32_t		 hash;		/* of the client address */
};

static const struct asockd_host *host;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "tcp://h:p", "tls://h:p" or "unix:/path", then "[weight=N]". */
static int
upstream_add(const char *key, const char *value, int line, void *arg)
{
	struct proxy	*px = arg;
	struct upstream	*u;
	const char	*sp, *w;
	char		*end;

	if (px->nups == UPSTREAM_MAX) {
		host->log(px->inst, ASOCKD_LOG_ERR, "line %d: more than %d"
		    " upstreams", line, UPSTREAM_MAX);
		return -E2BIG;
	}
	u = &px->ups[px->nups];
	for (sp = value; *sp != '\0' && !isspace((unsigned char)*sp); sp++)
		;
	u->weight = 1;
	for (w = sp; isspace((unsigned char)*w); w++)
		;
	if (*w != '\0') {
		if (strncmp(w, "weight=", 7) != 0 ||
		    (u->weight = strtoll(w + 7, &end, 10)) < 1 ||
		    u->weight > 1000 || *end != '\0') {
			host->log(px->inst, ASOCKD_LOG_ERR, "line %d:"
			    " [upstreams] %s: '%s' is not \"weight=N\""
			    " (1..1000)", line, key, w);
			return -EINVAL;
		}
	}
	if (strncmp(value, "tcp://", 6) != 0 &&
	    strncmp(value, "tls://", 6) != 0 &&
	    strncmp(value, "unix:", 5) != 0) {
		host->log(px->inst, ASOCKD_LOG_ERR, "line %d: [upstreams]"
		    " %s: '%.*s' is not a tcp://, tls:// or unix: address",
		    line, key, (int)(sp - value), value);
		return -EINVAL;
	}
	u->name = strdup(key);
	u->uri = strndup(value, sp - value);
	if (u->name == NULL || u->uri == NULL)
		return -ENOMEM;
	px->nups++;
	return 0;
}

static void
proxy_free(struct proxy *px)
{
	int	 i;

	for (i = 0; i < px->nups; i++) {
		free(px->ups[i].name);
		free(px->ups[i].uri);
	}
	free(px);
}

static int
proxy_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	struct proxy	*px;
	const char	*bal, *sp;
	int		 r;

	host = h;
	if (h->abi_minor < 3 || h->size < sizeof(*h)) {
		h->log(inst, ASOCKD_LOG_ERR, "needs a daemon with ABI 1.3");
		return -ENOTSUP;
	}
	if ((px = calloc(1, sizeof(*px))) == NULL)
		return -ENOMEM;
	px->inst = inst;
	if ((r = h->ini_each(inst, "upstreams", upstream_add, px)) != 0)
		goto fail;
	if (px->nups == 0) {
		h->log(inst, ASOCKD_LOG_ERR, "no upstream: add NAME = URI"
		    " lines to [upstreams]");
		r = -EINVAL;
		goto fail;
	}
	bal = h->ini_str(inst, "proxy", "balance", "round_robin");
	px->balance = strcmp(bal, "least_conn") == 0 ? BAL_LEAST :
	    strcmp(bal, "source_hash") == 0 ? BAL_HASH : BAL_RR;
	sp = h->ini_str(inst, "proxy", "send_proxy", "off");
	px->send_proxy = strcmp(sp, "v1") == 0 ? 1 : strcmp(sp, "v2") == 0 ?
	    2 : 0;
	if (h->ini_double(inst, "proxy", "connect_timeout", 5,
	    &px->connect_timeout) < 0 ||
	    h->ini_int(inst, "proxy", "tries", 3, &px->tries) < 0 ||
	    h->ini_int(inst, "proxy", "max_fails", 1, &px->max_fails) < 0 ||
	    h->ini_double(inst, "proxy", "fail_timeout", 10,
	    &px->fail_timeout) < 0) {
		r = -EINVAL;
		goto fail;
	}
	*pdata = px;
	return 0;
fail:
	proxy_free(px);
	return r;
}

static void
proxy_fini(struct asockd_instance *inst)
{
	struct proxy	*px = host->instance_data(inst);

	if (px != NULL)
		proxy_free(px);
}

static int
is_up(const struct upstream *u, double t)
{
	return u->down_until <= t;
}

/*
 * The next upstream for p, not tried yet; up ones first, then (when all
 * are down) any.  NULL when every one was tried.
 */
static struct upstream *
pick(struct pair *p)
{
	struct proxy	*px = p->px;
	struct upstream	*u, *best = NULL;
	long long	 total = 0;
	double		 t = now();
	int		 i, pass, n;

	for (pass = 0; pass < 2 && best == NULL; pass++) {
		total = 0;
		for (i = 0; i < px->nups; i++) {
			u = &px->ups[i];
			if ((p->tried >> i) & 1 || (pass == 0 && !is_up(u, t)))
				continue;
			switch (px->balance) {
			case BAL_RR:
				u->current += u->weight;
				total += u->weight;
				if (best == NULL || u->current > best->current)
					best = u;
				break;
			case BAL_LEAST:
				/* fewest pairs per unit of weight */
				if (best == NULL || u->active * best->weight <
				    best->active * u->weight)
					best = u;
				break;
			case BAL_HASH:
				break;
			}
		}
		if (px->balance == BAL_HASH) {
			/* the hash's slot, or the next one that may serve */
			for (n = 0; n < px->nups && best == NULL; n++) {
				i = (p->hash + n) % px->nups;
				u = &px->ups[i];
				if (!((p->tried >> i) & 1) &&
				    (pass == 1 || is_up(u, t)))
					best = u;
			}
		}
	}
	if (best != NULL && px->balance == BAL_RR)
		best->current -= total;
	return best;
}

static void
upstream_failed(struct proxy *px, struct upstream *u, struct pair *p)
{
	double	 t = now();

	if (px->max_fails == 0)
		return;
	if (u->fails == 0 || t - u->fail_start > px->fail_timeout) {
		u->fails = 0;
		u->fail_start = t;
	}
	if (++u->fails >= px->max_fails && is_up(u, t)) {
		u->down_until = t + px->fail_timeout;
		u->fails = 0;
		host->conn_log(p->client, ASOCKD_LOG_WARNING, "upstream %s"
		    " (%s) marked down for %.1f s", u->name, u->uri,
		    px->fail_timeout);
	}
}

static void
pair_maybe_free(struct pair *p)
{
	if (p->client == NULL && p->up == NULL && p->ctimer == NULL)
		free(p);
}

static void	 pair_connect(struct pair *);

static void
connect_timeout_cb(struct asockd_timer *t, void *arg)
{
	struct pair		*p = arg;
	struct asockd_conn	*up = p->up;

	p->ctimer = NULL;	/* a one-shot timer is freed after this */
	if (up == NULL || p->connected)
		return;
	host->conn_log(p->client, ASOCKD_LOG_NOTICE, "upstream %s (%s):"
	    " no connection after %.1f s", p->ups->name, p->ups->uri,
	    p->px->connect_timeout);
	p->up = NULL;
	host->set_udata(up, NULL);
	(void)host->abort(up);
	p->ups->active--;
	upstream_failed(p->px, p->ups, p);
	if (p->client != NULL)
		pair_connect(p);
	else
		pair_maybe_free(p);
}

/* Connect p to the next upstream; abort the client when none is left. */
static void
pair_connect(struct pair *p)
{
	struct proxy	*px = p->px;
	struct upstream	*u;
	int		 r;

	while (p->ntries < px->tries && (u = pick(p)) != NULL) {
		p->tried |= (uint64_t)1 << (u - px->ups);
		p->ntries++;
		p->ups = u;
		u->active++;
		if (px->send_proxy != 0)
			r = host->connect_proxy(px->inst, u->uri, p, &p->up,
			    p->client, px->send_proxy);
		else
			r = host->connect(px->inst, u->uri, p, &p->up);
		if (r == 0) {
			if (px->connect_timeout > 0)
				p->ctimer = host->timer_start(px->inst, NULL,
				    px->connect_timeout, 0,
				    connect_timeout_cb, p);
			return;
		}
		p->up = NULL;
		u->active--;
		host->conn_log(p->client, ASOCKD_LOG_NOTICE, "upstream %s"
		    " (%s): %s", u->name, u->uri, strerror(-r));
		upstream_failed(px, u, p);
	}
	host->conn_log(p->client, ASOCKD_LOG_WARNING, "no upstream after %d"
	    " tries: aborting", p->ntries);
	(void)host->abort(p->client);
}

static uint32_t
addr_hash(struct asockd_conn *c)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	const unsigned char	*b;
	uint32_t		 h = 2166136261u;	/* FNV-1a */
	size_t			 n, i;

	if (host->peer_addr(c, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET) {
		b = (const unsigned char *)
		    &((struct sockaddr_in *)&ss)->sin_addr;
		n = 4;
	} else if (ss.ss_family == AF_INET6) {
		b = (const unsigned char *)
		    &((struct sockaddr_in6 *)&ss)->sin6_addr;
		n = 16;
	} else
		return 0;
	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static int
proxy_accept(struct asockd_conn *c)
{
	struct proxy	*px = host->instance_data(host->conn_instance(c));
	struct pair	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	p->px = px;
	p->client = c;
	if (px->balance == BAL_HASH)
		p->hash = addr_hash(c);
	host->set_udata(c, p);
	/* the client's bytes wait in the kernel until the upstream is up */
	(void)host->pause_receive(c, 1);
	pair_connect(p);
	return 0;
}

static void
proxy_connect(struct asockd_conn *c, int err)
{
	struct pair	*p = host->udata(c);

	if (p == NULL)
		return;
	if (p->ctimer != NULL)
		host->timer_stop(p->ctimer);
	p->ctimer = NULL;
	if (err != 0) {
		/* the handle is freed when we return; no on_close */
		p->up = NULL;
		p->ups->active--;
		upstream_failed(p->px, p->ups, p);
		if (p->client != NULL)
			pair_connect(p);
		else
			pair_maybe_free(p);
		return;
	}
	p->connected = 1;
	p->ups->fails = 0;
	if (p->client == NULL) {
		(void)host->close(c);
		return;
	}
	host->conn_log(p->client, ASOCKD_LOG_INFO, "upstream %s (%s)",
	    p->ups->name, p->ups->uri);
	(void)host->pause_receive(p->client, 0);
}

static struct asockd_conn *
other(struct pair *p, struct asockd_conn *c)
{
	return c == p->client ? p->up : p->client;
}

static size_t
proxy_receive(struct asockd_conn *c, const void *data, size_t len)
{
	struct pair		*p = host->udata(c);
	struct asockd_conn	*to;

	if (p == NULL || (to = other(p, c)) == NULL ||
	    host->send(to, data, len) < 0)
		return len;	/* the other side is gone: drop */
	if (!host->writable(to))
		(void)host->pause_receive(c, 1);	/* on_send resumes */
	return len;
}

static void
proxy_send(struct asockd_conn *c)
{
	struct pair		*p = host->udata(c);
	struct asockd_conn	*from;

	if (p != NULL && (from = other(p, c)) != NULL)
		(void)host->pause_receive(from, 0);
}

static void
proxy_eof(struct asockd_conn *c)
{
	struct pair		*p = host->udata(c);
	struct asockd_conn	*to;

	if (p == NULL) {
		(void)host->close(c);
		return;
	}
	if (c == p->client)
		p->client_eof = 1;
	else
		p->up_eof = 1;
	to = other(p, c);
	if (to == NULL || (p->client_eof && p->up_eof) ||
	    host->shutdown_write(to) < 0) {
		(void)host->close(c);
		if (to != NULL)
			(void)host->close(to);
	}
}

static void
proxy_close(struct asockd_conn *c, int reason)
{
	struct pair		*p = host->udata(c);
	struct asockd_conn	*to;

	if (p == NULL)
		return;
	to = other(p, c);
	if (c == p->client) {
		p->client = NULL;
		if (to != NULL && !p->connected) {
			/* a connect under way ends without a callback */
			if (p->ctimer != NULL)
				host->timer_stop(p->ctimer);
			p->ctimer = NULL;
			host->set_udata(to, NULL);
			(void)host->abort(to);
			p->up = NULL;
			p->ups->active--;
			to = NULL;
		}
	} else {
		p->up = NULL;
		p->ups->active--;
	}
	if (to != NULL) {
		if (reason == ASOCKD_CLOSE_PEER || reason == ASOCKD_CLOSE_LOCAL)
			(void)host->close(to);
		else
			(void)host->abort(to);	/* a reset travels on */
	}
	pair_maybe_free(p);
}

static const struct asockd_setting proxy_settings[] = {
	{ "proxy", "balance", ASOCKD_SET_ENUM, "round_robin", 0, 0,
	    "round_robin|least_conn|source_hash",
	    "how a client's upstream is chosen" },
	{ "proxy", "connect_timeout", ASOCKD_SET_DOUBLE, "5", 0, 3600, NULL,
	    "seconds for an upstream to accept; then the next (0: none)" },
	{ "proxy", "tries", ASOCKD_SET_INT, "3", 1, UPSTREAM_MAX, NULL,
	    "upstreams tried per client before it is aborted" },
	{ "proxy", "max_fails", ASOCKD_SET_INT, "1", 0, 1000000, NULL,
	    "failed connects within fail_timeout that mark one down (0: off)" },
	{ "proxy", "fail_timeout", ASOCKD_SET_DOUBLE, "10", 0.001, 86400,
	    NULL, "the window for max_fails, and how long it stays down" },
	{ "proxy", "send_proxy", ASOCKD_SET_ENUM, "off", 0, 0, "off|v1|v2",
	    "a PROXY header naming the client first to the upstream" },
	{ "upstreams", "*", ASOCKD_SET_STRING, NULL, 0, 0, NULL,
	    "NAME = tcp://host:port, tls://host:port or unix:/path,"
	    " optional weight=N" },
	{ .name = NULL }
};

ASOCKD_PLUGIN_DEFINE(
	.name = "proxy",
	.version = "1.0",
	.flags = ASOCKD_F_OWN_FLOW,	/* proxy_receive paces both sides */
	.init = proxy_init,
	.fini = proxy_fini,
	.on_accept = proxy_accept,
	.on_receive = proxy_receive,
	.on_send = proxy_send,
	.on_connect = proxy_connect,
	.on_eof = proxy_eof,
	.on_close = proxy_close,
	.settings = proxy_settings
);
