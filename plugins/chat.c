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
 * roster's token.  Presence rounds (see "Presence" below, every
 * presence_interval seconds) fill in what the bus did not carry, settle
 * a nick taken twice while the bus was down (the lower token keeps it),
 * and announce the members of a worker or node that died as left after
 * EXPIRE_ROUNDS intervals.  A worker that starts later holds its
 * clients' frames until it knows the whole room.
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

/* Error replies to one frame before the connection is closed. */
#define MAX_FRAME_ERRORS	16
/* The bus channel of every room. */
#define CHANNEL			"chat"

/* Seconds a connection waits for its own events to come back. */
#define BUS_WAIT		5.0

/* An owner not heard from for this many presence intervals is gone. */
#define EXPIRE_ROUNDS		3
/* Seconds a newcomer waits for answers once its own hello is back. */
#define ALONE_WAIT		0.25
/* Seconds between a newcomer's checks of its sync deadlines. */
#define SYNC_TICK		0.05
/* Bytes of one presence message, under ASOCKD_BUS_MSG_MAX with room. */
#define HERE_MAX		(ASOCKD_BUS_MSG_MAX - 4096)

/*
 * A membership of a connection in a room.  JOINING until its own
 * ["joined"] comes back through the bus (it gets only messages until
 * then: those said before it joined), LEAVING from ["leave"] until its
 * own ["left"] comes back (so it still gets what was said before).
 * VOID once its join lost the nick to another member ("nick in use"):
 * it gets nothing and goes once its events still on the bus are back.
 */
enum { JOINING, MEMBER, LEAVING, VOID };

struct client {
	struct asockd_conn	*conn;
	struct peer		*peer;
	struct room		*room;
	char			*nick;
	uint64_t		 token;		/* tags its events on the bus */
	unsigned int		 pending;	/* its events on the bus */
	int			 state;
	int			 behind;	/* to be dropped */
	TAILQ_ENTRY(client)	 entry;
};

/*
 * A connection (its udata, from its first frame).  A reply that goes
 * straight to it (an error) waits in held while its own events are on
 * the bus, so it sees everything in the order its commands ran.
 */
struct peer {
	struct client		*cl;		/* JOINING or MEMBER, or NULL */
	uint64_t		 sent, back;	/* own events on the bus */
	unsigned int		 nleaving;	/* its LEAVING memberships */
	TAILQ_HEAD(, line)	 held;
	struct asockd_timer	*t;		/* gives up on lost events */
	struct chat		*chat;
	struct asockd_conn	*conn;
	int			 eof;		/* close once all are back */
	TAILQ_HEAD(, line)	 waitq;		/* frames held until synced */
	TAILQ_ENTRY(peer)	 wentry;	/* in chat->waiting */
};

/* A saved ["msg", nick, text] frame payload, for the history; or a held
 * reply, to go once `after` of its connection's events are back. */
struct line {
	size_t			 len;
	uint64_t		 after;
	struct room		*replay;	/* held: replay its history */
	TAILQ_ENTRY(line)	 entry;
	unsigned char		 data[];
};

/*
 * A member of the room on any worker of any instance, as the bus's
 * events made it (the roster): every worker applies the same events in
 * the same order with the same rules, so every roster agrees.
 */
struct member {
	char			*nick;
	size_t			 len;		/* of nick */
	uint64_t		 token;		/* of its membership */
	uint64_t		 owner;		/* the worker it is on */
	uint64_t		 seq;		/* owner's event that made it */
	uint64_t		 round;		/* last round naming it */
	TAILQ_ENTRY(member)	 entry;
};

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

/* The clients, roster and history of one room (a listener name). */
struct room {
	char			*name;
	TAILQ_HEAD(, client)	 clients;
	TAILQ_HEAD(, member)	 roster;
	TAILQ_HEAD(, line)	 history;
	long long		 nhistory;
	int			 dropping;	/* room_drop() runs */
	TAILQ_ENTRY(room)	 entry;
};

/* Plugin-wide state (*pdata of init). */
struct chat {
	long long		 max_nick;
	long long		 max_text;
	long long		 history;
	struct asockd_writer	*w;	/* reused for every message */
	struct asockd_writer	*bw;	/* [room, event, token, owner, seq] */
	struct asockd_writer	*pw;	/* presence events */
	struct asockd_instance	*inst;
	int			 bus;	/* subscribed to CHANNEL */
	uint64_t		 token;	/* the last one given out */
	TAILQ_HEAD(, room)	 rooms;
	/* Presence (see "Presence" below). */
	double			 interval;	/* presence_interval */
	uint64_t		 owner;		/* this worker's id */
	uint64_t		 seq;		/* its last event published */
	uint64_t		 upto;		/* its last event applied */
	uint64_t		 round;		/* its last presence round */
	struct asockd_timer	*pt;		/* every interval */
	struct asockd_timer	*st;		/* while syncing */
	TAILQ_HEAD(, owner)	 owners;
	double			 own_seen;	/* own event last back */
	double			 up_since;	/* own events back since */
	/* syncing: until synced, frames wait in their peer's waitq */
	int			 synced;
	int			 hello_sent;
	double			 sub_at, hello_at, hello_back;
	uint64_t		 need;		/* owners others know */
	int			 answered;	/* a here from another owner */
	TAILQ_HEAD(, peer)	 waiting;
	/* The connection whose frame chat_message is running, and how it
	 * goes: errors sent for this frame, and 1 once the rest of the frame
	 * must not run (closed after too many errors, or dropped). */
	struct asockd_conn	*cur;
	int			 cur_errors;
	int			 cur_stop;
};

static const struct asockd_host	*host;

static int	check(struct asockd_instance *, const struct chat *);
static double	now(void);
static void	presence_tick(struct asockd_timer *, void *);
static void	sync_tick(struct asockd_timer *, void *);
static int	bus_send(struct chat *, const char *, const void *, size_t,
		    uint64_t);
static void	say_hello(struct chat *);

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
	if (chat->bus) {
		chat->sub_at = now();
		chat->pt = h->timer_start(inst, NULL, chat->interval,
		    chat->interval, presence_tick, chat);
		chat->st = h->timer_start(inst, NULL, SYNC_TICK, SYNC_TICK,
		    sync_tick, chat);
		say_hello(chat);
	}
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
	struct owner *o;
	struct line *l;

	/* Every connection was closed (and its client freed) by now, and
	 * the host stopped our timers. */
	while ((o = TAILQ_FIRST(&chat->owners)) != NULL) {
		TAILQ_REMOVE(&chat->owners, o, entry);
		free(o);
	}
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

/* Seconds on the monotonic clock. */
static double
now(void)
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

/* The room called name, created on first use. */
static struct room *
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

/* 1 if s[0..len) is word. */
static int
is(const char *s, size_t len, const char *word)
{
	return (s != NULL && len == strlen(word) && memcmp(s, word, len) == 0);
}

/* Build [word, a, b] (a and b may be NULL) in the shared writer. */
static struct asockd_writer *
build(struct chat *chat, const char *word, const char *a, size_t alen,
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

/* Send a reply to c alone, after its own events still on the bus. */
static void
reply(struct asockd_conn *c, struct asockd_writer *w)
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
		host->wr_send(c, build(chat, "error", why, strlen(why),
		    NULL, 0));
		host->close(c);
		return;
	}
	reply(c, build(chat, "error", why, strlen(why), NULL, 0));
}

static void	leave(struct asockd_conn *, struct client *, int);
static void	room_send(struct room *, const void *, size_t, int, uint64_t,
		    int);
static void	room_remember(struct chat *, struct room *, const void *,
		    size_t);

enum { EV_OTHER, EV_MSG, EV_JOINED, EV_LEFT };

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
		if (n == 3 && is(s, slen, "msg"))
			kind = EV_MSG;
		else if (n == 2 && is(s, slen, "joined"))
			kind = EV_JOINED;
		else if (n == 2 && is(s, slen, "left"))
			kind = EV_LEFT;
	}
	host->rd_free(r);
	return (kind);
}

/* The roster's entry for nick, or NULL. */
static struct member *
roster_find(struct room *room, const char *nick, size_t len)
{
	struct member *m;

	TAILQ_FOREACH(m, &room->roster, entry)
		if (m->len == len && memcmp(m->nick, nick, len) == 0)
			return (m);
	return (NULL);
}

static struct member *
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

static void
roster_remove(struct room *room, struct member *m)
{
	TAILQ_REMOVE(&room->roster, m, entry);
	free(m->nick);
	free(m);
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
			host->wr_send(p->conn, build(p->chat, "error",
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

/*
 * Publish [room, event, token, owner, seq] (room "" for the presence
 * events): 0, or -1 when there is no bus or it refused.  Every event of
 * this worker gets the next seq, published or not.
 */
static int
bus_send(struct chat *chat, const char *room, const void *ev, size_t evlen,
    uint64_t token)
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
	if (bus_send(chat, cl->room->name, ev, evlen, cl->token) == 0) {
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
 * Presence.  Each worker (owner) says every presence_interval seconds
 * which members it holds: a round of ["here", round, last, upto,
 * nowners, interval_ms, room, nick, token, ...] events, each under the
 * bus's size limit, the last one with last = 1.  upto is the seq of the
 * owner's newest event it had applied when it made the round, so a
 * member of the owner that the round does not name is dropped only when
 * the event that made it is no newer (else the owner had not seen it
 * yet).  nowners is how many live owners it knows, itself included.  A
 * here fills in members the bus did not tell (a joined older than the
 * backlog, one served locally while the bus was down) and drops those
 * whose left was lost; two members of one nick (the bus was down) are
 * settled by the lower token, on every worker alike.  An owner not heard
 * from for EXPIRE_ROUNDS intervals (its own or ours, the longer) is
 * declared ["gone", owner, its last seq heard]: its members leave, but
 * for those its later events named.  A worker starts
 * unsynced: it says ["hello"], every other worker answers with a round
 * at once, and until it has a round from every owner it was told about
 * (or heard no one, or waited long enough) it holds its clients' frames
 * and takes each here as it comes.
 */

/* Tell this worker's members of room [verb, nick]. */
static void
announce(struct chat *chat, struct room *room, const char *verb,
    const char *nick, size_t len)
{
	const void *data;
	size_t dlen;

	if (!chat->synced)
		return;
	data = host->wr_data(build(chat, verb, nick, len, NULL, 0), &dlen);
	room_send(room, data, dlen, is(verb, strlen(verb), "joined") ?
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
		reply(cl->conn, build(chat, "error", "nick in use", 11, NULL,
		    0));
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

/* An event of owner id came (before it is applied). */
static void
heard(struct chat *chat, uint64_t id, uint64_t seq)
{
	struct owner *o;
	double t = now();

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

static void	synced(struct chat *);
static void	chat_message(struct asockd_conn *, const void *, size_t);
static void	chat_eof(struct asockd_conn *);

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
	return (bus_send(chat, "", data, len, 0));
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
		chat->hello_at = now();
	}
}

/* Every interval: declare the owners not heard from, then a round. */
static void
presence_tick(struct asockd_timer *t, void *arg)
{
	struct chat *chat = arg;
	struct owner *o, *next;
	double t0 = now(), dead = EXPIRE_ROUNDS * chat->interval, odead;

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
	double t0 = now(), most = 1.5 * chat->interval;

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

/* A presence event from owner id. */
static void
control(struct chat *chat, const void *ev, size_t evlen, uint64_t id,
    uint64_t seq)
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
	else if (is(verb, vlen, "hello")) {
		if (id == chat->owner)
			chat->hello_back = now();
		else
			presence_round(chat);
	} else if (is(verb, vlen, "here"))
		apply_here(chat, r, n, id, seq);
	else if (is(verb, vlen, "gone") && n == 3 &&
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
			heard(chat, owner, seq);
		if (nlen == 0)
			control(chat, ev, evlen, owner, seq);
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
static void
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
		    is(nick, len, cl->nick)) {
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
	room_publish(c, cl, build(chat, "joined", nick, len, NULL, 0));
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
	w = build(chat, "msg", cl->nick, strlen(cl->nick), text, len);
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

	w = build(chat_of(c), "left", cl->nick, strlen(cl->nick), NULL, 0);
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
	else if (!is(s[0], len[0], "join") && !is(s[0], len[0], "say") &&
	    !is(s[0], len[0], "leave"))
		send_error(c, "unknown command");
	else if (!strings || n != (is(s[0], len[0], "leave") ? 1 : 2))
		send_error(c, "malformed message: wrong arguments");
	else if (is(s[0], len[0], "join"))
		cmd_join(c, s[1], len[1]);
	else if (is(s[0], len[0], "say"))
		cmd_say(c, s[1], len[1]);
	else if (((struct peer *)host->udata(c))->cl == NULL)
		send_error(c, "not joined");
	else
		leave(c, ((struct peer *)host->udata(c))->cl, 0);
	return (0);
}

/* One frame: every MessagePack value in it is a command. */
static void
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
static void
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
