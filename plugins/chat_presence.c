/*
 * chat_presence.c - the chat plugin's room-wide roster and presence.
 *
 * Every worker of every instance on the bus keeps each room's roster
 * (nick -> token, owner: struct member) from the events it applies:
 * room_event() in chat.c, through roster_find/add/remove here.  This
 * file owns what keeps those rosters whole and in agreement: the other
 * workers (struct owner), the presence rounds and the sync of a worker
 * that starts later.  The presence events go on the rooms' bus channel
 * under room "" (chat_bus_send()) and come back through
 * presence_control(); docs/chat.md "Presence" describes them for users.
 *
 * Each worker (owner) says every presence_interval seconds which members
 * it holds: a round of ["here", round, last, upto, nowners, interval_ms,
 * room, nick, token, ...] events, each under the bus's size limit, the
 * last one with last = 1.  upto is the seq of the owner's newest event
 * it had applied when it made the round, so a member of the owner that
 * the round does not name is dropped only when the event that made it
 * is no newer (else the owner had not seen it yet).  nowners is how many
 * live owners it knows, itself included.  A here fills in members the
 * bus did not tell (a joined older than the backlog, one served locally
 * while the bus was down) and drops those whose left was lost; two
 * members of one nick (the bus was down) are settled by the lower token,
 * on every worker alike.  An owner not heard from for EXPIRE_ROUNDS
 * intervals (its own or ours, the longer) is declared ["gone", owner,
 * its last seq heard]: its members leave, but for those its later events
 * named.  A worker starts unsynced: it says ["hello"], every other
 * worker answers with a round at once, and until it has a round from
 * every owner it was told about (or heard no one, or waited long enough)
 * it holds its clients' frames and takes each here as it comes.
 */
#include <sys/queue.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asockd/plugin.h"
#include "chat.h"

/* An owner not heard from for this many presence intervals is gone. */
#define EXPIRE_ROUNDS		3
/* Seconds a newcomer waits for answers once its own hello is back. */
#define ALONE_WAIT		0.25
/* Seconds between a newcomer's checks of its sync deadlines. */
#define SYNC_TICK		0.05
/* Bytes of one presence message, under ASOCKD_BUS_MSG_MAX with room. */
#define HERE_MAX		(ASOCKD_BUS_MSG_MAX - 4096)

/* Another worker (a plugin instance anywhere on the bus). */
struct owner {
	uint64_t		 id;
	double			 seen;		/* last heard (monotonic) */
	uint64_t		 last;		/* its newest seq heard */
	double			 interval;	/* its presence_interval */
	int			 gone_sent;	/* its gone published */
	int			 complete;	/* a whole round (syncing) */
	TAILQ_ENTRY(owner)	 entry;
};

static void	presence_tick(struct asockd_timer *, void *);
static void	sync_tick(struct asockd_timer *, void *);
static void	say_hello(struct chat *);
static void	synced(struct chat *);

void
presence_start(struct chat *chat)
{
	chat->sub_at = chat_now();
	chat->pt = host->timer_start(chat->inst, NULL, chat->interval,
	    chat->interval, presence_tick, chat);
	chat->st = host->timer_start(chat->inst, NULL, SYNC_TICK, SYNC_TICK,
	    sync_tick, chat);
	say_hello(chat);
}

void
presence_fini(struct chat *chat)
{
	struct owner *o;

	while ((o = TAILQ_FIRST(&chat->owners)) != NULL) {
		TAILQ_REMOVE(&chat->owners, o, entry);
		free(o);
	}
}

struct member *
roster_find(struct room *room, const char *nick, size_t len)
{
	struct member *m;

	TAILQ_FOREACH(m, &room->roster, entry)
		if (m->len == len && memcmp(m->nick, nick, len) == 0)
			return (m);
	return (NULL);
}

struct member *
roster_add(struct room *room, const char *nick, size_t len, uint64_t token,
    uint64_t owner, uint64_t seq)
{
	struct member *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	if ((m->nick = strndup(nick, len)) == NULL) {
		free(m);
		return (NULL);
	}
	m->len = len;
	m->token = token;
	m->owner = owner;
	m->seq = seq;
	TAILQ_INSERT_TAIL(&room->roster, m, entry);
	return (m);
}

void
roster_remove(struct room *room, struct member *m)
{
	TAILQ_REMOVE(&room->roster, m, entry);
	free(m->nick);
	free(m);
}

/* Tell this worker's members of room [verb, nick]. */
static void
announce(struct chat *chat, struct room *room, const char *verb,
    const char *nick, size_t len)
{
	const void *data;
	size_t dlen;

	if (!chat->synced)
		return;
	data = host->wr_data(chat_build(chat, verb, nick, len, NULL, 0), &dlen);
	room_send(room, data, dlen, chat_is(verb, strlen(verb), "joined") ?
	    EV_JOINED : EV_LEFT, 0, 1);
}

/* This worker's member with token lost its nick: out of the room. */
static void
unjoin(struct chat *chat, struct room *room, uint64_t token)
{
	struct client *cl;

	TAILQ_FOREACH(cl, &room->clients, entry)
		if (cl->token == token)
			break;
	if (cl == NULL || cl->state == VOID)
		return;
	host->conn_log(cl->conn, ASOCKD_LOG_INFO, "chat: %s: nick in use "
	    "on another worker: out of the room", cl->nick);
	if (cl->state == LEAVING && cl->peer != NULL)
		cl->peer->nleaving--;
	if (cl->peer != NULL && cl->peer->cl == cl) {
		cl->peer->cl = NULL;
		chat_reply(cl->conn, chat_build(chat, "error", "nick in use",
		    11, NULL, 0));
	}
	if (cl->pending > 0) {
		cl->state = VOID;
		return;
	}
	TAILQ_REMOVE(&room->clients, cl, entry);
	free(cl->nick);
	free(cl);
}

static struct owner *
owner_get(struct chat *chat, uint64_t id)
{
	struct owner *o;

	TAILQ_FOREACH(o, &chat->owners, entry)
		if (o->id == id)
			return (o);
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return (NULL);
	o->id = id;
	TAILQ_INSERT_TAIL(&chat->owners, o, entry);
	return (o);
}

void
presence_heard(struct chat *chat, uint64_t id, uint64_t seq)
{
	struct owner *o;
	double t = chat_now();

	if (id == chat->owner) {
		if (seq > chat->upto)
			chat->upto = seq;
		/* own events back after a gap: the bus was away */
		if (t - chat->own_seen > 2 * chat->interval)
			chat->up_since = t;
		chat->own_seen = t;
		return;
	}
	if ((o = owner_get(chat, id)) != NULL) {
		o->seen = t;
		o->gone_sent = 0;
		if (seq > o->last)
			o->last = seq;
	}
}

/*
 * Drop owner id's members of every room made or confirmed by its
 * events up to upto (when not whole: those not named in round).
 */
static void
owner_drop(struct chat *chat, uint64_t id, int whole, uint64_t round,
    uint64_t upto)
{
	struct room *room;
	struct member *m;
	char *nick;

	/* from the start after each one: its left may drop a member that
	 * cannot keep up, and that one's left change the roster */
	TAILQ_FOREACH(room, &chat->rooms, entry)
		for (;;) {
			TAILQ_FOREACH(m, &room->roster, entry)
				if (m->owner == id && m->seq <= upto &&
				    (whole || m->round != round))
					break;
			if (m == NULL)
				break;
			nick = m->nick;
			TAILQ_REMOVE(&room->roster, m, entry);
			free(m);
			announce(chat, room, "left", nick, strlen(nick));
			free(nick);
		}
}


/* A whole round came from another owner while syncing: enough? */
static void
sync_check(struct chat *chat)
{
	struct owner *o;
	uint64_t n = 1;

	TAILQ_FOREACH(o, &chat->owners, entry)
		n += o->complete;
	if (n >= chat->need)
		synced(chat);
}

/* Apply one here (r is after its verb; n values in the array). */
static void
apply_here(struct chat *chat, struct asockd_reader *r, uint32_t n,
    uint64_t id, uint64_t seq)
{
	struct room *room;
	struct member *m;
	struct owner *o;
	const char *name, *nick;
	size_t nlen, len;
	uint64_t round, last, upto, nowners, ms, token;
	uint32_t i;

	if (n < 6 || (n - 6) % 3 != 0 || host->rd_uint(r, &round) != 0 ||
	    host->rd_uint(r, &last) != 0 || host->rd_uint(r, &upto) != 0 ||
	    host->rd_uint(r, &nowners) != 0 || host->rd_uint(r, &ms) != 0)
		return;
	if (id != chat->owner && (o = owner_get(chat, id)) != NULL)
		o->interval = ms / 1000.0;
	for (i = 6; i < n; i += 3) {
		if (host->rd_str(r, &name, &nlen) != 0 || nlen == 0 ||
		    host->rd_str(r, &nick, &len) != 0 || len == 0 ||
		    host->rd_uint(r, &token) != 0)
			return;
		if ((room = room_named(chat, name, nlen)) == NULL)
			continue;
		if ((m = roster_find(room, nick, len)) == NULL) {
			if ((m = roster_add(room, nick, len, token, id,
			    seq)) != NULL) {
				m->round = round;
				announce(chat, room, "joined", nick, len);
			}
			continue;
		}
		if (m->token == token) {
			m->owner = id;
			m->seq = seq;
			m->round = round;
			continue;
		}
		/* one nick, two members: the lower token keeps it (or,
		 * while this worker syncs, the owner's own word) */
		if (!chat->synced || token < m->token) {
			if (m->owner == chat->owner)
				unjoin(chat, room, m->token);
			m->token = token;
			m->owner = id;
			m->seq = seq;
			m->round = round;
		} else if (id == chat->owner)
			unjoin(chat, room, token);
	}
	if (!last)
		return;
	owner_drop(chat, id, 0, round, upto);
	if (chat->synced || id == chat->owner || chat->hello_back == 0)
		return;
	/* an answer to our hello, or a round after it */
	chat->answered = 1;
	if (nowners > chat->need)
		chat->need = nowners;
	if ((o = owner_get(chat, id)) != NULL)
		o->complete = 1;
	sync_check(chat);
}

/* Publish a presence event already in chat->pw; 0 or -1. */
static int
presence_send(struct chat *chat)
{
	const void *data;
	size_t len;

	data = host->wr_data(chat->pw, &len);
	return (chat_bus_send(chat, "", data, len, 0));
}

/* 1 if this worker has a member of room with token (here names it). */
static int
holds(struct room *room, uint64_t token)
{
	struct client *cl;

	TAILQ_FOREACH(cl, &room->clients, entry)
		if (cl->token == token)
			return (cl->state == MEMBER || cl->state == LEAVING);
	return (0);
}

/* Publish this worker's round: its members, in chunks. */
static void
presence_round(struct chat *chat)
{
	struct ent { struct room *room; struct member *m; } *e = NULL, *ne;
	struct asockd_writer *w = chat->pw;
	struct room *room;
	struct member *m;
	struct owner *o;
	size_t n = 0, cap = 0, i, j, bytes;
	uint64_t nowners = 1, upto = chat->upto;

	TAILQ_FOREACH(o, &chat->owners, entry)
		nowners++;
	TAILQ_FOREACH(room, &chat->rooms, entry)
		TAILQ_FOREACH(m, &room->roster, entry) {
			if (m->owner != chat->owner || !holds(room, m->token))
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				if ((ne = realloc(e, cap * sizeof(*e))) ==
				    NULL) {
					free(e);
					return;
				}
				e = ne;
			}
			e[n].room = room;
			e[n++].m = m;
		}
	chat->round++;
	i = 0;
	do {
		/* a room and a nick are at most 2 x 1024 bytes: one fits */
		for (j = i, bytes = 64; j < n && bytes < HERE_MAX; j++)
			bytes += strlen(e[j].room->name) +
			    strlen(e[j].m->nick) + 16;
		host->wr_reset(w);
		host->wr_array(w, 6 + 3 * (uint32_t)(j - i));
		host->wr_str(w, "here", 4);
		host->wr_uint(w, chat->round);
		host->wr_uint(w, j == n);
		host->wr_uint(w, upto);
		host->wr_uint(w, nowners);
		host->wr_uint(w, (uint64_t)(chat->interval * 1000));
		for (; i < j; i++) {
			host->wr_str(w, e[i].room->name,
			    strlen(e[i].room->name));
			host->wr_str(w, e[i].m->nick, strlen(e[i].m->nick));
			host->wr_uint(w, e[i].m->token);
		}
		presence_send(chat);
	} while (i < n);
	free(e);
}

static void
say_hello(struct chat *chat)
{
	host->wr_reset(chat->pw);
	host->wr_array(chat->pw, 1);
	host->wr_str(chat->pw, "hello", 5);
	if (presence_send(chat) == 0) {
		chat->hello_sent = 1;
		chat->hello_at = chat_now();
	}
}

/* Every interval: declare the owners not heard from, then a round. */
static void
presence_tick(struct asockd_timer *t, void *arg)
{
	struct chat *chat = arg;
	struct owner *o, *next;
	double t0 = chat_now(), dead = EXPIRE_ROUNDS * chat->interval, odead;

	(void)t;
	/* only while the bus works, and has long enough for all to talk;
	 * an owner with a longer interval than ours is given its own */
	if (chat->own_seen > 0 && t0 - chat->own_seen < 2 * chat->interval &&
	    t0 - chat->up_since >= dead)
		for (o = TAILQ_FIRST(&chat->owners); o != NULL; o = next) {
			next = TAILQ_NEXT(o, entry);
			odead = EXPIRE_ROUNDS * (o->interval > chat->interval ?
			    o->interval : chat->interval);
			if (o->gone_sent || t0 - o->seen <= odead)
				continue;
			host->log(chat->inst, ASOCKD_LOG_INFO, "chat: worker "
			    "%016llx not heard from for %.1f s: gone",
			    (unsigned long long)o->id, t0 - o->seen);
			host->wr_reset(chat->pw);
			host->wr_array(chat->pw, 3);
			host->wr_str(chat->pw, "gone", 4);
			host->wr_uint(chat->pw, o->id);
			host->wr_uint(chat->pw, o->last);
			if (presence_send(chat) == 0)
				o->gone_sent = 1;
		}
	presence_round(chat);
}

/*
 * This worker knows the whole room: forget the owners that gave no
 * round since our hello (the backlog's dead workers: the others let
 * them go long ago), then run the frames that waited.
 */
static void
synced(struct chat *chat)
{
	struct owner *o, *next;
	struct peer *p;
	struct line *l;

	if (chat->st != NULL) {
		host->timer_stop(chat->st);
		chat->st = NULL;
	}
	/* (still unsynced: no member is told, there is none yet) */
	for (o = TAILQ_FIRST(&chat->owners); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (o->complete)
			continue;
		owner_drop(chat, o->id, 1, 0, UINT64_MAX);
		TAILQ_REMOVE(&chat->owners, o, entry);
		free(o);
	}
	chat->synced = 1;
	while ((p = TAILQ_FIRST(&chat->waiting)) != NULL) {
		TAILQ_REMOVE(&chat->waiting, p, wentry);
		host->pause_receive(p->conn, 0);
		/* a close asked for meanwhile waits for this callback */
		while ((l = TAILQ_FIRST(&p->waitq)) != NULL) {
			TAILQ_REMOVE(&p->waitq, l, entry);
			chat_message(p->conn, l->data, l->len);
			free(l);
		}
		if (p->eof)
			chat_eof(p->conn);
	}
}

/* While syncing: the deadlines of docs/chat.md "Presence". */
static void
sync_tick(struct asockd_timer *t, void *arg)
{
	struct chat *chat = arg;
	double t0 = chat_now(), most = 1.5 * chat->interval;

	(void)t;
	if (chat->synced)
		return;
	if (!chat->hello_sent)
		say_hello(chat);
	if ((!chat->hello_sent && t0 - chat->sub_at >= most) ||
	    (chat->hello_sent && t0 - chat->hello_at >= most) ||
	    (chat->hello_back > 0 && !chat->answered &&
	    t0 - chat->hello_back >= ALONE_WAIT))
		synced(chat);
}

void
presence_control(struct chat *chat, const void *ev, size_t evlen,
    uint64_t id, uint64_t seq)
{
	struct asockd_reader *r;
	struct owner *o;
	const char *verb;
	size_t vlen;
	uint64_t gone, last;
	uint32_t n;

	if (id == 0 || (r = host->rd_open(ev, evlen)) == NULL)
		return;
	if (host->rd_array(r, &n) != 0 || n < 1 ||
	    host->rd_str(r, &verb, &vlen) != 0)
		;
	else if (chat_is(verb, vlen, "hello")) {
		if (id == chat->owner)
			chat->hello_back = chat_now();
		else
			presence_round(chat);
	} else if (chat_is(verb, vlen, "here"))
		apply_here(chat, r, n, id, seq);
	else if (chat_is(verb, vlen, "gone") && n == 3 &&
	    host->rd_uint(r, &gone) == 0 && host->rd_uint(r, &last) == 0 &&
	    gone != chat->owner) {
		/*
		 * What the owner said after the publisher last heard it
		 * (a round: it was only slow) stays, so a second gone of
		 * the same owner is harmless.  If it was us, our next
		 * round puts our members back.
		 */
		owner_drop(chat, gone, 1, 0, last);
		TAILQ_FOREACH(o, &chat->owners, entry)
			if (o->id == gone)
				break;
		if (o != NULL && o->last <= last) {
			TAILQ_REMOVE(&chat->owners, o, entry);
			free(o);
		}
	}
	host->rd_free(r);
}
