/*
 * policy.c - who may connect, and how much: the step between a listener's
 * accept and conn_accept() (and between recvfrom and on_datagram).
 *
 * Rule order for a connection (or datagram) from a source:
 *   1. deny: an address in it is refused (deny wins over allow);
 *   2. allow: when set, an address not in it is refused;
 *   3. rate: a token bucket per source (rate tokens a second, at most
 *      rate_burst), one token per new connection or datagram;
 *   4. max_per_source: open connections per source.
 * Addresses are canonical (acl.c): an IPv4-mapped IPv6 peer is its IPv4
 * address.  A source is the address masked to source_prefix_v4 or _v6,
 * or, for a Unix-socket peer, its uid (SO_PEERCRED).
 *
 * The limits hold for the whole daemon, not per worker: the counts and
 * buckets live in a table in shared memory that the master maps before
 * it forks (policy_shm_init), so every worker, of every generation, sees
 * the same one.  The table has POLICY_SLOTS entries; a source hashes to a
 * window of POLICY_PROBE of them.  A lookup scans the window for its
 * entry; a new source takes a free slot of the window or else evicts the
 * entry of the window with no open connection that was used least
 * recently (its bucket and pending log count are lost, and evictions
 * counts it).  When every entry of the window holds open connections the
 * new source is not tracked: it is admitted and "untracked" counts it.
 * The table is guarded by one spinlock, held for a few loads and stores
 * and never across a system call or plugin code.
 *
 * Refusals are counted by reason and logged at most once per source per
 * LOG_EVERY seconds: the first one at once, the rest as "refused 240
 * connections from 127.0.0.3 (deny) in the last 10 s", by whichever
 * process next refuses that source or by the flush timer.  A refused
 * connection is closed at once, with no plugin callback.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "asockd.h"

#define POLICY_SLOTS	16384
#define POLICY_PROBE	8
#define LOG_EVERY	10.0	/* seconds between lines per source */

struct policy_src {
	uint64_t		 lid;		/* listener; 0: free slot */
	struct acl_key		 key;		/* the source */
	uint32_t		 conns;		/* open connections */
	uint32_t		 refused;	/* not yet logged */
	uint8_t			 reason;	/* of the last refusal */
	uint8_t			 dgram;		/* refusals were datagrams */
	uint8_t			 uid;		/* key.lo is a uid */
	uint8_t			 bits;		/* of the key's family */
	double			 tokens;
	double			 stamp;		/* tokens counted at */
	double			 seen;		/* last use, for eviction */
	double			 logged;	/* last line about it, or 0 */
};

struct policy_shm {
	volatile char		 lock;
	uint64_t	 counts[POLICY_NCOUNTS];
	struct policy_src	 src[POLICY_SLOTS];
};

static const char *const count_names[POLICY_NCOUNTS] = {
	[POLICY_DENY] = "deny",
	[POLICY_ALLOW] = "allow",
	[POLICY_RATE] = "rate",
	[POLICY_PER_SOURCE] = "max_per_source",
	[POLICY_PROXY] = "proxy",
	[POLICY_DGRAM_DROPPED] = "datagrams dropped",
	[POLICY_EVICTED] = "evicted",
	[POLICY_UNTRACKED] = "untracked",
};

static struct policy_shm	*shm;
static ev_timer			 flush_timer;

/* What is logged about one source once the lock is let go. */
struct pending_line {
	char		 listener[80];
	struct acl_key	 key;
	int		 uid, bits, reason, dgram;
	uint32_t	 n;
	double		 span;
};

static double
now_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
shm_lock(void)
{
	int	 spins = 0;

	while (__atomic_test_and_set(&shm->lock, __ATOMIC_ACQUIRE))
		if (++spins % 64 == 0)
			sched_yield();
}

static void
shm_unlock(void)
{
	__atomic_clear(&shm->lock, __ATOMIC_RELEASE);
}

void
policy_shm_init(void)
{
	if (shm != NULL)
		return;
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		fatal("mmap (policy table)");
}

uint64_t
policy_count(int which)
{
	if (shm == NULL || which < 0 || which >= POLICY_NCOUNTS)
		return 0;
	return __atomic_load_n(&shm->counts[which], __ATOMIC_RELAXED);
}

static void
count(int which)
{
	__atomic_add_fetch(&shm->counts[which], 1, __ATOMIC_RELAXED);
}

void
policy_report(void)
{
	char	 buf[512];
	size_t	 off = 0;
	int	 i, any = 0;

	if (shm == NULL)
		return;
	for (i = 0; i < POLICY_NCOUNTS; i++) {
		if (policy_count(i) == 0)
			continue;
		any = 1;
		off += snprintf(buf + off, sizeof(buf) - off, "%s%llu %s",
		    off ? ", " : "", (unsigned long long)policy_count(i),
		    count_names[i]);
		if (off >= sizeof(buf))
			break;
	}
	if (any)
		log_notice("access policy: %s", buf);
}

/* The listener's identity in the table: a hash of its name, never 0. */
static uint64_t
listener_id(const struct listener_conf *lc)
{
	const unsigned char	*p = (const unsigned char *)lc->name;
	uint64_t		 h = 14695981039346656037ULL;

	while (*p != '\0')
		h = (h ^ *p++) * 1099511628211ULL;
	return h != 0 ? h : 1;
}

static size_t
slot_hash(uint64_t lid, const struct acl_key *k)
{
	uint64_t	 h = lid ^ (k->hi * 0x9e3779b97f4a7c15ULL) ^
			    (k->lo * 0xc2b2ae3d27d4eb4fULL);

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)(h % POLICY_SLOTS);
}

static void
line_take(struct pending_line *pl, const struct listener_conf *lc,
    const struct policy_src *e, double now)
{
	snprintf(pl->listener, sizeof(pl->listener), "%s",
	    lc != NULL ? lc->name : "?");
	pl->key = e->key;
	pl->uid = e->uid;
	pl->bits = e->bits;
	pl->reason = e->reason;
	pl->dgram = e->dgram;
	pl->n = e->refused;
	pl->span = e->logged > 0 ? now - e->logged : 0;
}

static void
line_log(const struct pending_line *pl)
{
	char	 src[INET6_ADDRSTRLEN + 16];

	if (pl->n == 0)
		return;
	if (pl->uid)
		snprintf(src, sizeof(src), "uid %llu",
		    (unsigned long long)pl->key.lo);
	else
		acl_key_format(&pl->key, pl->bits, src, sizeof(src));
	if (pl->span <= 0 && pl->n == 1)
		log_notice("listener %s: refused a %s from %s (%s)",
		    pl->listener, pl->dgram ? "datagram" : "connection", src,
		    count_names[pl->reason]);
	else
		log_notice("listener %s: refused %lu %s from %s (%s) in the "
		    "last %.0f s", pl->listener, (unsigned long)pl->n,
		    pl->dgram ? "datagrams" : "connections", src,
		    count_names[pl->reason], pl->span > 0 ? pl->span :
		    LOG_EVERY);
}

/*
 * The entry of (lid, k), made when there is none; NULL when the window is
 * full of sources with open connections.  Locked.  An evicted entry with
 * refusals not yet logged is copied to *ev (ev->n > 0).
 */
static struct policy_src *
slot_get(uint64_t lid, const struct acl_key *k, int uid, int bits,
    double now, struct pending_line *ev)
{
	struct policy_src	*e, *free_e = NULL, *old = NULL;
	size_t			 h = slot_hash(lid, k), i;

	for (i = 0; i < POLICY_PROBE; i++) {
		e = &shm->src[(h + i) % POLICY_SLOTS];
		if (e->lid == lid && e->key.hi == k->hi &&
		    e->key.lo == k->lo && e->uid == uid && e->bits == bits)
			return e;
		if (e->lid == 0) {
			if (free_e == NULL)
				free_e = e;
		} else if (e->conns == 0 && (old == NULL ||
		    e->seen < old->seen))
			old = e;
	}
	if ((e = free_e) == NULL) {
		if ((e = old) == NULL)
			return NULL;
		count(POLICY_EVICTED);
		if (e->refused > 0)
			line_take(ev, NULL, e, now);
	}
	memset(e, 0, sizeof(*e));
	e->lid = lid;
	e->key = *k;
	e->uid = (uint8_t)uid;
	e->bits = (uint8_t)bits;
	e->stamp = now;
	e->tokens = -1;		/* full, once the rate is known */
	return e;
}

/* Take a token from e's bucket: 0, or -1 when it is empty.  Locked. */
static int
bucket_take(struct policy_src *e, const struct listener_conf *lc,
    double now)
{
	double	 burst = lc->rate_burst > 0 ? lc->rate_burst :
		    fmax(1.0, ceil(lc->rate));

	if (e->tokens < 0)
		e->tokens = burst;
	else
		e->tokens = fmin(burst, e->tokens + (now - e->stamp) *
		    lc->rate);
	e->stamp = now;
	if (e->tokens < 1.0)
		return -1;
	e->tokens -= 1.0;
	return 0;
}

static void
flush_cb(struct ev_loop *lp, ev_timer *w, int revents)
{
	struct pending_line	 pl;
	struct policy_src	*e;
	const struct listener_conf *lc;
	double			 now = now_mono();
	size_t			 i;
	int			 left = 0;

	for (i = 0; i < POLICY_SLOTS; i++) {
		e = &shm->src[i];
		/* a hint read without the lock; checked again under it */
		if (__atomic_load_n(&e->refused, __ATOMIC_RELAXED) == 0)
			continue;
		pl.n = 0;
		shm_lock();
		if (e->refused > 0 && now - e->logged >= LOG_EVERY) {
			lc = NULL;
			if (proc.conf != NULL)
				TAILQ_FOREACH(lc, &proc.conf->listeners, entry)
					if (listener_id(lc) == e->lid)
						break;
			line_take(&pl, lc, e, now);
			e->refused = 0;
			e->logged = now;
		} else if (e->refused > 0)
			left = 1;
		shm_unlock();
		line_log(&pl);
	}
	if (!left)
		ev_timer_stop(lp, w);
}

/*
 * Count and maybe log a refusal of source k by lc for reason.  e is its
 * entry (locked) or NULL; the lock is let go here.
 */
static void
refuse(const struct listener_conf *lc, uint64_t lid, const struct acl_key *k,
    int uid, int bits, int reason, int dgram, struct policy_src *e,
    double now)
{
	struct pending_line	 pl, ev;

	pl.n = ev.n = 0;
	count(reason);
	if (dgram)
		count(POLICY_DGRAM_DROPPED);
	if (e == NULL && (e = slot_get(lid, k, uid, bits, now,
	    &ev)) == NULL) {
		shm_unlock();
		line_log(&ev);
		return;
	}
	e->seen = now;
	e->reason = (uint8_t)reason;
	e->dgram = (uint8_t)dgram;
	e->refused++;
	if (e->logged == 0 || now - e->logged >= LOG_EVERY) {
		line_take(&pl, lc, e, now);
		e->refused = 0;
		e->logged = now;
	}
	shm_unlock();
	line_log(&ev);
	line_log(&pl);
	if (!ev_is_active(&flush_timer)) {
		ev_timer_init(&flush_timer, flush_cb, LOG_EVERY, LOG_EVERY);
		ev_timer_start(proc.loop, &flush_timer);
	}
}

/* The source of a peer: its masked address or its uid; -1: no source. */
static int
source_of(const struct listener_conf *lc, int kind, int fd,
    const struct sockaddr *sa, socklen_t len, struct acl_key *k, int *uid)
{
	struct ucred	 cr;
	socklen_t	 crlen = sizeof(cr);

	*uid = 0;
	if (acl_key(sa, len, k) == 0) {
		acl_key_prefix(k, lc->source_prefix_v4, lc->source_prefix_v6);
		return 0;
	}
	k->hi = ~0ULL;
	k->lo = 0;
	if (kind == ASOCKD_UNIX && fd != -1 && getsockopt(fd, SOL_SOCKET,
	    SO_PEERCRED, &cr, &crlen) == 0) {
		k->lo = cr.uid;
		*uid = 1;
		return 0;
	}
	return -1;
}

int
policy_active(const struct listener_conf *lc)
{
	return lc->allow != NULL || lc->deny != NULL ||
	    lc->max_per_source > 0 || lc->rate > 0;
}

/* allow/deny for a peer; 0 or the reason it is refused. */
static int
acl_check(const struct listener_conf *lc, const struct sockaddr *sa,
    socklen_t len, struct acl_key *k)
{
	int	 inet = acl_key(sa, len, k) == 0;

	if (lc->deny != NULL && (inet ? acl_match(lc->deny, k) :
	    acl_match_unix(lc->deny)))
		return POLICY_DENY;
	if (lc->allow != NULL && !(inet ? acl_match(lc->allow, k) :
	    acl_match_unix(lc->allow)))
		return POLICY_ALLOW;
	return 0;
}

static int
admit(const struct listener_conf *lc, int kind, int fd,
    const struct sockaddr *sa, socklen_t len, int dgram, int *slot)
{
	struct pending_line	 ev;
	struct policy_src	*e;
	struct acl_key		 addr, k;
	uint64_t		 lid;
	double			 now;
	int			 reason, uid, limits, bits;

	*slot = -1;
	reason = acl_check(lc, sa, len, &addr);
	limits = lc->rate > 0 || (!dgram && lc->max_per_source > 0);
	if (reason == 0 && !limits)
		return 0;
	policy_shm_init();
	if (source_of(lc, kind, fd, sa, len, &k, &uid) == -1) {
		if (reason == 0)
			return 0;	/* no source to limit */
		k.hi = ~0ULL;
		k.lo = 0;
	}
	lid = listener_id(lc);
	now = now_mono();
	if (reason != 0 && !uid) {
		/* a list refuses an address, not a source: log that */
		k = addr;
		bits = 128;
	} else
		bits = acl_key_v4(&k) ? lc->source_prefix_v4 :
		    lc->source_prefix_v6;
	if (acl_key_v4(&k) && bits > 32)
		bits = 32;
	shm_lock();
	if (reason != 0) {
		refuse(lc, lid, &k, uid, bits, reason, dgram, NULL, now);
		return -reason;
	}
	ev.n = 0;
	if ((e = slot_get(lid, &k, uid, bits, now, &ev)) == NULL) {
		shm_unlock();
		count(POLICY_UNTRACKED);
		return 0;
	}
	e->seen = now;
	if (lc->rate > 0 && bucket_take(e, lc, now) == -1)
		reason = POLICY_RATE;
	else if (!dgram && lc->max_per_source > 0 &&
	    e->conns >= (uint32_t)lc->max_per_source)
		reason = POLICY_PER_SOURCE;
	if (reason != 0) {
		refuse(lc, lid, &k, uid, bits, reason, dgram, e, now);
		line_log(&ev);
		return -reason;
	}
	if (!dgram && lc->max_per_source > 0) {
		e->conns++;
		*slot = (int)(e - shm->src);
	}
	shm_unlock();
	line_log(&ev);
	return 0;
}

int
policy_admit(const struct listener_conf *lc, int kind, int fd,
    const struct sockaddr *sa, socklen_t len, int *slot)
{
	return admit(lc, kind, fd, sa, len, 0, slot);
}

int
policy_datagram(const struct listener_conf *lc, int kind,
    const struct sockaddr *sa, socklen_t len)
{
	int	 slot;

	return admit(lc, kind, -1, sa, len, 1, &slot);
}

void
policy_release(int slot)
{
	struct policy_src	*e;

	if (slot < 0 || shm == NULL || slot >= POLICY_SLOTS)
		return;
	e = &shm->src[slot];
	shm_lock();
	if (e->conns > 0)
		e->conns--;
	e->seen = now_mono();
	shm_unlock();
}

void
policy_peer_free(struct policy_peer *pp)
{
	if (pp == NULL)
		return;
	policy_release(pp->slot);
	free(pp->tlv);
	free(pp);
}

/*
 * PROXY protocol, receiving.  The header is read with MSG_PEEK and then
 * consumed exactly: proxy_parse() says how many of the peeked bytes are
 * header, so what the client sent after it (even in the same segment)
 * stays in the socket for the plugin.  Until it is complete the fd
 * belongs to a proxy_wait, with its own read watcher and timer.
 */
struct proxy_wait {
	const struct listener_conf *lc;
	int			 kind, fd;
	void			*arg;
	struct sockaddr_storage	 lb;		/* the balancer */
	socklen_t		 lblen;
	ev_io			 io;
	ev_timer		 timer;
	size_t			 have;
	unsigned char		 buf[PROXY_HDR_MAX];
	TAILQ_ENTRY(proxy_wait)	 entry;
};

static TAILQ_HEAD(, proxy_wait) waits = TAILQ_HEAD_INITIALIZER(waits);
static void	(*proxied_hook)(void *, int, const struct sockaddr *,
		    socklen_t, struct policy_peer *);

void
policy_on_proxied(void (*fn)(void *, int, const struct sockaddr *,
    socklen_t, struct policy_peer *))
{
	proxied_hook = fn;
}

int
policy_proxy_trusted(const struct listener_conf *lc, int kind, int fd,
    const struct sockaddr *sa, socklen_t len)
{
	struct acl_key	 k;
	int		 uid, inet = acl_key(sa, len, &k) == 0;

	if (inet ? acl_match(lc->proxy_trusted, &k) :
	    acl_match_unix(lc->proxy_trusted))
		return 1;
	policy_shm_init();
	if (source_of(lc, kind, fd, sa, len, &k, &uid) == -1 || !uid) {
		if (acl_key(sa, len, &k) == -1) {
			k.hi = ~0ULL;
			k.lo = 0;
		}
	}
	shm_lock();
	refuse(lc, listener_id(lc), &k, uid, 128, POLICY_PROXY, 0, NULL,
	    now_mono());
	return 0;
}

static void
wait_free(struct proxy_wait *w, int close_fd)
{
	struct linger	 lg = { 1, 0 };

	ev_io_stop(proc.loop, &w->io);
	ev_timer_stop(proc.loop, &w->timer);
	TAILQ_REMOVE(&waits, w, entry);
	if (close_fd) {
		setsockopt(w->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(w->fd);
	}
	free(w);
}

/* One line for a connection whose header was bad, late or cut short. */
static void
wait_fail(struct proxy_wait *w, const char *why)
{
	char	 peer[160];

	addr_format((struct sockaddr *)&w->lb, w->lblen, peer, sizeof(peer));
	policy_shm_init();
	count(POLICY_PROXY);
	log_notice("listener %s: closed a connection from %s: PROXY "
	    "header: %s", w->lc->name, peer, why);
	wait_free(w, 1);
}

static void
wait_done(struct proxy_wait *w, const struct proxy_hdr *h)
{
	struct policy_peer	*pp = xcalloc(1, sizeof(*pp));
	void			*arg = w->arg;
	int			 fd = w->fd, slot = -1;

	pp->proxied = 1;
	pp->version = h->version;
	pp->local = h->local;
	memcpy(&pp->lb, &w->lb, w->lblen);
	pp->lblen = w->lblen;
	if (h->local) {
		memcpy(&pp->peer, &w->lb, w->lblen);
		pp->peerlen = w->lblen;
	} else {
		memcpy(&pp->peer, &h->src, h->srclen);
		pp->peerlen = h->srclen;
		memcpy(&pp->dst, &h->dst, h->dstlen);
		pp->dstlen = h->dstlen;
	}
	if (h->tlvlen > 0) {
		pp->tlv = xmalloc(h->tlvlen);
		memcpy(pp->tlv, h->tlv, h->tlvlen);
		pp->tlvlen = h->tlvlen;
	}
	if (policy_active(w->lc) && policy_admit(w->lc, h->local ? w->kind :
	    ASOCKD_TCP, fd, (struct sockaddr *)&pp->peer, pp->peerlen,
	    &slot) < 0) {
		pp->slot = -1;
		policy_peer_free(pp);
		wait_free(w, 1);
		return;
	}
	pp->slot = slot;
	w->fd = -1;
	wait_free(w, 0);
	if (proxied_hook == NULL || proc.shutting_down) {
		close(fd);
		policy_peer_free(pp);
		return;
	}
	proxied_hook(arg, fd,
	    (struct sockaddr *)&pp->peer, pp->peerlen, pp);
}

static void
wait_read_cb(struct ev_loop *lp, ev_io *io, int revents)
{
	struct proxy_wait	*w = io->data;
	struct proxy_hdr	 h;
	const char		*why;
	ssize_t			 n, r, take;

	n = recv(w->fd, w->buf + w->have, sizeof(w->buf) - w->have,
	    MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n == -1) {
		wait_fail(w, strerror(errno));
		return;
	}
	if (n == 0) {
		wait_fail(w, w->have ? "truncated (the connection ended in "
		    "it)" : "none (the connection ended first)");
		return;
	}
	r = proxy_parse(w->buf, w->have + (size_t)n, w->lc->proxy_protocol,
	    &h, &why);
	if (r < 0) {
		wait_fail(w, why);
		return;
	}
	/* consume the header bytes only, never what follows it */
	take = r > 0 ? r - (ssize_t)w->have : n;
	if (recv(w->fd, w->buf + w->have, (size_t)take, 0) != take) {
		wait_fail(w, "short read");
		return;
	}
	w->have += (size_t)take;
	if (r == 0) {
		if (w->have == sizeof(w->buf))
			wait_fail(w, "too long");
		return;
	}
	/* h points into w->buf: done before w is freed */
	wait_done(w, &h);
}

static void
wait_timer_cb(struct ev_loop *lp, ev_timer *t, int revents)
{
	struct proxy_wait	*w = t->data;
	char			 why[64];

	snprintf(why, sizeof(why), "none within proxy_timeout (%g s)",
	    w->lc->proxy_timeout);
	wait_fail(w, why);
}

void
policy_proxy_start(const struct listener_conf *lc, int kind, int fd,
    const struct sockaddr *sa, socklen_t len, void *arg)
{
	struct proxy_wait	*w = xcalloc(1, sizeof(*w));

	w->lc = lc;
	w->kind = kind;
	w->fd = fd;
	w->arg = arg;
	if (len > sizeof(w->lb))
		len = sizeof(w->lb);
	memcpy(&w->lb, sa, len);
	w->lblen = len;
	TAILQ_INSERT_TAIL(&waits, w, entry);
	ev_io_init(&w->io, wait_read_cb, fd, EV_READ);
	w->io.data = w;
	ev_timer_init(&w->timer, wait_timer_cb, lc->proxy_timeout, 0.);
	w->timer.data = w;
	ev_io_start(proc.loop, &w->io);
	ev_timer_start(proc.loop, &w->timer);
}

void
policy_proxy_cancel(void *arg)
{
	struct proxy_wait	*w, *tmp;

	TAILQ_FOREACH_SAFE(w, &waits, entry, tmp)
		if (arg == NULL || w->arg == arg)
			wait_free(w, 1);
}
