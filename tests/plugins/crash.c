/*
 * crash.c - test-only plugin: a line echo that can kill its worker.
 *
 * Lines (raw framing, one per read is enough for the tests):
 *   pid     answers the worker's process id, "PID\n"
 *   segv    writes through a null pointer (SIGSEGV)
 *   abort   calls abort() (SIGABRT)
 *   sleep   blocks the worker for 300 ms, then answers "slept\n"
 *   hang    never returns (a busy loop)
 * anything else comes back unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;
/* volatile: the compiler must not prove the store away */
static int *volatile nowhere;

static int
crash_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	*pdata = NULL;
	return 0;
}

/*
 * A real SIGSEGV: a store through a null pointer, kept out of the
 * sanitizers' reach so that an --enable-asan build crashes the same way
 * (UBSan would otherwise stop the worker with exit status 1 first).
 */
__attribute__((noinline, no_sanitize("undefined", "address")))
static void
segv(void)
{
	*nowhere = 1;
}

/* A plugin stuck for good: the loop never turns again. */
static volatile int spin = 1;

__attribute__((noinline))
static void
hang(void)
{
	while (spin)
		;
}

static size_t
crash_receive(struct asockd_conn *c, const void *data, size_t len)
{
	char	 buf[32];
	int	 n;

	if (len >= 4 && memcmp(data, "pid\n", 4) == 0) {
		n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
		(void)host->send(c, buf, (size_t)n);
		return 4;
	}
	if (len >= 6 && memcmp(data, "sleep\n", 6) == 0) {
		usleep(300 * 1000);
		(void)host->send(c, "slept\n", 6);
		return 6;
	}
	if (len >= 5 && memcmp(data, "segv\n", 5) == 0)
		segv();
	if (len >= 6 && memcmp(data, "abort\n", 6) == 0)
		abort();
	if (len >= 5 && memcmp(data, "hang\n", 5) == 0)
		hang();
	(void)host->send(c, data, len);
	return len;
}

ASOCKD_PLUGIN_DEFINE(
	.name = "crash",
	.version = "1.0",
	.init = crash_init,
	.on_receive = crash_receive
);
