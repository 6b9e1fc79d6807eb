/*
 * busprobe.c - a test-only plugin for the message bus calls (ABI 1.3).
 *
 * Line commands, each answered with one line:
 *
 *   sub CH N       bus_subscribe(CH, backlog N)     -> "sub RV"
 *   unsub CH       bus_unsubscribe(CH)              -> "unsub RV"
 *   once CH        subscribe CH; unsubscribe inside the first on_bus
 *   pub CH TEXT    bus_publish(CH, TEXT)            -> "pub RV"
 *   big | empty    publish 65537 bytes / 0 bytes on "a" -> "pub RV"
 *
 * on_bus sends "bus CH TEXT" to every connection of the instance.  A
 * delivery inside bus_publish (or any nesting) logs "NESTED".  State is
 * per instance, so one worker may load it twice (two subscribers of a
 * channel in one process).
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asockd/plugin.h>

struct client {
	struct asockd_conn	*conn;
	TAILQ_ENTRY(client)	 entry;
};

struct bp {
	TAILQ_HEAD(, client)	 clients;
	char			 once_ch[64];
};

static const struct asockd_host *host;
static int	 depth;

static int
bp_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	struct bp	*bp;

	host = h;
	if (h->abi_minor < 3)
		return -ENOTSUP;
	if ((bp = calloc(1, sizeof(*bp))) == NULL)
		return -ENOMEM;
	TAILQ_INIT(&bp->clients);
	*pdata = bp;
	return 0;
}

static void
bp_fini(struct asockd_instance *inst)
{
	free(host->instance_data(inst));
}

static struct bp *
bp_of(struct asockd_conn *c)
{
	return host->instance_data(host->conn_instance(c));
}

static int
bp_accept(struct asockd_conn *c)
{
	struct client	*cl;

	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return -ENOMEM;
	cl->conn = c;
	host->set_udata(c, cl);
	TAILQ_INSERT_TAIL(&bp_of(c)->clients, cl, entry);
	return 0;
}

static void
reply(struct asockd_conn *c, const char *what, int rv)
{
	char	 line[64];

	snprintf(line, sizeof(line), "%s %d\n", what, rv);
	host->send(c, line, strlen(line));
}

static void
run(struct asockd_conn *c, char *line)
{
	struct asockd_instance *inst = host->conn_instance(c);
	static char	 big[65537];
	char		*arg, *text;

	if ((arg = strchr(line, ' ')) != NULL)
		*arg++ = '\0';
	if (strcmp(line, "sub") == 0 && arg != NULL &&
	    (text = strchr(arg, ' ')) != NULL) {
		*text++ = '\0';
		reply(c, "sub", host->bus_subscribe(inst, arg,
		    (unsigned int)atoi(text)));
	} else if (strcmp(line, "unsub") == 0 && arg != NULL)
		reply(c, "unsub", host->bus_unsubscribe(inst, arg));
	else if (strcmp(line, "once") == 0 && arg != NULL) {
		snprintf(bp_of(c)->once_ch, sizeof(bp_of(c)->once_ch), "%s",
		    arg);
		reply(c, "sub", host->bus_subscribe(inst, arg, 0));
	} else if (strcmp(line, "pub") == 0 && arg != NULL &&
	    (text = strchr(arg, ' ')) != NULL) {
		*text++ = '\0';
		reply(c, "pub", host->bus_publish(inst, arg, text,
		    strlen(text)));
	} else if (strcmp(line, "big") == 0)
		reply(c, "pub", host->bus_publish(inst, "a", big,
		    sizeof(big)));
	else if (strcmp(line, "empty") == 0)
		reply(c, "pub", host->bus_publish(inst, "a", "", 0));
	else
		reply(c, "unknown", -EINVAL);
}

static size_t
bp_receive(struct asockd_conn *c, const void *data, size_t len)
{
	const char	*p = data, *nl;
	char		 line[256];
	size_t		 used = 0, n;

	if (depth++ > 0)
		host->conn_log(c, ASOCKD_LOG_ERR, "NESTED");
	while ((nl = memchr(p + used, '\n', len - used)) != NULL) {
		n = nl - (p + used);
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p + used, n);
		line[n] = '\0';
		run(c, line);
		used = nl - p + 1;
	}
	depth--;
	return used;
}

static void
bp_bus(struct asockd_instance *inst, const char *channel,
    const void *data, size_t len)
{
	struct bp	*bp = host->instance_data(inst);
	struct client	*cl;
	char		 line[512];
	int		 n;

	if (depth++ > 0)
		host->log(inst, ASOCKD_LOG_ERR, "NESTED");
	n = snprintf(line, sizeof(line), "bus %s %.*s\n", channel,
	    (int)(len < 256 ? len : 256), (const char *)data);
	TAILQ_FOREACH(cl, &bp->clients, entry)
		host->send(cl->conn, line, (size_t)n);
	if (strcmp(channel, bp->once_ch) == 0) {
		host->bus_unsubscribe(inst, channel);
		bp->once_ch[0] = '\0';
	}
	depth--;
}

static void
bp_close(struct asockd_conn *c, int reason)
{
	struct client	*cl = host->udata(c);

	if (cl != NULL) {
		TAILQ_REMOVE(&bp_of(c)->clients, cl, entry);
		free(cl);
	}
}

ASOCKD_PLUGIN_DEFINE(
	.name = "busprobe",
	.version = "1.0",
	.init = bp_init,
	.fini = bp_fini,
	.on_accept = bp_accept,
	.on_receive = bp_receive,
	.on_close = bp_close,
	.on_bus = bp_bus
);
