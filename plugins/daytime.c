/*
 * daytime.c - the Daytime Protocol (RFC 867) as an asockd plugin.
 *
 * A stream client gets one human-readable line with the local date and
 * time, then the connection closes; anything it sends is ignored.  A
 * datagram gets a datagram with the same line in reply.  RFC 867 leaves
 * the format free; this one reads like
 * "Wednesday, November 25, 2026 11:22:33-UTC\r\n".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;

static int
daytime_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	*pdata = NULL;
	return 0;
}

/* Format the current local time into buf; returns the length. */
static size_t
daytime_format(char *buf, size_t len)
{
	struct tm	 tm;
	time_t		 now;

	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL)
		return 0;
	return strftime(buf, len, "%A, %B %d, %Y %H:%M:%S-%Z\r\n", &tm);
}

static int
daytime_accept(struct asockd_conn *c)
{
	char	 line[128];
	size_t	 len;

	len = daytime_format(line, sizeof(line));
	(void)host->send(c, line, len);
	/*
	 * A close asked for inside a callback runs after it returns, and a
	 * graceful close flushes the queue first: the line is not lost.
	 */
	(void)host->close(c);
	return 0;
}

static size_t
daytime_receive(struct asockd_conn *c, const void *data, size_t len)
{
	return len;	/* the client has nothing to say */
}

static void
daytime_datagram(struct asockd_listener *l, const void *data, size_t len,
    const struct sockaddr *from, socklen_t fromlen)
{
	char	 line[128];
	size_t	 n;

	n = daytime_format(line, sizeof(line));
	(void)host->sendto(l, line, n, from, fromlen);
}

/* No settings: a key in an INI file for this plugin is an error. */
static const struct asockd_setting daytime_settings[] = { { .name = NULL } };

ASOCKD_PLUGIN_DEFINE(
	.name = "daytime",
	.version = "1.0",
	.init = daytime_init,
	.on_accept = daytime_accept,
	.on_receive = daytime_receive,
	.on_datagram = daytime_datagram,
	.settings = daytime_settings
);
