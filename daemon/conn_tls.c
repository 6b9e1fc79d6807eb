/*
 * conn_tls.c - the handshake room of a TLS connection: starting the
 * server handshake of an accepted connection or the client handshake of
 * an outbound tls:// one, driving it from the connection's watchers,
 * its timeout, and what host->tls_info tells the plugin.
 *
 * While the handshake runs the connection stays CONN_CONNECTING: its read
 * and write watchers call conn_hs_cb() instead of the read and write
 * paths, and its idle timer counts the handshake timeout.  When it is
 * done the watchers go back to conn_read_cb() and conn_write_cb() and
 * conn.c tells the plugin (on_accept, or on_connect through
 * conn_connected()).  A failure is one log line; a server-side one
 * closes with no plugin callback.  The TLS layer itself (OpenSSL, the
 * records under reads and writes) is tls.c's.
 */
#include <errno.h>
#include <string.h>

#include "asockd.h"

/* The handshake is over: the watchers go back to the read/write paths. */
static void
conn_hs_over(struct asockd_conn *c)
{
	c->handshaking = 0;
	ev_io_stop(proc.loop, &c->rio);
	ev_io_stop(proc.loop, &c->wio);
	ev_timer_stop(proc.loop, &c->idle);
	ev_set_cb(&c->rio, conn_read_cb);
	ev_set_cb(&c->wio, conn_write_cb);
	c->last_active = ev_now(proc.loop);
}

/*
 * A TLS connection's handshake: the read and write watchers call this
 * instead of the read and write paths until it is done, and the idle
 * timer counts handshake_timeout.  The plugin hears of the connection
 * only once it is done (on_accept); a failure is one log line.
 */
static void
conn_hs_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct asockd_conn	*c = w->data;
	unsigned int		 supp;
	int			 r;

	if (tls_want_write(c->tls) && tls_flush(c->tls) == -1)
		r = -1;
	else
		r = tls_handshake(c->tls);
	if (r == 0) {
		if (tls_want_write(c->tls))
			ev_io_start(l, &c->wio);
		else
			ev_io_stop(l, &c->wio);
		return;
	}
	if (r == -1 && c->listener == NULL) {
		conn_log(c, LOG_NOTICE, "TLS handshake failed: %s",
		    tls_error(c->tls));
		conn_hs_over(c);
		conn_connected(c, -EPROTO);
		return;
	}
	if (r == -1) {
		if (tls_log_ok(c->peer, &supp))
			conn_log(c, LOG_NOTICE, "TLS handshake failed: %s%s",
			    tls_error(c->tls), supp ? " (more failures from "
			    "this address were not logged)" : "");
		c->close_reason = ASOCKD_CLOSE_LOCAL;
		conn_finish(c, ASOCKD_CLOSE_LOCAL);	/* the alert goes out */
		return;
	}
	conn_hs_over(c);
	conn_log(c, LOG_DEBUG, "TLS handshake done");
	/* either may free c; conn_open() flushes the handshake's tail */
	if (c->listener == NULL)
		conn_connected(c, 0);	/* on_connect */
	else
		conn_accepted(c);	/* on_accept */
}

/*
 * Make c's watchers drive a handshake of session tls, with timeout
 * seconds for it on the idle timer.
 */
static void
hs_start(struct asockd_conn *c, struct tls *tls, double timeout)
{
	c->tls = tls;
	c->handshaking = 1;
	ev_set_cb(&c->rio, conn_hs_cb);
	ev_set_cb(&c->wio, conn_hs_cb);
	ev_io_start(proc.loop, &c->rio);
	ev_timer_set(&c->idle, timeout, 0.);
	ev_timer_start(proc.loop, &c->idle);
}

/* An accepted connection of a tls listener: CONN_CONNECTING until done. */
void
conn_tls_accept(struct asockd_conn *c)
{
	struct tls_conf	*tc = c->listener->conf->tls;

	hs_start(c, tls_server(tc, c->fd), tc->handshake_timeout);
}

/* A connected tls:// connection: send the ClientHello now. */
void
conn_tls_connect(struct asockd_conn *c)
{
	hs_start(c, tls_client(c->fd, c->tls_host), DEF_HANDSHAKE_TIMEOUT);
	conn_hs_cb(proc.loop, &c->wio, EV_WRITE);
}

/* The idle timer of c fired during its handshake. */
void
conn_tls_timeout(struct asockd_conn *c)
{
	unsigned int	 supp;

	if (c->listener == NULL) {
		conn_log(c, LOG_NOTICE, "TLS handshake timed out after %.1f s",
		    DEF_HANDSHAKE_TIMEOUT);
		conn_hs_over(c);
		conn_connected(c, -ETIMEDOUT);
		return;
	}
	if (tls_log_ok(c->peer, &supp))
		conn_log(c, LOG_NOTICE, "TLS handshake timed out after"
		    " %.1f s",
		    c->listener->conf->tls->handshake_timeout);
	c->close_reason = ASOCKD_CLOSE_LOCAL;
	conn_finish(c, ASOCKD_CLOSE_LOCAL);
}

int
conn_tls_info(const struct asockd_conn *c, struct asockd_tls_info *out)
{
	memset(out, 0, sizeof(*out));
	if (c->state == CONN_CONNECTING && c->listener == NULL)
		return -ENOTCONN;
	if (c->tls != NULL)
		tls_info(c->tls, out);
	return 0;
}
