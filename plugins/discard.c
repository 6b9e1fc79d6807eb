/*
 * discard.c - the Discard Protocol (RFC 863) as an asockd plugin.
 *
 * Everything received is thrown away.  The receive notification consumes
 * every byte it is handed, and the datagram notification does nothing.
 * (A NULL on_datagram would work too, since NULL means "not interested";
 * the empty callback documents that ignoring them is the protocol.)
 * The connection closes when the client ends its stream (no on_eof: the
 * host closes gracefully by itself).
 */
#include <asockd/plugin.h>

static size_t
discard_receive(struct asockd_conn *c, const void *data, size_t len)
{
	return len;
}

static void
discard_datagram(struct asockd_listener *l, const void *data, size_t len,
    const struct sockaddr *from, socklen_t fromlen)
{
	/* Nothing to do: RFC 863 sends no reply. */
}

/* No settings: a key in an INI file for this plugin is an error. */
static const struct asockd_setting discard_settings[] = { { .name = NULL } };

ASOCKD_PLUGIN_DEFINE(
	.name = "discard",
	.version = "1.0",
	.on_receive = discard_receive,
	.on_datagram = discard_datagram,
	.settings = discard_settings
);
