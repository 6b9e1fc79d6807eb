/*
 * flow.c - a test-only plugin for flow control on line listeners: output
 * that keeps flowing to a peer, a peer that never reads, and how much work
 * one connection gets per loop turn.
 *
 * Each line is a command:
 *
 *   tick MS        a connection timer that sends "tick" every MS ms
 *   spray N        every millisecond send a line of N bytes, whatever
 *                  writable() says, until a send fails; logs
 *                  "flow spray stopped rc=R queued=Q"
 *   spin US        busy for US microseconds per numbered line from now on
 *   pause MS       pause receiving for MS ms, then reply "resumed"
 *   ping           reply "pong"
 *   end            reply "count N bad B burst M": N numbered lines seen on
 *                  this connection, B of them out of order, M the most
 *                  messages the worker was handed within one loop turn
 *   a number       counted; must be the connection's previous number + 1
 *                  (the first is 0), else it counts as bad
 *
 * A loop turn is measured with a timer of 0 s: it fires in the next turn,
 * so the messages counted until it fires were delivered in one turn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;
static struct asockd_instance *self;
static unsigned long turn_msgs, max_burst;
static int turn_armed;

struct flow {
	unsigned long		 count;
	unsigned long		 bad;
	size_t			 spray;		/* bytes per spray send */
	long			 spin;		/* us per numbered line */
	struct asockd_timer	*timer;
};

static int
flow_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	self = inst;
	*pdata = NULL;
	return 0;
}

static int
flow_accept(struct asockd_conn *c)
{
	struct flow	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	host->set_udata(c, f);
	return 0;
}

static void
turn_cb(struct asockd_timer *t, void *arg)
{
	if (turn_msgs > max_burst)
		max_burst = turn_msgs;
	turn_msgs = 0;
	turn_armed = 0;
}

static void
tick_cb(struct asockd_timer *t, void *arg)
{
	host->send_frame(arg, "tick", 4);
}

static void
spray_cb(struct asockd_timer *t, void *arg)
{
	struct asockd_conn	*c = arg;
	struct flow		*f = host->udata(c);
	char			*buf;
	int			 rc;

	if ((buf = malloc(f->spray)) == NULL)
		return;
	memset(buf, 'x', f->spray);
	rc = host->send_frame(c, buf, f->spray);
	free(buf);
	if (rc < 0) {
		host->conn_log(c, ASOCKD_LOG_INFO, "flow spray stopped rc=%d"
		    " queued=%zu", rc, host->queued(c));
		host->timer_stop(t);
		f->timer = NULL;
	}
}

static void
spin(long us)
{
	struct timespec	 t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000L +
	    (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

static void
reply(struct asockd_conn *c, const char *s)
{
	host->send_frame(c, s, strlen(s));
}

static void
unpause_cb(struct asockd_timer *t, void *arg)
{
	host->pause_receive(arg, 0);
	reply(arg, "resumed");
}

static void
flow_message(struct asockd_conn *c, const void *msg, size_t len)
{
	struct flow	*f = host->udata(c);
	char		 line[128], out[128];
	char		*end;
	unsigned long	 n;

	turn_msgs++;
	if (!turn_armed && host->timer_start(self, NULL, 0, 0, turn_cb,
	    NULL) != NULL)
		turn_armed = 1;
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	memcpy(line, msg, len);
	line[len] = '\0';
	if (strncmp(line, "tick ", 5) == 0) {
		if (f->timer == NULL)
			f->timer = host->timer_start(self, c,
			    atol(line + 5) / 1000.0, atol(line + 5) / 1000.0,
			    tick_cb, c);
	} else if (strncmp(line, "spray ", 6) == 0) {
		f->spray = strtoul(line + 6, NULL, 10);
		if (f->timer == NULL && f->spray > 0)
			f->timer = host->timer_start(self, c, 0.001, 0.001,
			    spray_cb, c);
	} else if (strncmp(line, "pause ", 6) == 0) {
		host->pause_receive(c, 1);
		host->timer_start(self, c, atol(line + 6) / 1000.0, 0,
		    unpause_cb, c);
	} else if (strncmp(line, "spin ", 5) == 0)
		f->spin = atol(line + 5);
	else if (strcmp(line, "ping") == 0)
		reply(c, "pong");
	else if (strcmp(line, "end") == 0) {
		if (turn_msgs > max_burst)
			max_burst = turn_msgs;
		snprintf(out, sizeof(out), "count %lu bad %lu burst %lu",
		    f->count, f->bad, max_burst);
		reply(c, out);
	} else {
		n = strtoul(line, &end, 10);
		if (*end != '\0' || end == line || n != f->count)
			f->bad++;
		f->count++;
		if (f->spin > 0)
			spin(f->spin);
	}
}

static void
flow_close(struct asockd_conn *c, int reason)
{
	struct flow	*f = host->udata(c);

	host->conn_log(c, ASOCKD_LOG_INFO, "flow close reason=%d count=%lu",
	    reason, f->count);
	free(f);
}

ASOCKD_PLUGIN_DEFINE(
	.name = "flow",
	.version = "1.0",
	.init = flow_init,
	.on_accept = flow_accept,
	.on_message = flow_message,
	.on_close = flow_close,
);
