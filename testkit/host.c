/*
 * host.c - the struct asockd_host table libasockd-test hands a plugin:
 * the calls of ABI 1.2, each checking its handle first (kit_live: a
 * connection used after its on_close is a violation, never a use after
 * free) and keeping the daemon's rules and return values (hostapi.c,
 * conn.c): sends are written to the simulated socket or queued at once,
 * closes asked for inside a callback run after it, errors are negative
 * errno values.  The archive reader and writer are the daemon's own
 * (glue.c).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* ------------------------------------------------------------ host: log */

static void
host_log(struct asockd_instance *inst, int level, const char *fmt, ...)
{
	char	 line[1536];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	kit_buf_printf(&inst->t->log, "plugin %s: %s", inst->t->desc.name ?
	    inst->t->desc.name : "?", line);
}

static void
host_conn_log(struct asockd_conn *c, int level, const char *fmt, ...)
{
	char	 line[1536];
	va_list	 ap;

	if (c == NULL)
		return;
	(void)kit_live(c, "conn_log");
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	kit_buf_printf(&c->t->log, "listener %s conn %u peer %s: %s",
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
	kit_buf_printf(&inst->t->log, "ini:%d: [%s] %s: '%s' is not %s", line,
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

	kit_buf_add(&tmp, a, alen);
	kit_buf_add(&tmp, b, blen);
	take = 0;
	if (c->q.len == 0) {
		room = c->o.sndbuf > c->kern.len ? c->o.sndbuf -
		    c->kern.len : 0;
		take = total < room ? total : room;
	}
	if (c->q.len + (total - take) > c->o.sndq_max) {
		kit_buf_free(&tmp);
		kit_buf_printf(&c->t->log, "listener %s conn %u peer %s: output"
		    " queue past sndq_max (%zu bytes): aborted",
		    c->l ? c->l->name : "(outbound)", c->id, c->peer,
		    c->o.sndq_max);
		kit_conn_want(c, ASOCKD_CLOSE_OVERFLOW, 1);
		return -ENOBUFS;
	}
	kit_buf_add(&c->kern, tmp.p, take);
	kit_buf_add(&c->q, tmp.p + take, total - take);
	kit_buf_free(&tmp);
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

	if (!kit_live(c, "send"))
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

	if (!kit_live(c, "send_frame"))
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
			kit_conn_want(c, ASOCKD_CLOSE_ERROR, 1);
			if (first == 0)
				first = r;
		}
	}
	return first;
}

static int
host_writable(struct asockd_conn *c)
{
	if (!kit_live(c, "writable"))
		return 0;
	return c->state == C_OPEN && c->want == 0 && c->closing == 0 &&
	    !c->shut_wr && c->q.len <= c->o.sndq_high;
}

static size_t
host_queued(struct asockd_conn *c)
{
	if (!kit_live(c, "queued"))
		return 0;
	return c->q.len;
}

static int
host_close(struct asockd_conn *c)
{
	if (!kit_live(c, "close"))
		return -EALREADY;
	if (c->state != C_OPEN && c->state != C_CONNECTING)
		return -EALREADY;
	if (c->want != 0 || c->closing != 0)
		return -EALREADY;
	kit_conn_want(c, ASOCKD_CLOSE_LOCAL, 0);
	return 0;
}

static int
host_abort(struct asockd_conn *c)
{
	if (!kit_live(c, "abort"))
		return -EALREADY;
	if (c->state != C_OPEN && c->state != C_CONNECTING)
		return -EALREADY;
	if (c->want_abort)
		return -EALREADY;
	kit_conn_want(c, ASOCKD_CLOSE_LOCAL, 1);
	return 0;
}

static int
host_shutdown_write(struct asockd_conn *c)
{
	int	 r;

	if (!kit_live(c, "shutdown_write"))
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
	if (!kit_live(c, "peer_addr") || c->state == C_CONNECTING)
		return -ENOTCONN;
	return copy_addr(&c->pss, c->plen, sa, len);
}

static int
host_local_addr(struct asockd_conn *c, struct sockaddr *sa, socklen_t *len)
{
	if (!kit_live(c, "local_addr") || c->state == C_CONNECTING)
		return -ENOTCONN;
	return copy_addr(&c->lss, c->llen, sa, len);
}

static const char *
host_peer_name(struct asockd_conn *c)
{
	if (!kit_live(c, "peer_name"))
		return "?";
	return c->peer;
}

static void
host_set_udata(struct asockd_conn *c, void *udata)
{
	if (kit_live(c, "set_udata"))
		c->udata = udata;
}

static void *
host_udata(struct asockd_conn *c)
{
	if (!kit_live(c, "udata"))
		return NULL;
	return c->udata;
}

static struct asockd_instance *
host_conn_instance(struct asockd_conn *c)
{
	if (!kit_live(c, "conn_instance"))
		return NULL;
	return &c->t->inst;
}

static struct asockd_listener *
host_conn_listener(struct asockd_conn *c)
{
	if (!kit_live(c, "conn_listener"))
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
	if (!kit_live(c, "pause_receive") || c->state != C_OPEN)
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
	if (c != NULL && (!kit_live(c, "timer_start") || c->state == C_INCLOSE))
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
		kit_violation(tm->t, "host->timer_stop on a timer already %s",
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
	kit_buf_add(&d->data, buf, len);
	kit_addr_format(addr, addrlen, d->to, sizeof(d->to));
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
	c = kit_conn_new(inst->t, NULL);
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

void
kit_host_table(struct asockd_host *h)
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
