/*
 * peer.c - the test's side of libasockd-test (asockd/test.h): loading a
 * plugin and its settings, listeners and their options, and the peer
 * that connects, sends, reads, resets and answers connects, each action
 * followed by turns of the simulated loop (kit.c).  Also the few helpers
 * the contract checks (check.c) need beyond the public calls.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

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
	kit_host_table(&t->host);
	memcpy(&t->desc, d, d->size < sizeof(t->desc) ? d->size :
	    sizeof(t->desc));
	if (t->desc.abi_minor < 2)
		t->desc.settings = NULL;
	if (t->desc.name == NULL)
		t->desc.name = "plugin";

	if (t->desc.abi_minor > ASOCKD_TEST_ABI_MINOR)
		kit_buf_printf(&t->log, "plugin %s: built for ABI %u.%u; the"
		    " kit's host table is ABI %u.%u: later calls are absent"
		    " (host->abi_minor, host->size)", t->desc.name,
		    t->desc.abi_major, t->desc.abi_minor,
		    ASOCKD_TEST_ABI_MAJOR, ASOCKD_TEST_ABI_MINOR);
	kit_cur = t;
	if (kit_ini_table_check(&t->desc, t->desc.name) == -1)
		goto fail;
	if (ini != NULL) {
		if (mkdtemp(dir) == NULL) {
			kit_buf_printf(&t->log, "mkdtemp: %s", strerror(errno));
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
			kit_buf_printf(&t->log, "%s: %s", path,
			    strerror(errno));
		unlink(path);
		rmdir(dir);
		t->inipath = NULL;
		free(path);
		if (t->ini == NULL) {
			kit_buf_printf(&t->log, "plugin %s: bad settings",
			    t->desc.name);
			goto fail;
		}
	}
	kit_cur = NULL;
	if (t->desc.init != NULL) {
		CB(t, NULL, KIT_CB_NONE,
		    r = t->desc.init(&t->host, &t->inst, &t->pdata));
		if (r < 0) {
			kit_buf_printf(&t->log, "plugin %s: init failed: %s",
			    t->desc.name, strerror(-r));
			goto fail;
		}
	}
	t->inited = 1;
	return t;
fail:
	kit_cur = NULL;
	if (err != NULL)
		*err = strdup(kit_buf_str(&t->log));
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
	else if (d->abi_major != ASOCKD_ABI_MAJOR ||
	    d->abi_minor > ASOCKD_ABI_MINOR)
		snprintf(msg, sizeof(msg), "%s was built for plugin ABI"
		    " %u.%u, the test kit was built with ABI %u.%u", what,
		    d->abi_major, d->abi_minor, ASOCKD_ABI_MAJOR,
		    ASOCKD_ABI_MINOR);
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
			kit_finish(c, ASOCKD_CLOSE_SHUTDOWN, 1);
		else if (c->state == C_OPEN)
			kit_finish(c, ASOCKD_CLOSE_SHUTDOWN, 0);
	}
	if (t->inited && t->desc.fini != NULL)
		CB(t, NULL, KIT_CB_NONE, t->desc.fini(&t->inst));
	kit_rd_gc();
	while ((c = TAILQ_FIRST(&t->conns)) != NULL) {
		TAILQ_REMOVE(&t->conns, c, entry);
		kit_buf_free(&c->in);
		kit_buf_free(&c->kern);
		kit_buf_free(&c->q);
		kit_buf_free(&c->out);
		kit_buf_free(&c->msg);
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
			kit_buf_free(&d->data);
			free(d);
		}
		if (l->taken != NULL) {
			kit_buf_free(&l->taken->data);
			free(l->taken);
		}
		free(l->name);
		free(l);
	}
	kit_ini_free(t->ini);
	if (t->dl != NULL)
		dlclose(t->dl);
	kit_buf_free(&t->log);
	kit_buf_free(&t->viol);
	kit_buf_free(&t->report);
	kit_buf_free(&t->tmp);
	free(t);
}

const char *
asockd_test_log(struct asockd_test *t)
{
	return kit_buf_str(&t->log);
}

void
asockd_test_log_clear(struct asockd_test *t)
{
	t->log.len = 0;
}

const char *
asockd_test_violations(struct asockd_test *t)
{
	return kit_buf_str(&t->viol);
}

int
asockd_test_nviolations(struct asockd_test *t)
{
	return t->nviol;
}

const char *
asockd_test_report(struct asockd_test *t)
{
	return kit_buf_str(&t->report);
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
	if (kit_addr_parse(c->peer, &c->pss, &c->plen) == -1)
		kit_addr_parse(def, &c->pss, &c->plen);
	kit_addr_parse(c->local, &c->lss, &c->llen);
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
	c = kit_conn_new(t, l);
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
		kit_buf_printf(&t->log, "listener %s conn %u peer %s: refused"
		    " by the plugin: %s", l->name, c->id, c->peer,
		    strerror(-r));
		c->accepted = 0;
		kit_finish(c, ASOCKD_CLOSE_CONNECT, 1);
	}
	kit_rd_gc();
	kit_reap(t);
	if (r < 0)
		return r;
	kit_settle(t);
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
	kit_buf_add(&c->in, buf, len);
	if (len > 0)
		c->last_io = c->t->now;
	kit_deliver(c);
	kit_settle(c->t);
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
	kit_deliver(c);
	kit_settle(c->t);
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
	kit_conn_want(c, ASOCKD_CLOSE_RESET, 1);
	kit_settle(c->t);
	return 0;
}

int
asockd_test_shutdown(struct asockd_conn *c)
{
	if (c->state == C_CONNECTING)
		return -ENOTCONN;
	if (c->state != C_OPEN || c->want != 0 || c->closing != 0)
		return -EPIPE;
	kit_host_close(c);
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
	kit_settle(t);
	return 0;
}

int
asockd_test_peer_reading(struct asockd_conn *c, int reading)
{
	c->reading = reading != 0;
	kit_settle(c->t);
	return 0;
}

const void *
asockd_test_output(struct asockd_conn *c, size_t *len)
{
	*len = c->out.len;
	return kit_buf_str(&c->out);
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
		kit_buf_add(&c->msg, c->out.p, c->out.len);
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
	kit_buf_add(&c->msg, msg, mlen);
	if (c->msg.p == NULL)
		kit_buf_add(&c->msg, "", 1), c->msg.len = 0;
	kit_buf_drop(&c->out, (size_t)r);
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
	size_t			 skip;

	if (c->state != C_CONNECTING)
		return -EALREADY;
	if (err > 0)
		return -EINVAL;
	if (err == 0) {
		c->state = C_OPEN;
		c->accepted = 1;
		c->last_io = t->now;
		skip = strncmp(c->target, "tcp://", 6) == 0 ? 6 : 0;
		if (kit_addr_parse(c->target + skip, &c->pss, &c->plen) == -1)
			kit_addr_parse("127.0.0.1:1", &c->pss, &c->plen);
		kit_addr_parse("127.0.0.1:50000", &c->lss, &c->llen);
	}
	if (t->desc.on_connect != NULL)
		CB(t, c, KIT_CB_NONE, t->desc.on_connect(c, err));
	if (err != 0) {
		/* the handle goes once on_connect returns; no on_close */
		c->accepted = 0;
		kit_finish(c, ASOCKD_CLOSE_CONNECT, 1);
	}
	kit_settle(t);
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
	if (kit_addr_parse(from ? from : "127.0.0.1:40000", &ss, &sslen) == -1)
		return -EINVAL;
	if (t->desc.on_datagram != NULL)
		CB(t, NULL, KIT_CB_NONE,
		    t->desc.on_datagram(l, buf, len, (struct sockaddr *)&ss,
		    sslen));
	kit_settle(t);
	return 0;
}

const void *
asockd_test_sent_datagram(struct asockd_listener *l, size_t *len, char *to,
    size_t tolen)
{
	struct dgram	*d;

	if (l->taken != NULL) {
		kit_buf_free(&l->taken->data);
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
	return kit_buf_str(&d->data);
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
	kit_conn_want(c, ASOCKD_CLOSE_SHUTDOWN, 0);
	kit_settle(c->t);
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
