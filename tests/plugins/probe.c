/*
 * probe.c - a test-only plugin that exercises the host's contract.
 *
 * It reads newline-terminated commands (returning from on_receive only the
 * bytes of complete lines, so a command split over several reads tests the
 * host's buffering of unconsumed input) and logs what it sees, so tests can
 * check the order and count of notifications in the daemon's log:
 *
 *   echo TEXT      reply "TEXT\n"
 *   close          reply "bye\n", then close inside the callback and try
 *                  one more send, logging its result (must be -EPIPE)
 *   abort          abort inside the callback
 *   flood N        send N bytes (pattern 'a'..'z') in one call; when the
 *                  queue went over its high-water mark the on_send that
 *                  follows replies "drained\n"
 *   floodclose N   flood N then close: every byte must still arrive
 *   timer MS       a connection timer that replies "tick\n"
 *   connect URI    outbound connect; reports "connect ok" or
 *                  "connect error E" and relays what the remote sends as
 *                  "remote: TEXT"
 *   shut           shutdown_write (later sends fail)
 *   pause MS       pause receiving for MS milliseconds
 *
 * Every callback checks that it is not nested inside another callback of
 * the same plugin and logs "NESTED" if it is; tests assert that never
 * appears.  on_close logs "close reason=R in=N" with the bytes received.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;
static struct asockd_instance *self;
static int depth;

struct probe {
	size_t			 in;	/* bytes received */
	struct asockd_conn	*client;	/* for an outbound conn */
	struct asockd_conn	*out;	/* a client's outbound conn */
	int			 outbound;
};

#define ENTER(c) do {							\
	if (depth++ > 0)						\
		host->log(self, ASOCKD_LOG_ERR, "NESTED callback");	\
} while (0)
#define LEAVE() depth--

static int
probe_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	self = inst;
	return 0;
}

static struct probe *
probe_of(struct asockd_conn *c)
{
	struct probe	*p = host->udata(c);

	if (p == NULL) {
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return NULL;
		host->set_udata(c, p);
	}
	return p;
}

static int
probe_accept(struct asockd_conn *c)
{
	ENTER(c);
	probe_of(c);
	host->conn_log(c, ASOCKD_LOG_INFO, "probe accept");
	LEAVE();
	return 0;
}

static void
reply(struct asockd_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
reply(struct asockd_conn *c, const char *fmt, ...)
{
	char	 buf[512];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		host->send(c, buf, (size_t)n < sizeof(buf) ? (size_t)n :
		    sizeof(buf) - 1);
}

static void
tick(struct asockd_timer *t, void *arg)
{
	struct asockd_conn	*c = arg;

	ENTER(c);
	reply(c, "tick\n");
	LEAVE();
}

static void
unpause(struct asockd_timer *t, void *arg)
{
	struct asockd_conn	*c = arg;

	ENTER(c);
	host->pause_receive(c, 0);
	reply(c, "resumed\n");
	LEAVE();
}

static void
flood(struct asockd_conn *c, long n)
{
	char	*buf;
	long	 i;
	int	 rc;

	if (n <= 0 || (buf = malloc(n)) == NULL)
		return;
	for (i = 0; i < n; i++)
		buf[i] = 'a' + i % 26;
	rc = host->send(c, buf, n);
	host->conn_log(c, ASOCKD_LOG_INFO, "probe flood %ld rc=%d"
	    " writable=%d", n, rc, host->writable(c));
	free(buf);
}

static void
command(struct asockd_conn *c, char *line)
{
	struct probe		*p;
	struct asockd_conn	*out = NULL;
	int			 rc;

	if (strncmp(line, "echo ", 5) == 0)
		reply(c, "%s\n", line + 5);
	else if (strcmp(line, "close") == 0) {
		reply(c, "bye\n");
		host->close(c);
		rc = host->send(c, "x", 1);
		host->conn_log(c, ASOCKD_LOG_INFO, "probe send after close"
		    " rc=%d", rc);
	} else if (strcmp(line, "abort") == 0)
		host->abort(c);
	else if (strncmp(line, "floodclose ", 11) == 0) {
		flood(c, atol(line + 11));
		host->close(c);
	} else if (strncmp(line, "flood ", 6) == 0)
		flood(c, atol(line + 6));
	else if (strncmp(line, "timer ", 6) == 0)
		host->timer_start(self, c, atol(line + 6) / 1000.0, 0, tick, c);
	else if (strncmp(line, "pause ", 6) == 0) {
		host->pause_receive(c, 1);
		host->timer_start(self, c, atol(line + 6) / 1000.0, 0,
		    unpause, c);
	} else if (strcmp(line, "shut") == 0) {
		rc = host->shutdown_write(c);
		host->conn_log(c, ASOCKD_LOG_INFO, "probe shut rc=%d", rc);
	} else if (strncmp(line, "connect ", 8) == 0) {
		if ((p = calloc(1, sizeof(*p))) == NULL)
			return;
		p->client = c;
		p->outbound = 1;
		rc = host->connect(self, line + 8, p, &out);
		if (rc < 0) {
			free(p);
			reply(c, "connect error %d\n", -rc);
		} else if (probe_of(c) != NULL)
			probe_of(c)->out = out;	/* closed with c */
	} else
		reply(c, "unknown\n");
}

static size_t
probe_receive(struct asockd_conn *c, const void *data, size_t len)
{
	struct probe	*p = probe_of(c);
	const char	*s = data, *nl;
	char		 line[256];
	size_t		 used = 0, n;

	ENTER(c);
	if (p->outbound) {
		/* bytes from a remote we connected to: relay them */
		if (p->client != NULL)
			reply(p->client, "remote: %.*s", (int)len, s);
		p->in += len;
		LEAVE();
		return len;
	}
	while ((nl = memchr(s + used, '\n', len - used)) != NULL) {
		n = nl - (s + used);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, s + used, n);
		line[n] = '\0';
		used = nl - s + 1;
		command(c, line);
	}
	p->in += used;
	LEAVE();
	return used;	/* a partial line stays buffered in the host */
}

static void
probe_send(struct asockd_conn *c)
{
	ENTER(c);
	host->conn_log(c, ASOCKD_LOG_INFO, "probe on_send queued=%zu",
	    host->queued(c));
	reply(c, "drained\n");
	LEAVE();
}

static void
probe_oob(struct asockd_conn *c, unsigned char byte)
{
	ENTER(c);
	host->conn_log(c, ASOCKD_LOG_INFO, "probe oob %c", byte);
	reply(c, "oob %c\n", byte);
	LEAVE();
}

static void
probe_connect(struct asockd_conn *c, int err)
{
	struct probe	*p = host->udata(c);

	ENTER(c);
	if (p->client == NULL) {	/* the client left meanwhile */
		if (err == 0)
			host->close(c);
		else
			free(p);
	} else if (err == 0)
		reply(p->client, "connect ok\n");
	else {
		reply(p->client, "connect error %d\n", -err);
		if (host->udata(p->client) != NULL)
			((struct probe *)host->udata(p->client))->out = NULL;
		free(p);
	}
	LEAVE();
}

static void
probe_eof(struct asockd_conn *c)
{
	struct probe	*p = probe_of(c);

	ENTER(c);
	reply(c, "eof after %zu\n", p->in);
	host->close(c);
	LEAVE();
}

static void
probe_close(struct asockd_conn *c, int reason)
{
	struct probe	*p = host->udata(c);

	ENTER(c);
	host->conn_log(c, ASOCKD_LOG_INFO, "probe close reason=%d in=%zu",
	    reason, p ? p->in : 0);
	if (host->send(c, "x", 1) != -EPIPE)
		host->log(self, ASOCKD_LOG_ERR, "send in on_close worked");
	/* unlink a client and its outbound connection: neither may use
	 * the other once it is gone */
	if (p != NULL && p->outbound && p->client != NULL &&
	    host->udata(p->client) != NULL)
		((struct probe *)host->udata(p->client))->out = NULL;
	if (p != NULL && !p->outbound && p->out != NULL) {
		((struct probe *)host->udata(p->out))->client = NULL;
		host->close(p->out);
	}
	free(p);
	LEAVE();
}

ASOCKD_PLUGIN_DEFINE(
	.name = "probe",
	.version = "1.0",
	.init = probe_init,
	.on_accept = probe_accept,
	.on_receive = probe_receive,
	.on_send = probe_send,
	.on_oob = probe_oob,
	.on_connect = probe_connect,
	.on_eof = probe_eof,
	.on_close = probe_close,
);
