/*
 * echo.c - the Echo Protocol (RFC 862) as an asockd plugin.
 *
 * Every byte a client sends comes back unchanged.  On stream listeners
 * (tcp://, unix:) the receive notification hands the bytes to host->send
 * and consumes them all; on datagram listeners (udp://, unix-dgram:) each
 * datagram is answered with the same payload.  On framed listeners
 * (framing = line, length or archive) each whole message comes back as
 * one message in the same framing.
 *
 * Backpressure needs no code here: host->send never drops bytes, and once
 * the connection's output queue is over its high-water mark the host stops
 * reading from the peer, so a client that sends faster than it reads only
 * stalls itself.
 */
#include <errno.h>
#include <string.h>

#include <asockd/plugin.h>

/* The host table and our instance, from init; valid until fini returns. */
static const struct asockd_host *host;
static struct asockd_instance *self;

static int
echo_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	self = inst;
	*pdata = NULL;
	return 0;
}

static size_t
echo_receive(struct asockd_conn *c, const void *data, size_t len)
{
	/*
	 * send copies what the kernel does not take at once, so the whole
	 * buffer is consumed.  It fails only when the connection is already
	 * closing, and then the bytes have nowhere to go anyway.
	 */
	(void)host->send(c, data, len);
	return len;
}

static void
echo_message(struct asockd_conn *c, const void *msg, size_t len)
{
	/* send_frame adds the listener's framing: a length prefix or "\n" */
	(void)host->send_frame(c, msg, len);
}

static void
echo_datagram(struct asockd_listener *l, const void *data, size_t len,
    const struct sockaddr *from, socklen_t fromlen)
{
	int	 error;

	/* Datagrams are not queued: a full socket buffer drops the reply. */
	if ((error = host->sendto(l, data, len, from, fromlen)) < 0 &&
	    error != -EAGAIN)
		host->log(self, ASOCKD_LOG_DEBUG, "sendto: %s",
		    strerror(-error));
}

/* No settings: a key in an INI file for this plugin is an error. */
static const struct asockd_setting echo_settings[] = { { .name = NULL } };

ASOCKD_PLUGIN_DEFINE(
	.name = "echo",
	.version = "1.0",
	.init = echo_init,
	.on_receive = echo_receive,
	.on_message = echo_message,
	.on_datagram = echo_datagram,
	.settings = echo_settings
);
