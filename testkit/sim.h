/*
 * sim.h - the simulated host's state, shared by the files of
 * libasockd-test that complete the plugin ABI's opaque types: kit.c
 * (lifetime, callbacks, the loop), host.c (the host function table) and
 * peer.c (the test's side, asockd/test.h).  Only these include it.
 */
#ifndef ASOCKD_SIM_H
#define ASOCKD_SIM_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdarg.h>

#include "kit.h"

#define KIT_SETTLE	8		/* loop turns per test action */
#define KIT_SNDBUF	16384		/* simulated socket buffer */
#define KIT_EVENTS	100000		/* timer firings per advance */
#define DESC_MIN_SIZE	offsetof(struct asockd_plugin, on_message)

struct buf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

struct asockd_instance {
	struct asockd_test	*t;
};

struct asockd_timer {
	struct asockd_test	*t;
	struct asockd_conn	*c;
	double			 due;
	double			 repeat;
	asockd_timer_cb		 cb;
	void			*arg;
	int			 dead;	/* stopped; kept to catch reuse */
	TAILQ_ENTRY(asockd_timer) entry;
};

struct dgram {
	struct buf		 data;
	char			 to[128];
	STAILQ_ENTRY(dgram)	 entry;
};

struct asockd_listener {
	struct asockd_test	*t;
	char			*name;
	int			 kind;
	int			 framing;
	size_t			 max_line;
	size_t			 max_frame;
	size_t			 max_input;
	size_t			 sndq_high;
	size_t			 sndq_low;
	size_t			 sndq_max;
	size_t			 sndbuf;
	double			 idle_timeout;
	STAILQ_HEAD(, dgram)	 dgrams;
	struct dgram		*taken;		/* the last one returned */
	TAILQ_ENTRY(asockd_listener) entry;
};

/* A connection: connecting, open, inside on_close, a tombstone. */
enum cstate { C_CONNECTING = 1, C_OPEN, C_INCLOSE, C_CLOSED };

struct asockd_conn {
	struct asockd_test	*t;
	struct asockd_listener	*l;		/* NULL: outbound */
	struct asockd_listener	 o;		/* options in effect */
	unsigned int		 id;
	enum cstate		 state;
	char			 peer[128];
	char			 local[128];
	char			*target;	/* outbound */
	struct sockaddr_storage	 pss, lss;
	socklen_t		 plen, llen;
	void			*udata;
	int			 accepted;	/* on_close is due */
	int			 depth;		/* callbacks running */
	int			 kind;		/* KIT_CB_* running */
	int			 want;		/* close asked for: reason */
	int			 want_abort;
	int			 deferred;	/* on t->reap */
	int			 closing;	/* graceful, flushing: reason */
	int			 reason;	/* what on_close got */
	int			 paused;
	int			 over_high;
	int			 reading;	/* the peer reads */
	int			 eof_in;
	int			 eof_done;
	int			 shut_wr;
	int			 peer_eof;	/* 1 end of stream, 2 reset */
	int			 late;		/* callbacks after on_close */
	int			 arm;		/* KIT_CB_* to reset inside */
	double			 last_io;
	struct buf		 in, kern, q, out, msg;
	TAILQ_ENTRY(asockd_conn) entry;
	TAILQ_ENTRY(asockd_conn) rentry;
};

struct asockd_test {
	struct asockd_host	 host;
	struct asockd_instance	 inst;
	struct asockd_plugin	 desc;
	void			*dl;
	struct ini		*ini;
	void			*pdata;
	int			 inited;
	double			 now;
	unsigned int		 nextid;
	int			 depth;
	int			 reaping;
	int			 arm_next;	/* for the next connection */
	TAILQ_HEAD(, asockd_conn) conns;
	TAILQ_HEAD(, asockd_conn) reap;
	TAILQ_HEAD(, asockd_listener) listeners;
	TAILQ_HEAD(, asockd_timer) timers;
	struct buf		 log, viol, report, tmp;
	int			 nviol;
	char			*inipath;	/* while loading */
};

/* The test that is loading (for log_warnx from the INI loader). */
extern struct asockd_test *kit_cur;

/* ---------------------------------------------------------------- kit.c */

/* realloc, out of memory fatal. */
void	*kit_alloc(void *, size_t);
/* Byte buffers; text ones stay NUL-terminated. */
void	 kit_buf_add(struct buf *, const void *, size_t);
void	 kit_buf_drop(struct buf *, size_t);
void	 kit_buf_free(struct buf *);
const char *kit_buf_str(struct buf *);
void	 kit_buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	 kit_buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* One line of t's violations. */
void	 kit_violation(struct asockd_test *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* "127.0.0.1:5", "[::1]:5", "unix:/p" <-> sockaddr; 0 or -1. */
int	 kit_addr_parse(const char *, struct sockaddr_storage *,
	    socklen_t *);
void	 kit_addr_format(const struct sockaddr *, socklen_t, char *,
	    size_t);
/* The bracket around every call into the plugin; see CB(). */
void	 kit_cb_enter(struct asockd_test *, struct asockd_conn *, int kind);
void	 kit_cb_leave(struct asockd_test *, struct asockd_conn *);
#define CB(t, c, kind, call) do {					\
	kit_cb_enter((t), (c), (kind));					\
	call;								\
	kit_cb_leave((t), (c));						\
} while (0)
/* The end of c: timers stopped, on_close once (abort drops output). */
void	 kit_finish(struct asockd_conn *, int reason, int abort);
/* Carry out the closes asked for inside callbacks (at depth 0). */
void	 kit_reap(struct asockd_test *);
/* Ask for a close: at once at depth 0, else after the callbacks. */
void	 kit_conn_want(struct asockd_conn *, int reason, int abort);
/* A new connection (l NULL: outbound), options copied from l. */
struct asockd_conn *kit_conn_new(struct asockd_test *,
	    struct asockd_listener *);
/* 0 (after recording a violation) for a handle used after on_close. */
int	 kit_live(struct asockd_conn *, const char *call);
/* Hand c what its input holds; run the loop until nothing moves. */
void	 kit_deliver(struct asockd_conn *);
void	 kit_settle(struct asockd_test *);
void	 kit_turn_all(struct asockd_test *, int turns);

/* ---------------------------------------------------------------- host.c */

/* Fill in the ABI 1.2 host table. */
void	 kit_host_table(struct asockd_host *);

#endif /* ASOCKD_SIM_H */
