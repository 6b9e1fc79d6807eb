/*
 * conn_read.c - the read path of a stream connection: reading (through
 * TLS when the connection has it), handing the bytes to the plugin or
 * splitting them into messages, keeping what it did not consume, end of
 * stream, pausing, and the fair share of each loop turn.
 *
 * The host reads into one shared buffer (rbuf), hands the bytes to the
 * plugin's on_receive (or splits them into messages for on_message), and
 * keeps only what the plugin did not consume in a per-connection buffer
 * (c->in), freed again once it is empty.
 *
 * Fairness: one connection gets a bounded share of each loop turn.  A
 * framed connection is handed at most TURN_MSGS messages or TURN_BYTES
 * bytes per turn; what is left stays in its input buffer, its read watcher
 * stops (so the buffer does not grow), and it goes on the run queue, which
 * an ev_check watcher serves once per loop turn (an ev_idle watcher keeps
 * the loop from blocking in poll meanwhile).  The order of bytes and
 * messages is unchanged, and end of stream is only read once the buffered
 * messages are delivered, so on_close still follows the last byte.  A read
 * takes at most ASOCKD_READ_BUF new bytes.
 *
 * The rest of a connection's life (state, references, sends, closing) is
 * conn.c's; conn_finish() takes a connection off the run queue here
 * (conn_read_unqueue()) before it frees it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "asockd.h"

#define INBUF_MIN	4096
#define TURN_MSGS	64		/* messages per connection per turn */
#define TURN_BYTES	(64 * 1024)	/* message bytes per turn */

static unsigned char	 rbuf[ASOCKD_READ_BUF];

/* Connections with messages left over from an earlier turn. */
static TAILQ_HEAD(, asockd_conn) runq = TAILQ_HEAD_INITIALIZER(runq);
static unsigned int	 runq_len;
static ev_check		 runq_check;
static ev_idle		 runq_idle;

static void	 runq_cb(struct ev_loop *, ev_check *, int);
static void	 runq_idle_cb(struct ev_loop *, ev_idle *, int);
static void	 conn_sched(struct asockd_conn *);

/*
 * Reading from c is held because c's own output queue is over its
 * high-water mark -- unless its plugin paces reading itself
 * (ASOCKD_F_OWN_FLOW: a proxy, where holding a side's reads for that
 * side's own output would deadlock against an upstream that answers
 * only while its answers are read).
 */
int
conn_read_held(const struct asockd_conn *c)
{
	return c->blocked && !(c->inst->desc->flags & ASOCKD_F_OWN_FLOW);
}

/*
 * The read watcher runs again: TLS may hold decrypted bytes the socket no
 * longer signals, so make libev call us once more for them.
 */
void
conn_read_kick(struct asockd_conn *c)
{
	if (c->tls != NULL && ev_is_active(&c->rio) && tls_pending(c->tls))
		ev_feed_event(proc.loop, &c->rio, EV_READ);
}

/* Input buffer limit: raw max_input, or room for one whole frame. */
static size_t
conn_inlimit(struct asockd_conn *c)
{
	struct listener_conf	*lc;

	if (c->listener == NULL)
		return DEF_MAX_INPUT;
	lc = c->listener->conf;
	switch (lc->framing) {
	case FRAMING_LINE:
		return lc->max_input > lc->max_line + 2 ?
		    lc->max_input : lc->max_line + 2;
	case FRAMING_LENGTH:
	case FRAMING_ARCHIVE:
		return lc->max_input > lc->max_frame + 4 ?
		    lc->max_input : lc->max_frame + 4;
	default:
		return lc->max_input;
	}
}

/*
 * Hand data to the plugin; returns the bytes consumed, or -1 when the peer
 * broke the framing (the connection is then being aborted).  A framed
 * connection gets at most one turn's share (TURN_MSGS, TURN_BYTES), and
 * nothing while it is paused or over its high-water mark: then c->pending
 * says that whole messages may be left.
 */
static ssize_t
conn_deliver(struct asockd_conn *c, const unsigned char *data, size_t len)
{
	const struct asockd_plugin	*d = c->inst->desc;
	const unsigned char		*msg;
	const char			*why;
	size_t				 off = 0, msglen, consumed;
	ssize_t				 n;
	int				 framing, nmsg = 0;

	framing = c->listener ? c->listener->conf->framing : FRAMING_RAW;
	if (framing == FRAMING_RAW) {
		CTR_ADD(c->ctr->msgs_in, 1);
		if (d->on_receive == NULL)
			return len;
		CB_CALL_P(c->inst,
		    consumed = d->on_receive(c, data, len));
		if (consumed > len) {
			conn_log(c, LOG_WARNING, "plugin %s consumed %zu of %zu"
			    " bytes", c->inst->name, consumed, len);
			consumed = len;
		}
		return consumed;
	}
	c->pending = 0;
	while (off < len && c->close_reason == 0) {
		if (c->rpaused || conn_read_held(c) || nmsg == TURN_MSGS ||
		    off >= TURN_BYTES) {
			/* the rest waits for a later turn (runq_cb) */
			c->pending = 1;
			break;
		}
		n = frame_next(framing, data + off, len - off,
		    framing == FRAMING_LINE ? c->listener->conf->max_line :
		    c->listener->conf->max_frame, &msg, &msglen, &why);
		if (n == 0)
			break;
		if (n < 0) {
			CTR_ADD(c->ctr->framing_errors, 1);
			conn_log(c, LOG_NOTICE, "framing error: %s", why);
			conn_abort(c, ASOCKD_CLOSE_PROTOCOL);
			return -1;
		}
		off += n;
		nmsg++;
		CTR_ADD(c->ctr->msgs_in, 1);
		if (d->on_message != NULL) {
			CB_CALL_P(c->inst, d->on_message(c, msg, msglen));
		}
	}
	return off;
}

/* Keep the len - consumed unconsumed bytes of data for the next round. */
static void
conn_keep(struct asockd_conn *c, const unsigned char *data, size_t len,
    size_t consumed)
{
	size_t	 left = len - consumed;

	if (data != c->in) {
		if (left == 0)
			return;
		if (c->incap < left) {
			c->incap = left < INBUF_MIN ? INBUF_MIN : left;
			free(c->in);
			c->in = xmalloc(c->incap);
		}
		memcpy(c->in, data + consumed, left);
		c->inlen = left;
		return;
	}
	if (left == 0) {
		/* an idle connection keeps no buffer */
		free(c->in);
		c->in = NULL;
		c->inlen = c->incap = 0;
		return;
	}
	if (consumed > 0)
		memmove(c->in, c->in + consumed, left);
	c->inlen = left;
}

static void
conn_eof(struct asockd_conn *c)
{
	const struct asockd_plugin	*d = c->inst->desc;
	int				 framing;

	c->eof = 1;
	ev_io_stop(proc.loop, &c->rio);
	framing = c->listener ? c->listener->conf->framing : FRAMING_RAW;
	if (c->inlen > 0 && framing != FRAMING_RAW) {
		CTR_ADD(c->ctr->framing_errors, 1);
		conn_log(c, LOG_NOTICE, "framing error: truncated %s at end"
		    " of stream (%zu bytes)", framing == FRAMING_LINE ?
		    "line" : "frame", c->inlen);
		conn_abort(c, ASOCKD_CLOSE_PROTOCOL);
		return;
	}
	if (c->inlen > 0)
		conn_log(c, LOG_DEBUG, "%zu unconsumed bytes at end of stream",
		    c->inlen);
	if (d->on_eof != NULL) {
		CB_CALL_P(c->inst, d->on_eof(c));
	} else
		conn_close(c, ASOCKD_CLOSE_PEER);
}

void
conn_read_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct asockd_conn	*c = w->data;
	unsigned char		*buf;
	size_t			 cap, limit;
	ssize_t			 n, consumed;

	if (c->inlen == 0) {
		buf = rbuf;
		cap = sizeof(rbuf);
	} else {
		limit = conn_inlimit(c);
		if (c->inlen >= limit) {
			conn_log(c, LOG_NOTICE, "input buffer full (%zu bytes)"
			    " and the plugin consumes nothing", c->inlen);
			conn_abort(c, ASOCKD_CLOSE_PROTOCOL);
			return;
		}
		if (c->incap - c->inlen < INBUF_MIN && c->incap < limit) {
			c->incap = c->incap * 2 > limit ? limit : c->incap * 2;
			c->in = xrealloc(c->in, c->incap);
		}
		buf = c->in + c->inlen;
		cap = c->incap - c->inlen;
		if (cap > ASOCKD_READ_BUF)
			cap = ASOCKD_READ_BUF;	/* a bounded share per turn */
	}
	if (c->tls == NULL)
		n = recv(c->fd, buf, cap, 0);
	else {
		if (tls_write_wants_read(c->tls))
			ev_io_start(l, &c->wio);	/* the write goes on */
		n = tls_read(c->tls, buf, cap);
		if (tls_want_write(c->tls))
			ev_io_start(l, &c->wio);	/* e.g. a key update */
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (c->tls != NULL)
			conn_log(c, errno == EPROTO ? LOG_NOTICE : LOG_DEBUG,
			    "TLS: %s", tls_error(c->tls));
		else
			conn_log(c, LOG_DEBUG, "recv: %s", strerror(errno));
		conn_abort(c, errno == EPROTO ? ASOCKD_CLOSE_PROTOCOL :
		    conn_errno_reason(errno));
		return;
	}
	conn_ref(c);
	if (n == 0) {
		if (c->rec != NULL)
			record_mark(c->rec, RECORD_EOF, ev_now(l), 0);
		conn_eof(c);
		conn_unref(c);
		return;
	}
	c->bytes_in += n;
	CTR_ADD(c->ctr->bytes_in, n);
	c->last_active = ev_now(l);
	if (c->rec != NULL)
		record_read(c->rec, ev_now(l), buf, n);
	if (buf == rbuf) {
		consumed = conn_deliver(c, rbuf, n);
		if (consumed >= 0 && c->state != CONN_CLOSED)
			conn_keep(c, rbuf, n, consumed);
	} else {
		c->inlen += n;
		consumed = conn_deliver(c, c->in, c->inlen);
		if (consumed >= 0 && c->state != CONN_CLOSED)
			conn_keep(c, c->in, c->inlen, consumed);
	}
	if (consumed >= 0 && c->pending)
		conn_sched(c);
	else if (c->tls != NULL && c->state == CONN_OPEN)
		conn_read_kick(c);
	conn_unref(c);
}

/*
 * Messages are left in c's buffer: stop reading (the buffer must not grow
 * and end of stream must wait for them) and serve c again next turn, now
 * unless it is paused or blocked (conn_input_resume() then calls us).
 */
static void
conn_sched(struct asockd_conn *c)
{
	ev_io_stop(proc.loop, &c->rio);
	if (c->runq || c->state != CONN_OPEN || c->close_reason != 0 ||
	    c->rpaused || conn_read_held(c))
		return;
	if (runq_len++ == 0) {
		/* both are stopped while the queue is empty */
		ev_check_init(&runq_check, runq_cb);
		ev_idle_init(&runq_idle, runq_idle_cb);	/* poll won't block */
		ev_check_start(proc.loop, &runq_check);
		ev_idle_start(proc.loop, &runq_idle);
	}
	c->runq = 1;
	TAILQ_INSERT_TAIL(&runq, c, run_entry);
}

/* Take c off the run queue (c->pending stays as it is). */
void
conn_read_unqueue(struct asockd_conn *c)
{
	if (!c->runq)
		return;
	TAILQ_REMOVE(&runq, c, run_entry);
	c->runq = 0;
	if (--runq_len == 0) {
		ev_check_stop(proc.loop, &runq_check);
		ev_idle_stop(proc.loop, &runq_idle);
	}
}

static void
runq_idle_cb(struct ev_loop *l, ev_idle *w, int revents)
{
	/* nothing: an active idle watcher only makes poll return at once */
}

/* Once per loop turn: one more share for each connection on the queue. */
static void
runq_cb(struct ev_loop *l, ev_check *w, int revents)
{
	struct asockd_conn	*c;
	unsigned int		 n = runq_len;
	ssize_t			 consumed;

	/* those queued again go to the tail: each is served once a turn */
	while (n-- > 0 && (c = TAILQ_FIRST(&runq)) != NULL) {
		conn_read_unqueue(c);
		conn_ref(c);
		consumed = conn_deliver(c, c->in, c->inlen);
		if (consumed >= 0 && c->state != CONN_CLOSED)
			conn_keep(c, c->in, c->inlen, consumed);
		if (consumed >= 0) {
			if (c->pending)
				conn_sched(c);
			else
				conn_input_resume(c);
		}
		conn_unref(c);
	}
}

/* Paused, blocked or queued input may flow again: read or deliver. */
void
conn_input_resume(struct asockd_conn *c)
{
	if (c->state != CONN_OPEN || c->close_reason != 0 || c->rpaused ||
	    conn_read_held(c))
		return;
	if (c->pending)
		conn_sched(c);
	else if (!c->eof) {
		ev_io_start(proc.loop, &c->rio);
		conn_read_kick(c);
	}
}

void
conn_pause_receive(struct asockd_conn *c, int paused)
{
	c->rpaused = paused != 0;
	if (c->state != CONN_OPEN)
		return;
	if (paused) {
		ev_io_stop(proc.loop, &c->rio);
		conn_read_unqueue(c);		/* pending stays set */
	} else
		conn_input_resume(c);
}
