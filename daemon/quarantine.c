/*
 * quarantine.c - taking a plugin that keeps crashing out of service.
 *
 * A plugin whose code kills CRASH_LIMIT workers within CRASH_WINDOW
 * seconds is quarantined until a reload: the master closes its listening
 * sockets (new connections are refused) and records its name in the
 * shared page (master_shm), and every worker, which polls the page's
 * sequence number, stops serving those listeners; a worker started later
 * skips the plugin.  The master counts the deaths (quarantine_crash);
 * which deaths count is the master's call (plugin_fault() in master.c).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

#define CRASH_LIMIT	5	/* deaths within CRASH_WINDOW: quarantine */
#define CRASH_WINDOW	60.0

struct crash_rec {
	char			*plugin;
	ev_tstamp		 when[CRASH_LIMIT];
	int			 n;
	TAILQ_ENTRY(crash_rec)	 entry;
};

/* master: deaths per plugin */
static TAILQ_HEAD(, crash_rec) crashes = TAILQ_HEAD_INITIALIZER(crashes);
/* worker: master_shm->quarantine_seq last applied */
static uint32_t		 quarantine_seen;

int
quarantine_has(const char *name)
{
	int	 i;

	if (master_shm == NULL)
		return 0;
	for (i = 0; i < master_shm->nquarantined; i++)
		if (strcmp(master_shm->quarantined[i], name) == 0)
			return 1;
	return 0;
}

static void
quarantine_add(const char *name, int n, double secs)
{
	struct asockd_listener	*l;
	int			 q = master_shm->nquarantined;

	if (quarantine_has(name) || q >= QUARANTINE_MAX)
		return;
	snprintf(master_shm->quarantined[q], QUARANTINE_NAMELEN, "%s", name);
	master_shm->nquarantined = q + 1;
	__sync_synchronize();
	master_shm->quarantine_seq++;
	log_errx("plugin %s: quarantined: it killed %d workers in %.0f s;"
	    " its listeners stop accepting until a reload", name, n, secs);
	TAILQ_FOREACH(l, &listeners, entry)
		if (l->fd != -1 && strcmp(l->conf->plugin, name) == 0) {
			log_errx("listener %s: closed: plugin %s is"
			    " quarantined", l->conf->name, name);
			listener_shut(l);
		}
}

void
quarantine_crash(const char *name)
{
	struct crash_rec	*r;
	ev_tstamp		 now = ev_now(proc.loop);

	TAILQ_FOREACH(r, &crashes, entry)
		if (strcmp(r->plugin, name) == 0)
			break;
	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		r->plugin = xstrdup(name);
		TAILQ_INSERT_TAIL(&crashes, r, entry);
	}
	if (r->n == CRASH_LIMIT) {
		memmove(r->when, r->when + 1, sizeof(r->when[0]) *
		    (CRASH_LIMIT - 1));
		r->n--;
	}
	r->when[r->n++] = now;
	if (r->n == CRASH_LIMIT && now - r->when[0] <= CRASH_WINDOW)
		quarantine_add(name, CRASH_LIMIT, now - r->when[0] < 1 ? 1 :
		    now - r->when[0]);
}

void
quarantine_clear(void)
{
	struct crash_rec	*r;

	while ((r = TAILQ_FIRST(&crashes)) != NULL) {
		TAILQ_REMOVE(&crashes, r, entry);
		free(r->plugin);
		free(r);
	}
	master_shm->nquarantined = 0;
}

void
quarantine_sync(void)
{
	quarantine_seen = master_shm->quarantine_seq;
}

void
quarantine_apply(int worker)
{
	struct asockd_listener	*l;

	if (master_shm->quarantine_seq == quarantine_seen)
		return;
	quarantine_seen = master_shm->quarantine_seq;
	TAILQ_FOREACH(l, &listeners, entry) {
		if (l->fd == -1 || !quarantine_has(l->conf->plugin))
			continue;
		ev_io_stop(proc.loop, &l->io);
		close(l->fd);
		l->fd = -1;
		log_info("worker %d: listener %s: stopped (plugin %s"
		    " quarantined)", worker, l->conf->name,
		    l->conf->plugin);
	}
}
