/*
 * kit.c - libasockd-test's simulated host: the struct asockd_host table
 * a plugin gets, and the peer's side that a test drives (asockd/test.h).
 *
 * One struct asockd_test is one host with one plugin instance.  Its
 * connections model what the daemon's conn.c does with a socket: input
 * bytes wait in c->in until they are delivered (raw, or split into
 * messages by the daemon's frame_next), output goes into a simulated
 * socket buffer of sndbuf bytes and, past it, into the host's queue
 * (c->q); the peer, while it reads, takes the socket's bytes into
 * c->out at each turn of the simulated loop, and the queue refills the
 * socket.  The queue's high- and low-water marks drive writable() and
 * on_send as in sendq.c.
 *
 * Invariants, as in the daemon (plugin.h's contract):
 *  - every call into the plugin is bracketed by cb_enter/cb_leave; a
 *    close or abort asked for while any callback runs (t->depth > 0) is
 *    only recorded and carried out by reap() once the outermost one has
 *    returned, so callbacks never nest and a connection never closes
 *    under its own callback;
 *  - on_close runs once per accepted (or connected) connection, from
 *    finish(), after which the connection is a tombstone: it is kept
 *    until asockd_test_free so that a plugin's later use of the handle is
 *    caught and reported as a violation instead of being a use after
 *    free; timers likewise.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static struct asockd_test *kit_cur;	/* the test loading (log_warnx) */

static void	turn_all(struct asockd_test *, int);
static void	deliver(struct asockd_conn *);

/* -------------------------------------------------------------- buffers */

static void *
kit_alloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL) {
		fprintf(stderr, "asockd-test: out of memory\n");
		abort();
	}
	return p;
}

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->len + n > b->cap) {
		b->cap = b->cap ? b->cap : 256;
		while (b->cap < b->len + n)
			b->cap *= 2;
		b->p = kit_alloc(b->p, b->cap + 1);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';	/* text buffers stay NUL-terminated */
}

static void
buf_drop(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static const char *
buf_str(struct buf *b)
{
	return b->len ? (const char *)b->p : "";
}

static void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	char	 line[2048];
	int	 n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	buf_add(b, line, (size_t)n < sizeof(line) ? (size_t)n :
	    sizeof(line) - 1);
	buf_add(b, "\n", 1);
}

static void __attribute__((format(printf, 2, 3)))
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* -------------------------------------------------------------- reports */

void
kit_vlog(const char *fmt, va_list ap)
{
	char	 line[2048], *p;
	size_t	 n;

	if (kit_cur == NULL) {
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	/* the loader names the private copy of the settings: say "ini" */
	if (kit_cur->inipath != NULL &&
	    (p = strstr(line, kit_cur->inipath)) != NULL) {
		n = strlen(kit_cur->inipath);
		memmove(p + 3, p + n, strlen(p + n) + 1);
		memcpy(p, "ini", 3);
	}
	buf_printf(&kit_cur->log, "%s", line);
}

static void __attribute__((format(printf, 2, 3)))
violation(struct asockd_test *t, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	buf_vprintf(&t->viol, fmt, ap);
	va_end(ap);
	t->nviol++;
}

void
kit_report(struct asockd_test *t, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	buf_vprintf(&t->report, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ addresses */

static int
addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_un	*sun = (struct sockaddr_un *)ss;
	char			 host[128];
	const char		*colon;
	char			*end;
	long			 port;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(s, "unix:", 5) == 0) {
		if (strlen(s + 5) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, s + 5);
		*len = offsetof(struct sockaddr_un, sun_path) +
		    strlen(s + 5) + 1;
		return 0;
	}
	if ((colon = strrchr(s, ':')) == NULL ||
	    (size_t)(colon - s) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 0 || port > 65535 || end == colon + 1)
		return -1;
	if (s[0] == '[' && colon > s && colon[-1] == ']') {
		memcpy(host, s + 1, colon - s - 2);
		host[colon - s - 2] = '\0';
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1 ?
		    0 : -1;
	}
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	*len = sizeof(*sin);
	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}

static void
addr_format(const struct sockaddr *sa, socklen_t len, char *out,
    size_t outlen)
{
	char	 h[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, h, sizeof(h));
		snprintf(out, outlen, "%s:%u", h, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, h, sizeof(h));
		snprintf(out, outlen, "[%s]:%u", h, ntohs(sin6->sin6_port));
	} else if (sa->sa_family == AF_UNIX &&
	    len > offsetof(struct sockaddr_un, sun_path)) {
		const struct sockaddr_un *sun = (const void *)sa;

		snprintf(out, outlen, "unix:%.*s", (int)(len -
		    offsetof(struct sockaddr_un, sun_path)), sun->sun_path);
	} else
		snprintf(out, outlen, "?");
}

/* ------------------------------------------------------------ callbacks */

static void
cb_enter(struct asockd_test *t, struct asockd_conn *c, int kind)
{
	if (c != NULL) {
		if (c->depth > 0)
			violation(t, "asockd-test: internal: nested callback"
			    " on conn %u", c->id);
		if (c->state == C_CLOSED)
			c->late++;
		c->depth++;
		c->kind = kind;
	}
	t->depth++;
}

static void	reap(struct asockd_test *);

static void
cb_leave(struct asockd_test *t, struct asockd_conn *c)
{
	if (c != NULL) {
		c->depth--;
		c->kind = KIT_CB_NONE;
	}
	if (--t->depth == 0) {
		kit_rd_gc();
		reap(t);
	}
}

#define CB(t, c, kind, call) do {					\
	cb_enter((t), (c), (kind));					\
	call;								\
	cb_leave((t), (c));						\
} while (0)

/* ------------------------------------------------------------- lifetime */

static void
conn_timers_stop(struct asockd_conn *c)
{
	struct asockd_timer	*tm;

	TAILQ_FOREACH(tm, &c->t->timers, entry)
		if (tm->c == c)
			tm->dead = 1;
}

/* The end of a connection: timers stopped, on_close once. */
static void
finish(struct asockd_conn *c, int reason, int abort)
{
	struct asockd_test	*t = c->t;

	if (c->state == C_CLOSED || c->state == C_INCLOSE)
		return;
	if (c->deferred) {
		TAILQ_REMOVE(&t->reap, c, rentry);
		c->deferred = 0;
	}
	conn_timers_stop(c);
	c->reason = reason;
	c->in.len = 0;
	c->q.len = 0;
	if (abort) {
		c->kern.len = 0;
		c->peer_eof = 2;
	}
	if (c->accepted && t->desc.on_close != NULL) {
		c->state = C_INCLOSE;
		CB(t, c, KIT_CB_NONE, t->desc.on_close(c, reason));
	}
	c->state = C_CLOSED;
	if (!abort && c->kern.len == 0)
		c->peer_eof = 1;
}

/* Carry out a close asked for: at once, or once the queue drained. */
static void
apply(struct asockd_conn *c)
{
	int	 reason = c->want;

	c->want = 0;
	if (c->state == C_CONNECTING) {
		c->accepted = 0;
		finish(c, reason, 1);
		return;
	}
	if (c->want_abort)
		finish(c, reason, 1);
	else {
		if (c->closing == 0)
			c->closing = reason;
		c->in.len = 0;
		if (c->q.len == 0)
			finish(c, c->closing, 0);
	}
}

static void
reap(struct asockd_test *t)
{
	struct asockd_conn	*c;

	if (t->reaping)
		return;
	t->reaping = 1;
	while ((c = TAILQ_FIRST(&t->reap)) != NULL) {
		TAILQ_REMOVE(&t->reap, c, rentry);
		c->deferred = 0;
		if (c->want != 0)
			apply(c);
	}
	t->reaping = 0;
}

/* Ask for a close (abort: at once, dropping output); the first wins. */
static void
conn_want(struct asockd_conn *c, int reason, int abort)
{
	struct asockd_test	*t = c->t;

	if (c->state == C_CLOSED || c->state == C_INCLOSE)
		return;
	if (c->want == 0)
		c->want = reason;
	if (abort)
		c->want_abort = 1;
	if (t->depth > 0) {
		if (!c->deferred) {
			TAILQ_INSERT_TAIL(&t->reap, c, rentry);
			c->deferred = 1;
		}
		return;
	}
	apply(c);
}

static struct asockd_conn *
conn_new(struct asockd_test *t, struct asockd_listener *l)
{
	struct asockd_conn	*c;

	c = kit_alloc(NULL, sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->l = l;
	c->id = ++t->nextid;
	c->reading = 1;
	c->last_io = t->now;
	c->arm = t->arm_next;
	t->arm_next = KIT_CB_NONE;
	if (l != NULL)
		c->o = *l;
	else {
		c->o.max_line = 8192;
		c->o.max_frame = 1048576;
		c->o.max_input = 65536;
		c->o.sndq_high = 262144;
		c->o.sndq_low = 65536;
		c->o.sndq_max = 4194304;
		c->o.sndbuf = KIT_SNDBUF;
	}
	TAILQ_INSERT_TAIL(&t->conns, c, entry);
	return c;
}

/*
 * Every host call on a connection comes here first: a handle used after
 * its on_close is a violation; an armed reset goes off.
 */
static int
live(struct asockd_conn *c, const char *call)
{
	if (c == NULL)
		return 0;
	if (c->state == C_CLOSED) {
		violation(c->t, "conn %u: host->%s after on_close", c->id,
		    call);
		return 0;
	}
	if (c->arm != KIT_CB_NONE && c->kind == c->arm) {
		c->arm = KIT_CB_NONE;
		conn_want(c, ASOCKD_CLOSE_RESET, 1);
	}
	return 1;
}

/* ------------------------------------------------------------ host: log */

static void
host_log(struct asockd_instance *inst, int level, const char *fmt, ...)
{
	char	 line[1536];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_printf(&inst->t->log, "plugin %s: %s", inst->t->desc.name ?
	    inst->t->desc.name : "?", line);
}

static void
host_conn_log(struct asockd_conn *c, int level, const char *fmt, ...)
{
	char	 line[1536];
	va_list	 ap;

	if (c == NULL)
		return;
	(void)live(c, "conn_log");
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_printf(&c->t->log, "listener %s conn %u peer %s: %s",
	    c->l ? c->l->name : "(outbound)", c->id, c->peer, line);
}

/* ------------------------------------------------------------ host: ini */

static const char *
ini_get(struct asockd_instance *inst, const char *section, const char *key,
    int *line)
{
	if (inst == NULL || key == NULL)
		return NULL;
	return kit_ini_value(inst->t->ini, &inst->t->desc, section, key,
	    line);
}

static int
ini_bad(struct asockd_instance *inst, const char *section, const char *key,
    const char *v, int line, const char *what)
{
	buf_printf(&inst->t->log, "ini:%d: [%s] %s: '%s' is not %s", line,
	    section ? section : "", key, v, what);
	return -EINVAL;
}

static const char *
host_ini_str(struct asockd_instance *inst, const char *section,
    const char *key, const char *def)
{
	int		 line;
	const char	*v = ini_get(inst, section, key, &line);

	return v ? v : def;
}

static int
host_ini_int(struct asockd_instance *inst, const char *section,
    const char *key, long long def, long long *out)
{
	int		 line;
	const char	*v = ini_get(inst, section, key, &line);

	*out = def;
	if (v != NULL && kit_parse_int(v, out) == -1) {
		*out = def;
		return ini_bad(inst, section, key, v, line, "an integer");
	}
	return 0;
}

static int
host_ini_bool(struct asockd_instance *inst, const char *section,
    const char *key, int def, int *out)
{
	int		 line;
	const char	*v = ini_get(inst, section, key, &line);

	*out = def;
	if (v != NULL && kit_parse_bool(v, out) == -1) {
		*out = def;
		return ini_bad(inst, section, key, v, line,
		    "a boolean (yes/no, true/false, on/off, 1/0)");
	}
	return 0;
}

static int
host_ini_double(struct asockd_instance *inst, const char *section,
    const char *key, double def, double *out)
{
	int		 line;
	const char	*v = ini_get(inst, section, key, &line);

	*out = def;
	if (v != NULL && kit_parse_double(v, out) == -1) {
		*out = def;
		return ini_bad(inst, section, key, v, line, "a number");
	}
	return 0;
}

static void *
host_instance_data(struct asockd_instance *inst)
{
	return inst ? inst->t->pdata : NULL;
}

/* ----------------------------------------------------------- host: send */

static int
can_send(struct asockd_conn *c)
{
	if (c->state == C_CONNECTING)
		return -ENOTCONN;
	if (c->state != C_OPEN || c->want != 0 || c->closing != 0 ||
	    c->shut_wr)
		return -EPIPE;
	return 0;
}

/* Write n bytes from up to two pieces: the socket, then the queue. */
static int
conn_write(struct asockd_conn *c, const void *a, size_t alen, const void *b,
    size_t blen)
{
	struct buf	 tmp = { NULL, 0, 0 };
	size_t		 room, take, total = alen + blen;

	buf_add(&tmp, a, alen);
	buf_add(&tmp, b, blen);
	take = 0;
	if (c->q.len == 0) {
		room = c->o.sndbuf > c->kern.len ? c->o.sndbuf -
		    c->kern.len : 0;
		take = total < room ? total : room;
	}
	if (c->q.len + (total - take) > c->o.sndq_max) {
		buf_free(&tmp);
		buf_printf(&c->t->log, "listener %s conn %u peer %s: output"
		    " queue past sndq_max (%zu bytes): aborted",
		    c->l ? c->l->name : "(outbound)", c->id, c->peer,
		    c->o.sndq_max);
		conn_want(c, ASOCKD_CLOSE_OVERFLOW, 1);
		return -ENOBUFS;
	}
	buf_add(&c->kern, tmp.p, take);
	buf_add(&c->q, tmp.p + take, total - take);
	buf_free(&tmp);
	if (take > 0)
		c->last_io = c->t->now;
	if (c->q.len > c->o.sndq_high)
		c->over_high = 1;
	return 0;
}

static int
host_send(struct asockd_conn *c, const void *buf, size_t len)
{
	int	 r;

	if (!live(c, "send"))
		return -EPIPE;
	if (buf == NULL && len > 0)
		return -EINVAL;
	if ((r = can_send(c)) != 0 || len == 0)
		return r;
	return conn_write(c, buf, len, NULL, 0);
}

static int
host_send_frame(struct asockd_conn *c, const void *buf, size_t len)
{
	unsigned char	 hdr[4];
	int		 r;

	if (!live(c, "send_frame"))
		return -EPIPE;
	if (buf == NULL && len > 0)
		return -EINVAL;
	if (c->o.framing == ASOCKD_TEST_RAW)
		return host_send(c, buf, len);
	if ((r = can_send(c)) != 0)
		return r;
	if (c->o.framing == ASOCKD_TEST_LINE) {
		if (len > c->o.max_line)
			return -EMSGSIZE;
		if (len > 0 && memchr(buf, '\n', len) != NULL)
			return -EINVAL;
		return conn_write(c, buf, len, "\n", 1);
	}
	if (len == 0 || len > c->o.max_frame)
		return -EMSGSIZE;
	hdr[0] = len >> 24;
	hdr[1] = len >> 16;
	hdr[2] = len >> 8;
	hdr[3] = len;
	return conn_write(c, hdr, 4, buf, len);
}

static int
host_wr_send(struct asockd_conn *c, struct asockd_writer *w)
{
	const void	*p;
	size_t		 len;

	if (w == NULL)
		return -EINVAL;
	p = c != NULL ? c->t->host.wr_data(w, &len) : NULL;
	return host_send_frame(c, p, len);
}

static int
host_wr_broadcast(struct asockd_listener *l, struct asockd_writer *w)
{
	struct asockd_conn	*c;
	const void		*p;
	size_t			 len;
	int			 r, first = 0;

	if (l == NULL || w == NULL)
		return -EINVAL;
	p = l->t->host.wr_data(w, &len);
	TAILQ_FOREACH(c, &l->t->conns, entry) {
		if (c->l != l || can_send(c) != 0)
			continue;
		if ((r = host_send_frame(c, p, len)) < 0) {
			conn_want(c, ASOCKD_CLOSE_ERROR, 1);
			if (first == 0)
				first = r;
		}
	}
	return first;
}

static int
host_writable(struct asockd_conn *c)
{
	if (!live(c, "writable"))
		return 0;
	return c->state == C_OPEN && c->want == 0 && c->closing == 0 &&
	    !c->shut_wr && c->q.len <= c->o.sndq_high;
}

static size_t
host_queued(struct asockd_conn *c)
{
	if (!live(c, "queued"))
		return 0;
	return c->q.len;
}

static int
host_close(struct asockd_conn *c)
{
	if (!live(c, "close"))
		return -EALREADY;
	if (c->state != C_OPEN && c->state != C_CONNECTING)
		return -EALREADY;
	if (c->want != 0 || c->closing != 0)
		return -EALREADY;
	conn_want(c, ASOCKD_CLOSE_LOCAL, 0);
	return 0;
}

static int
host_abort(struct asockd_conn *c)
{
	if (!live(c, "abort"))
		return -EALREADY;
	if (c->state != C_OPEN && c->state != C_CONNECTING)
		return -EALREADY;
	if (c->want_abort)
		return -EALREADY;
	conn_want(c, ASOCKD_CLOSE_LOCAL, 1);
	return 0;
}

static int
host_shutdown_write(struct asockd_conn *c)
{
	int	 r;

	if (!live(c, "shutdown_write"))
		return -EPIPE;
	if ((r = can_send(c)) != 0)
		return r;
	c->shut_wr = 1;
	return 0;
}

/* ----------------------------------------------------------- host: conn */

static int
copy_addr(const struct sockaddr_storage *ss, socklen_t sslen,
    struct sockaddr *sa, socklen_t *len)
{
	if (sslen > *len)
		return -ENOSPC;
	memcpy(sa, ss, sslen);
	*len = sslen;
	return 0;
}

static int
host_peer_addr(struct asockd_conn *c, struct sockaddr *sa, socklen_t *len)
{
	if (!live(c, "peer_addr") || c->state == C_CONNECTING)
		return -ENOTCONN;
	return copy_addr(&c->pss, c->plen, sa, len);
}

static int
host_local_addr(struct asockd_conn *c, struct sockaddr *sa, socklen_t *len)
{
	if (!live(c, "local_addr") || c->state == C_CONNECTING)
		return -ENOTCONN;
	return copy_addr(&c->lss, c->llen, sa, len);
}

static const char *
host_peer_name(struct asockd_conn *c)
{
	if (!live(c, "peer_name"))
		return "?";
	return c->peer;
}

static void
host_set_udata(struct asockd_conn *c, void *udata)
{
	if (live(c, "set_udata"))
		c->udata = udata;
}

static void *
host_udata(struct asockd_conn *c)
{
	if (!live(c, "udata"))
		return NULL;
	return c->udata;
}

static struct asockd_instance *
host_conn_instance(struct asockd_conn *c)
{
	if (!live(c, "conn_instance"))
		return NULL;
	return &c->t->inst;
}

static struct asockd_listener *
host_conn_listener(struct asockd_conn *c)
{
	if (!live(c, "conn_listener"))
		return NULL;
	return c->l;
}

static const char *
host_listener_name(struct asockd_listener *l)
{
	return l ? l->name : NULL;
}

static int
host_pause_receive(struct asockd_conn *c, int paused)
{
	if (!live(c, "pause_receive") || c->state != C_OPEN)
		return -ENOTCONN;
	c->paused = paused != 0;
	return 0;
}

/* --------------------------------------------------------- host: timers */

static struct asockd_timer *
host_timer_start(struct asockd_instance *inst, struct asockd_conn *c,
    double after, double repeat, asockd_timer_cb cb, void *arg)
{
	struct asockd_timer	*tm;

	if (inst == NULL || cb == NULL || !(after >= 0) || !(repeat >= 0))
		return NULL;
	if (c != NULL && (!live(c, "timer_start") || c->state == C_INCLOSE))
		return NULL;
	tm = kit_alloc(NULL, sizeof(*tm));
	memset(tm, 0, sizeof(*tm));
	tm->t = inst->t;
	tm->c = c;
	tm->due = inst->t->now + after;
	tm->repeat = repeat;
	tm->cb = cb;
	tm->arg = arg;
	TAILQ_INSERT_TAIL(&inst->t->timers, tm, entry);
	return tm;
}

static void
host_timer_stop(struct asockd_timer *tm)
{
	if (tm == NULL)
		return;
	if (tm->dead) {
		violation(tm->t, "host->timer_stop on a timer already %s",
		    tm->c != NULL && tm->c->state != C_OPEN ?
		    "freed with its connection" : "stopped");
		return;
	}
	tm->dead = 1;
}

/* ---------------------------------------------------------- host: dgram */

static int
host_sendto(struct asockd_listener *l, const void *buf, size_t len,
    const struct sockaddr *addr, socklen_t addrlen)
{
	struct dgram	*d;

	if (l == NULL || addr == NULL || (buf == NULL && len > 0))
		return -EINVAL;
	if (l->kind != ASOCKD_UDP && l->kind != ASOCKD_UNIX_DGRAM)
		return -EOPNOTSUPP;
	if (len > 65507)
		return -EMSGSIZE;
	d = kit_alloc(NULL, sizeof(*d));
	memset(d, 0, sizeof(*d));
	buf_add(&d->data, buf, len);
	addr_format(addr, addrlen, d->to, sizeof(d->to));
	STAILQ_INSERT_TAIL(&l->dgrams, d, entry);
	return 0;
}

/* -------------------------------------------------------- host: connect */

static int
host_connect(struct asockd_instance *inst, const char *target, void *udata,
    struct asockd_conn **out)
{
	struct asockd_conn	*c;
	const char		*p, *colon;

	if (inst == NULL || target == NULL)
		return -EINVAL;
	if (strncmp(target, "udp://", 6) == 0 ||
	    strncmp(target, "unix-dgram:", 11) == 0)
		return -EPROTONOSUPPORT;
	if (strncmp(target, "tcp://", 6) == 0) {
		p = target + 6;
		colon = strrchr(p, ':');
		if (colon == NULL || colon == p || colon[1] == '\0' ||
		    strspn(colon + 1, "0123456789") != strlen(colon + 1))
			return -EINVAL;
	} else if (strncmp(target, "unix:", 5) != 0 || target[5] == '\0')
		return -EINVAL;
	c = conn_new(inst->t, NULL);
	c->state = C_CONNECTING;
	c->target = strdup(target);
	if (c->target == NULL)
		abort();
	c->udata = udata;
	snprintf(c->peer, sizeof(c->peer), "%s", target);
	if (out != NULL)
		*out = c;
	return 0;
}

/* ------------------------------------------------------------ the table */

static void
host_table(struct asockd_host *h)
{
	memset(h, 0, sizeof(*h));
	h->abi_major = ASOCKD_TEST_ABI_MAJOR;
	h->abi_minor = ASOCKD_TEST_ABI_MINOR;
	/* the 1.2 table: a later minor's calls are not there */
	h->size = offsetof(struct asockd_host, wr_raw) +
	    sizeof(h->wr_raw);
	h->version = "asockd-test " PACKAGE_VERSION;
	h->log = host_log;
	h->conn_log = host_conn_log;
	h->ini_str = host_ini_str;
	h->ini_int = host_ini_int;
	h->ini_bool = host_ini_bool;
	h->ini_double = host_ini_double;
	h->instance_data = host_instance_data;
	h->send = host_send;
	h->writable = host_writable;
	h->queued = host_queued;
	h->close = host_close;
	h->abort = host_abort;
	h->shutdown_write = host_shutdown_write;
	h->peer_addr = host_peer_addr;
	h->local_addr = host_local_addr;
	h->peer_name = host_peer_name;
	h->set_udata = host_set_udata;
	h->udata = host_udata;
	h->conn_instance = host_conn_instance;
	h->conn_listener = host_conn_listener;
	h->listener_name = host_listener_name;
	h->pause_receive = host_pause_receive;
	h->timer_start = host_timer_start;
	h->timer_stop = host_timer_stop;
	h->sendto = host_sendto;
	h->connect = host_connect;
	kit_archive_table(h);
	h->wr_send = host_wr_send;
	h->wr_broadcast = host_wr_broadcast;
	h->send_frame = host_send_frame;
}

/* ------------------------------------------------------------- the loop */

/* Hand c what its input holds, as conn.c's read path does. */
static void
deliver(struct asockd_conn *c)
{
	struct asockd_test	*t = c->t;
	const unsigned char	*msg;
	const char		*why;
	size_t			 n, len, mlen, max;
	ssize_t			 r;

#define CAN_DELIVER(c) ((c)->state == C_OPEN && (c)->want == 0 &&	\
	(c)->closing == 0 && !(c)->paused && !(c)->over_high)
	while (CAN_DELIVER(c) && c->in.len > 0) {
		if (c->o.framing == ASOCKD_TEST_RAW) {
			if (t->desc.on_receive == NULL) {
				c->in.len = 0;
				break;
			}
			len = c->in.len;
			CB(t, c, KIT_CB_RECEIVE,
			    n = t->desc.on_receive(c, c->in.p, len));
			if (n > len) {
				violation(t, "conn %u: on_receive consumed %zu"
				    " of %zu bytes", c->id, n, len);
				n = len;
			}
			if (c->state != C_OPEN)
				return;
			buf_drop(&c->in, n);
			if (n == 0) {
				if (c->in.len >= c->o.max_input) {
					buf_printf(&t->log, "listener %s conn"
					    " %u peer %s: max_input reached",
					    c->l ? c->l->name : "(outbound)",
					    c->id, c->peer);
					conn_want(c, ASOCKD_CLOSE_PROTOCOL, 1);
				}
				break;
			}
			continue;
		}
		max = c->o.framing == ASOCKD_TEST_LINE ? c->o.max_line :
		    c->o.max_frame;
		r = kit_frame_next(c->o.framing, c->in.p, c->in.len, max,
		    &msg, &mlen, &why);
		if (r < 0) {
			buf_printf(&t->log, "listener %s conn %u peer %s: %s",
			    c->l ? c->l->name : "(outbound)", c->id, c->peer,
			    why);
			conn_want(c, ASOCKD_CLOSE_PROTOCOL, 1);
			return;
		}
		if (r == 0)
			break;
		if (t->desc.on_message != NULL)
			CB(t, c, KIT_CB_RECEIVE,
			    t->desc.on_message(c, msg, mlen));
		if (c->state != C_OPEN)
			return;
		buf_drop(&c->in, (size_t)r);
	}
	if (CAN_DELIVER(c) && c->eof_in && !c->eof_done) {
		c->eof_done = 1;
		c->in.len = 0;	/* a partial message or unconsumed bytes */
		if (t->desc.on_eof != NULL)
			CB(t, c, KIT_CB_EOF, t->desc.on_eof(c));
		else
			conn_want(c, ASOCKD_CLOSE_PEER, 0);
	}
#undef CAN_DELIVER
}

/* One turn of the loop for c; 1 when anything moved. */
static int
turn(struct asockd_conn *c)
{
	struct asockd_test	*t = c->t;
	size_t			 room, n, out0 = c->out.len, q0 = c->q.len;
	int			 moved = 0;

	if (c->reading && c->kern.len > 0) {
		buf_add(&c->out, c->kern.p, c->kern.len);
		c->kern.len = 0;
		if (c->state == C_OPEN)
			c->last_io = t->now;
	}
	if (c->state == C_CLOSED) {
		if (c->peer_eof == 0 && c->kern.len == 0)
			c->peer_eof = 1;
		return c->out.len != out0;
	}
	if (c->state != C_OPEN)
		return 0;
	if (c->q.len > 0) {
		room = c->o.sndbuf > c->kern.len ? c->o.sndbuf -
		    c->kern.len : 0;
		n = c->q.len < room ? c->q.len : room;
		buf_add(&c->kern, c->q.p, n);
		buf_drop(&c->q, n);
		if (n > 0)
			c->last_io = t->now;
	}
	if (c->over_high && c->q.len <= c->o.sndq_low) {
		c->over_high = 0;
		moved = 1;
		if (t->desc.on_send != NULL && c->want == 0 &&
		    c->closing == 0)
			CB(t, c, KIT_CB_SEND, t->desc.on_send(c));
	}
	if (c->state == C_OPEN && c->closing != 0 && c->q.len == 0)
		finish(c, c->closing, 0);
	if (c->state == C_OPEN && c->shut_wr && c->q.len == 0 &&
	    c->kern.len == 0 && c->peer_eof == 0)
		c->peer_eof = 1;
	if (c->state == C_OPEN)
		deliver(c);
	return moved || c->out.len != out0 || c->q.len != q0;
}

/* Timers due now, oldest due first. */
static int
fire_due(struct asockd_test *t)
{
	struct asockd_timer	*tm, *best;
	int			 fired = 0;

	for (;;) {
		best = NULL;
		TAILQ_FOREACH(tm, &t->timers, entry)
			if (!tm->dead && tm->due <= t->now &&
			    (best == NULL || tm->due < best->due))
				best = tm;
		if (best == NULL || fired >= KIT_EVENTS)
			return fired;
		fired++;
		if (best->repeat > 0)
			best->due += best->repeat;
		else
			best->dead = 1;
		CB(t, best->c, KIT_CB_TIMER, best->cb(best, best->arg));
	}
}

/* Idle timeouts due now (conn.c: abort with output queued, else close). */
static int
idle_due(struct asockd_test *t)
{
	struct asockd_conn	*c;
	int			 n = 0;

	TAILQ_FOREACH(c, &t->conns, entry) {
		if (c->state != C_OPEN || c->o.idle_timeout <= 0 ||
		    c->last_io + c->o.idle_timeout > t->now || c->want)
			continue;
		n++;
		conn_want(c, ASOCKD_CLOSE_TIMEOUT, c->q.len > 0 ||
		    c->closing != 0);
	}
	return n;
}

static void
turn_all(struct asockd_test *t, int turns)
{
	struct asockd_conn	*c;
	int			 i, moved;

	for (i = 0; i < turns; i++) {
		moved = fire_due(t) + idle_due(t);
		TAILQ_FOREACH(c, &t->conns, entry)
			moved |= turn(c);
		if (!moved)
			break;
	}
}

static void
settle(struct asockd_test *t)
{
	turn_all(t, KIT_SETTLE);
}

void
asockd_test_run(struct asockd_test *t, int n)
{
	turn_all(t, n);
}

/* The next time something is due after now and at most until, or -1. */
static double
next_due(struct asockd_test *t, double until)
{
	struct asockd_timer	*tm;
	struct asockd_conn	*c;
	double			 due = -1, d;

	TAILQ_FOREACH(tm, &t->timers, entry)
		if (!tm->dead && tm->due <= until &&
		    (due < 0 || tm->due < due))
			due = tm->due;
	TAILQ_FOREACH(c, &t->conns, entry) {
		if (c->state != C_OPEN || c->o.idle_timeout <= 0)
			continue;
		d = c->last_io + c->o.idle_timeout;
		if (d <= until && (due < 0 || d < due))
			due = d;
	}
	return due;
}

void
asockd_test_advance(struct asockd_test *t, double seconds)
{
	double	 until = t->now + (seconds > 0 ? seconds : 0), due;
	int	 i;

	settle(t);
	for (i = 0; i < KIT_EVENTS; i++) {
		if ((due = next_due(t, until)) < 0)
			break;
		if (due > t->now)
			t->now = due;
		settle(t);
	}
	t->now = until;
	settle(t);
}

double
asockd_test_now(struct asockd_test *t)
{
	return t->now;
}

/* -------------------------------------------------------------- loading */

static struct asockd_test *
test_setup(const struct asockd_plugin *d, const char *ini, char **err)
{
	struct asockd_test	*t;
	char			 dir[] = "/tmp/asockd-test.XXXXXX", *path;
	size_t			 n;
	int			 fd, r;

	t = kit_alloc(NULL, sizeof(*t));
	memset(t, 0, sizeof(*t));
	TAILQ_INIT(&t->conns);
	TAILQ_INIT(&t->reap);
	TAILQ_INIT(&t->listeners);
	TAILQ_INIT(&t->timers);
	t->inst.t = t;
	host_table(&t->host);
	memcpy(&t->desc, d, d->size < sizeof(t->desc) ? d->size :
	    sizeof(t->desc));
	if (t->desc.abi_minor < 2)
		t->desc.settings = NULL;
	if (t->desc.name == NULL)
		t->desc.name = "plugin";

	kit_cur = t;
	if (kit_ini_table_check(&t->desc, t->desc.name) == -1)
		goto fail;
	if (ini != NULL) {
		if (mkdtemp(dir) == NULL) {
			buf_printf(&t->log, "mkdtemp: %s", strerror(errno));
			goto fail;
		}
		n = strlen(dir) + sizeof("/ini");
		path = kit_alloc(NULL, n);
		snprintf(path, n, "%s/ini", dir);
		t->inipath = path;
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		r = fd == -1 ? -1 : (write(fd, ini, strlen(ini)) ==
		    (ssize_t)strlen(ini) ? 0 : -1);
		if (fd != -1)
			close(fd);
		if (r == 0)
			t->ini = kit_ini_load(path, &t->desc, t->desc.name);
		else
			buf_printf(&t->log, "%s: %s", path, strerror(errno));
		unlink(path);
		rmdir(dir);
		t->inipath = NULL;
		free(path);
		if (t->ini == NULL) {
			buf_printf(&t->log, "plugin %s: bad settings",
			    t->desc.name);
			goto fail;
		}
	}
	kit_cur = NULL;
	if (t->desc.init != NULL) {
		CB(t, NULL, KIT_CB_NONE,
		    r = t->desc.init(&t->host, &t->inst, &t->pdata));
		if (r < 0) {
			buf_printf(&t->log, "plugin %s: init failed: %s",
			    t->desc.name, strerror(-r));
			goto fail;
		}
	}
	t->inited = 1;
	return t;
fail:
	kit_cur = NULL;
	if (err != NULL)
		*err = strdup(buf_str(&t->log));
	asockd_test_free(t);
	return NULL;
}

static int
desc_check(const struct asockd_plugin *d, const char *what, char **err)
{
	char	 msg[1024];

	msg[0] = '\0';
	if (d == NULL)
		snprintf(msg, sizeof(msg), "%s has no '%s' symbol: not an"
		    " asockd plugin", what, ASOCKD_PLUGIN_SYMBOL_NAME);
	else if (d->abi_major != ASOCKD_TEST_ABI_MAJOR ||
	    d->abi_minor > ASOCKD_TEST_ABI_MINOR)
		snprintf(msg, sizeof(msg), "%s was built for plugin ABI"
		    " %u.%u, the test kit has ABI %u.%u", what, d->abi_major,
		    d->abi_minor, ASOCKD_TEST_ABI_MAJOR,
		    ASOCKD_TEST_ABI_MINOR);
	else if (d->size < DESC_MIN_SIZE)
		snprintf(msg, sizeof(msg), "%s has a descriptor of %u bytes,"
		    " at least %zu expected", what, d->size, DESC_MIN_SIZE);
	if (msg[0] == '\0')
		return 0;
	if (err != NULL)
		*err = strdup(msg);
	return -1;
}

struct asockd_test *
asockd_test_new(const struct asockd_plugin *desc, const char *ini,
    char **err)
{
	if (err != NULL)
		*err = NULL;
	if (desc_check(desc, "the descriptor", err) == -1)
		return NULL;
	return test_setup(desc, ini, err);
}

struct asockd_test *
asockd_test_load(const char *path, const char *ini, char **err)
{
	const struct asockd_plugin *d;
	struct asockd_test	*t;
	void			*dl;
	char			 msg[1024];

	if (err != NULL)
		*err = NULL;
	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(msg, sizeof(msg), "cannot load %s: %s", path,
		    dlerror());
		if (err != NULL)
			*err = strdup(msg);
		return NULL;
	}
	d = dlsym(dl, ASOCKD_PLUGIN_SYMBOL_NAME);
	if (desc_check(d, path, err) == -1 ||
	    (t = test_setup(d, ini, err)) == NULL) {
		dlclose(dl);
		return NULL;
	}
	t->dl = dl;
	return t;
}

int
asockd_test_validate(struct asockd_test *t)
{
	int	 r = 0;

	if (t->desc.validate != NULL)
		CB(t, NULL, KIT_CB_NONE, r = t->desc.validate(&t->inst));
	return r;
}

void
asockd_test_free(struct asockd_test *t)
{
	struct asockd_conn	*c;
	struct asockd_listener	*l;
	struct asockd_timer	*tm;
	struct dgram		*d;

	if (t == NULL)
		return;
	TAILQ_FOREACH(c, &t->conns, entry) {
		if (c->state == C_CONNECTING)
			finish(c, ASOCKD_CLOSE_SHUTDOWN, 1);
		else if (c->state == C_OPEN)
			finish(c, ASOCKD_CLOSE_SHUTDOWN, 0);
	}
	if (t->inited && t->desc.fini != NULL)
		CB(t, NULL, KIT_CB_NONE, t->desc.fini(&t->inst));
	kit_rd_gc();
	while ((c = TAILQ_FIRST(&t->conns)) != NULL) {
		TAILQ_REMOVE(&t->conns, c, entry);
		buf_free(&c->in);
		buf_free(&c->kern);
		buf_free(&c->q);
		buf_free(&c->out);
		buf_free(&c->msg);
		free(c->target);
		free(c);
	}
	while ((tm = TAILQ_FIRST(&t->timers)) != NULL) {
		TAILQ_REMOVE(&t->timers, tm, entry);
		free(tm);
	}
	while ((l = TAILQ_FIRST(&t->listeners)) != NULL) {
		TAILQ_REMOVE(&t->listeners, l, entry);
		while ((d = STAILQ_FIRST(&l->dgrams)) != NULL) {
			STAILQ_REMOVE_HEAD(&l->dgrams, entry);
			buf_free(&d->data);
			free(d);
		}
		if (l->taken != NULL) {
			buf_free(&l->taken->data);
			free(l->taken);
		}
		free(l->name);
		free(l);
	}
	kit_ini_free(t->ini);
	if (t->dl != NULL)
		dlclose(t->dl);
	buf_free(&t->log);
	buf_free(&t->viol);
	buf_free(&t->report);
	buf_free(&t->tmp);
	free(t);
}

const char *
asockd_test_log(struct asockd_test *t)
{
	return buf_str(&t->log);
}

void
asockd_test_log_clear(struct asockd_test *t)
{
	t->log.len = 0;
}

const char *
asockd_test_violations(struct asockd_test *t)
{
	return buf_str(&t->viol);
}

int
asockd_test_nviolations(struct asockd_test *t)
{
	return t->nviol;
}

const char *
asockd_test_report(struct asockd_test *t)
{
	return buf_str(&t->report);
}

/* ------------------------------------------------------------ listeners */

struct asockd_listener *
asockd_test_listener(struct asockd_test *t, const char *name, int kind,
    int framing)
{
	struct asockd_listener	*l;

	if (kind < ASOCKD_TCP || kind > ASOCKD_UNIX_DGRAM ||
	    framing < ASOCKD_TEST_RAW || framing > ASOCKD_TEST_ARCHIVE)
		return NULL;
	if ((kind == ASOCKD_UDP || kind == ASOCKD_UNIX_DGRAM) &&
	    framing != ASOCKD_TEST_RAW)
		return NULL;
	l = kit_alloc(NULL, sizeof(*l));
	memset(l, 0, sizeof(*l));
	l->t = t;
	l->name = strdup(name ? name : "test");
	if (l->name == NULL)
		abort();
	l->kind = kind;
	l->framing = framing;
	l->max_line = 8192;
	l->max_frame = 1048576;
	l->max_input = 65536;
	l->sndq_high = 262144;
	l->sndq_low = 65536;
	l->sndq_max = 4194304;
	l->sndbuf = KIT_SNDBUF;
	l->idle_timeout = 300;
	STAILQ_INIT(&l->dgrams);
	TAILQ_INSERT_TAIL(&t->listeners, l, entry);
	return l;
}

int
asockd_test_option(struct asockd_listener *l, const char *name,
    double value)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} opts[] = {
		{ "max_line", offsetof(struct asockd_listener, max_line) },
		{ "max_frame", offsetof(struct asockd_listener, max_frame) },
		{ "max_input", offsetof(struct asockd_listener, max_input) },
		{ "sndq_high", offsetof(struct asockd_listener, sndq_high) },
		{ "sndq_low", offsetof(struct asockd_listener, sndq_low) },
		{ "sndq_max", offsetof(struct asockd_listener, sndq_max) },
		{ "sndbuf", offsetof(struct asockd_listener, sndbuf) },
	};
	size_t	 i;

	if (l == NULL || name == NULL || !(value >= 0))
		return -EINVAL;
	if (strcmp(name, "idle_timeout") == 0) {
		l->idle_timeout = value;
		return 0;
	}
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (strcmp(name, opts[i].name) == 0) {
			*(size_t *)(void *)((char *)l + opts[i].off) =
			    (size_t)value;
			return 0;
		}
	return -EINVAL;
}

/* ------------------------------------------------------------- the peer */

static void
conn_addrs(struct asockd_conn *c, const char *peer)
{
	char	 def[64];

	if (c->l != NULL && (c->l->kind == ASOCKD_UNIX ||
	    c->l->kind == ASOCKD_UNIX_DGRAM)) {
		snprintf(def, sizeof(def), "unix:");
		snprintf(c->local, sizeof(c->local), "unix:/run/asockd/%s",
		    c->l->name);
	} else {
		snprintf(def, sizeof(def), "127.0.0.1:%u", 40000 + c->id);
		snprintf(c->local, sizeof(c->local), "127.0.0.1:7");
	}
	snprintf(c->peer, sizeof(c->peer), "%s", peer ? peer : def);
	if (addr_parse(c->peer, &c->pss, &c->plen) == -1)
		addr_parse(def, &c->pss, &c->plen);
	addr_parse(c->local, &c->lss, &c->llen);
}

int
asockd_test_accept(struct asockd_listener *l, const char *peer,
    struct asockd_conn **out)
{
	struct asockd_test	*t = l->t;
	struct asockd_conn	*c;
	int			 r = 0;

	if (l->kind != ASOCKD_TCP && l->kind != ASOCKD_UNIX)
		return -EOPNOTSUPP;
	c = conn_new(t, l);
	conn_addrs(c, peer);
	c->state = C_OPEN;
	if (out != NULL)
		*out = c;
	/*
	 * A close asked for inside on_accept waits until the refusal is
	 * known: a refused connection gets no on_close.
	 */
	c->accepted = 1;
	t->depth++;
	if (t->desc.on_accept != NULL)
		CB(t, c, KIT_CB_ACCEPT, r = t->desc.on_accept(c));
	t->depth--;
	if (r < 0) {
		buf_printf(&t->log, "listener %s conn %u peer %s: refused"
		    " by the plugin: %s", l->name, c->id, c->peer,
		    strerror(-r));
		c->accepted = 0;
		finish(c, ASOCKD_CLOSE_CONNECT, 1);
	}
	kit_rd_gc();
	reap(t);
	if (r < 0)
		return r;
	settle(t);
	return 0;
}

int
asockd_test_feed(struct asockd_conn *c, const void *buf, size_t len)
{
	if (c->state == C_CONNECTING)
		return -ENOTCONN;
	if (c->state != C_OPEN || c->want != 0 || c->closing != 0 ||
	    c->eof_in)
		return -EPIPE;
	buf_add(&c->in, buf, len);
	if (len > 0)
		c->last_io = c->t->now;
	deliver(c);
	settle(c->t);
	return 0;
}

int
asockd_test_feed_chunks(struct asockd_conn *c, const void *buf, size_t len,
    size_t chunk)
{
	const unsigned char	*p = buf;
	size_t			 off, n;
	int			 r;

	if (chunk == 0)
		chunk = len ? len : 1;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		if ((r = asockd_test_feed(c, p + off, n)) != 0)
			return r;
	}
	return 0;
}

int
asockd_test_eof(struct asockd_conn *c)
{
	if (c->state == C_CONNECTING)
		return -ENOTCONN;
	if (c->state != C_OPEN || c->eof_in)
		return -EPIPE;
	c->eof_in = 1;
	deliver(c);
	settle(c->t);
	return 0;
}

int
asockd_test_reset(struct asockd_conn *c)
{
	if (c->state == C_CONNECTING)
		return -ENOTCONN;
	if (c->state != C_OPEN)
		return -EPIPE;
	c->in.len = 0;
	conn_want(c, ASOCKD_CLOSE_RESET, 1);
	settle(c->t);
	return 0;
}

int
asockd_test_oob(struct asockd_conn *c, unsigned char byte)
{
	struct asockd_test	*t = c->t;

	if (c->state != C_OPEN || c->want != 0 || c->closing != 0)
		return -EPIPE;
	if (t->desc.on_oob != NULL)
		CB(t, c, KIT_CB_RECEIVE, t->desc.on_oob(c, byte));
	settle(t);
	return 0;
}

int
asockd_test_peer_reading(struct asockd_conn *c, int reading)
{
	c->reading = reading != 0;
	settle(c->t);
	return 0;
}

const void *
asockd_test_output(struct asockd_conn *c, size_t *len)
{
	*len = c->out.len;
	return buf_str(&c->out);
}

void
asockd_test_output_clear(struct asockd_conn *c)
{
	c->out.len = 0;
}

const void *
asockd_test_message(struct asockd_conn *c, size_t *len)
{
	const unsigned char	*msg;
	const char		*why;
	size_t			 mlen, max;
	ssize_t			 r;

	*len = 0;
	if (c->o.framing == ASOCKD_TEST_RAW) {
		if (c->out.len == 0)
			return NULL;
		c->msg.len = 0;
		buf_add(&c->msg, c->out.p, c->out.len);
		c->out.len = 0;
		*len = c->msg.len;
		return c->msg.p;
	}
	max = c->o.framing == ASOCKD_TEST_LINE ? c->o.max_line :
	    c->o.max_frame;
	r = kit_frame_next(c->o.framing, c->out.p, c->out.len, max, &msg,
	    &mlen, &why);
	if (r <= 0)
		return NULL;
	c->msg.len = 0;
	buf_add(&c->msg, msg, mlen);
	if (c->msg.p == NULL)
		buf_add(&c->msg, "", 1), c->msg.len = 0;
	buf_drop(&c->out, (size_t)r);
	*len = mlen;
	return c->msg.p;
}

int
asockd_test_closed(struct asockd_conn *c)
{
	return c->state == C_CLOSED ? c->reason : 0;
}

int
asockd_test_peer_eof(struct asockd_conn *c)
{
	return c->peer_eof;
}

/* ------------------------------------------------------------- outbound */

struct asockd_conn *
asockd_test_connect_next(struct asockd_test *t, const char **target)
{
	struct asockd_conn	*c;

	TAILQ_FOREACH(c, &t->conns, entry)
		if (c->state == C_CONNECTING) {
			if (target != NULL)
				*target = c->target;
			return c;
		}
	return NULL;
}

int
asockd_test_connect_finish(struct asockd_conn *c, int err)
{
	struct asockd_test	*t = c->t;

	if (c->state != C_CONNECTING)
		return -EALREADY;
	if (err > 0)
		return -EINVAL;
	if (err == 0) {
		c->state = C_OPEN;
		c->accepted = 1;
		c->last_io = t->now;
		if (addr_parse(c->target + (strncmp(c->target, "tcp://", 6) ?
		    0 : 6), &c->pss, &c->plen) == -1)
			addr_parse("127.0.0.1:1", &c->pss, &c->plen);
		addr_parse("127.0.0.1:50000", &c->lss, &c->llen);
	}
	if (t->desc.on_connect != NULL)
		CB(t, c, KIT_CB_NONE, t->desc.on_connect(c, err));
	if (err != 0) {
		/* the handle goes once on_connect returns; no on_close */
		c->accepted = 0;
		finish(c, ASOCKD_CLOSE_CONNECT, 1);
	}
	settle(t);
	return 0;
}

/* ------------------------------------------------------------ datagrams */

int
asockd_test_datagram(struct asockd_listener *l, const void *buf, size_t len,
    const char *from)
{
	struct asockd_test	*t = l->t;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;

	if (l->kind != ASOCKD_UDP && l->kind != ASOCKD_UNIX_DGRAM)
		return -EOPNOTSUPP;
	if (addr_parse(from ? from : "127.0.0.1:40000", &ss, &sslen) == -1)
		return -EINVAL;
	if (t->desc.on_datagram != NULL)
		CB(t, NULL, KIT_CB_NONE,
		    t->desc.on_datagram(l, buf, len, (struct sockaddr *)&ss,
		    sslen));
	settle(t);
	return 0;
}

const void *
asockd_test_sent_datagram(struct asockd_listener *l, size_t *len, char *to,
    size_t tolen)
{
	struct dgram	*d;

	if (l->taken != NULL) {
		buf_free(&l->taken->data);
		free(l->taken);
		l->taken = NULL;
	}
	*len = 0;
	if ((d = STAILQ_FIRST(&l->dgrams)) == NULL)
		return NULL;
	STAILQ_REMOVE_HEAD(&l->dgrams, entry);
	l->taken = d;
	if (to != NULL && tolen > 0)
		snprintf(to, tolen, "%s", d->to);
	*len = d->data.len;
	return buf_str(&d->data);
}

/* -------------------------------------------------------------- check.c */

int
kit_conn_callbacks(struct asockd_conn *c)
{
	return c->late;
}

void
kit_arm_reset(struct asockd_test *t, int kind)
{
	t->arm_next = kind;
}

int
kit_has_cb(struct asockd_test *t, int kind)
{
	switch (kind) {
	case KIT_CB_ACCEPT:
		return t->desc.on_accept != NULL;
	case KIT_CB_RECEIVE:
		return t->desc.on_receive != NULL ||
		    t->desc.on_message != NULL;
	case KIT_CB_SEND:
		return t->desc.on_send != NULL;
	case KIT_CB_EOF:
		return t->desc.on_eof != NULL;
	case KIT_CB_TIMER:
		return 1;	/* whether it starts any shows at run time */
	}
	return 0;
}

void
kit_host_close(struct asockd_conn *c)
{
	conn_want(c, ASOCKD_CLOSE_SHUTDOWN, 0);
	settle(c->t);
}

void
kit_conn_sndbuf(struct asockd_conn *c, size_t sndbuf)
{
	c->o.sndbuf = sndbuf;
}

struct asockd_test *
kit_listener_test(struct asockd_listener *l)
{
	return l->t;
}
