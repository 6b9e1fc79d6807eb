/*
 * chat.c - MFC's CHATSRVR sample as an asockd plugin.
 *
 * Use it on a listener with framing = "archive": the daemon splits the
 * stream into frames and calls on_message with each frame's payload, one
 * or more MessagePack values.  Each value is one command, an array:
 *
 *	client -> server	["join", nick]  ["say", text]  ["leave"]
 *	server -> clients	["joined", nick]  ["msg", nick, text]
 *				["left", nick]  ["error", text]
 *
 * Each listener name is one room, across every worker of the daemon and
 * every asockd that shares its bus (daemon.bus, a Redis).  Only joined
 * clients are in the room: they see every event, their own included, in
 * the order of the bus.  Every event goes out on the bus channel "chat"
 * as [room, event, token, owner, seq] (MessagePack values: the
 * membership's token, the worker's random id, the worker's event count)
 * and comes back to every worker through on_bus, which hands it to that
 * worker's members: one order for all of them, wherever they are
 * connected.  When the bus refuses an event (Redis down, a full queue)
 * it is served to the worker's own members only, so a room keeps
 * working on each machine.
 *
 * A nick is unique in the whole room.  Every worker keeps the room's
 * roster (nick -> token, owner) from the events it applies, with the
 * same rules in the same order everywhere (room_event): a joined of a
 * nick the roster holds under another token is void, and its joiner's
 * worker answers "nick in use"; a msg or left counts only under the
 * roster's token.  The presence rounds that keep every roster whole
 * (what the bus did not carry, a nick taken twice while it was down, the
 * members of a worker that died) and the sync of a worker that starts
 * later, which holds its clients' frames until it knows the whole room,
 * are in chat_presence.c.
 *
 * A client that has not joined sees nothing but the errors its own
 * commands cause, and on join the last `history` messages.  A bad
 * command is answered with ["error", why] and the connection stays open,
 * up to MAX_FRAME_ERRORS errors in one frame: a frame that would cause
 * more gets a last ["error", ...] and the connection is closed.
 *
 * The history is kept by each worker from the events the bus delivers;
 * a worker that starts later gets it from the bus's backlog (the newest
 * ASOCKD_BUS_BACKLOG_MAX events of all rooms), so a client that joins on
 * one instance sees what was said on another (the presence events
 * share that backlog).
 *
 * A member that cannot keep up is dropped: when a room message finds its
 * output queue over the listener's sndq_high (host->writable() is 0), it
 * has fallen a whole queue behind the room.  It does not get the message;
 * it is aborted (its queued output discarded), logged, and the room sees
 * it leave.  So one member that never reads costs the worker at most
 * sndq_high plus the socket buffers, however much the others say.
 *
 * Settings ([chat] in the plugin's INI file): max_nick, max_text (bytes),
 * history (messages replayed on join) and presence_interval (seconds).
 * See docs/chat.md.
 *
 * This file owns the plugin's descriptor and hooks, the commands, the
 * rooms with their clients and history, and the events on the bus;
 * chat_presence.c the roster and the presence rounds; chat.h the structs
 * and functions the two share.
 */
#include <sys/queue.h>

#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd/plugin.h"
#include "chat.h"

/* Error replies to one frame before the connection is closed. */
#define MAX_FRAME_ERRORS	16
/* The bus channel of every room. */
#define CHANNEL			"chat"

/* Seconds a connection waits for its own events to come back. */
#define BUS_WAIT		5.0

/* Declared in chat.h. */
const struct asockd_host	*host;

static int	check(struct asockd_instance *, const struct chat *);

static int
chat_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	struct chat *chat;

	if (h->abi_minor < 1) {
		h->log(inst, ASOCKD_LOG_ERR, "needs ABI 1.1 (archive layer)");
		return (-ENOTSUP);
	}
	host = h;
	if ((chat = calloc(1, sizeof(*chat))) == NULL)
		return (-ENOMEM);
	TAILQ_INIT(&chat->rooms);
	TAILQ_INIT(&chat->owners);
	TAILQ_INIT(&chat->waiting);
	chat->inst = inst;
	/* The host checked chat.ini against chat_settings. */
	h->ini_int(inst, "chat", "max_nick", 32, &chat->max_nick);
	h->ini_int(inst, "chat", "max_text", 1024, &chat->max_text);
	h->ini_int(inst, "chat", "history", 20, &chat->history);
	h->ini_double(inst, "chat", "presence_interval", 2.0,
	    &chat->interval);
	if (check(inst, chat) != 0) {
		free(chat);
		return (-EINVAL);
	}
	if ((chat->w = h->wr_new()) == NULL ||
	    (chat->bw = h->wr_new()) == NULL ||
	    (chat->pw = h->wr_new()) == NULL) {
		if (chat->w != NULL)
			h->wr_free(chat->w);
		if (chat->bw != NULL)
			h->wr_free(chat->bw);
		free(chat);
		return (-ENOMEM);
	}
	/* tokens unique across workers and machines: a random start; the
	 * top bit clear, so that they never wrap */
	if (getrandom(&chat->token, sizeof(chat->token), 0) !=
	    sizeof(chat->token))
		chat->token = (uint64_t)getpid() << 32;
	chat->token &= ~(1ULL << 63);
	if (getrandom(&chat->owner, sizeof(chat->owner), 0) !=
	    sizeof(chat->owner))
		chat->owner = (uint64_t)getpid() << 32 ^ chat->token;
	if (chat->owner == 0)
		chat->owner = 1;
	/* ABI 1.3: the rooms span the bus; before that, this worker */
	if (h->abi_minor >= 3 && h->size >= offsetof(struct asockd_host,
	    bus_unsubscribe) + sizeof(h->bus_unsubscribe))
		chat->bus = h->bus_subscribe(inst, CHANNEL,
		    ASOCKD_BUS_BACKLOG_MAX) == 0;
	*pdata = chat;
	/* alone on this worker: no one else to agree with */
	chat->synced = !chat->bus;
	if (chat->bus)
		presence_start(chat);
	return (0);
}

/* Log every setting out of range; 0 or -EINVAL. */
static int
check(struct asockd_instance *inst, const struct chat *chat)
{
	int rv = 0;

	if (chat->max_nick < 1 || chat->max_nick > 1024) {
		host->log(inst, ASOCKD_LOG_ERR, "max_nick: not in 1..1024");
		rv = -EINVAL;
	}
	if (chat->max_text < 1 || chat->max_text > 65536) {
		host->log(inst, ASOCKD_LOG_ERR, "max_text: not in 1..65536");
		rv = -EINVAL;
	}
	if (chat->history < 0 || chat->history > 10000) {
		host->log(inst, ASOCKD_LOG_ERR, "history: not in 0..10000");
		rv = -EINVAL;
	}
	if (!(chat->interval >= 0.05 && chat->interval <= 60)) {
		host->log(inst, ASOCKD_LOG_ERR,
		    "presence_interval: not in 0.05..60");
		rv = -EINVAL;
	}
	return (rv);
}

/* asockd -t */
static int
chat_validate(struct asockd_instance *inst)
{
	return (check(inst, host->instance_data(inst)));
}

static void
chat_fini(struct asockd_instance *inst)
{
	struct chat *chat = host->instance_data(inst);
	struct room *room;
	struct member *m;
	struct line *l;

	/* Every connection was closed (and its client freed) by now, and
	 * the host stopped our timers. */
	presence_fini(chat);
	while ((room = TAILQ_FIRST(&chat->rooms)) != NULL) {
		while ((l = TAILQ_FIRST(&room->history)) != NULL) {
			TAILQ_REMOVE(&room->history, l, entry);
			free(l);
		}
		while ((m = TAILQ_FIRST(&room->roster)) != NULL) {
			TAILQ_REMOVE(&room->roster, m, entry);
			free(m->nick);
			free(m);
		}
		TAILQ_REMOVE(&chat->rooms, room, entry);
		free(room->name);
		free(room);
	}
	host->wr_free(chat->w);
	host->wr_free(chat->bw);
	host->wr_free(chat->pw);
	free(chat);
}

double
chat_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

static struct chat *
chat_of(struct asockd_conn *c)
{
	return (host->instance_data(host->conn_instance(c)));
}

struct room *
room_named(struct chat *chat, const char *name, size_t len)
{
	struct room *room;

	TAILQ_FOREACH(room, &chat->rooms, entry)
		if (strlen(room->name) == len &&
		    memcmp(room->name, name, len) == 0)
			return (room);
	if ((room = calloc(1, sizeof(*room))) == NULL)
		return (NULL);
	if ((room->name = strndup(name, len)) == NULL) {
		free(room);
		return (NULL);
	}
	TAILQ_INIT(&room->clients);
	TAILQ_INIT(&room->roster);
	TAILQ_INIT(&room->history);
	TAILQ_INSERT_TAIL(&chat->rooms, room, entry);
	return (room);
}

/* The room of c's listener. */
static struct room *
room_get(struct asockd_conn *c)
{
	const char *name;

	name = host->listener_name(host->conn_listener(c));
	return (room_named(chat_of(c), name, strlen(name)));
}

int
chat_is(const char *s, size_t len, const char *word)
{
	return (s != NULL && len == strlen(word) && memcmp(s, word, len) == 0);
}

struct asockd_writer *
chat_build(struct chat *chat, const char *word, const char *a, size_t alen,
    const char *b, size_t blen)
{
	struct asockd_writer *w = chat->w;

	host->wr_reset(w);
	host->wr_array(w, 1 + (a != NULL) + (b != NULL));
	host->wr_str(w, word, strlen(word));
	if (a != NULL)
		host->wr_str(w, a, alen);
	if (b != NULL)
		host->wr_str(w, b, blen);
	return (w);
}

void
chat_reply(struct asockd_conn *c, struct asockd_writer *w)
{
	struct peer *p = host->udata(c);
	struct line *l;
	const void *data;
	size_t len;

	if (p == NULL || p->back == p->sent) {
		host->wr_send(c, w);
		return;
	}
	data = host->wr_data(w, &len);
	if ((l = malloc(sizeof(*l) + len)) == NULL)
		return;
	l->len = len;
	l->after = p->sent;
	l->replay = NULL;
	memcpy(l->data, data, len);
	TAILQ_INSERT_TAIL(&p->held, l, entry);
}

/* Send the room's history to c. */
static void
replay(struct asockd_conn *c, struct room *room)
{
	struct line *l;

	TAILQ_FOREACH(l, &room->history, entry)
		host->send_frame(c, l->data, l->len);
}

/* Send what waits in p->held for the events that are back. */
static void
flush_held(struct asockd_conn *c, struct peer *p)
{
	struct line *l;

	while ((l = TAILQ_FIRST(&p->held)) != NULL && l->after <= p->back) {
		TAILQ_REMOVE(&p->held, l, entry);
		if (l->replay != NULL)
			replay(c, l->replay);
		else
			host->send_frame(c, l->data, l->len);
		free(l);
	}
}

/*
 * Answer the current frame's command with ["error", why]; after
 * MAX_FRAME_ERRORS of them the frame's last reply says so, the connection
 * is closed (gracefully: the errors still arrive, held ones too) and the
 * rest of the frame is not run.
 */
static void
send_error(struct asockd_conn *c, const char *why)
{
	struct chat *chat = chat_of(c);
	struct peer *p = host->udata(c);

	if (c == chat->cur && chat->cur_errors++ >= MAX_FRAME_ERRORS) {
		why = "too many errors in one frame: closing";
		chat->cur_stop = 1;
		host->conn_log(c, ASOCKD_LOG_INFO,
		    "chat: more than %d errors in one frame: closing",
		    MAX_FRAME_ERRORS);
		if (p != NULL)
			flush_held(c, p);
		host->wr_send(c, chat_build(chat, "error", why, strlen(why),
		    NULL, 0));
		host->close(c);
		return;
	}
	chat_reply(c, chat_build(chat, "error", why, strlen(why), NULL, 0));
}

static void	leave(struct asockd_conn *, struct client *, int);
static void	room_remember(struct chat *, struct room *, const void *,
		    size_t);

/*
 * Which event data (one MessagePack value) is, and its nick (pointing
 * into data: valid as long as data is).
 */
static int
event_kind(const void *data, size_t len, const char **nick, size_t *nlen)
{
	struct asockd_reader *r;
	const char *s;
	size_t slen;
	uint32_t n;
	int kind = EV_OTHER;

	if ((r = host->rd_open(data, len)) == NULL)
		return (kind);
	if (host->rd_array(r, &n) == 0 && n >= 2 &&
	    host->rd_str(r, &s, &slen) == 0 &&
	    host->rd_str(r, nick, nlen) == 0) {
		if (n == 3 && chat_is(s, slen, "msg"))
			kind = EV_MSG;
		else if (n == 2 && chat_is(s, slen, "joined"))
			kind = EV_JOINED;
		else if (n == 2 && chat_is(s, slen, "left"))
			kind = EV_LEFT;
	}
	host->rd_free(r);
	return (kind);
}

/*
 * An event of the room reached this worker (from the bus, or served
 * locally): apply it to the roster, keep it, send it.  The rules are the
 * same on every worker, so every worker takes the same decision from
 * the same sequence: a joined whose nick the roster holds under another
 * token is void (its own worker answers "nick in use"); a msg or left
 * goes out only when the roster holds its nick under its token.  Until
 * this worker is synced it may not know every member (older than the
 * backlog): it keeps the messages of nicks it does not know, for the
 * history, as it has no members to decide for.
 */
static void
room_event(struct chat *chat, struct room *room, const void *data,
    size_t len, uint64_t token, uint64_t owner, uint64_t seq)
{
	const char *nick = NULL;
	size_t nlen = 0;
	struct member *m;
	int kind, deliver = 0;

	kind = event_kind(data, len, &nick, &nlen);
	m = kind != EV_OTHER ? roster_find(room, nick, nlen) : NULL;
	switch (kind) {
	case EV_JOINED:
		if (m == NULL)
			roster_add(room, nick, nlen, token, owner, seq);
		deliver = m == NULL || m->token == token;
		break;
	case EV_MSG:
		deliver = m != NULL ? m->token == token : !chat->synced;
		if (deliver)
			room_remember(chat, room, data, len);
		break;
	case EV_LEFT:
		if ((deliver = m != NULL && m->token == token))
			roster_remove(room, m);
		break;
	}
	room_send(room, data, len, kind, token, deliver);
}

/* A connection's events did not all come back: go on without them. */
static void
peer_timeout(struct asockd_timer *t, void *arg)
{
	struct peer *p = arg;
	struct client *cl, *next;
	struct room *room;
	struct member *m;

	p->t = NULL;
	/* its joined was lost: this worker decides alone (the presence
	 * rounds tell the others) */
	if ((cl = p->cl) != NULL && cl->state == JOINING) {
		m = roster_find(cl->room, cl->nick, strlen(cl->nick));
		if (m == NULL)
			m = roster_add(cl->room, cl->nick, strlen(cl->nick),
			    cl->token, p->chat->owner, p->chat->seq);
		if (m != NULL && m->token == cl->token)
			cl->state = MEMBER;
		else {
			cl->state = VOID;
			p->cl = NULL;
			host->wr_send(p->conn, chat_build(p->chat, "error",
			    "nick in use", 11, NULL, 0));
		}
	}
	/* a LEAVING membership of the same connection may be there too */
	TAILQ_FOREACH(room, &p->chat->rooms, entry)
		for (cl = TAILQ_FIRST(&room->clients); cl != NULL; cl = next) {
			next = TAILQ_NEXT(cl, entry);
			if (cl->peer != p || (cl->state != LEAVING &&
			    cl->state != VOID)) {
				if (cl->peer == p)
					cl->pending = 0;
				continue;
			}
			if (cl->state == LEAVING) {
				p->nleaving--;
				m = roster_find(room, cl->nick,
				    strlen(cl->nick));
				if (m != NULL && m->token == cl->token)
					roster_remove(room, m);
			}
			TAILQ_REMOVE(&room->clients, cl, entry);
			free(cl->nick);
			free(cl);
		}
	p->back = p->sent;
	flush_held(p->conn, p);
	if (p->eof)
		host->close(p->conn);
}

int
chat_bus_send(struct chat *chat, const char *room, const void *ev,
    size_t evlen, uint64_t token)
{
	const void *data;
	size_t len;

	chat->seq++;
	if (!chat->bus)
		return (-1);
	host->wr_reset(chat->bw);
	if (host->wr_str(chat->bw, room, strlen(room)) != 0 ||
	    host->wr_raw(chat->bw, ev, evlen) != 0 ||
	    host->wr_uint(chat->bw, token) != 0 ||
	    host->wr_uint(chat->bw, chat->owner) != 0 ||
	    host->wr_uint(chat->bw, chat->seq) != 0)
		return (-1);
	data = host->wr_data(chat->bw, &len);
	return (host->bus_publish(chat->inst, CHANNEL, data, len) == 0 ?
	    0 : -1);
}

/*
 * Put the event in the shared writer on the bus, tagged with cl's token;
 * when the bus refuses it (or there is none), serve it to this worker's
 * members only.
 */
static void
room_publish(struct asockd_conn *c, struct client *cl,
    struct asockd_writer *w)
{
	struct chat *chat = chat_of(c);
	struct peer *p = cl->peer;
	const void *ev;
	size_t evlen;

	ev = host->wr_data(w, &evlen);
	cl->pending++;
	if (chat_bus_send(chat, cl->room->name, ev, evlen, cl->token) == 0) {
		if (p != NULL && p->sent++ == p->back && p->t == NULL)
			p->t = host->timer_start(host->conn_instance(c), c,
			    BUS_WAIT, 0, peer_timeout, p);
		return;
	}
	if (p != NULL)
		p->sent++;	/* room_event takes it back at once */
	chat->upto = chat->seq;
	room_event(chat, cl->room, ev, evlen, cl->token, chat->owner,
	    chat->seq);
}

/*
 * on_bus: [room, event, token, owner, seq] from any worker of any
 * instance ([room, event, token] from an older chat.so: owner 0); room
 * "" for the presence events.
 */
static void
chat_bus(struct asockd_instance *inst, const char *channel,
    const void *data, size_t len)
{
	struct chat *chat = host->instance_data(inst);
	struct asockd_reader *r;
	struct room *room;
	const char *name;
	const void *ev;
	size_t nlen, evlen;
	uint64_t token = 0, owner = 0, seq = 0;

	(void)channel;
	if ((r = host->rd_open(data, len)) == NULL)
		return;
	if (host->rd_str(r, &name, &nlen) == 0 &&
	    host->rd_raw(r, &ev, &evlen) == 0 &&
	    (host->rd_next_type(r) == ASOCKD_T_NONE ||
	    host->rd_uint(r, &token) == 0) &&
	    (host->rd_next_type(r) == ASOCKD_T_NONE ||
	    (host->rd_uint(r, &owner) == 0 &&
	    host->rd_uint(r, &seq) == 0))) {
		if (owner != 0)
			presence_heard(chat, owner, seq);
		if (nlen == 0)
			presence_control(chat, ev, evlen, owner, seq);
		else if ((room = room_named(chat, name, nlen)) != NULL)
			room_event(chat, room, ev, evlen, token, owner, seq);
	} else
		host->log(inst, ASOCKD_LOG_WARNING, "chat: malformed event "
		    "on the bus (%zu bytes)", len);
	host->rd_free(r);
}

/*
 * Drop the members room_send() found behind, one at a time: each one's
 * ["left", nick] goes out again, and room_send() may find more (marked,
 * not dropped there: no recursion).  A membership that is LEAVING has
 * told the room already: it just goes.
 */
static void
room_drop(struct room *room)
{
	struct chat *chat;
	struct client *cl;

	room->dropping = 1;
	for (;;) {
		TAILQ_FOREACH(cl, &room->clients, entry)
			if (cl->behind)
				break;
		if (cl == NULL)
			break;
		host->conn_log(cl->conn, ASOCKD_LOG_NOTICE,
		    "chat: dropping %s: cannot keep up (%zu bytes queued)",
		    cl->nick, host->queued(cl->conn));
		chat = chat_of(cl->conn);
		if (cl->conn == chat->cur)
			chat->cur_stop = 1;
		host->abort(cl->conn);
		if (cl->state == LEAVING) {
			if (cl->peer != NULL)
				cl->peer->nleaving--;
			TAILQ_REMOVE(&room->clients, cl, entry);
			free(cl->nick);
			free(cl);
		} else
			leave(cl->conn, cl, 1);
	}
	room->dropping = 0;
}

/*
 * Send one event to this worker's members of the room.  (host->
 * wr_broadcast would also reach connections that have not joined.)  The
 * membership whose token the event carries is the one that caused it:
 * its own ["joined"] makes it a MEMBER, its own ["left"] ends it, and
 * the connection's held replies may follow.  A member that is not
 * writable is either closing (a zero-length send fails: it gets
 * nothing, as the host would refuse the message anyway, and on_close
 * will take it out) or over its high-water mark: behind, and dropped.
 * data may be the shared writer's: it is not used again once it has
 * gone to everyone.
 */
void
room_send(struct room *room, const void *data, size_t len, int kind,
    uint64_t token, int deliver)
{
	/* ["error", "nick in use"]: data may be the shared writer's */
	static const char in_use[] = "\x92\xa5" "error" "\xab" "nick in use";
	struct client *cl, *next;
	struct peer *p;
	int behind = 0, mine, voided;

	for (cl = TAILQ_FIRST(&room->clients); cl != NULL; cl = next) {
		next = TAILQ_NEXT(cl, entry);
		mine = token != 0 && cl->token == token;
		voided = 0;
		if (mine && kind == EV_JOINED && !deliver &&
		    (cl->state == JOINING || cl->state == LEAVING)) {
			/* its join is void: it was never in the room */
			if (cl->state == LEAVING && cl->peer != NULL)
				cl->peer->nleaving--;
			if (cl->peer != NULL && cl->peer->cl == cl)
				cl->peer->cl = NULL;
			cl->state = VOID;
			voided = 1;
		}
		if (mine && cl->state == JOINING && kind == EV_JOINED)
			cl->state = MEMBER;
		/* a newcomer gets the messages before its joined, unless
		 * its connection's membership that is leaving gets them */
		if (deliver && cl->state != VOID && !cl->behind &&
		    (cl->state != JOINING || (kind == EV_MSG &&
		    (cl->peer == NULL || cl->peer->nleaving == 0)))) {
			if (host->writable(cl->conn))
				host->send_frame(cl->conn, data, len);
			else if (host->send(cl->conn, "", 0) == 0)
				cl->behind = behind = 1;
		}
		if (!mine)
			continue;
		p = cl->peer;
		if (cl->pending > 0)
			cl->pending--;
		if ((cl->state == LEAVING && kind == EV_LEFT && !cl->behind) ||
		    (cl->state == VOID && cl->pending == 0)) {
			if (p != NULL && cl->state == LEAVING)
				p->nleaving--;
			TAILQ_REMOVE(&room->clients, cl, entry);
			free(cl->nick);
			free(cl);
		}
		if (p != NULL && p->back < p->sent) {
			p->back++;
			flush_held(p->conn, p);
			if (voided)
				host->send_frame(p->conn, in_use,
				    sizeof(in_use) - 1);
			if (p->back == p->sent && p->t != NULL) {
				host->timer_stop(p->t);
				p->t = NULL;
			}
			if (p->back == p->sent && p->eof)
				host->close(p->conn);
		}
	}
	if (behind && !room->dropping)
		room_drop(room);
}

/* Keep the last `history` messages of the room. */
static void
room_remember(struct chat *chat, struct room *room, const void *data,
    size_t len)
{
	struct line *l;

	if (chat->history <= 0)
		return;
	if ((l = malloc(sizeof(*l) + len)) == NULL)
		return;
	l->len = len;
	memcpy(l->data, data, len);
	TAILQ_INSERT_TAIL(&room->history, l, entry);
	if (++room->nhistory > chat->history) {
		l = TAILQ_FIRST(&room->history);
		TAILQ_REMOVE(&room->history, l, entry);
		free(l);
		room->nhistory--;
	}
}

/* c's peer, made on its first frame; NULL when out of memory. */
static struct peer *
peer_get(struct asockd_conn *c)
{
	struct peer *p = host->udata(c);

	if (p == NULL && (p = calloc(1, sizeof(*p))) != NULL) {
		TAILQ_INIT(&p->held);
		TAILQ_INIT(&p->waitq);
		p->chat = chat_of(c);
		p->conn = c;
		host->set_udata(c, p);
	}
	return (p);
}

static void
cmd_join(struct asockd_conn *c, const char *nick, size_t len)
{
	struct chat *chat = chat_of(c);
	struct peer *p = host->udata(c);
	struct room *room;
	struct client *cl;
	struct member *m;
	struct line *l;
	size_t i;

	if (p->cl != NULL) {
		send_error(c, "already joined");
		return;
	}
	if (len == 0 || len > (size_t)chat->max_nick) {
		send_error(c, "bad nick: empty or too long");
		return;
	}
	for (i = 0; i < len; i++)
		if ((unsigned char)nick[i] < 0x20 || nick[i] == 0x7f) {
			send_error(c, "bad nick: control character");
			return;
		}
	if ((room = room_get(c)) == NULL) {
		send_error(c, "out of memory");
		return;
	}
	TAILQ_FOREACH(cl, &room->clients, entry)
		if (cl->state != LEAVING && cl->state != VOID &&
		    chat_is(nick, len, cl->nick)) {
			send_error(c, "nick in use");
			return;
		}
	/* the whole room's, unless it is this worker's member leaving */
	if ((m = roster_find(room, nick, len)) != NULL) {
		TAILQ_FOREACH(cl, &room->clients, entry)
			if (cl->token == m->token && cl->state == LEAVING)
				break;
		if (cl == NULL) {
			send_error(c, "nick in use");
			return;
		}
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL ||
	    (cl->nick = strndup(nick, len)) == NULL) {
		free(cl);
		send_error(c, "out of memory");
		return;
	}
	cl->conn = c;
	cl->peer = p;
	cl->room = room;
	cl->state = JOINING;
	cl->token = ++chat->token;
	p->cl = cl;

	/*
	 * Replay the history to the newcomer, then tell everyone, the
	 * newcomer included, through the bus: its own ["joined"] comes in
	 * the room's order, and messages said before it joined still reach
	 * it until then.  A connection that left and joins again while its
	 * own events are on the bus gets the replay once they are back
	 * (with what they added to the history).  A replay that leaves it
	 * over its high-water mark when an event arrives makes it a member
	 * behind (keep history * max_text under sndq_high, docs/chat.md).
	 */
	if (p->back == p->sent)
		replay(c, room);
	else if ((l = calloc(1, sizeof(*l))) != NULL) {
		l->after = p->sent;
		l->replay = room;
		TAILQ_INSERT_TAIL(&p->held, l, entry);
	}
	TAILQ_INSERT_TAIL(&room->clients, cl, entry);
	room_publish(c, cl, chat_build(chat, "joined", nick, len, NULL, 0));
}

static void
cmd_say(struct asockd_conn *c, const char *text, size_t len)
{
	struct chat *chat = chat_of(c);
	struct peer *p = host->udata(c);
	struct client *cl = p->cl;
	struct asockd_writer *w;

	if (cl == NULL) {
		send_error(c, "not joined");
		return;
	}
	if (len == 0) {
		send_error(c, "empty text");
		return;
	}
	if (len > (size_t)chat->max_text) {
		send_error(c, "text too long");
		return;
	}
	w = chat_build(chat, "msg", cl->nick, strlen(cl->nick), text, len);
	room_publish(c, cl, w);
}

/*
 * Take cl out of its room and tell the room.  A client that leaves with
 * ["leave"] stays in the room as LEAVING until its own ["left", nick]
 * comes back, so it sees what was said before it left; one whose
 * connection is closing cannot be sent to any more and goes at once.
 */
static void
leave(struct asockd_conn *c, struct client *cl, int closing)
{
	struct asockd_writer *w;

	w = chat_build(chat_of(c), "left", cl->nick, strlen(cl->nick), NULL, 0);
	if (cl->peer != NULL && cl->peer->cl == cl)
		cl->peer->cl = NULL;
	if (!closing) {
		cl->state = LEAVING;
		if (cl->peer != NULL)
			cl->peer->nleaving++;
		room_publish(c, cl, w);
		return;
	}
	TAILQ_REMOVE(&cl->room->clients, cl, entry);
	cl->peer = NULL;
	room_publish(c, cl, w);
	free(cl->nick);
	free(cl);
}

/*
 * Read one command, an array of strings, and run it.  Returns -1 when the
 * payload cannot be read any further.
 */
static int
command(struct asockd_conn *c, struct asockd_reader *r)
{
	const char *s[2] = { NULL, NULL };
	size_t len[2] = { 0, 0 };
	uint32_t n, i;
	int strings = 1;

	if (host->rd_array(r, &n) != 0) {
		send_error(c, "malformed message: not an array");
		return (host->rd_skip(r));
	}
	/* Read the verb and its argument; skip the rest, to stay in step. */
	for (i = 0; i < n; i++) {
		if (i < 2 && host->rd_str(r, &s[i], &len[i]) == 0)
			continue;
		if (i < 2)
			strings = 0;
		if (host->rd_skip(r) != 0)
			return (-1);
	}

	if (n == 0 || s[0] == NULL)
		send_error(c, "malformed message: no command");
	else if (!chat_is(s[0], len[0], "join") &&
	    !chat_is(s[0], len[0], "say") && !chat_is(s[0], len[0], "leave"))
		send_error(c, "unknown command");
	else if (!strings || n != (chat_is(s[0], len[0], "leave") ? 1 : 2))
		send_error(c, "malformed message: wrong arguments");
	else if (chat_is(s[0], len[0], "join"))
		cmd_join(c, s[1], len[1]);
	else if (chat_is(s[0], len[0], "say"))
		cmd_say(c, s[1], len[1]);
	else if (((struct peer *)host->udata(c))->cl == NULL)
		send_error(c, "not joined");
	else
		leave(c, ((struct peer *)host->udata(c))->cl, 0);
	return (0);
}

/* One frame: every MessagePack value in it is a command. */
void
chat_message(struct asockd_conn *c, const void *msg, size_t len)
{
	struct chat *chat = chat_of(c);
	struct asockd_reader *r;
	struct peer *p;
	struct line *l;

	/* Syncing: this worker does not know the whole room yet.  Keep
	 * the frame, and the next ones where the host holds them. */
	if (!chat->synced && (p = peer_get(c)) != NULL &&
	    (l = malloc(sizeof(*l) + len)) != NULL) {
		l->len = len;
		memcpy(l->data, msg, len);
		if (TAILQ_EMPTY(&p->waitq)) {
			host->conn_log(c, ASOCKD_LOG_DEBUG, "chat: the worker "
			    "syncs with the room: holding its frames until "
			    "it knows every member");
			TAILQ_INSERT_TAIL(&chat->waiting, p, wentry);
		}
		TAILQ_INSERT_TAIL(&p->waitq, l, entry);
		host->pause_receive(c, 1);
		return;
	}
	chat->cur = c;
	chat->cur_errors = 0;
	chat->cur_stop = 0;
	if (peer_get(c) == NULL || (r = host->rd_open(msg, len)) == NULL) {
		send_error(c, "out of memory");
		chat->cur = NULL;
		return;
	}
	while (!chat->cur_stop && host->rd_next_type(r) != ASOCKD_T_NONE)
		if (command(c, r) != 0) {
			send_error(c, "malformed message");
			break;
		}
	host->rd_free(r);
	chat->cur = NULL;
}

/*
 * The client ended its stream: close once its own events are back (and
 * the replies held behind them sent), not before.
 */
void
chat_eof(struct asockd_conn *c)
{
	struct peer *p = host->udata(c);

	if (p != NULL && !TAILQ_EMPTY(&p->waitq))
		p->eof = 1;	/* synced() runs the frames, then this */
	else if (p == NULL || p->back == p->sent)
		host->close(c);
	else
		p->eof = 1;
}

static void
chat_close(struct asockd_conn *c, int reason)
{
	struct peer *p = host->udata(c);
	struct room *room;
	struct client *cl, *next;
	struct line *l;

	if (p == NULL)
		return;
	p->t = NULL;	/* the host stopped c's timers */
	if (p->cl != NULL)
		leave(c, p->cl, 1);
	/* memberships still LEAVING (their timer went with c) */
	TAILQ_FOREACH(room, &chat_of(c)->rooms, entry)
		for (cl = TAILQ_FIRST(&room->clients); cl != NULL; cl = next) {
			next = TAILQ_NEXT(cl, entry);
			if (cl->peer != p)
				continue;
			TAILQ_REMOVE(&room->clients, cl, entry);
			free(cl->nick);
			free(cl);
		}
	while ((l = TAILQ_FIRST(&p->held)) != NULL) {
		TAILQ_REMOVE(&p->held, l, entry);
		free(l);
	}
	if (!TAILQ_EMPTY(&p->waitq))
		TAILQ_REMOVE(&chat_of(c)->waiting, p, wentry);
	while ((l = TAILQ_FIRST(&p->waitq)) != NULL) {
		TAILQ_REMOVE(&p->waitq, l, entry);
		free(l);
	}
	host->set_udata(c, NULL);
	free(p);
}

/*
 * The settings table: the host checks chat.ini against it (unknown keys,
 * types and ranges as FILE:LINE) and prints it for --plugin-help.
 */
static const struct asockd_setting chat_settings[] = {
	{ .section = "chat", .name = "max_nick", .type = ASOCKD_SET_INT,
	  .def = "32", .min = 1, .max = 1024,
	  .help = "longest nick, in bytes" },
	{ .section = "chat", .name = "max_text", .type = ASOCKD_SET_INT,
	  .def = "1024", .min = 1, .max = 65536,
	  .help = "longest message text, in bytes" },
	{ .section = "chat", .name = "history", .type = ASOCKD_SET_INT,
	  .def = "20", .min = 0, .max = 10000,
	  .help = "messages replayed to a client when it joins" },
	{ .section = "chat", .name = "presence_interval",
	  .type = ASOCKD_SET_DOUBLE, .def = "2.0", .min = 0.05, .max = 60,
	  .help = "seconds between a worker's rounds of its members" },
	{ .name = NULL }
};

ASOCKD_PLUGIN_DEFINE(
	.name = "chat",
	.version = "1.0",
	.init = chat_init,
	.validate = chat_validate,
	.fini = chat_fini,
	.on_message = chat_message,
	.on_close = chat_close,
	.on_eof = chat_eof,
	.settings = chat_settings,
	.on_bus = chat_bus
);
