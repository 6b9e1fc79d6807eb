/*
 * refuse.c - test-only plugin: refuses connections from on_accept.
 *
 * By default every connection is refused with -ECONNREFUSED.  With an INI
 * file
 *   [refuse]
 *   every = 2
 * only every 2nd connection (the 1st, 3rd, ...) is refused and the others
 * are served as echo, so a test can check that the daemon keeps serving
 * after a refusal.
 */
#include <errno.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;
static long long every = 1;
static unsigned long long count;

static int
refuse_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	*pdata = NULL;
	if (host->ini_int(inst, "refuse", "every", 1, &every) < 0)
		return -EINVAL;
	if (every < 1) {
		host->log(inst, ASOCKD_LOG_ERR, "every must be at least 1");
		return -EINVAL;
	}
	return 0;
}

static int
refuse_accept(struct asockd_conn *c)
{
	if (count++ % (unsigned long long)every == 0)
		return -ECONNREFUSED;
	return 0;
}

static size_t
refuse_receive(struct asockd_conn *c, const void *data, size_t len)
{
	(void)host->send(c, data, len);
	return len;
}

ASOCKD_PLUGIN_DEFINE(
	.name = "refuse",
	.version = "1.0",
	.init = refuse_init,
	.on_accept = refuse_accept,
	.on_receive = refuse_receive
);
