/*
 * badabi.c - test-only plugin whose descriptor claims the next ABI major
 * version.  Written by hand instead of with ASOCKD_PLUGIN_DEFINE, which
 * would fill in the right version.  The daemon must refuse it before it
 * calls any of its code: init aborts the process if it is ever called.
 */
#include <stdlib.h>

#include <asockd/plugin.h>

static int
badabi_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	abort();	/* a refused plugin's code must never run */
}

const struct asockd_plugin ASOCKD_PLUGIN_SYMBOL = {
	.abi_major = ASOCKD_ABI_MAJOR + 1,
	.abi_minor = 0,
	.size = sizeof(struct asockd_plugin),
	.name = "badabi",
	.version = "1.0",
	.init = badabi_init
};
