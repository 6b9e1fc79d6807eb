/*
 * bus.c - the plugins' message bus (host->bus_publish, bus_subscribe,
 * on_bus) and its local backend.
 *
 * A worker keeps its plugins' subscriptions and hands every message that
 * arrives to the subscribers of its channel, in arrival order, each
 * call inside CB_CALL() from a loop callback (never from a plugin call,
 * so on_bus never nests).  Where the messages come from is the backend:
 *
 *  - local (no daemon.bus): the master relays.  Each worker has one
 *    SOCK_SEQPACKET socketpair to the master (one message per packet).
 *    The master reads the workers' publishes and writes each one to
 *    every worker, its publisher included, so the order in which the
 *    master read them is the one order every subscriber sees.  The
 *    master keeps the last ASOCKD_BUS_BACKLOG_MAX messages of each
 *    channel for subscribers that ask for a backlog, and never blocks:
 *    a worker whose socket is full gets a queue of up to
 *    BUS_PEER_QUEUE_MAX bytes, past which its messages are dropped
 *    (counted, logged once per episode); the other workers are not held
 *    up.  A worker whose own queue to the master is full gets -ENOBUFS
 *    from publish.
 *  - Redis (daemon.bus set): bus_redis.c.
 *
 * Frames between worker and master (first byte the type):
 *	worker -> master  'P' chlen channel data		publish
 *			  'S' id[4] backlog[4] chlen channel	backlog
 *	master -> worker  'M' chlen channel data		message
 *			  'B' id[4] chlen channel data		backlog msg
 *			  'E' id[4]				backlog end
 * A subscription's live messages that arrive before its 'E' are covered
 * by the backlog (the master answered after relaying them, on the same
 * socket), so they are skipped: no gap, no duplicate.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

#define BUS_FRAME_MAX	(1 + 4 + 4 + 1 + ASOCKD_BUS_CHANNEL_MAX + \
			    ASOCKD_BUS_MSG_MAX)
#define BUS_OUTQ_MAX	(4 * 1024 * 1024)	/* worker -> master */
#define BUS_PEER_QUEUE_MAX (8 * 1024 * 1024)	/* master -> one worker */
#define BUS_CHAN_BYTES_MAX (4 * 1024 * 1024)	/* kept per channel */
#define BUS_CHANS_MAX	1024			/* channels kept */
#define BUS_BATCH	64			/* frames read per turn */

unsigned long long	 bus_dropped;

static struct bus_subs	 subs = TAILQ_HEAD_INITIALIZER(subs);
static uint32_t		 sub_seq;
static int		 delivering;	/* bus_deliver* on the stack */
static int		 redis;		/* the Redis backend is in use */
static unsigned char	 frame[BUS_FRAME_MAX];

/* A queued frame (either direction); m is shared between the queues. */
struct bus_msg {
	unsigned int		 refs;
	size_t			 len;
	unsigned char		 data[];
};

struct bus_qent {
	struct bus_msg		*m;
	STAILQ_ENTRY(bus_qent)	 entry;
};
STAILQ_HEAD(bus_queue, bus_qent);

/* The worker's end of the local bus. */
static int		 wfd = -1;
static ev_io		 wrio, wwio;
static struct bus_queue	 wq = STAILQ_HEAD_INITIALIZER(wq);
static size_t		 wqbytes;

static struct bus_msg *
msg_new(size_t len)
{
	struct bus_msg	*m;

	m = xmalloc(sizeof(*m) + len);
	m->refs = 1;
	m->len = len;
	return m;
}

static void
msg_unref(struct bus_msg *m)
{
	if (m != NULL && --m->refs == 0)
		free(m);
}

static void
queue_push(struct bus_queue *q, size_t *bytes, struct bus_msg *m)
{
	struct bus_qent	*e;

	e = xmalloc(sizeof(*e));
	e->m = m;
	m->refs++;
	STAILQ_INSERT_TAIL(q, e, entry);
	*bytes += m->len;
}

static void
queue_clear(struct bus_queue *q, size_t *bytes)
{
	struct bus_qent	*e;

	while ((e = STAILQ_FIRST(q)) != NULL) {
		STAILQ_REMOVE_HEAD(q, entry);
		msg_unref(e->m);
		free(e);
	}
	*bytes = 0;
}

/*
 * Write q's frames to fd until it would block: 0 when q is empty, 1 when
 * frames are left, -1 when fd failed.
 */
static int
queue_flush(struct bus_queue *q, size_t *bytes, int fd)
{
	struct bus_qent	*e;

	while ((e = STAILQ_FIRST(q)) != NULL) {
		if (send(fd, e->m->data, e->m->len,
		    MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return 1;
			return -1;
		}
		STAILQ_REMOVE_HEAD(q, entry);
		*bytes -= e->m->len;
		msg_unref(e->m);
		free(e);
	}
	return 0;
}

/* 1 when channel is a valid name. */
static int
channel_ok(const char *ch, size_t *lenp)
{
	size_t	 i, len;

	if (ch == NULL)
		return 0;
	len = strnlen(ch, ASOCKD_BUS_CHANNEL_MAX + 1);
	if (len == 0 || len > ASOCKD_BUS_CHANNEL_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((ch[i] >= 'a' && ch[i] <= 'z') ||
		    (ch[i] >= 'A' && ch[i] <= 'Z') ||
		    (ch[i] >= '0' && ch[i] <= '9') ||
		    strchr("._:/-", ch[i]) != NULL))
			return 0;
	*lenp = len;
	return 1;
}

/* ------------------------------------------------------------ delivery */

static void
subs_sweep(void)
{
	struct bus_sub	*s, *t;

	if (delivering > 0)
		return;
	TAILQ_FOREACH_SAFE(s, &subs, entry, t)
		if (s->gone) {
			TAILQ_REMOVE(&subs, s, entry);
			free(s->channel);
			free(s);
		}
}

static void
sub_call(struct bus_sub *s, const void *data, size_t len)
{
	struct asockd_instance	*inst = s->inst;

	CB_CALL(inst->desc->on_bus(inst, s->channel, data, len));
}

void
bus_deliver(const char *ch, size_t chlen, const void *data, size_t len)
{
	struct bus_sub	*s;

	delivering++;
	TAILQ_FOREACH(s, &subs, entry)
		if (!s->gone && !s->pending && s->chlen == chlen &&
		    memcmp(s->channel, ch, chlen) == 0)
			sub_call(s, data, len);
	delivering--;
	subs_sweep();
}

void
bus_deliver_sub(struct bus_sub *s, const void *data, size_t len)
{
	if (s->gone)
		return;
	delivering++;
	sub_call(s, data, len);
	delivering--;
	subs_sweep();
}

void
bus_deliver_begin(void)
{
	delivering++;
}

void
bus_deliver_end(void)
{
	delivering--;
	subs_sweep();
}

struct bus_sub *
bus_sub_find(uint32_t id)
{
	struct bus_sub	*s;

	TAILQ_FOREACH(s, &subs, entry)
		if (s->id == id && !s->gone)
			return s;
	return NULL;
}

struct bus_subs *
bus_subs(void)
{
	return &subs;
}

/* ------------------------------------------------------------ host calls */

static int
local_send(struct bus_msg *m)
{
	int	 rv = 0;

	if (wfd == -1)
		return -ENOTCONN;
	if (STAILQ_EMPTY(&wq)) {
		if (send(wfd, m->data, m->len, MSG_DONTWAIT | MSG_NOSIGNAL)
		    != -1)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -ENOTCONN;
	}
	if (wqbytes + m->len > BUS_OUTQ_MAX)
		rv = -ENOBUFS;
	else {
		queue_push(&wq, &wqbytes, m);
		ev_io_start(proc.loop, &wwio);
	}
	return rv;
}

int
bus_publish(struct asockd_instance *inst, const char *ch, const void *data,
    size_t len)
{
	struct bus_msg	*m;
	size_t		 chlen;
	int		 rv;

	if (inst == NULL || !channel_ok(ch, &chlen))
		return -EINVAL;
	if (len == 0 || len > ASOCKD_BUS_MSG_MAX || data == NULL)
		return -EMSGSIZE;
	if (redis)
		rv = bus_redis_publish(ch, chlen, data, len);
	else {
		m = msg_new(2 + chlen + len);
		m->data[0] = 'P';
		m->data[1] = (unsigned char)chlen;
		memcpy(m->data + 2, ch, chlen);
		memcpy(m->data + 2 + chlen, data, len);
		rv = local_send(m);
		msg_unref(m);
	}
	if (rv != 0)
		BUS_DROP();
	return rv;
}

int
bus_subscribe(struct asockd_instance *inst, const char *ch,
    unsigned int backlog)
{
	struct bus_sub	*s;
	struct bus_msg	*m;
	size_t		 chlen;
	int		 rv;

	if (inst == NULL || !channel_ok(ch, &chlen) ||
	    backlog > ASOCKD_BUS_BACKLOG_MAX)
		return -EINVAL;
	if (inst->desc->on_bus == NULL)
		return -ENOTSUP;
	TAILQ_FOREACH(s, &subs, entry)
		if (!s->gone && s->inst == inst && strcmp(s->channel, ch) == 0)
			return -EALREADY;
	s = xcalloc(1, sizeof(*s));
	s->inst = inst;
	s->channel = xstrdup(ch);
	s->chlen = chlen;
	s->id = ++sub_seq;
	s->pending = backlog > 0;
	TAILQ_INSERT_TAIL(&subs, s, entry);
	if (redis) {
		bus_redis_subscribe(s, backlog);
		return 0;
	}
	if (backlog == 0 || wfd == -1) {
		/* no bus at all (asockd -t): nothing will arrive */
		s->pending = 0;
		return 0;
	}
	m = msg_new(10 + chlen);
	m->data[0] = 'S';
	memcpy(m->data + 1, &s->id, 4);
	memcpy(m->data + 5, &backlog, 4);
	m->data[9] = (unsigned char)chlen;
	memcpy(m->data + 10, ch, chlen);
	if ((rv = local_send(m)) != 0) {
		/* no backlog then: go live at once */
		log_warnx("plugin %s: bus: no backlog for %s: the queue to "
		    "the master is full", inst->name, ch);
		s->pending = 0;
	}
	msg_unref(m);
	return 0;
}

int
bus_unsubscribe(struct asockd_instance *inst, const char *ch)
{
	struct bus_sub	*s;

	if (inst == NULL || ch == NULL)
		return -EINVAL;
	TAILQ_FOREACH(s, &subs, entry)
		if (!s->gone && s->inst == inst && strcmp(s->channel, ch) == 0)
			break;
	if (s == NULL)
		return -ENOENT;
	s->gone = 1;
	if (redis)
		bus_redis_unsubscribe(s);
	subs_sweep();
	return 0;
}

/* ------------------------------------------------------ worker, local */

static void
worker_frame(const unsigned char *f, size_t n)
{
	struct bus_sub	*s;
	uint32_t	 id;
	size_t		 chlen;

	switch (n > 0 ? f[0] : 0) {
	case 'M':
		if (n < 2 || (chlen = f[1]) == 0 || n <= 2 + chlen)
			break;
		bus_deliver((const char *)f + 2, chlen, f + 2 + chlen,
		    n - 2 - chlen);
		return;
	case 'B':
		if (n < 6 || (chlen = f[5]) == 0 || n <= 6 + chlen)
			break;
		memcpy(&id, f + 1, 4);
		if ((s = bus_sub_find(id)) != NULL)
			bus_deliver_sub(s, f + 6 + chlen, n - 6 - chlen);
		return;
	case 'E':
		if (n != 5)
			break;
		memcpy(&id, f + 1, 4);
		if ((s = bus_sub_find(id)) != NULL)
			s->pending = 0;
		return;
	}
	log_warnx("bus: malformed frame from the master (%zu bytes)", n);
}

static void
worker_read_cb(struct ev_loop *l, ev_io *w, int revents)
{
	ssize_t	 n;
	int	 i;

	for (i = 0; i < BUS_BATCH; i++) {
		n = recv(wfd, frame, sizeof(frame), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* the master is gone; the worker follows soon */
			if (n == -1)
				log_warn("bus: recv");
			ev_io_stop(l, &wrio);
			ev_io_stop(l, &wwio);
			close(wfd);
			wfd = -1;
			queue_clear(&wq, &wqbytes);
			return;
		}
		worker_frame(frame, (size_t)n);
		if (wfd == -1)
			return;
	}
}

static void
worker_write_cb(struct ev_loop *l, ev_io *w, int revents)
{
	int	 r;

	if ((r = queue_flush(&wq, &wqbytes, wfd)) == 0)
		ev_io_stop(l, &wwio);
	else if (r == -1) {
		log_warn("bus: send to the master");
		ev_io_stop(l, &wwio);
		queue_clear(&wq, &wqbytes);
	}
}

int
bus_worker_start(int fd)
{
	struct bus_uri	 u;
	char		 err[512];

	if (proc.conf->bus != NULL) {
		if (fd != -1)
			close(fd);
		if (config_bus_parse(proc.conf->bus, &u, err,
		    sizeof(err)) == -1) {
			log_errx("daemon.bus: %s", err);
			return -1;
		}
		redis = 1;
		return bus_redis_start(&u);
	}
	if (fd == -1)
		return 0;
	wfd = fd;
	ev_io_init(&wrio, worker_read_cb, fd, EV_READ);
	ev_io_init(&wwio, worker_write_cb, fd, EV_WRITE);
	ev_io_start(proc.loop, &wrio);
	return 0;
}

void
bus_worker_stop(void)
{
	struct bus_sub	*s;

	if (redis)
		bus_redis_stop();
	if (wfd != -1) {
		ev_io_stop(proc.loop, &wrio);
		ev_io_stop(proc.loop, &wwio);
		close(wfd);
		wfd = -1;
	}
	queue_clear(&wq, &wqbytes);
	while ((s = TAILQ_FIRST(&subs)) != NULL) {
		TAILQ_REMOVE(&subs, s, entry);
		free(s->channel);
		free(s);
	}
}

/* ------------------------------------------------------------ master */

struct bus_peer {
	int			 fd;
	pid_t			 pid;
	ev_io			 rio, wio;
	struct bus_queue	 q;
	size_t			 qbytes;
	unsigned long long	 dropped;	/* this episode */
	TAILQ_ENTRY(bus_peer)	 entry;
};

/* The newest messages of one channel, oldest first from head. */
struct bus_chan {
	char			 name[ASOCKD_BUS_CHANNEL_MAX + 1];
	size_t			 len;
	struct bus_msg		*ring[ASOCKD_BUS_BACKLOG_MAX];
	unsigned int		 head, n;
	size_t			 bytes;
	TAILQ_ENTRY(bus_chan)	 entry;
};

static TAILQ_HEAD(, bus_peer) peers = TAILQ_HEAD_INITIALIZER(peers);
static TAILQ_HEAD(, bus_chan) chans = TAILQ_HEAD_INITIALIZER(chans);
static unsigned int	 nchans;

static void
peer_close(struct bus_peer *p)
{
	if (p->fd == -1)
		return;
	ev_io_stop(proc.loop, &p->rio);
	ev_io_stop(proc.loop, &p->wio);
	close(p->fd);
	p->fd = -1;
	queue_clear(&p->q, &p->qbytes);
}

/* Send m to p, or queue it, or drop it when p is too far behind. */
static void
peer_send(struct bus_peer *p, struct bus_msg *m)
{
	if (p->fd == -1)
		return;
	if (STAILQ_EMPTY(&p->q)) {
		if (send(p->fd, m->data, m->len, MSG_DONTWAIT | MSG_NOSIGNAL)
		    != -1)
			return;
		if (errno != EAGAIN && errno != EINTR) {
			peer_close(p);
			return;
		}
	}
	if (p->qbytes + m->len > BUS_PEER_QUEUE_MAX) {
		if (p->dropped++ == 0)
			log_warnx("bus: worker pid %ld is not keeping up: "
			    "dropping its messages", (long)p->pid);
		BUS_DROP();
		return;
	}
	queue_push(&p->q, &p->qbytes, m);
	ev_io_start(proc.loop, &p->wio);
}

static struct bus_chan *
chan_get(const unsigned char *name, size_t len)
{
	struct bus_chan	*c;

	TAILQ_FOREACH(c, &chans, entry)
		if (c->len == len && memcmp(c->name, name, len) == 0) {
			/* the busy ones stay in front */
			TAILQ_REMOVE(&chans, c, entry);
			TAILQ_INSERT_HEAD(&chans, c, entry);
			return c;
		}
	if (nchans == BUS_CHANS_MAX)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	memcpy(c->name, name, len);
	c->len = len;
	TAILQ_INSERT_HEAD(&chans, c, entry);
	nchans++;
	return c;
}

static void
chan_keep(struct bus_chan *c, struct bus_msg *m)
{
	struct bus_msg	*old;

	while (c->n > 0 && (c->n == ASOCKD_BUS_BACKLOG_MAX ||
	    c->bytes + m->len > BUS_CHAN_BYTES_MAX)) {
		old = c->ring[c->head];
		c->head = (c->head + 1) % ASOCKD_BUS_BACKLOG_MAX;
		c->n--;
		c->bytes -= old->len;
		msg_unref(old);
	}
	c->ring[(c->head + c->n) % ASOCKD_BUS_BACKLOG_MAX] = m;
	c->n++;
	c->bytes += m->len;
	m->refs++;
}

/* A 'P' frame: relay it to every worker as 'M' and keep it. */
static void
master_publish(unsigned char *f, size_t n)
{
	struct bus_peer	*p;
	struct bus_chan	*c;
	struct bus_msg	*m;
	size_t		 chlen;

	if (n < 3 || (chlen = f[1]) == 0 || chlen > ASOCKD_BUS_CHANNEL_MAX ||
	    n <= 2 + chlen)
		return;
	m = msg_new(n);
	memcpy(m->data, f, n);
	m->data[0] = 'M';
	TAILQ_FOREACH(p, &peers, entry)
		peer_send(p, m);
	if ((c = chan_get(f + 2, chlen)) != NULL)
		chan_keep(c, m);
	msg_unref(m);
}

/* An 'S' frame: send p the channel's newest backlog messages, then 'E'. */
static void
master_backlog(struct bus_peer *p, const unsigned char *f, size_t n)
{
	struct bus_chan	*c;
	struct bus_msg	*m, *k;
	uint32_t	 backlog;
	size_t		 chlen;
	unsigned int	 i, skip;

	if (n < 11 || (chlen = f[9]) == 0 || n != 10 + chlen)
		return;
	memcpy(&backlog, f + 5, 4);
	if ((c = chan_get(f + 10, chlen)) != NULL) {
		skip = c->n > backlog ? c->n - backlog : 0;
		for (i = skip; i < c->n; i++) {
			k = c->ring[(c->head + i) % ASOCKD_BUS_BACKLOG_MAX];
			/* 'M' chlen ch data -> 'B' id chlen ch data */
			m = msg_new(k->len + 4);
			m->data[0] = 'B';
			memcpy(m->data + 1, f + 1, 4);
			memcpy(m->data + 5, k->data + 1, k->len - 1);
			peer_send(p, m);
			msg_unref(m);
		}
	}
	m = msg_new(5);
	m->data[0] = 'E';
	memcpy(m->data + 1, f + 1, 4);
	peer_send(p, m);
	msg_unref(m);
}

static void
master_read_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct bus_peer	*p = w->data;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < BUS_BATCH && p->fd != -1; i++) {
		n = recv(p->fd, frame, sizeof(frame), MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			peer_close(p);	/* the worker is gone */
			return;
		}
		if (frame[0] == 'P')
			master_publish(frame, (size_t)n);
		else if (frame[0] == 'S')
			master_backlog(p, frame, (size_t)n);
	}
}

static void
master_write_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct bus_peer	*p = w->data;
	int		 r;

	if ((r = queue_flush(&p->q, &p->qbytes, p->fd)) == -1)
		peer_close(p);
	else if (r == 0) {
		ev_io_stop(l, &p->wio);
		if (p->dropped > 0)
			log_notice("bus: worker pid %ld caught up; %llu "
			    "message(s) dropped for it", (long)p->pid,
			    p->dropped);
		p->dropped = 0;
	}
}

int
bus_socketpair(int fds[2])
{
	int	 sz = 1024 * 1024;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    fds) == -1) {
		log_warn("bus: socketpair");
		return -1;
	}
	/* capped by net.core.wmem_max; a smaller buffer only queues more */
	(void)setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	return 0;
}

struct bus_peer *
bus_master_add(int fd, pid_t pid)
{
	struct bus_peer	*p;

	p = xcalloc(1, sizeof(*p));
	p->fd = fd;
	p->pid = pid;
	STAILQ_INIT(&p->q);
	ev_io_init(&p->rio, master_read_cb, fd, EV_READ);
	ev_io_init(&p->wio, master_write_cb, fd, EV_WRITE);
	p->rio.data = p->wio.data = p;
	ev_io_start(proc.loop, &p->rio);
	TAILQ_INSERT_TAIL(&peers, p, entry);
	return p;
}

void
bus_master_drop(struct bus_peer *p)
{
	if (p == NULL)
		return;
	peer_close(p);
	TAILQ_REMOVE(&peers, p, entry);
	free(p);
}

void
bus_master_forget(void)
{
	struct bus_peer	*p;
	struct bus_chan	*c;
	unsigned int	 i;

	while ((p = TAILQ_FIRST(&peers)) != NULL)
		bus_master_drop(p);
	while ((c = TAILQ_FIRST(&chans)) != NULL) {
		TAILQ_REMOVE(&chans, c, entry);
		for (i = 0; i < c->n; i++)
			msg_unref(c->ring[(c->head + i) %
			    ASOCKD_BUS_BACKLOG_MAX]);
		free(c);
	}
	nchans = 0;
}
