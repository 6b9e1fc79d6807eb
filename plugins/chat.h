/*
 * chat.h - the chat plugin's private header: the structs, constants and
 * functions that plugins/chat.c (commands, rooms, the bus) and
 * plugins/chat_presence.c (the room-wide roster and the presence rounds)
 * share.  Nothing here is part of the plugin ABI: every function and
 * the host pointer are CHAT_HIDDEN, so chat.so exports its descriptor
 * alone.
 */
#ifndef CHAT_H
#define CHAT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "asockd/plugin.h"

/* Keeps a function shared by the two files out of chat.so's exports. */
#define CHAT_HIDDEN	__attribute__((visibility("hidden")))

/*
 * A membership of a connection in a room.  JOINING until its own
 * ["joined"] comes back through the bus (it gets only messages until
 * then: those said before it joined), LEAVING from ["leave"] until its
 * own ["left"] comes back (so it still gets what was said before).
 * VOID once its join lost the nick to another member ("nick in use"):
 * it gets nothing and goes once its events still on the bus are back.
 */
enum { JOINING, MEMBER, LEAVING, VOID };

/* A membership: one client of a room (state is one of the above). */
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
	/* Presence (see chat_presence.c). */
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

/* What an event of a room is (event_kind() in chat.c). */
enum { EV_OTHER, EV_MSG, EV_JOINED, EV_LEFT };

/* The host's function table, from chat_init; read-only after it. */
extern const struct asockd_host	*host CHAT_HIDDEN;

/* chat.c */

/* Seconds on the monotonic clock. */
double	 chat_now(void) CHAT_HIDDEN;
/* 1 if s[0..len) is word (s may be NULL). */
int	 chat_is(const char *s, size_t len, const char *word) CHAT_HIDDEN;
/*
 * Build [word, a, b] (a and b may be NULL) in chat->w, the shared
 * writer, and return it: valid until the next chat_build().
 */
struct asockd_writer *chat_build(struct chat *chat, const char *word,
	    const char *a, size_t alen, const char *b, size_t blen)
	    CHAT_HIDDEN;
/* Send w's bytes to c alone, after its own events still on the bus. */
void	 chat_reply(struct asockd_conn *c, struct asockd_writer *w)
	    CHAT_HIDDEN;
/*
 * Publish [room, event, token, owner, seq] (room "" for the presence
 * events): 0, or -1 when there is no bus or it refused.  Every event of
 * this worker gets the next seq, published or not.
 */
int	 chat_bus_send(struct chat *chat, const char *room, const void *ev,
	    size_t evlen, uint64_t token) CHAT_HIDDEN;
/* The room called name[0..len), created on first use; NULL if no memory. */
struct room *room_named(struct chat *chat, const char *name, size_t len)
	    CHAT_HIDDEN;
/*
 * Send one event (kind EV_*) to this worker's members of room.  token is
 * the membership that caused it (0: none); deliver is 0 when the event
 * does not count (room_event()'s rules): no member gets it, only that
 * membership learns its event is back.  data may be the shared writer's.
 */
void	 room_send(struct room *room, const void *data, size_t len, int kind,
	    uint64_t token, int deliver) CHAT_HIDDEN;
/* on_message: run one frame's commands (synced() runs the held ones). */
void	 chat_message(struct asockd_conn *c, const void *msg, size_t len)
	    CHAT_HIDDEN;
/* on_eof: close c once its own events are back (also from synced()). */
void	 chat_eof(struct asockd_conn *c) CHAT_HIDDEN;

/* chat_presence.c */

/* The roster's entry for nick[0..len) in room, or NULL. */
struct member *roster_find(struct room *room, const char *nick, size_t len)
	    CHAT_HIDDEN;
/* Add nick[0..len) to room's roster; the new entry, or NULL if no memory. */
struct member *roster_add(struct room *room, const char *nick, size_t len,
	    uint64_t token, uint64_t owner, uint64_t seq) CHAT_HIDDEN;
/* Take m out of room's roster and free it. */
void	 roster_remove(struct room *room, struct member *m) CHAT_HIDDEN;
/*
 * The worker subscribed to the bus: start the presence and sync timers
 * and say hello (until synced, frames wait in their peer's waitq).
 */
void	 presence_start(struct chat *chat) CHAT_HIDDEN;
/* Free the other owners (chat_fini; the host stopped the timers). */
void	 presence_fini(struct chat *chat) CHAT_HIDDEN;
/* An event of owner id, its seq, came on the bus (before it is applied). */
void	 presence_heard(struct chat *chat, uint64_t id, uint64_t seq)
	    CHAT_HIDDEN;
/* A presence event (room "") from owner id, its seq. */
void	 presence_control(struct chat *chat, const void *ev, size_t evlen,
	    uint64_t id, uint64_t seq) CHAT_HIDDEN;

#endif /* CHAT_H */
