/*
 * spawnprobe.c - test-only plugin: the ABI 1.3 calls' error returns.
 *
 * On each connection it calls host->spawn, child_kill, attach_fd and
 * ini_each with good and bad arguments and sends one line of results,
 * "name=value ..." (values are the returns, negative errno), then the
 * exit status of a /bin/sleep it killed: "exit=signal 15".  The
 * connection is closed after that line.
 */
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <asockd/plugin.h>

static const struct asockd_host *host;
static struct asockd_instance *self;

static int
probe_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	host = h;
	self = inst;
	*pdata = NULL;
	return 0;
}

static int
count_keys(const char *key, const char *value, int line, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void
slept(struct asockd_child *ch, int status, void *arg)
{
	struct asockd_conn	*c = arg;
	char			 line[64];

	snprintf(line, sizeof(line), "exit=%s %d\n", WIFSIGNALED(status) ?
	    "signal" : "status", WIFSIGNALED(status) ? WTERMSIG(status) :
	    WEXITSTATUS(status));
	(void)host->send(c, line, strlen(line));
	(void)host->close(c);
}

static int
probe_accept(struct asockd_conn *c)
{
	const char *const rel[] = { "true", NULL };
	const char *const noent[] = { "/no/such/program", NULL };
	const char *const sleep10[] = { "/bin/sleep", "10", NULL };
	struct asockd_spawn	 sp;
	struct asockd_child	*ch = NULL;
	struct asockd_conn	*pc;
	char			 line[256];
	int			 p[2], fds[2], notsock, relative, size, nosuch;
	int			 kill1, kill2, n = 0, each;

	if (pipe(p) == -1)
		return -errno;
	notsock = host->attach_fd(self, p[0], NULL, NULL, &pc);
	close(p[0]);
	close(p[1]);
	memset(&sp, 0, sizeof(sp));
	sp.size = sizeof(sp);
	sp.uid = (uid_t)-1;
	sp.gid = (gid_t)-1;
	sp.argv = rel;
	relative = host->spawn(self, &sp, slept, c, fds, &ch);
	sp.argv = noent;
	nosuch = host->spawn(self, &sp, slept, c, fds, &ch);
	sp.argv = sleep10;
	sp.size = 4;
	size = host->spawn(self, &sp, slept, c, fds, &ch);
	sp.size = sizeof(sp);
	if (host->spawn(self, &sp, slept, c, fds, &ch) < 0)
		return -EIO;
	kill1 = host->child_kill(ch, 5);
	kill2 = host->child_kill(ch, 5);
	each = host->ini_each(self, "nothing", count_keys, &n);
	snprintf(line, sizeof(line), "notsock=%d relative=%d noent=%d"
	    " size=%d fds=%d,%d kill=%d again=%d each=%d,%d\n", notsock,
	    relative, nosuch, size, fds[0], fds[1], kill1, kill2, each, n);
	(void)host->send(c, line, strlen(line));
	return 0;
}

static const struct asockd_setting probe_settings[] = { { .name = NULL } };

ASOCKD_PLUGIN_DEFINE(
	.name = "spawnprobe",
	.version = "1.0",
	.init = probe_init,
	.on_accept = probe_accept,
	.settings = probe_settings
);
