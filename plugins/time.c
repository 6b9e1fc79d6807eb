/*
 * time.c - the Time Protocol (RFC 868) as an asockd plugin.
 *
 * The answer is the number of seconds since 1900-01-01 00:00 UTC as a
 * 32-bit unsigned integer in network byte order (big-endian).  A stream
 * client gets the four bytes and the connection closes; a datagram gets
 * a four-byte datagram in reply.  The 32-bit count wraps in 2036; RFC 868
 * has no room for more, and clients are expected to cope.
 */
#include <stdint.h>
#include <time.h>

#include <asockd/plugin.h>

/* Seconds from 1900-01-01 to 1970-01-01 (70 years, 17 of them leap). */
#define TIME_EPOCH_OFFSET	2208988800ULL

static const struct asockd_host *host;

static int
time_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	*pdata = NULL;
	return 0;
}

/* The current time, encoded big-endian into buf[4]. */
static void
time_encode(unsigned char buf[4])
{
	uint32_t	 t;

	t = (uint32_t)((uint64_t)time(NULL) + TIME_EPOCH_OFFSET);
	buf[0] = t >> 24;
	buf[1] = t >> 16;
	buf[2] = t >> 8;
	buf[3] = t;
}

static int
time_accept(struct asockd_conn *c)
{
	unsigned char	 buf[4];

	time_encode(buf);
	(void)host->send(c, buf, sizeof(buf));
	(void)host->close(c);	/* runs after we return, after the flush */
	return 0;
}

static size_t
time_receive(struct asockd_conn *c, const void *data, size_t len)
{
	return len;
}

static void
time_datagram(struct asockd_listener *l, const void *data, size_t len,
    const struct sockaddr *from, socklen_t fromlen)
{
	unsigned char	 buf[4];

	time_encode(buf);
	(void)host->sendto(l, buf, sizeof(buf), from, fromlen);
}

/* No settings: a key in an INI file for this plugin is an error. */
static const struct asockd_setting time_settings[] = { { .name = NULL } };

ASOCKD_PLUGIN_DEFINE(
	.name = "time",
	.version = "1.0",
	.init = time_init,
	.on_accept = time_accept,
	.on_receive = time_receive,
	.on_datagram = time_datagram,
	.settings = time_settings
);
