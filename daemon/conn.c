/*
 * conn.c - stream connections: lifecycle and state (accept, the outcome
 * of an outbound connect, attach), references, sends, closing, idle
 * timeouts, out-of-band data, and what the rooms above may read of one.
 *
 * The path of a byte: libev reports the socket readable (conn_read_cb);
 * the read path (conn_read.c) hands the bytes to the plugin's on_receive
 * or on_message.  The plugin answers with host->send (conn_send): written
 * at once when the output queue is empty, the rest copied into the queue
 * (sendq.c) and written by conn_write_cb when the socket is writable
 * again.  A TLS connection first goes through its handshake (conn_tls.c),
 * which hands it back to conn_accepted() or conn_connected().
 *
 * Re-entrancy: every plugin callback runs inside CB_CALL() (cb.c) with a
 * reference held on its connection.  A close or abort asked for while any
 * callback runs is only recorded (close_reason) and the connection put on
 * the reap list; conn_reap(), the hook conn.c registers with cb.c, carries
 * it out once the outermost callback has returned.  So no plugin callback
 * ever starts inside another ("no notifications within notifications"),
 * and no connection is freed while the plugin may still hold it.
 *
 * Teardown has one path, conn_finish(), which stops every watcher before
 * the fd is closed, calls on_close once, and logs the connection's line.
 * It never frees a connection that is held (refs > 0: the close is left
 * to the holder) and unlinks it from the reap list and the run queue
 * (conn_read.c's), so no list keeps a pointer to freed memory.
 */
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

unsigned int		 conn_count;
unsigned long long	 conn_overflows;
static uint64_t		 next_id;
static TAILQ_HEAD(, asockd_conn) outbound = TAILQ_HEAD_INITIALIZER(outbound);

/* Connections whose close was requested inside a callback. */
static TAILQ_HEAD(, asockd_conn) reaplist = TAILQ_HEAD_INITIALIZER(reaplist);

static int		 oob_epfd = -1;
static void		(*gone_hook)(void);	/* conn_on_gone() */
static ev_io		 oob_io;

static void	 conn_idle_cb(struct ev_loop *, ev_timer *, int);
static void	 conn_request_close(struct asockd_conn *, int, int);

/*
 * Output not yet on the wire: the queue, and for TLS the ciphertext of
 * the last record the kernel did not take.
 */
static int
conn_unsent(const struct asockd_conn *c)
{
	return c->sendq.len > 0 || (c->tls != NULL && tls_want_write(c->tls));
}

static const char *const state_names[] = {
	"connecting", "open", "closing", "closed"
};

/*
 * The one place a connection changes state.  Legal: connecting -> open or
 * closed; open -> closing or closed; closing -> closed.  Anything else is
 * a bug in the daemon, and fatal (the master replaces the worker).
 */
static void
conn_set_state(struct asockd_conn *c, enum conn_state to)
{
	enum conn_state	 from = c->state;
	int		 ok;

	switch (from) {
	case CONN_CONNECTING:
		ok = to == CONN_OPEN || to == CONN_CLOSED;
		break;
	case CONN_OPEN:
		ok = to == CONN_OPEN || to == CONN_CLOSING || to == CONN_CLOSED;
		break;
	case CONN_CLOSING:
		ok = to == CONN_CLOSED;
		break;
	default:
		ok = 0;
		break;
	}
	if (!ok)
		fatalx("conn %llu: illegal state change %s -> %s",
		    (unsigned long long)c->id, state_names[from],
		    state_names[to]);
	c->state = to;
}

static const char *const reason_names[] = {
	"none", "peer", "reset", "local", "timeout", "error", "shutdown",
	"protocol", "connect", "overflow"
};

/*
 * Accessors for the rooms above (hostapi.c): they read a connection
 * through these, never through its fields.
 */
int
conn_live(const struct asockd_conn *c)
{
	return c->state == CONN_OPEN && c->close_reason == 0;
}

int
conn_writable(const struct asockd_conn *c)
{
	return conn_live(c) && !c->shut_wr && c->sendq.len <= c->sndq_high;
}

size_t
conn_queued(const struct asockd_conn *c)
{
	return c->sendq.len;
}

int
conn_closed(const struct asockd_conn *c)
{
	return c->state == CONN_CLOSED;
}

int
conn_closing(const struct asockd_conn *c)
{
	return c->state == CONN_CLOSED || c->state == CONN_CLOSING ||
	    c->close_reason != 0;
}

int
conn_aborting(const struct asockd_conn *c)
{
	return c->state == CONN_CLOSED || c->aborting;
}

int
conn_fd(const struct asockd_conn *c)
{
	return c->fd;
}

const char *
conn_peer(const struct asockd_conn *c)
{
	return c->peer;
}

const struct policy_peer *
conn_policy(const struct asockd_conn *c)
{
	return c->pp;
}

void
conn_set_udata(struct asockd_conn *c, void *udata)
{
	c->udata = udata;
}

void *
conn_udata(const struct asockd_conn *c)
{
	return c->udata;
}

struct asockd_instance *
conn_instance(const struct asockd_conn *c)
{
	return c->inst;
}

struct asockd_listener *
conn_listener(const struct asockd_conn *c)
{
	return c->listener;
}

int
conn_broadcast_frame(struct asockd_listener *l, const void *p, size_t len)
{
	struct asockd_conn	*c, *tmp;
	int			 r, first = 0;

	TAILQ_FOREACH_SAFE(c, &l->conns, entry, tmp) {
		if (!conn_live(c))
			continue;
		if ((r = conn_send_frame(c, p, len)) < 0 && first == 0)
			first = r;
	}
	return first;
}

void
conn_info(const struct asockd_conn *c, struct conn_info *ci)
{
	ci->id = c->id;
	ci->peer = c->peer != NULL ? c->peer : "?";
	ci->age = ev_now(proc.loop) - c->started;
	ci->bytes_in = c->bytes_in;
	ci->bytes_out = c->bytes_out;
	ci->queued = c->sendq.len;
	ci->state = c->state != CONN_OPEN ? state_names[c->state] :
	    c->close_reason != 0 ? "closing" : c->blocked ? "blocked" :
	    c->rpaused ? "paused" : "open";
}

struct asockd_conn *
conn_next(struct asockd_listener *l, struct asockd_conn *prev)
{
	return prev == NULL ? TAILQ_FIRST(&l->conns) :
	    TAILQ_NEXT(prev, entry);
}

struct asockd_conn *
conn_find(uint64_t id)
{
	struct asockd_listener	*l;
	struct asockd_conn	*c;

	TAILQ_FOREACH(l, &listeners, entry)
		TAILQ_FOREACH(c, &l->conns, entry)
			if (c->id == id)
				return c;
	TAILQ_FOREACH(c, &outbound, entry)
		if (c->id == id)
			return c;
	return NULL;
}

/*
 * The process room's hook, called after every connection was freed: the
 * worker uses it to stop once the last one is gone.
 */
void
conn_on_gone(void (*fn)(void))
{
	gone_hook = fn;
}

const char *
conn_reason_name(int reason)
{
	if (reason < 0 || reason > ASOCKD_CLOSE_OVERFLOW)
		return "unknown";
	return reason_names[reason];
}

/*
 * The cb.c hook: carry out the closes requested while plugin code ran,
 * once the outermost callback has returned.
 */
static void
conn_reap(void)
{
	struct asockd_conn	*c;

	while ((c = TAILQ_FIRST(&reaplist)) != NULL) {
		TAILQ_REMOVE(&reaplist, c, reap_entry);
		c->reaping = 0;
		if (c->refs == 0)
			conn_unref_finish(c);
	}
}

/* Leave c's pending close to conn_reap(). */
static void
conn_defer(struct asockd_conn *c)
{
	if (c->reaping || c->state == CONN_CLOSED)
		return;
	c->reaping = 1;
	TAILQ_INSERT_TAIL(&reaplist, c, reap_entry);
	cb_hook(conn_reap);	/* once; later calls find it */
	cb_defer();
}

void
conn_ref(struct asockd_conn *c)
{
	c->refs++;
}

/* Carry out a pending close once nothing holds c. */
void
conn_unref_finish(struct asockd_conn *c)
{
	int	 reason = c->close_reason;

	if (reason == 0 || c->state == CONN_CLOSED)
		return;
	if (c->aborting) {
		conn_finish(c, reason);
		return;
	}
	/* graceful: stop reading, flush, then finish */
	conn_set_state(c, CONN_CLOSING);
	ev_io_stop(proc.loop, &c->rio);
	if (!conn_unsent(c))
		conn_finish(c, reason);
	else
		ev_io_start(proc.loop, &c->wio);
}

void
conn_unref(struct asockd_conn *c)
{
	if (--c->refs > 0)
		return;
	if (cb_depth > 0) {
		if (c->close_reason != 0)
			conn_defer(c);	/* the cb.c hook carries it out */
		return;
	}
	conn_unref_finish(c);
}

void
vconn_log(struct asockd_conn *c, int pri, const char *fmt, va_list ap)
{
	char	 buf[1536];

	if (pri > log_getlevel())
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	logit(pri, "%s %s conn %llu peer %s: %s",
	    c->listener ? "listener" : "outbound",
	    c->listener ? c->listener->conf->name : c->inst->name,
	    (unsigned long long)c->id, c->peer ? c->peer : "?", buf);
}

void
conn_log(struct asockd_conn *c, int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vconn_log(c, pri, fmt, ap);
	va_end(ap);
}

static struct asockd_conn *
conn_new(struct asockd_instance *inst, struct asockd_listener *l, int fd,
    const char *peer)
{
	struct asockd_conn	*c;

	c = xcalloc(1, sizeof(*c));
	c->id = ++next_id;
	c->fd = fd;
	c->inst = inst;
	c->listener = l;
	c->peer = xstrdup(peer);
	sendq_init(&c->sendq);
	TAILQ_INIT(&c->timers);
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	c->rio.data = c;
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	c->wio.data = c;
	ev_init(&c->idle, conn_idle_cb);
	c->idle.data = c;
	c->started = c->last_active = ev_now(proc.loop);
	/* outbound connections take the listeners' defaults */
	c->sndq_high = l ? l->conf->sndq_high : DEF_SNDQ_HIGH;
	c->sndq_low = l ? l->conf->sndq_low : DEF_SNDQ_LOW;
	c->sndq_max = l ? l->conf->sndq_max : DEF_SNDQ_MAX;
	if (l != NULL) {
		TAILQ_INSERT_TAIL(&l->conns, c, entry);
		l->nconns++;
		c->ctr = l->ctr;
	} else {
		TAILQ_INSERT_TAIL(&outbound, c, entry);
		c->ctr = &ctr_sink;
	}
	conn_count++;
	return c;
}

static void
conn_oob_register(struct asockd_conn *c)
{
	struct epoll_event	 ev;

	if (oob_epfd == -1 || c->inst->desc->on_oob == NULL)
		return;
	if (c->listener != NULL && c->listener->kind != ASOCKD_TCP)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLPRI;
	ev.data.ptr = c;
	if (epoll_ctl(oob_epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1) {
		conn_log(c, LOG_WARNING, "epoll_ctl(EPOLLPRI): %s",
		    strerror(errno));
		return;
	}
	c->oob = 1;
}

static void
conn_oob_unregister(struct asockd_conn *c)
{
	if (!c->oob)
		return;
	epoll_ctl(oob_epfd, EPOLL_CTL_DEL, c->fd, NULL);
	c->oob = 0;
}

/* Start reading and the idle timer of an open connection. */
static void
conn_open(struct asockd_conn *c)
{
	double	 idle = c->listener ? c->listener->conf->idle_timeout : 0;

	conn_set_state(c, CONN_OPEN);
	c->notified = 1;
	if (!c->rpaused) {
		ev_io_start(proc.loop, &c->rio);
		conn_read_kick(c);	/* read ahead with the handshake */
	}
	if (c->tls != NULL && tls_want_write(c->tls))
		ev_io_start(proc.loop, &c->wio);	/* its last flight */
	if (idle > 0) {
		ev_timer_set(&c->idle, idle, 0.);
		ev_timer_start(proc.loop, &c->idle);
	}
	conn_oob_register(c);
}

void
conn_accept(struct asockd_listener *l, int fd, const struct sockaddr *sa,
    socklen_t salen, struct policy_peer *pp)
{
	struct asockd_conn	*c;
	char			 peer[160];
	int			 one = 1;

	if (l->kind == ASOCKD_TCP)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	addr_format(sa, salen, peer, sizeof(peer));
	c = conn_new(l->inst, l, fd, peer);
	c->pp = pp;
	CTR_ADD(l->ctr->accepted, 1);
	conn_log(c, LOG_DEBUG, "accepted");
	if (l->conf->record != NULL)
		c->rec = record_open(l->conf->record, l->conf, c->id, peer, fd,
		    ev_now(proc.loop));
	if (l->conf->tls == NULL) {
		conn_accepted(c);
		return;
	}
	conn_tls_accept(c);	/* conn_accepted() once it is done */
}

/* The connection is set up (and its handshake done): tell the plugin. */
void
conn_accepted(struct asockd_conn *c)
{
	struct asockd_listener	*l = c->listener;
	int			 rc = 0;

	conn_ref(c);
	conn_set_state(c, CONN_OPEN);	/* on_accept may send a greeting */
	if (l->inst->desc->on_accept != NULL) {
		CB_CALL_P(l->inst, rc = l->inst->desc->on_accept(c));
	}
	if (rc < 0) {
		conn_log(c, LOG_INFO, "refused by plugin %s: %s",
		    l->inst->name, strerror(-rc));
		CTR_ADD(l->ctr->refused[CTR_REFUSE_PLUGIN], 1);
		c->notified = 0;
		conn_request_close(c, ASOCKD_CLOSE_LOCAL, 1);
	} else if (c->close_reason == 0)
		conn_open(c);
	else
		c->notified = 1;
	conn_unref(c);
}

struct asockd_conn *
conn_outbound(struct asockd_instance *inst, int fd, const char *peer,
    void *udata)
{
	struct asockd_conn	*c;

	c = conn_new(inst, NULL, fd, peer);
	c->udata = udata;	/* conn_new made it CONN_CONNECTING */
	if (fd != -1)
		ev_io_start(proc.loop, &c->wio);	/* connect completion */
	return c;
}

/*
 * A foreign stream socket a plugin hands over (host->attach_fd): an
 * outbound connection that is already open, so no on_connect.
 */
struct asockd_conn *
conn_attach(struct asockd_instance *inst, int fd, const char *peer,
    void *udata)
{
	struct asockd_conn	*c;

	c = conn_new(inst, NULL, fd, peer);
	c->udata = udata;
	conn_log(c, LOG_DEBUG, "attached");
	conn_open(c);
	return c;
}

/* Send the queued preface in the clear at once: 0, or -errno. */
static int
conn_preface_flush(struct asockd_conn *c)
{
	struct iovec	 iov[ASOCKD_IOV_MAX];
	struct msghdr	 msg;
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = sendq_iov(&c->sendq, iov, ASOCKD_IOV_MAX);
	do
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -errno;
	if ((size_t)n != c->sendq.len)
		return -EAGAIN;		/* a just-connected socket: not seen */
	sendq_consume(&c->sendq, (size_t)n);
	return 0;
}

void
conn_connected(struct asockd_conn *c, int err)
{
	socklen_t	 len = sizeof(err);
	int		 soerr = 0;

	if (err == 0 && c->fd != -1) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
			soerr = errno;
		err = -soerr;
	}
	ev_io_stop(proc.loop, &c->wio);
	if (err != 0 && c->tls == NULL && connect_retry(c, err) == 0)
		return;		/* another address of the name is tried */
	connect_forget(c);
	/*
	 * tls://: on_connect once the handshake is done.  A preface (a
	 * PROXY header, connect_proxy) goes before the ClientHello, in the
	 * clear, as with HAProxy's send-proxy and ssl: a socket that has
	 * just connected takes its few bytes at once.
	 */
	if (err == 0 && c->tls_host != NULL && c->tls == NULL &&
	    (c->sendq.len == 0 || (err = conn_preface_flush(c)) == 0)) {
		conn_tls_connect(c);	/* the ClientHello goes out now */
		return;
	}
	if (err == 0) {
		conn_set_state(c, CONN_OPEN);
		conn_log(c, LOG_DEBUG, "connected");
		if (c->sendq.len > 0)	/* the preface goes out first */
			ev_io_start(proc.loop, &c->wio);
	} else
		conn_log(c, LOG_INFO, "connect failed: %s", strerror(-err));
	conn_ref(c);
	if (c->inst->desc->on_connect != NULL) {
		CB_CALL_P(c->inst, c->inst->desc->on_connect(c, err));
	}
	if (err != 0) {
		c->notified = 0;
		conn_request_close(c, ASOCKD_CLOSE_CONNECT, 1);
	} else if (c->close_reason == 0)
		conn_open(c);
	else
		c->notified = 1;
	conn_unref(c);
}

int
conn_preface(struct asockd_conn *c, const void *p, size_t len)
{
	if (c->state != CONN_CONNECTING)
		return -EISCONN;
	sendq_push(&c->sendq, p, len);
	return 0;
}

/* The socket error errno as a close reason. */
int
conn_errno_reason(int err)
{
	if (err == ECONNRESET || err == EPIPE)
		return ASOCKD_CLOSE_RESET;
	if (err == ETIMEDOUT)
		return ASOCKD_CLOSE_TIMEOUT;
	return ASOCKD_CLOSE_ERROR;
}

/* Record a close; carry it out now unless a callback is running. */
static void
conn_request_close(struct asockd_conn *c, int reason, int abort)
{
	if (c->state == CONN_CLOSED)
		return;
	if (c->close_reason == 0 || (abort && !c->aborting)) {
		if (c->close_reason == 0)
			c->close_reason = reason;
		if (abort)
			c->aborting = 1;
	}
	if (c->refs > 0)
		return;		/* conn_unref() carries it out */
	if (cb_depth > 0) {
		conn_defer(c);
		return;
	}
	conn_unref_finish(c);
}

void
conn_close(struct asockd_conn *c, int reason)
{
	conn_request_close(c, reason, 0);
}

void
conn_abort(struct asockd_conn *c, int reason)
{
	conn_request_close(c, reason, 1);
}

/* The one teardown path. */
void
conn_finish(struct asockd_conn *c, int reason)
{
	const struct asockd_plugin	*d = c->inst->desc;
	struct linger			 lg = { 1, 0 };
	struct asockd_listener		*l = c->listener;

	if (c->state == CONN_CLOSED)
		return;
	if (c->refs > 0) {
		/* a callback of c is running: its conn_unref() finishes c */
		if (c->close_reason == 0)
			c->close_reason = reason;
		if (c->state != CONN_CLOSING || c->sendq.len > 0)
			c->aborting = 1;
		return;
	}
	if (c->reaping) {
		TAILQ_REMOVE(&reaplist, c, reap_entry);
		c->reaping = 0;
	}
	conn_read_unqueue(c);
	conn_set_state(c, CONN_CLOSED);
	ev_io_stop(proc.loop, &c->rio);
	ev_io_stop(proc.loop, &c->wio);
	ev_timer_stop(proc.loop, &c->idle);
	conn_oob_unregister(c);
	timer_stop_conn(c);
	connect_forget(c);

	if (c->notified && d->on_close != NULL) {
		conn_ref(c);
		CB_CALL_P(c->inst, d->on_close(c, reason));
		c->refs--;
	}
	if (c->tls != NULL) {
		/* a graceful close ends the TLS stream with close_notify */
		if (!c->aborting)
			tls_shutdown(c->tls);
		tls_free(c->tls);
		c->tls = NULL;
	}
	if (c->fd != -1) {
		/* an abort discards output: tell a TCP peer with a reset */
		if (c->aborting)
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg,
			    sizeof(lg));
		close(c->fd);
	}
	if (c->notified || reason != ASOCKD_CLOSE_LOCAL)
		conn_log(c, LOG_INFO, "closed (%s) after %.3f s, %llu bytes in,"
		    " %llu bytes out%s", conn_reason_name(reason),
		    ev_now(proc.loop) - c->started,
		    (unsigned long long)c->bytes_in,
		    (unsigned long long)c->bytes_out,
		    c->sendq.len ? ", output discarded" : "");
	if (reason >= 0 && reason < CTR_REASONS)
		CTR_ADD(c->ctr->closed[reason], 1);
	if (c->rec != NULL)
		record_close(c->rec, ev_now(proc.loop), reason);
	sendq_free(&c->sendq);
	free(c->in);
	c->in = NULL;
	if (l != NULL) {
		TAILQ_REMOVE(&l->conns, c, entry);
		l->nconns--;
	} else
		TAILQ_REMOVE(&outbound, c, entry);
	conn_count--;
	/* on_close may not leave c held or queued: it is freed now */
	if (c->refs > 0 || c->reaping || c->runq)
		fatalx("conn %llu freed while held (refs %d)",
		    (unsigned long long)c->id, c->refs);
	free(c->peer);
	policy_peer_free(c->pp);
	free(c->tls_host);
	free(c);
	if (l != NULL)
		listener_conn_gone(l);
	if (gone_hook != NULL)
		gone_hook();
}

static void
conn_drained(struct asockd_conn *c)
{
	const struct asockd_plugin	*d = c->inst->desc;

	if (!conn_unsent(c)) {
		ev_io_stop(proc.loop, &c->wio);
		if (c->state == CONN_CLOSING) {
			conn_finish(c, c->close_reason);
			return;
		}
		if (c->shut_wr && !c->wr_done && c->tls != NULL) {
			tls_shutdown(c->tls);	/* close_notify first */
			if (tls_want_write(c->tls)) {
				ev_io_start(proc.loop, &c->wio);
				return;
			}
		}
		if (c->shut_wr && !c->wr_done) {
			shutdown(c->fd, SHUT_WR);
			c->wr_done = 1;
		}
	}
	if (c->blocked && c->state == CONN_OPEN && c->close_reason == 0 &&
	    c->sendq.len <= c->sndq_low) {
		c->blocked = 0;
		if (c->rec != NULL)
			record_mark(c->rec, RECORD_BLOCKED,
			    ev_now(proc.loop), 0);
		conn_input_resume(c);
		if (d->on_send != NULL) {
			conn_ref(c);
			CB_CALL_P(c->inst, d->on_send(c));
			conn_unref(c);
		}
	}
}

void
conn_write_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct asockd_conn	*c = w->data;
	ssize_t			 n;

	if (c->state == CONN_CONNECTING) {
		conn_connected(c, 0);
		return;
	}
	if (c->tls == NULL)
		n = sendq_flush(&c->sendq, c->fd);
	else if ((n = tls_flush(c->tls)) == 0) {
		n = tls_flush_queue(c->tls, &c->sendq);
		if (tls_write_wants_read(c->tls))
			ev_io_stop(l, &c->wio);	/* conn_read_cb restarts it */
	} else if (n == 1)
		n = 0;
	if (n == -1) {
		conn_log(c, LOG_DEBUG, "%s: %s", c->tls ? "TLS write" :
		    "sendmsg", strerror(errno));
		c->aborting = 1;
		conn_finish(c, conn_errno_reason(errno));
		return;
	}
	if (n > 0) {
		c->bytes_out += n;
		CTR_ADD(c->ctr->bytes_out, n);
		c->last_active = ev_now(l);
	}
	conn_drained(c);
}

/*
 * Write cnt iovecs (total bytes) at once when nothing is queued, copy what
 * the kernel does not take into the queue, and stop reading from the peer
 * once the queue is over its high-water mark.  0, or -errno after a write
 * error or when the queue would pass sndq_max (-ENOBUFS); the connection
 * is then being aborted.
 */
static int
conn_write(struct asockd_conn *c, const struct iovec *iov, int cnt,
    size_t total)
{
	struct msghdr	 msg;
	size_t		 skip;
	ssize_t		 n = 0;
	int		 i, err;

	CTR_ADD(c->ctr->msgs_out, 1);
	if (c->sendq.len == 0) {
		if (cnt > 1) {
			memset(&msg, 0, sizeof(msg));
			msg.msg_iov = (struct iovec *)(uintptr_t)iov;
			msg.msg_iovlen = cnt;
		}
		if (c->tls != NULL)
			n = tls_writev(c->tls, iov, cnt);
		else
			do
				n = cnt == 1 ? send(c->fd, iov[0].iov_base,
				    iov[0].iov_len, MSG_NOSIGNAL) :
				    sendmsg(c->fd, &msg, MSG_NOSIGNAL);
			while (n == -1 && errno == EINTR);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				err = errno;
				conn_log(c, LOG_DEBUG, "send: %s",
				    strerror(err));
				conn_abort(c, conn_errno_reason(err));
				return -err;
			}
			n = 0;
		}
		if (n > 0) {
			c->bytes_out += n;
			CTR_ADD(c->ctr->bytes_out, n);
			/* traffic out */
			c->last_active = ev_now(proc.loop);
		}
		if ((size_t)n == total) {
			if (c->tls != NULL && tls_want_write(c->tls))
				ev_io_start(proc.loop, &c->wio);
			return 0;	/* the common case: nothing copied */
		}
	}
	if (c->sendq.len + (total - (size_t)n) > c->sndq_max) {
		/* a safety net for plugins that ignore writable() */
		conn_overflows++;
		conn_log(c, LOG_NOTICE, "output queue would pass sndq_max"
		    " (%zu + %zu > %u bytes): aborting (%llu in this worker)",
		    c->sendq.len, total - (size_t)n, c->sndq_max,
		    conn_overflows);
		conn_abort(c, ASOCKD_CLOSE_OVERFLOW);
		return -ENOBUFS;
	}
	if (c->sendq.len == 0)
		ev_io_start(proc.loop, &c->wio);
	for (skip = (size_t)n, i = 0; i < cnt; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		sendq_push(&c->sendq, (const unsigned char *)iov[i].iov_base +
		    skip, iov[i].iov_len - skip);
		skip = 0;
	}
	if (!c->blocked && c->sendq.len > c->sndq_high) {
		/* backpressure: stop reading until the queue drains */
		c->blocked = 1;
		CTR_ADD(c->ctr->backpressure, 1);
		if (c->rec != NULL)
			record_mark(c->rec, RECORD_BLOCKED,
			    ev_now(proc.loop), 1);
		if (conn_read_held(c))
			ev_io_stop(proc.loop, &c->rio);
	}
	return 0;
}

/* 0 when c can take output now, else why not. */
static int
conn_can_send(struct asockd_conn *c)
{
	if (c->state == CONN_CONNECTING)
		return -ENOTCONN;
	if (c->state != CONN_OPEN || c->close_reason != 0 || c->shut_wr)
		return -EPIPE;
	return 0;
}

int
conn_send(struct asockd_conn *c, const void *buf, size_t len)
{
	struct iovec	 iov;
	int		 r;

	if ((r = conn_can_send(c)) != 0 || len == 0)
		return r;
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	return conn_write(c, &iov, 1, len);
}

int
conn_shutdown_write(struct asockd_conn *c)
{
	if (c->state != CONN_OPEN || c->close_reason != 0)
		return -ENOTCONN;
	if (c->shut_wr)
		return -EALREADY;
	c->shut_wr = 1;
	if (c->tls != NULL) {
		/* close_notify, then SHUT_WR, once all is out */
		if (!conn_unsent(c))
			tls_shutdown(c->tls);
		if (conn_unsent(c)) {
			ev_io_start(proc.loop, &c->wio);
			return 0;
		}
	}
	if (c->sendq.len == 0) {
		if (shutdown(c->fd, SHUT_WR) == -1)
			return -errno;
		c->wr_done = 1;
	}
	return 0;
}

static void
conn_idle_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct asockd_conn	*c = w->data;
	double			 timeout, left;

	if (c->handshaking) {
		conn_tls_timeout(c);
		return;
	}
	timeout = c->listener->conf->idle_timeout;

	/* lazy re-arming: activity only updates last_active */
	left = c->last_active + timeout - ev_now(l);
	if (left > 0.001) {
		ev_timer_set(w, left, 0.);
		ev_timer_start(l, w);
		return;
	}
	conn_log(c, LOG_INFO, "idle for %.1f s%s", timeout, c->sendq.len ?
	    ", discarding the output the peer did not read" : "");
	if (c->state == CONN_CLOSING) {
		c->aborting = 1;
		conn_finish(c, ASOCKD_CLOSE_TIMEOUT);
		return;
	}
	/*
	 * Output the peer took counts as traffic (last_active), so queued
	 * output here has not moved for a whole period: flushing it first
	 * would only wait another one.
	 */
	if (c->sendq.len > 0)
		conn_abort(c, ASOCKD_CLOSE_TIMEOUT);	/* may free c */
	else
		conn_close(c, ASOCKD_CLOSE_TIMEOUT);	/* may free c */
}

static void
conn_all(struct asockd_conn *c, int reason, int abort)
{
	if (c->state == CONN_CLOSED)
		return;
	if (abort) {
		c->aborting = 1;
		if (c->close_reason == 0)
			c->close_reason = reason;
		conn_finish(c, c->close_reason);
	} else
		conn_close(c, reason);
}

static void
conn_each(int reason, int abort)
{
	struct asockd_listener	*l;
	struct asockd_conn	*c, *tmp;

	TAILQ_FOREACH(l, &listeners, entry)
		TAILQ_FOREACH_SAFE(c, &l->conns, entry, tmp)
			conn_all(c, reason, abort);
	TAILQ_FOREACH_SAFE(c, &outbound, entry, tmp)
		conn_all(c, reason, abort);
}

void
conn_close_all(int reason)
{
	conn_each(reason, 0);
}

void
conn_abort_all(int reason)
{
	conn_each(reason, 1);
}

static void
conn_oob_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct epoll_event	 evs[64];
	struct asockd_conn	*c;
	unsigned char		 byte;
	ssize_t			 r;
	int			 i, n;

	n = epoll_wait(oob_epfd, evs, 64, 0);
	for (i = 0; i < n; i++) {
		c = evs[i].data.ptr;
		r = recv(c->fd, &byte, 1, MSG_OOB);
		if (r != 1) {
			if (r == -1 && (errno == EAGAIN || errno == EINTR))
				continue;
			/* no urgent byte after all: do not spin on it */
			conn_log(c, LOG_DEBUG, "recv(MSG_OOB): %s",
			    r == 0 ? "EOF" : strerror(errno));
			conn_oob_unregister(c);
			continue;
		}
		c->last_active = ev_now(l);
		if (c->rec != NULL)
			record_mark(c->rec, RECORD_OOB, ev_now(l), byte);
		conn_ref(c);
		CB_CALL_P(c->inst, c->inst->desc->on_oob(c, byte));
		conn_unref(c);
	}
}

/*
 * libev watches only read and write readiness.  Urgent data shows as
 * EPOLLPRI, so connections whose plugin has on_oob are registered with a
 * second epoll instance, and libev watches that epoll fd for readability.
 */
void
conn_oob_init(void)
{
	if ((oob_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("epoll_create1: out-of-band data disabled");
		return;
	}
	ev_io_init(&oob_io, conn_oob_cb, oob_epfd, EV_READ);
	ev_io_start(proc.loop, &oob_io);
}

/*
 * Send one message in the listener's framing: a 4-byte big-endian length
 * before it (length, archive), a newline after it (line), nothing (raw).
 * Header and payload go out in one sendmsg when the queue is empty.
 */
int
conn_send_frame(struct asockd_conn *c, const void *buf, size_t len)
{
	struct iovec	 iov[2];
	unsigned char	 hdr[4];
	size_t		 total;
	int		 framing, r;

	framing = c->listener ? c->listener->conf->framing : FRAMING_RAW;
	if (framing == FRAMING_RAW)
		return conn_send(c, buf, len);
	if ((r = conn_can_send(c)) != 0)
		return r;
	if (framing == FRAMING_LINE) {
		if (len > c->listener->conf->max_line)
			return -EMSGSIZE;
		/* a newline inside would reach the peer as two messages */
		if (memchr(buf, '\n', len) != NULL)
			return -EINVAL;
		iov[0].iov_base = (void *)(uintptr_t)buf;
		iov[0].iov_len = len;
		iov[1].iov_base = (void *)(uintptr_t)"\n";
		iov[1].iov_len = 1;
		total = len + 1;
	} else {
		if (len == 0 || len > c->listener->conf->max_frame)
			return -EMSGSIZE;
		hdr[0] = len >> 24;
		hdr[1] = len >> 16;
		hdr[2] = len >> 8;
		hdr[3] = len;
		iov[0].iov_base = hdr;
		iov[0].iov_len = 4;
		iov[1].iov_base = (void *)(uintptr_t)buf;
		iov[1].iov_len = len;
		total = 4 + len;
	}
	return conn_write(c, iov, 2, total);
}
