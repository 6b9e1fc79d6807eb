/*
 * minor1.c - a test-only plugin as one built against ABI 1.1 would be:
 * its descriptor says minor 1 and has the size of a 1.1 descriptor
 * (everything up to on_datagram), written by hand because
 * ASOCKD_PLUGIN_DEFINE fills in the current version.  A daemon of a later
 * minor must load it and run it: each archive frame is answered with
 * ["minor", plugin's minor, daemon's minor], using 1.1 calls only.
 */
#include <stddef.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;

static int
minor1_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	return 0;
}

static void
minor1_message(struct asockd_conn *c, const void *msg, size_t len)
{
	struct asockd_writer	*w = host->wr_new();

	host->wr_array(w, 3);
	host->wr_str(w, "minor", 5);
	host->wr_uint(w, 1);
	host->wr_uint(w, host->abi_minor);
	host->wr_send(c, w);
	host->wr_free(w);
}

const struct asockd_plugin ASOCKD_PLUGIN_SYMBOL = {
	.abi_major = ASOCKD_ABI_MAJOR,
	.abi_minor = 1,
	.size = offsetof(struct asockd_plugin, on_datagram) +
	    sizeof(void (*)(void)),
	.name = "minor1",
	.version = "1.0",
	.init = minor1_init,
	.on_message = minor1_message
};
