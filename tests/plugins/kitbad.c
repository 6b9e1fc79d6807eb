/*
 * kitbad.c - a test-only plugin that breaks the contract on purpose, for
 * tests/check_kit.c to show that the kit's contract checks catch it:
 *
 *  - it answers each on_receive as if it were one whole request ("got N
 *    bytes\n"), so its output changes with how the input was split;
 *  - it keeps the last connection in a plugin-wide variable and a
 *    plugin-wide timer sends to it a second later, after its on_close;
 *  - it stops its connection timer in on_close, after the host freed it.
 */
#include <stdio.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;
static struct asockd_instance *self;
static struct asockd_conn *last;

static int
bad_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	self = inst;
	return 0;
}

static void
bad_tick(struct asockd_timer *t, void *arg)
{
	if (last != NULL)
		(void)host->send(last, "late\n", 5);	/* after on_close */
	last = NULL;
}

static void
bad_conn_tick(struct asockd_timer *t, void *arg)
{
}

static int
bad_accept(struct asockd_conn *c)
{
	host->set_udata(c, host->timer_start(self, c, 30, 0, bad_conn_tick,
	    NULL));
	return 0;
}

static size_t
bad_receive(struct asockd_conn *c, const void *data, size_t len)
{
	char	 line[64];
	int	 n;

	n = snprintf(line, sizeof(line), "got %zu bytes\n", len);
	(void)host->send(c, line, (size_t)n);
	return len;
}

static void
bad_close(struct asockd_conn *c, int reason)
{
	host->timer_stop(host->udata(c));	/* freed with c already */
	last = c;
	(void)host->timer_start(self, NULL, 1, 0, bad_tick, NULL);
}

ASOCKD_PLUGIN_DEFINE(
	.name = "kitbad",
	.version = "1.0",
	.init = bad_init,
	.on_accept = bad_accept,
	.on_receive = bad_receive,
	.on_close = bad_close
);
