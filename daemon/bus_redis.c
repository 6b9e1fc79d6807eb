/*
 * bus_redis.c - the Redis backend of the plugins' bus (daemon.bus).
 *
 * Each worker holds two non-blocking hiredis connections on its own loop
 * (the libev adapter): one for commands (XADD, XREVRANGE, CLIENT
 * UNBLOCK) and one that sits in XREAD BLOCK, which would stall the
 * commands behind it on a shared connection.
 *
 * Order: a channel is the Redis stream "asockd:bus:CHANNEL", capped
 * with XADD MAXLEN ~ ASOCKD_BUS_BACKLOG_MAX.  Redis gives every entry an
 * increasing id as it appends it, so the stream is the one order of the
 * channel, and every worker of every asockd reads it with XREAD from the
 * id it last saw: each subscriber sees the same sequence, without gaps
 * while the stream still holds what it missed.
 *
 * A subscription with a backlog asks XREVRANGE for the newest entries;
 * live entries that arrive meanwhile are held, and once the backlog is
 * in the held entries newer than its newest id follow it: no gap, no
 * duplicate.
 *
 * Failure: when either connection fails both are dropped, publish
 * returns -ENOTCONN (the plugin decides; counted in bus_dropped), one
 * warning is logged for the outage, and a timer reconnects with a
 * backoff of BACKOFF_MIN doubling to BACKOFF_MAX seconds.  Once both are
 * back, reading resumes from each channel's last id (what the stream
 * still holds of the outage is delivered), and one notice says how long
 * it lasted and how many messages were dropped.  Nothing here waits:
 * connects, replies and the reconnect timer are all loop events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libev.h>

#include "asockd.h"

#define KEY_PREFIX	"asockd:bus:"
#define BACKOFF_MIN	0.1
#define BACKOFF_MAX	2.0
#define CONNECT_TIMEOUT	3.0
#define BLOCK_MS	"5000"
#define READ_COUNT	"512"
#define INFLIGHT_MAX	10000			/* XADDs awaiting a reply */
#define INFLIGHT_BYTES	(8 * 1024 * 1024)
#define HELD_MAX	10000			/* per pending subscription */

/* A channel being read: its stream and the newest id read. */
struct rchan {
	char			*name;
	size_t			 len;
	char			*key;
	uint64_t		 ms, seq;
	int			 ready;		/* ms/seq known: XREAD it */
	unsigned int		 nsubs;
	TAILQ_ENTRY(rchan)	 entry;
};

/* A live entry held for a subscription whose backlog is coming. */
struct held {
	uint64_t		 ms, seq;
	size_t			 len;
	STAILQ_ENTRY(held)	 entry;
	unsigned char		 data[];
};

/* bus_sub->rsub: the Redis side of a subscription. */
struct rsub {
	STAILQ_HEAD(, held)	 held;
	unsigned int		 nheld;
	unsigned int		 backlog;
	int			 asked;		/* XREVRANGE in flight */
	struct rchan		*chan;
};

static struct bus_uri	 uri;
static char		 where[300];	/* for logs */
static redisAsyncContext *cmd, *rd;
static int		 cmd_ok, rd_ok;	/* connected (and authenticated) */
static int		 up;		/* both: publish works */
static int		 reading;	/* XREAD in flight */
static long long	 rd_id = -1;	/* CLIENT ID of rd */
static unsigned int	 inflight;
static size_t		 inflight_bytes;
static double		 backoff = BACKOFF_MIN;
static ev_tstamp	 down_since;	/* 0: not in an outage */
static unsigned long long dropped_at_down;
static int		 stopping;
static ev_timer		 retry_timer, connect_timer;
static TAILQ_HEAD(, rchan) rchans = TAILQ_HEAD_INITIALIZER(rchans);

static void	 redis_connect(void);
static void	 redis_down(const char *why);
static void	 read_next(void);
static void	 backlog_ask(struct bus_sub *);

static int
id_parse(const char *s, uint64_t *ms, uint64_t *seq)
{
	char	*ep;

	*ms = strtoull(s, &ep, 10);
	if (*ep != '-')
		return -1;
	*seq = strtoull(ep + 1, &ep, 10);
	return *ep == '\0' ? 0 : -1;
}

static int
id_after(uint64_t ms, uint64_t seq, uint64_t ms0, uint64_t seq0)
{
	return ms > ms0 || (ms == ms0 && seq > seq0);
}

static struct rchan *
rchan_find(const char *name, size_t len)
{
	struct rchan	*c;

	TAILQ_FOREACH(c, &rchans, entry)
		if (c->len == len && memcmp(c->name, name, len) == 0)
			return c;
	return NULL;
}

static void
held_clear(struct rsub *r)
{
	struct held	*h;

	while ((h = STAILQ_FIRST(&r->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&r->held, entry);
		free(h);
	}
	r->nheld = 0;
}

/* ------------------------------------------------------------ replies */

/* The data field of an entry [id, [field, value, ...]]; -1: none. */
static int
entry_parse(const redisReply *e, uint64_t *ms, uint64_t *seq,
    const void **data, size_t *len)
{
	const redisReply	*f;
	size_t			 i;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    id_parse(e->element[0]->str, ms, seq) == -1)
		return -1;
	f = e->element[1];
	if (f->type != REDIS_REPLY_ARRAY)
		return -1;
	for (i = 0; i + 1 < f->elements; i += 2)
		if (f->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(f->element[i]->str, "d") == 0 &&
		    f->element[i + 1]->type == REDIS_REPLY_STRING &&
		    f->element[i + 1]->len > 0) {
			*data = f->element[i + 1]->str;
			*len = f->element[i + 1]->len;
			return 0;
		}
	return -1;
}

/* One live entry of channel c: to its live subscribers, held for the
 * pending ones. */
static void
entry_live(struct rchan *c, uint64_t ms, uint64_t seq, const void *data,
    size_t len)
{
	struct bus_sub	*s;
	struct rsub	*r;
	struct held	*h;

	if (!id_after(ms, seq, c->ms, c->seq))
		return;
	c->ms = ms;
	c->seq = seq;
	bus_deliver_begin();
	TAILQ_FOREACH(s, bus_subs(), entry) {
		if (s->gone || (r = s->rsub) == NULL || r->chan != c)
			continue;
		if (s->pending) {
			if (r->nheld == HELD_MAX) {
				BUS_DROP();
				continue;
			}
			h = xmalloc(sizeof(*h) + len);
			h->ms = ms;
			h->seq = seq;
			h->len = len;
			memcpy(h->data, data, len);
			STAILQ_INSERT_TAIL(&r->held, h, entry);
			r->nheld++;
		} else if (id_after(ms, seq, s->last_ms, s->last_seq)) {
			s->last_ms = ms;
			s->last_seq = seq;
			bus_deliver_sub(s, data, len);
		}
	}
	bus_deliver_end();
}

/* One stream of an XREAD reply: [key, [entry...]]. */
static void
stream_read(const redisReply *st)
{
	const redisReply	*ents;
	struct rchan		*c;
	const void		*data;
	uint64_t		 ms, seq;
	size_t			 j, len, plen = sizeof(KEY_PREFIX) - 1;

	if (st->type != REDIS_REPLY_ARRAY || st->elements != 2 ||
	    st->element[0]->type != REDIS_REPLY_STRING ||
	    st->element[0]->len < plen)
		return;
	c = rchan_find(st->element[0]->str + plen,
	    st->element[0]->len - plen);
	if (c == NULL || (ents = st->element[1])->type != REDIS_REPLY_ARRAY)
		return;
	for (j = 0; j < ents->elements; j++) {
		if (entry_parse(ents->element[j], &ms, &seq, &data,
		    &len) == 0)
			entry_live(c, ms, seq, data, len);
		/* a subscriber may have left inside on_bus, and with the
		 * last one the channel is freed: look it up again */
		if (j + 1 < ents->elements && (c = rchan_find(
		    st->element[0]->str + plen, st->element[0]->len -
		    plen)) == NULL)
			break;
	}
}

static void
read_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;
	size_t		 i;

	reading = 0;
	if (reply == NULL || stopping)
		return;		/* the connection is going */
	if (reply->type == REDIS_REPLY_ERROR) {
		redis_down(reply->str);
		return;
	}
	if (reply->type == REDIS_REPLY_ARRAY)
		for (i = 0; i < reply->elements; i++)
			stream_read(reply->element[i]);
	read_next();
}

/* XREAD BLOCK on every ready channel, from its last id. */
static void
read_next(void)
{
	struct rchan	*c;
	const char	**argv;
	size_t		*lens;
	char		**ids;
	int		 n = 0, i, argc;

	if (!up || reading || stopping)
		return;
	TAILQ_FOREACH(c, &rchans, entry)
		if (c->ready)
			n++;
	if (n == 0)
		return;
	argc = 6 + 2 * n;
	argv = xcalloc(argc, sizeof(*argv));
	lens = xcalloc(argc, sizeof(*lens));
	ids = xcalloc(n, sizeof(*ids));
	argv[0] = "XREAD";
	argv[1] = "COUNT";
	argv[2] = READ_COUNT;
	argv[3] = "BLOCK";
	argv[4] = BLOCK_MS;
	argv[5] = "STREAMS";
	i = 0;
	TAILQ_FOREACH(c, &rchans, entry) {
		if (!c->ready)
			continue;
		argv[6 + i] = c->key;
		if (xasprintf(&ids[i], "%" PRIu64 "-%" PRIu64, c->ms,
		    c->seq) == -1)
			fatal("xasprintf");
		argv[6 + n + i] = ids[i];
		i++;
	}
	for (i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	if (redisAsyncCommandArgv(rd, read_cb, NULL, argc, argv, lens) ==
	    REDIS_OK)
		reading = 1;
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	free(lens);
	free(argv);
}

/* The read set changed: end the XREAD that is blocked, read anew. */
static void
read_restart(void)
{
	char	 id[32];

	if (!up || stopping)
		return;
	if (!reading) {
		read_next();
		return;
	}
	if (rd_id >= 0) {
		snprintf(id, sizeof(id), "%lld", rd_id);
		redisAsyncCommand(cmd, NULL, NULL, "CLIENT UNBLOCK %s", id);
	}
}

static void
backlog_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;
	struct bus_sub	*s;
	struct rsub	*rs;
	struct held	*h;
	const void	*data;
	uint64_t	 ms = 0, seq = 0, m, q;
	size_t		 i, len, n;

	if ((s = bus_sub_find((uint32_t)(uintptr_t)priv)) == NULL ||
	    (rs = s->rsub) == NULL)
		return;		/* unsubscribed meanwhile, or stopping */
	rs->asked = 0;
	if (reply == NULL || stopping)
		return;		/* asked again when Redis is back */
	if (reply->type != REDIS_REPLY_ARRAY) {
		log_warnx("bus: redis %s: XREVRANGE %s: %s", where,
		    s->channel, reply->type == REDIS_REPLY_ERROR ?
		    reply->str : "unexpected reply");
		n = 0;
	} else
		n = reply->elements;
	/* newest first: its id is where the subscription goes live */
	for (i = 0; i < n; i++)
		if (entry_parse(reply->element[i], &ms, &seq, &data,
		    &len) == 0)
			break;
	if (i == n)
		ms = seq = 0;
	if (!rs->chan->ready) {
		rs->chan->ms = ms;
		rs->chan->seq = seq;
		rs->chan->ready = 1;
		read_restart();
	}
	s->last_ms = ms;
	s->last_seq = seq;
	s->pending = 0;
	bus_deliver_begin();
	n = n < rs->backlog ? n : rs->backlog;
	for (i = n; i-- > 0 && !s->gone; )
		if (entry_parse(reply->element[i], &m, &q, &data,
		    &len) == 0)
			bus_deliver_sub(s, data, len);
	while ((h = STAILQ_FIRST(&rs->held)) != NULL) {
		STAILQ_REMOVE_HEAD(&rs->held, entry);
		if (!s->gone && id_after(h->ms, h->seq, s->last_ms,
		    s->last_seq)) {
			s->last_ms = h->ms;
			s->last_seq = h->seq;
			bus_deliver_sub(s, h->data, h->len);
		}
		free(h);
	}
	rs->nheld = 0;
	bus_deliver_end();
}

static void
backlog_ask(struct bus_sub *s)
{
	struct rsub	*rs = s->rsub;
	char		 count[16];

	if (!up || rs->asked)
		return;
	snprintf(count, sizeof(count), "%u", rs->backlog > 0 ?
	    rs->backlog : 1);
	if (redisAsyncCommand(cmd, backlog_cb, (void *)(uintptr_t)s->id,
	    "XREVRANGE %s + - COUNT %s", rs->chan->key, count) == REDIS_OK)
		rs->asked = 1;
}

static void
xadd_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;

	inflight--;
	inflight_bytes -= (size_t)(uintptr_t)priv;
	if (reply == NULL) {
		BUS_DROP();	/* lost with the connection */
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		BUS_DROP();
		log_warnx("bus: redis %s: XADD: %s", where, reply->str);
	}
}

/* ---------------------------------------------------------- connection */

static void
retry_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	redis_connect();
}

/* Both connections are up: resume. */
static void
redis_up(void)
{
	struct bus_sub	*s;

	up = 1;
	backoff = BACKOFF_MIN;
	ev_timer_stop(proc.loop, &connect_timer);
	if (down_since > 0)
		log_notice("bus: redis %s: connected again after %.1f s; %llu"
		    " message(s) dropped meanwhile", where,
		    ev_now(proc.loop) - down_since,
		    bus_dropped - dropped_at_down);
	else
		log_info("bus: redis %s: connected", where);
	down_since = 0;
	TAILQ_FOREACH(s, bus_subs(), entry)
		if (!s->gone && s->pending)
			backlog_ask(s);
	read_next();
}

static void
auth_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;
	const char	*what = priv;

	if (reply == NULL || stopping)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		char	 why[256];

		snprintf(why, sizeof(why), "%s: %s", what, reply->str);
		redis_down(why);
	}
}

static void
id_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;

	if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
		rd_id = reply->integer;
}

/* The PING after AUTH and SELECT answered: this connection is ready. */
static void
ping_cb(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply	*reply = r;

	if (reply == NULL || stopping || reply->type == REDIS_REPLY_ERROR)
		return;		/* auth_cb or disconnect_cb took it down */
	if (ac == cmd)
		cmd_ok = 1;
	else if (ac == rd)
		rd_ok = 1;
	if (cmd_ok && rd_ok)
		redis_up();
}

static void
setup(redisAsyncContext *ac)
{
	if (uri.password[0] != '\0')
		redisAsyncCommand(ac, auth_cb, "AUTH", "AUTH %s", uri.password);
	if (uri.db != 0)
		redisAsyncCommand(ac, auth_cb, "SELECT", "SELECT %d", uri.db);
	redisAsyncCommand(ac, ping_cb, NULL, "PING");
}

static void
connect_cb(const redisAsyncContext *ac, int status)
{
	if (stopping)
		return;
	if (status != REDIS_OK) {
		/* hiredis frees ac after this callback */
		if (ac == cmd)
			cmd = NULL;
		else if (ac == rd)
			rd = NULL;
		redis_down(ac->errstr);
		return;
	}
	/* ready once its PING (after AUTH and SELECT) is answered */
}

static void
disconnect_cb(const redisAsyncContext *ac, int status)
{
	if (ac == cmd)
		cmd = NULL;
	else if (ac == rd)
		rd = NULL;
	if (stopping)
		return;
	redis_down(status == REDIS_OK ? "connection closed" : ac->errstr);
}

static void
connect_timeout_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	redis_down("connect timed out");
}

static redisAsyncContext *
open_one(void)
{
	redisAsyncContext	*ac;

	if (uri.is_unix)
		ac = redisAsyncConnectUnix(uri.path);
	else
		ac = redisAsyncConnect(uri.host, uri.port);
	if (ac == NULL)
		fatalx("bus: redis: out of memory");
	if (ac->err) {
		redis_down(ac->errstr);
		redisAsyncFree(ac);
		return NULL;
	}
	redisLibevAttach(proc.loop, ac);
	redisAsyncSetConnectCallback(ac, connect_cb);
	redisAsyncSetDisconnectCallback(ac, disconnect_cb);
	setup(ac);
	return ac;
}

static void
redis_connect(void)
{
	cmd_ok = rd_ok = 0;
	rd_id = -1;
	if ((cmd = open_one()) == NULL)
		return;
	if ((rd = open_one()) == NULL)
		return;
	redisAsyncCommand(rd, id_cb, NULL, "CLIENT ID");
	ev_timer_set(&connect_timer, CONNECT_TIMEOUT, 0.);
	ev_timer_start(proc.loop, &connect_timer);
}

/* Drop both connections (no callbacks of ours run meanwhile). */
static void
redis_close(void)
{
	redisAsyncContext	*a = cmd, *b = rd;
	int			 was = stopping;

	stopping = 1;
	cmd = rd = NULL;
	if (a != NULL)
		redisAsyncFree(a);
	if (b != NULL)
		redisAsyncFree(b);
	stopping = was;
	up = cmd_ok = rd_ok = reading = 0;
	rd_id = -1;
}

/* A connection failed: drop both, log once per outage, retry later. */
static void
redis_down(const char *why)
{
	struct bus_sub	*s;

	if (ev_is_active(&retry_timer))
		return;		/* already down */
	ev_timer_stop(proc.loop, &connect_timer);
	redis_close();
	TAILQ_FOREACH(s, bus_subs(), entry)
		if (s->rsub != NULL)
			((struct rsub *)s->rsub)->asked = 0;
	if (down_since == 0) {
		down_since = ev_now(proc.loop);
		dropped_at_down = bus_dropped;
		log_warnx("bus: redis %s: %s; publishing fails until it is "
		    "back (retrying)", where, why);
	} else
		log_debug("bus: redis %s: %s", where, why);
	ev_timer_set(&retry_timer, backoff, 0.);
	ev_timer_start(proc.loop, &retry_timer);
	backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
}

/* ------------------------------------------------------------ bus.c */

int
bus_redis_start(const struct bus_uri *u)
{
	uri = *u;
	if (uri.is_unix)
		snprintf(where, sizeof(where), "unix:%s", uri.path);
	else
		snprintf(where, sizeof(where), strchr(uri.host, ':') ?
		    "[%s]:%d" : "%s:%d", uri.host, uri.port);
	ev_timer_init(&retry_timer, retry_cb, 0., 0.);
	ev_timer_init(&connect_timer, connect_timeout_cb, 0., 0.);
	stopping = 0;
	redis_connect();
	return 0;
}

int
bus_redis_publish(const char *ch, size_t chlen, const void *data,
    size_t len)
{
	const char	*argv[8];
	size_t		 lens[8];
	char		 key[sizeof(KEY_PREFIX) + ASOCKD_BUS_CHANNEL_MAX];
	int		 i;

	if (!up)
		return -ENOTCONN;
	if (inflight >= INFLIGHT_MAX || inflight_bytes + len > INFLIGHT_BYTES)
		return -ENOBUFS;
	snprintf(key, sizeof(key), KEY_PREFIX "%.*s", (int)chlen, ch);
	argv[0] = "XADD";
	argv[1] = key;
	argv[2] = "MAXLEN";
	argv[3] = "~";
	argv[4] = DEF_STR(ASOCKD_BUS_BACKLOG_MAX);
	argv[5] = "*";
	argv[6] = "d";
	for (i = 0; i < 7; i++)
		lens[i] = strlen(argv[i]);
	argv[7] = data;
	lens[7] = len;
	if (redisAsyncCommandArgv(cmd, xadd_cb, (void *)(uintptr_t)len, 8,
	    argv, lens) != REDIS_OK)
		return -ENOTCONN;
	inflight++;
	inflight_bytes += len;
	return 0;
}

void
bus_redis_subscribe(struct bus_sub *s, unsigned int backlog)
{
	struct rsub	*rs;
	struct rchan	*c;

	if ((c = rchan_find(s->channel, s->chlen)) == NULL) {
		c = xcalloc(1, sizeof(*c));
		c->name = xstrdup(s->channel);
		c->len = s->chlen;
		if (xasprintf(&c->key, KEY_PREFIX "%s", s->channel) == -1)
			fatal("xasprintf");
		TAILQ_INSERT_TAIL(&rchans, c, entry);
	}
	c->nsubs++;
	rs = xcalloc(1, sizeof(*rs));
	STAILQ_INIT(&rs->held);
	rs->backlog = backlog;
	rs->chan = c;
	s->rsub = rs;
	if (c->ready && backlog == 0) {
		/* live from the channel's last id */
		s->pending = 0;
		s->last_ms = c->ms;
		s->last_seq = c->seq;
		return;
	}
	s->pending = 1;
	backlog_ask(s);
}

void
bus_redis_unsubscribe(struct bus_sub *s)
{
	struct rsub	*rs = s->rsub;

	if (rs == NULL)
		return;
	held_clear(rs);
	if (--rs->chan->nsubs == 0) {
		TAILQ_REMOVE(&rchans, rs->chan, entry);
		free(rs->chan->name);
		free(rs->chan->key);
		free(rs->chan);
		read_restart();
	}
	free(rs);
	s->rsub = NULL;
}

void
bus_redis_stop(void)
{
	struct bus_sub	*s;

	stopping = 1;
	TAILQ_FOREACH(s, bus_subs(), entry)
		bus_redis_unsubscribe(s);
	ev_timer_stop(proc.loop, &retry_timer);
	ev_timer_stop(proc.loop, &connect_timer);
	redis_close();
}
