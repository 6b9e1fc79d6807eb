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
 *    only recorded and carried out by kit_reap() once the outermost one has
 *    returned, so callbacks never nest and a connection never closes
 *    under its own callback;
 *  - on_close runs once per accepted (or connected) connection, from
 *    kit_finish(), after which the connection is a tombstone: it is kept
 *    until asockd_test_free so that a plugin's later use of the handle is
 *    caught and reported as a violation instead of being a use after
 *    free; timers likewise.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct asockd_test *kit_cur;

/* -------------------------------------------------------------- buffers */

void *
kit_alloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL) {
		fprintf(stderr, "asockd-test: out of memory\n");
		abort();
	}
	return p;
}

void
kit_buf_add(struct buf *b, const void *p, size_t n)
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

void
kit_buf_drop(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

void
kit_buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

const char *
kit_buf_str(struct buf *b)
{
	return b->len ? (const char *)b->p : "";
}

void
kit_buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	char	 line[2048];
	int	 n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	kit_buf_add(b, line, (size_t)n < sizeof(line) ? (size_t)n :
	    sizeof(line) - 1);
	kit_buf_add(b, "\n", 1);
}

void __attribute__((format(printf, 2, 3)))
kit_buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	kit_buf_vprintf(b, fmt, ap);
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
	kit_buf_printf(&kit_cur->log, "%s", line);
}

void __attribute__((format(printf, 2, 3)))
kit_violation(struct asockd_test *t, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	kit_buf_vprintf(&t->viol, fmt, ap);
	va_end(ap);
	t->nviol++;
}

void
kit_report(struct asockd_test *t, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	kit_buf_vprintf(&t->report, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ addresses */

int
kit_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
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

void
kit_addr_format(const struct sockaddr *sa, socklen_t len, char *out,
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

void
kit_cb_enter(struct asockd_test *t, struct asockd_conn *c, int kind)
{
	if (c != NULL) {
		if (c->depth > 0)
			kit_violation(t, "asockd-test: internal: nested"
			    " callback on conn %u", c->id);
		if (c->state == C_CLOSED)
			c->late++;
		c->depth++;
		c->kind = kind;
	}
	t->depth++;
}

void kit_reap(struct asockd_test *);

void
kit_cb_leave(struct asockd_test *t, struct asockd_conn *c)
{
	if (c != NULL) {
		c->depth--;
		c->kind = KIT_CB_NONE;
	}
	if (--t->depth == 0) {
		kit_rd_gc();
		kit_reap(t);
	}
}


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
void
kit_finish(struct asockd_conn *c, int reason, int abort)
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
		kit_finish(c, reason, 1);
		return;
	}
	if (c->want_abort)
		kit_finish(c, reason, 1);
	else {
		if (c->closing == 0)
			c->closing = reason;
		c->in.len = 0;
		if (c->q.len == 0)
			kit_finish(c, c->closing, 0);
	}
}

void
kit_reap(struct asockd_test *t)
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
void
kit_conn_want(struct asockd_conn *c, int reason, int abort)
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

struct asockd_conn *
kit_conn_new(struct asockd_test *t, struct asockd_listener *l)
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
int
kit_live(struct asockd_conn *c, const char *call)
{
	if (c == NULL)
		return 0;
	if (c->state == C_CLOSED) {
		kit_violation(c->t, "conn %u: host->%s after on_close", c->id,
		    call);
		return 0;
	}
	if (c->arm != KIT_CB_NONE && c->kind == c->arm) {
		c->arm = KIT_CB_NONE;
		kit_conn_want(c, ASOCKD_CLOSE_RESET, 1);
	}
	return 1;
}

/* ------------------------------------------------------------- the loop */

#define CAN_DELIVER(c) ((c)->state == C_OPEN && (c)->want == 0 &&	\
	(c)->closing == 0 && !(c)->paused && !(c)->over_high)

static const char *
lname(const struct asockd_conn *c)
{
	return c->l ? c->l->name : "(outbound)";
}

/* One on_receive over the raw input; 1 when delivery should stop. */
static int
deliver_raw(struct asockd_test *t, struct asockd_conn *c)
{
	size_t	 n, len = c->in.len;

	if (t->desc.on_receive == NULL) {
		c->in.len = 0;
		return 1;
	}
	CB(t, c, KIT_CB_RECEIVE, n = t->desc.on_receive(c, c->in.p, len));
	if (n > len) {
		kit_violation(t, "conn %u: on_receive consumed %zu of %zu"
		    " bytes", c->id, n, len);
		n = len;
	}
	if (c->state != C_OPEN)
		return 1;
	kit_buf_drop(&c->in, n);
	if (n > 0)
		return 0;
	/* nothing taken: wait for more, unless the buffer is full */
	if (c->in.len >= c->o.max_input) {
		kit_buf_printf(&t->log, "listener %s conn %u peer %s:"
		    " max_input reached", lname(c), c->id, c->peer);
		kit_conn_want(c, ASOCKD_CLOSE_PROTOCOL, 1);
	}
	return 1;
}

/* One message off a framed input; 1 when delivery should stop. */
static int
deliver_msg(struct asockd_test *t, struct asockd_conn *c)
{
	const unsigned char	*msg;
	const char		*why;
	size_t			 mlen, max;
	ssize_t			 r;

	max = c->o.framing == ASOCKD_TEST_LINE ? c->o.max_line :
	    c->o.max_frame;
	r = kit_frame_next(c->o.framing, c->in.p, c->in.len, max, &msg,
	    &mlen, &why);
	if (r < 0) {
		kit_buf_printf(&t->log, "listener %s conn %u peer %s: %s",
		    lname(c), c->id, c->peer, why);
		kit_conn_want(c, ASOCKD_CLOSE_PROTOCOL, 1);
		return 1;
	}
	if (r == 0)
		return 1;
	/* msg points into c->in, which nothing changes until it returns */
	if (t->desc.on_message != NULL)
		CB(t, c, KIT_CB_RECEIVE, t->desc.on_message(c, msg, mlen));
	if (c->state != C_OPEN)
		return 1;
	kit_buf_drop(&c->in, (size_t)r);
	return 0;
}

/* Hand c what its input holds, as conn_read.c's read path does. */
void
kit_deliver(struct asockd_conn *c)
{
	struct asockd_test	*t = c->t;
	int			 stop = 0;

	while (!stop && CAN_DELIVER(c) && c->in.len > 0)
		stop = c->o.framing == ASOCKD_TEST_RAW ?
		    deliver_raw(t, c) : deliver_msg(t, c);
	if (CAN_DELIVER(c) && c->eof_in && !c->eof_done) {
		c->eof_done = 1;
		c->in.len = 0;	/* a partial message or unconsumed bytes */
		if (t->desc.on_eof != NULL)
			CB(t, c, KIT_CB_EOF, t->desc.on_eof(c));
		else
			kit_conn_want(c, ASOCKD_CLOSE_PEER, 0);
	}
}

/* One turn of the loop for c; 1 when anything moved. */
static int
turn(struct asockd_conn *c)
{
	struct asockd_test	*t = c->t;
	size_t			 cap, room, n, out0 = c->out.len;
	size_t			 q0 = c->q.len;
	int			 moved = 0;

	if (c->reading && c->kern.len > 0) {
		kit_buf_add(&c->out, c->kern.p, c->kern.len);
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
		/* a reading peer empties even a socket of size 0 */
		cap = c->o.sndbuf == 0 && c->reading ? KIT_SNDBUF :
		    c->o.sndbuf;
		room = cap > c->kern.len ? cap - c->kern.len : 0;
		n = c->q.len < room ? c->q.len : room;
		kit_buf_add(&c->kern, c->q.p, n);
		kit_buf_drop(&c->q, n);
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
		kit_finish(c, c->closing, 0);
	if (c->state == C_OPEN && c->shut_wr && c->q.len == 0 &&
	    c->kern.len == 0 && c->peer_eof == 0)
		c->peer_eof = 1;
	if (c->state == C_OPEN)
		kit_deliver(c);
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
		kit_conn_want(c, ASOCKD_CLOSE_TIMEOUT, c->q.len > 0 ||
		    c->closing != 0);
	}
	return n;
}

void
kit_turn_all(struct asockd_test *t, int turns)
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

void
kit_settle(struct asockd_test *t)
{
	kit_turn_all(t, KIT_SETTLE);
}

void
asockd_test_run(struct asockd_test *t, int n)
{
	kit_turn_all(t, n);
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

	kit_settle(t);
	for (i = 0; i < KIT_EVENTS; i++) {
		if ((due = next_due(t, until)) < 0)
			break;
		if (due > t->now)
			t->now = due;
		kit_settle(t);
	}
	t->now = until;
	kit_settle(t);
}

double
asockd_test_now(struct asockd_test *t)
{
	return t->now;
}
