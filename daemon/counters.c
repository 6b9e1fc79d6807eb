/*
 * counters.c - counters every worker keeps without locks, summed by the
 * master.
 *
 * The master maps one block per worker slot (struct ctr_block) before it
 * forks anything, and names in it, before each fork, the listeners and
 * plugins of the worker's configuration.  The worker then is the only
 * writer of its block: CTR_ADD() is a plain load and a relaxed store, no
 * lock and no syscall, and an aligned 64-bit store is never seen torn.
 * The master reads the blocks of the live workers when it is asked
 * (metrics.c) and, when a worker exits, adds the block to totals of its
 * own (ctr_slot_fold) before the slot is used again: so a sum never goes
 * backwards, whether a worker crashed, retired after a reload or was
 * replaced.  Names are the key, across generations: a listener that
 * a reload keeps keeps counting; one it removes keeps its totals.
 *
 * Loop stalls: a check watcher (after poll, first of its turn) notes the
 * time, a prepare watcher (before the next poll) measures how long the
 * turn took, and the worst of each 30 s window is kept; the two windows
 * cover the last 30 to 60 seconds.
 */
#include <sys/mman.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asockd.h"

const double		 ctr_bounds[CTR_BUCKETS - 1] = {
	0.00001, 0.0001, 0.001, 0.01, 0.1, 1.0, 10.0
};
struct ctr_listener	 ctr_sink;
struct ctr_plugin	 ctr_psink;
struct ctr_block	*ctr_shm;
int			 ctr_tsc;		/* ctr_now() reads the TSC */
double			 ctr_tick_ns = 1.0;	/* ns per ctr_now() tick */

#define STALL_WINDOW	30.0

static struct ctr_block	*self;
static int		 nslots;
#ifndef ASOCKD_NO_COUNTERS
static ev_check		 turn_check;
static ev_prepare	 turn_prepare;
static ev_tstamp	 turn_start;
#endif

/* Master: totals of the workers that are gone, by name. */
static struct ctr_sum	 gone;

static void	 tsc_calibrate(void);

void
ctr_init(int n)
{
	nslots = n;
	ctr_shm = mmap(NULL, sizeof(*ctr_shm) * n,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctr_shm == MAP_FAILED)
		fatal("mmap counters");
	tsc_calibrate();
}

void
ctr_slot_reset(int slot, const struct config *cf)
{
	struct ctr_block	*b = &ctr_shm[slot];
	struct listener_conf	*lc;
	struct plugin_conf	*pc;

	memset(b, 0, sizeof(*b));
	TAILQ_FOREACH(lc, &cf->listeners, entry) {
		if (b->nlisteners == CTR_LISTENERS)
			break;
		snprintf(b->listeners[b->nlisteners++].name, CTR_NAMELEN,
		    "%s", lc->name);
	}
	TAILQ_FOREACH(pc, &cf->plugins, entry) {
		if (b->nplugins == CTR_PLUGINS)
			break;
		snprintf(b->plugins[b->nplugins++].name, CTR_NAMELEN, "%s",
		    pc->name);
	}
}

static void
add_listener(struct ctr_listener *to, const struct ctr_listener *from)
{
	int	 i;

	to->accepted += CTR_GET(from->accepted);
	for (i = 0; i < CTR_REFUSE_MAX; i++)
		to->refused[i] += CTR_GET(from->refused[i]);
	for (i = 0; i < CTR_REASONS; i++)
		to->closed[i] += CTR_GET(from->closed[i]);
	to->bytes_in += CTR_GET(from->bytes_in);
	to->bytes_out += CTR_GET(from->bytes_out);
	to->msgs_in += CTR_GET(from->msgs_in);
	to->msgs_out += CTR_GET(from->msgs_out);
	to->framing_errors += CTR_GET(from->framing_errors);
	to->backpressure += CTR_GET(from->backpressure);
}

static void
add_plugin(struct ctr_plugin *to, const struct ctr_plugin *from)
{
	int	 i;

	to->calls += CTR_GET(from->calls);
	for (i = 0; i < CTR_BUCKETS; i++)
		to->hist[i] += CTR_GET(from->hist[i]);
	to->time_ns += CTR_GET(from->time_ns);
	to->crashes += from->crashes;
}

static struct ctr_listener *
sum_listener(struct ctr_sum *s, const char *name)
{
	int	 i;

	for (i = 0; i < s->nl; i++)
		if (strcmp(s->l[i].name, name) == 0)
			return &s->l[i];
	s->l = xrealloc(s->l, (s->nl + 1) * sizeof(*s->l));
	memset(&s->l[s->nl], 0, sizeof(*s->l));
	snprintf(s->l[s->nl].name, CTR_NAMELEN, "%s", name);
	return &s->l[s->nl++];
}

static struct ctr_plugin *
sum_plugin(struct ctr_sum *s, const char *name)
{
	int	 i;

	for (i = 0; i < s->np; i++)
		if (strcmp(s->p[i].name, name) == 0)
			return &s->p[i];
	s->p = xrealloc(s->p, (s->np + 1) * sizeof(*s->p));
	memset(&s->p[s->np], 0, sizeof(*s->p));
	snprintf(s->p[s->np].name, CTR_NAMELEN, "%s", name);
	return &s->p[s->np++];
}

static void
sum_block(struct ctr_sum *s, const struct ctr_block *b)
{
	int	 i;

	for (i = 0; i < b->nlisteners; i++)
		add_listener(sum_listener(s, b->listeners[i].name),
		    &b->listeners[i]);
	for (i = 0; i < b->nplugins; i++)
		add_plugin(sum_plugin(s, b->plugins[i].name), &b->plugins[i]);
	s->bus_dropped += CTR_GET(b->bus_dropped);
}

void
ctr_slot_fold(int slot)
{
	sum_block(&gone, &ctr_shm[slot]);
	memset(&ctr_shm[slot], 0, sizeof(ctr_shm[slot]));
}

void
ctr_plugin_crash(const char *name)
{
	sum_plugin(&gone, name)->crashes++;
}

void
ctr_sum(struct ctr_sum *s, const char *live)
{
	int	 i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < gone.nl; i++)
		add_listener(sum_listener(s, gone.l[i].name), &gone.l[i]);
	for (i = 0; i < gone.np; i++)
		add_plugin(sum_plugin(s, gone.p[i].name), &gone.p[i]);
	s->bus_dropped = gone.bus_dropped;
	for (i = 0; i < nslots; i++)
		if (live[i])
			sum_block(s, &ctr_shm[i]);
}

void
ctr_bus_dropped(void)
{
	if (self != NULL)
		CTR_ADD(self->bus_dropped, 1);
	else
		gone.bus_dropped++;	/* the master's: a relay drop */
}

void
ctr_sum_free(struct ctr_sum *s)
{
	free(s->l);
	free(s->p);
	memset(s, 0, sizeof(*s));
}

#if !defined(ASOCKD_NO_COUNTERS) && (defined(__x86_64__) || defined(__i386__))
static uint64_t
mono_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Use the TSC for ctr_now() if the kernel does (its clocksource: then
 * it is constant and synchronized across CPUs), with its rate measured
 * against CLOCK_MONOTONIC over 2 ms.
 */
static void
tsc_calibrate(void)
{
	char		 cs[32] = "";
	uint64_t	 t0, t1, c0, c1;
	FILE		*fp;

	fp = fopen("/sys/devices/system/clocksource/clocksource0/"
	    "current_clocksource", "r");
	if (fp == NULL)
		return;
	if (fgets(cs, sizeof(cs), fp) == NULL || strcmp(cs, "tsc\n") != 0) {
		fclose(fp);
		return;
	}
	fclose(fp);
	t0 = mono_ns();
	c0 = __builtin_ia32_rdtsc();
	while ((t1 = mono_ns()) - t0 < 2000000)
		;
	c1 = __builtin_ia32_rdtsc();
	if (c1 <= c0)
		return;
	ctr_tick_ns = (double)(t1 - t0) / (double)(c1 - c0);
	ctr_tsc = 1;
}
#else
static void
tsc_calibrate(void)
{
}
#endif

void
ctr_callback(struct ctr_plugin *p, uint64_t ticks)
{
	uint64_t	 ns = (uint64_t)((double)ticks * ctr_tick_ns);
	int		 i;

	for (i = 0; i < CTR_BUCKETS - 1; i++)
		if ((double)ns <= ctr_bounds[i] * 1e9)
			break;
	CTR_ADD(p->hist[i], 1);
	CTR_ADD(p->time_ns, ns);
}

struct ctr_listener *
ctr_listener_find(const char *name)
{
	int	 i;

	if (self == NULL)
		return &ctr_sink;
	for (i = 0; i < self->nlisteners; i++)
		if (strcmp(self->listeners[i].name, name) == 0)
			return &self->listeners[i];
	return &ctr_sink;
}

struct ctr_plugin *
ctr_plugin_find(const char *name)
{
	int	 i;

	if (self == NULL)
		return &ctr_psink;
	for (i = 0; i < self->nplugins; i++)
		if (strcmp(self->plugins[i].name, name) == 0)
			return &self->plugins[i];
	return &ctr_psink;
}

#ifndef ASOCKD_NO_COUNTERS
/* First watcher after poll: the turn starts (ev_now is after the poll). */
static void
turn_check_cb(struct ev_loop *l, ev_check *w, int revents)
{
	turn_start = ev_now(l);
}

/* Before the next poll: the turn is over. */
static void
turn_prepare_cb(struct ev_loop *l, ev_prepare *w, int revents)
{
	uint64_t	 ns, win;
	int		 i;

	CTR_ADD(self->iterations, 1);
	if (turn_start == 0)
		return;
	ns = (uint64_t)((ev_time() - turn_start) * 1e9);
	win = (uint64_t)(turn_start / STALL_WINDOW);
	if (win != self->stall_win) {
		/* the window before the current one stays, older ones go */
		i = win & 1;
		__atomic_store_n(&self->stall_ns[i], 0, __ATOMIC_RELAXED);
		if (win != self->stall_win + 1)
			__atomic_store_n(&self->stall_ns[!i], 0,
			    __ATOMIC_RELAXED);
		__atomic_store_n(&self->stall_win, win, __ATOMIC_RELAXED);
	}
	if (ns > self->stall_ns[win & 1])
		__atomic_store_n(&self->stall_ns[win & 1], ns,
		    __ATOMIC_RELAXED);
	turn_start = 0;
}

#endif

void
ctr_attach(int slot)
{
	self = &ctr_shm[slot];
#ifndef ASOCKD_NO_COUNTERS
	ev_check_init(&turn_check, turn_check_cb);
	ev_set_priority(&turn_check, EV_MAXPRI);
	ev_check_start(proc.loop, &turn_check);
	ev_unref(proc.loop);
	ev_prepare_init(&turn_prepare, turn_prepare_cb);
	ev_prepare_start(proc.loop, &turn_prepare);
	ev_unref(proc.loop);
#endif
}
