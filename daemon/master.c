/*
 * master.c - the master process: listening sockets, workers, reloads.
 *
 * The master binds every listener once and forks daemon.workers worker
 * processes (worker.c) that share the listening sockets; it never loads
 * plugin code.  Workers are started in generations: worker 0 first, the
 * rest once it is up (a broken plugin fails once, not N times), and a
 * generation is current once all of its workers report ready.
 *
 * A worker that dies unasked is logged with its signal, the plugin whose
 * code was on its stack and the plugins it had loaded, and replaced after
 * RESPAWN_DELAY.  A plugin that kills too many workers is quarantined
 * (quarantine.c) until a reload.  Only crash signals and hung-worker
 * aborts count (see plugin_fault()): an OOM kill must not be able to
 * close a service.
 *
 * Reload (SIGHUP): the new configuration is parsed into a fresh struct; an
 * invalid one changes nothing.  Listeners with the same name and address
 * keep their socket (its accept queue is never closed), new ones are
 * bound, and a new generation of workers starts.  Once it is up, the old
 * workers are retired (SIGUSR2: stop accepting, finish their connections
 * within shutdown_timeout) and the sockets of removed listeners closed.
 * If the new workers fail to start, they are stopped and the old
 * generation keeps serving.
 *
 * The master owns unix socket files and removes them at exit.
 *
 * Without -f the process the user started forks the master and waits on
 * a pipe (the Type=forking convention): the master writes one NUL byte
 * when the first generation is up, and the waiting process exits 0; if the
 * pipe closes without it (start-up failed and the master exited), it
 * prints the warnings and errors that came through the pipe (log_tee)
 * and exits 1.  Workers write there too until they are up.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

#define RESPAWN_DELAY	0.2	/* seconds before a dead worker is replaced */
#define RESPAWN_SLOW	1.0	/* ... when it died before it was up */
#define START_TIMEOUT	30.0	/* for a generation to come up */
#define STATUS_INTERVAL	5.0	/* STATUS= updates to systemd */
#define KILL_GRACE	5.0	/* after shutdown_timeout: SIGKILL */
#define HANG_CHECK	0.25	/* seconds between hung-worker checks */

enum gen_state {
	GEN_STARTING = 0,
	GEN_CURRENT,
	GEN_RETIRING
};

struct worker;

/* The workers started on one configuration. */
struct gen {
	struct config		*conf;
	unsigned int		 id;		/* 1, 2, ...: reloads */
	enum gen_state		 state;
	int			 nworkers;
	struct worker		**workers;	/* by index; NULL: none */
	int			 alive;		/* its processes */
	struct listeners	 oldl;	/* STARTING: listeners it replaces */
	ev_timer		 start_timer;
	TAILQ_ENTRY(gen)	 entry;
};

struct worker {
	struct gen		*gen;
	int			 index;
	pid_t			 pid;
	int			 slot;		/* in master_shm->slots */
	int			 readyfd;	/* -1 once read */
	int			 ready;
	int			 retiring;	/* asked to stop */
	ev_io			 ready_io;
	ev_child		 child;
	uint32_t		 beat;		/* last seen slot beat */
	ev_tstamp		 beat_at;	/* when it last changed */
	ev_tstamp		 abort_at;	/* SIGABRT sent, 0: not */
	struct bus_peer		*bus;		/* local bus relay, or NULL */
	TAILQ_ENTRY(worker)	 entry;
};

struct master_shm	*master_shm;
struct master_stats	 master_stats;

static TAILQ_HEAD(, gen) gens = TAILQ_HEAD_INITIALIZER(gens);
static TAILQ_HEAD(, worker) workers = TAILQ_HEAD_INITIALIZER(workers);
static struct gen	*current, *pending;

static int	 master_log_open(const struct config *);
static const char	*plugin_dir;
static int		 stopping, started, reload_again, exit_code;
static char		 slot_used[WORKER_SLOTS];
static char		*pidfile;
static int		 starter_fd = -1;	/* pipe to the waiting parent */
static ev_signal	 sig_term, sig_int, sig_hup, sig_usr1;
static ev_timer		 hang_timer;
static ev_timer		 respawn_timer, status_timer, watchdog_timer,
			 kill_timer;

static void	 gen_fill(struct gen *);
static void	 master_stop(const char *);

static unsigned int
conns_total(void)
{
	struct worker	*w;
	unsigned int	 n = 0;

	TAILQ_FOREACH(w, &workers, entry)
		n += master_shm->slots[w->slot].nconns;
	return n;
}

static int
workers_alive(void)
{
	struct worker	*w;
	int		 n = 0;

	TAILQ_FOREACH(w, &workers, entry)
		if (!w->retiring)
			n++;
	return n;
}

static void
notify_status(const char *first)
{
	sd_notifyf("%sSTATUS=%d worker(s), %u connection(s), %u"
	    " listener(s)", first, workers_alive(), conns_total(),
	    listener_count());
}

static struct gen *
gen_new(struct config *cf)
{
	struct gen	*g;
	long		 ncpu;

	g = xcalloc(1, sizeof(*g));
	g->conf = cf;
	g->id = ++master_stats.generation;
	g->state = GEN_STARTING;
	g->nworkers = cf->workers;
	if (g->nworkers == 0) {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		g->nworkers = ncpu < 1 ? 1 : ncpu > WORKERS_MAX ? WORKERS_MAX :
		    (int)ncpu;
	}
	g->workers = xcalloc(g->nworkers, sizeof(*g->workers));
	TAILQ_INIT(&g->oldl);
	TAILQ_INSERT_TAIL(&gens, g, entry);
	return g;
}

static void
gen_free_if_done(struct gen *g)
{
	if (g->state != GEN_RETIRING || g->alive > 0)
		return;
	TAILQ_REMOVE(&gens, g, entry);
	ev_timer_stop(proc.loop, &g->start_timer);
	/* the running configuration is freed last, after its listeners */
	if (g->conf != proc.conf)
		config_free(g->conf);
	free(g->workers);
	free(g);
}

/* In a new worker: drop everything that is the master's. */
static void
master_forget(void)
{
	struct worker	*w;
	struct gen	*g;

	TAILQ_FOREACH(w, &workers, entry) {
		ev_child_stop(proc.loop, &w->child);
		ev_io_stop(proc.loop, &w->ready_io);
		if (w->readyfd != -1)
			close(w->readyfd);
	}
	TAILQ_FOREACH(g, &gens, entry)
		ev_timer_stop(proc.loop, &g->start_timer);
	ev_signal_stop(proc.loop, &sig_term);
	ev_signal_stop(proc.loop, &sig_int);
	ev_signal_stop(proc.loop, &sig_hup);
	ev_signal_stop(proc.loop, &sig_usr1);
	ev_timer_stop(proc.loop, &respawn_timer);
	/* unref'd watchers take an ev_ref before they stop (libev) */
	if (ev_is_active(&status_timer)) {
		ev_ref(proc.loop);
		ev_timer_stop(proc.loop, &status_timer);
	}
	if (ev_is_active(&hang_timer)) {
		ev_ref(proc.loop);
		ev_timer_stop(proc.loop, &hang_timer);
	}
	ev_timer_stop(proc.loop, &watchdog_timer);
	ev_timer_stop(proc.loop, &kill_timer);
	metrics_close();
	control_forget();
	free(pidfile);
	pidfile = NULL;
	/* the worker keeps starter_fd until it is up: see worker_main */
}

static void	 ready_cb(struct ev_loop *, ev_io *, int);
static void	 child_cb(struct ev_loop *, ev_child *, int);

static int
worker_spawn(struct gen *g, int index)
{
	struct worker	*w;
	struct worker_slot *s;
	int		 fds[2], cfd[2], bfds[2] = { -1, -1 }, i;
	pid_t		 pid;

	for (i = 0; i < WORKER_SLOTS && slot_used[i]; i++)
		;
	if (i == WORKER_SLOTS) {
		log_warnx("worker %d: no free slot", index);
		return -1;
	}
	s = &master_shm->slots[i];
	s->pid = 0;
	s->nconns = 0;
	s->crash_plugin = -1;
	s->nloaded = 0;
	ctr_slot_reset(i, g->conf);
	if (pipe2(fds, O_CLOEXEC) == -1) {
		log_warn("pipe2");
		return -1;
	}
	/* the control channel: asockctl's questions for this worker */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, cfd) == -1) {
		log_warn("socketpair");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	/* without daemon.bus the master relays the plugins' bus */
	if (g->conf->bus == NULL && bus_socketpair(bfds) == -1) {
		close(fds[0]);
		close(fds[1]);
		close(cfd[0]);
		close(cfd[1]);
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(fds[0]);
		close(fds[1]);
		close(cfd[0]);
		close(cfd[1]);
		if (bfds[0] != -1) {
			close(bfds[0]);
			close(bfds[1]);
		}
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		close(cfd[0]);
		if (bfds[0] != -1)
			close(bfds[0]);
		master_forget();
		bus_master_forget();
		ev_loop_fork(proc.loop);
		control_child(cfd[1]);
		proc.conf = g->conf;
		listener_share = g->nworkers;
		worker_main(index, fds[1], bfds[1], s);
	}
	close(fds[1]);
	close(cfd[1]);
	control_worker_new(i, cfd[0], index, pid);
	w = xcalloc(1, sizeof(*w));
	w->gen = g;
	w->index = index;
	w->pid = pid;
	w->slot = i;
	w->readyfd = fds[0];
	slot_used[i] = 1;
	s->pid = pid;
	ev_io_init(&w->ready_io, ready_cb, fds[0], EV_READ);
	w->ready_io.data = w;
	ev_io_start(proc.loop, &w->ready_io);
	if (bfds[0] != -1) {
		close(bfds[1]);
		w->bus = bus_master_add(bfds[0], pid);
	}
	ev_child_init(&w->child, child_cb, pid, 0);
	w->child.data = w;
	ev_child_start(proc.loop, &w->child);
	g->workers[index] = w;
	g->alive++;
	TAILQ_INSERT_TAIL(&workers, w, entry);
	log_debug("worker %d: pid %ld", index, (long)pid);
	return 0;
}

/* Replace the workers of g that are not running. */
static void
gen_fill(struct gen *g)
{
	int	 i;

	for (i = 0; i < g->nworkers; i++)
		if (g->workers[i] == NULL && worker_spawn(g, i) == -1) {
			ev_timer_set(&respawn_timer, RESPAWN_SLOW, 0.);
			ev_timer_start(proc.loop, &respawn_timer);
			return;
		}
}

static void
respawn_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	if (current != NULL && pending == NULL && !stopping)
		gen_fill(current);
}

static void
gen_signal(struct gen *g, int sig)
{
	struct worker	*w;

	TAILQ_FOREACH(w, &workers, entry)
		if (w->gen == g && !w->retiring) {
			w->retiring = 1;
			kill(w->pid, sig);
		}
}

/* Every worker of g is up: it serves, the one before it retires. */
static void
gen_promote(struct gen *g)
{
	struct gen	*old = current;

	ev_timer_stop(proc.loop, &g->start_timer);
	g->state = GEN_CURRENT;
	current = g;
	pending = NULL;
	proc.conf = g->conf;
	listener_drop(&g->oldl, &listeners, 1);
	if (old != NULL) {
		old->state = GEN_RETIRING;
		gen_signal(old, SIGUSR2);
		gen_free_if_done(old);
	}
	if (!started) {
		started = 1;
		log_notice("asockd %s ready: %u listener(s), %d worker(s)",
		    PACKAGE_VERSION, listener_count(), g->nworkers);
		starter_done(1);
		sd_notifyf("READY=1\nSTATUS=serving %u listener(s) with %d"
		    " worker(s)\nMAINPID=%ld", listener_count(), g->nworkers,
		    (long)getpid());
	} else {
		master_stats.reloads_ok++;
		log_notice("reload: %s: serving %u listener(s) with %d new"
		    " worker(s)", g->conf->file, listener_count(),
		    g->nworkers);
		notify_status("READY=1\n");
	}
	if (reload_again) {
		reload_again = 0;
		raise(SIGHUP);
	}
}

/* The new generation failed: stop it, keep the one that serves. */
static void
gen_abort(struct gen *g, const char *why)
{
	ev_timer_stop(proc.loop, &g->start_timer);
	if (current == NULL) {
		log_errx("start-up failed: %s", why);
		exit_code = 1;
		g->state = GEN_RETIRING;
		master_stop(NULL);
		return;
	}
	log_warnx("reload: %s: keeping the running configuration", why);
	master_stats.reloads_failed++;
	gen_signal(g, SIGTERM);
	listener_drop(&listeners, &g->oldl, 0);
	TAILQ_CONCAT(&listeners, &g->oldl, entry);
	g->state = GEN_RETIRING;
	pending = NULL;
	gen_free_if_done(g);
	notify_status("READY=1\n");
	gen_fill(current);
	reload_again = 0;
}

static void
start_timeout_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	gen_abort(t->data, "new workers did not start in time");
}

static void
ready_cb(struct ev_loop *l, ev_io *io, int revents)
{
	struct worker	*w = io->data;
	struct gen	*g = w->gen;
	char		 c;
	ssize_t		 n;
	int		 i;

	n = read(w->readyfd, &c, 1);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	ev_io_stop(l, io);
	close(w->readyfd);
	w->readyfd = -1;
	if (n != 1)
		return;		/* it died: child_cb tells */
	w->ready = 1;
	control_worker_ready(w->slot);
	w->beat = master_shm->slots[w->slot].beat;
	w->beat_at = ev_now(l);
	if (g->state != GEN_STARTING)
		return;
	/* worker 0 is up: the plugins load, start the others */
	for (i = 1; i < g->nworkers; i++)
		if (g->workers[i] == NULL && worker_spawn(g, i) == -1) {
			gen_abort(g, "cannot start a worker");
			return;
		}
	for (i = 0; i < g->nworkers; i++)
		if (g->workers[i] == NULL || !g->workers[i]->ready)
			return;
	gen_promote(g);
}

/*
 * Did the worker die of its own code: a crash signal (which the crash
 * handler attributes to the plugin on the stack), or the SIGKILL that
 * followed our SIGABRT of a hung loop?  A SIGKILL or SIGTERM from outside
 * (the OOM killer, an operator) says nothing about the plugins.
 */
static int
plugin_fault(const struct worker *w, int status)
{
	if (!WIFSIGNALED(status))
		return 0;
	switch (WTERMSIG(status)) {
	case SIGSEGV:
	case SIGBUS:
	case SIGILL:
	case SIGFPE:
	case SIGABRT:
		return 1;
	case SIGKILL:
		return w->abort_at != 0;
	}
	return 0;
}

/* Log an unexpected death: signal, plugin at fault, plugins loaded. */
static void
worker_died(struct worker *w, int status, int cp)
{
	struct plugin_conf	*pc;
	const char		*culprit = NULL, *only = NULL;
	char			 loaded[512] = "", sig[64] = "";
	int			 i = 0, nloaded = 0, fault;
	size_t			 len;

	TAILQ_FOREACH(pc, &w->gen->conf->plugins, entry) {
		if (i == cp)
			culprit = pc->name;
		if (i++ >= master_shm->slots[w->slot].nloaded)
			break;
		if (quarantine_has(pc->name))
			continue;
		len = strlen(loaded);
		snprintf(loaded + len, sizeof(loaded) - len, "%s%s",
		    nloaded++ ? ", " : "", pc->name);
		only = pc->name;
	}
	if (WIFSIGNALED(status)) {
		snprintf(sig, sizeof(sig), "killed by signal %d (SIG%s)",
		    WTERMSIG(status), sigabbrev_np(WTERMSIG(status)) ?
		    sigabbrev_np(WTERMSIG(status)) : "?");
	} else
		snprintf(sig, sizeof(sig), "exited with status %d",
		    WEXITSTATUS(status));
	fault = plugin_fault(w, status);
	log_warnx("worker %d (pid %ld) %s%s%s%s; plugins loaded: %s%s",
	    w->index, (long)w->pid, sig, w->ready ? "" : " before it was up",
	    culprit ? " in plugin " : "", culprit ? culprit : "",
	    nloaded ? loaded : "none", WIFSIGNALED(status) && !fault ?
	    " (not a crash: not counted against the plugins)" : "");
	if (!fault)
		return;
	/* with one plugin loaded there is no one else to blame */
	if (culprit == NULL && nloaded == 1)
		culprit = only;
	if (culprit != NULL)
		ctr_plugin_crash(culprit);
	if (culprit != NULL && w->gen == current)
		quarantine_crash(culprit);
}

static void
child_cb(struct ev_loop *l, ev_child *c, int revents)
{
	struct worker	*w = c->data;
	struct gen	*g = w->gen;
	int		 status = c->rstatus;
	int		 cp = master_shm->slots[w->slot].crash_plugin;

	ev_child_stop(l, c);
	if (w->readyfd != -1) {
		ev_io_stop(l, &w->ready_io);
		close(w->readyfd);
		w->readyfd = -1;
	}
	bus_master_drop(w->bus);
	w->bus = NULL;
	TAILQ_REMOVE(&workers, w, entry);
	if (g->workers[w->index] == w)
		g->workers[w->index] = NULL;
	g->alive--;
	ctr_slot_fold(w->slot);
	control_worker_gone(w->slot, w->retiring || stopping);
	slot_used[w->slot] = 0;
	master_shm->slots[w->slot].pid = 0;
	master_shm->slots[w->slot].nconns = 0;

	if (w->retiring || stopping) {
		if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
			worker_died(w, status, cp);
		else
			log_debug("worker %d (pid %ld) exited", w->index,
			    (long)w->pid);
	} else {
		worker_died(w, status, cp);
		master_stats.restarts++;
		if (g->state == GEN_STARTING)
			gen_abort(g, "a new worker died before it was up");
		else if (g == current && pending == NULL) {
			ev_timer_set(&respawn_timer, w->ready ? RESPAWN_DELAY :
			    RESPAWN_SLOW, 0.);
			ev_timer_start(l, &respawn_timer);
		}
	}
	gen_free_if_done(g);
	free(w);
	if (stopping && TAILQ_EMPTY(&workers))
		ev_break(l, EVBREAK_ALL);
}

/*
 * Make g the pending generation and start its worker 0 (the others follow
 * once it is up), with START_TIMEOUT for all of them.  -1 when even the
 * first fork failed (g is aborted).
 */
static int
gen_start(struct gen *g)
{
	pending = g;
	ev_timer_init(&g->start_timer, start_timeout_cb, START_TIMEOUT, 0.);
	g->start_timer.data = g;
	ev_timer_start(proc.loop, &g->start_timer);
	if (worker_spawn(g, 0) == -1) {
		gen_abort(g, "cannot start a worker");
		return -1;
	}
	return 0;
}

static void
master_reload(void)
{
	struct config		*nc;
	struct listeners	 oldl;
	struct gen		*g;

	if (stopping || current == NULL)
		return;
	if (pending != NULL) {
		log_notice("SIGHUP: a reload is in progress; another follows");
		reload_again = 1;
		return;
	}
	sd_notify_reloading();
	log_notice("SIGHUP: reloading %s", proc.conf->file);
	if ((nc = config_load(proc.conf->file, plugin_dir)) == NULL) {
		log_warnx("reload: %s has errors: keeping the running"
		    " configuration", proc.conf->file);
		master_stats.reloads_failed++;
		notify_status("READY=1\n");
		return;
	}
	/* certificates and keys are read here, before the fork */
	if (tls_load_all(nc) == -1 || worker_privs(nc, 0) == -1 ||
	    listener_swap(nc, &oldl) == -1) {
		log_warnx("reload: keeping the running configuration");
		master_stats.reloads_failed++;
		config_free(nc);
		notify_status("READY=1\n");
		return;
	}
	if ((nc->metrics == NULL) != (proc.conf->metrics == NULL) ||
	    (nc->metrics != NULL && strcmp(nc->metrics,
	    proc.conf->metrics) != 0))
		log_warnx("reload: daemon.metrics changes at the next start");
	if ((nc->control == NULL) != (proc.conf->control == NULL) ||
	    (nc->control != NULL && strcmp(nc->control,
	    proc.conf->control) != 0))
		log_warnx("reload: daemon.control changes at the next start");
	if (nc->pidfile != NULL && (pidfile == NULL ||
	    strcmp(nc->pidfile, pidfile) != 0))
		log_warnx("reload: daemon.pidfile changes at the next start");
	if (nc->log_file != NULL && (proc.conf->log_file == NULL ||
	    strcmp(nc->log_file, proc.conf->log_file) != 0))
		master_log_open(nc);	/* the new workers inherit it */
	quarantine_clear();
	g = gen_new(nc);
	TAILQ_CONCAT(&g->oldl, &oldl, entry);
	gen_start(g);
}

static void
kill_timeout_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	struct worker	*w;

	TAILQ_FOREACH(w, &workers, entry) {
		log_warnx("worker %d (pid %ld) still running: killing it",
		    w->index, (long)w->pid);
		kill(w->pid, SIGKILL);
	}
}

/* Stop every worker (gracefully) and exit once they are gone. */
static void
master_stop(const char *why)
{
	struct worker	*w;

	if (stopping) {
		if (why != NULL)
			log_notice("%s again: workers stop now", why);
		TAILQ_FOREACH(w, &workers, entry)
			kill(w->pid, SIGQUIT);
		return;
	}
	stopping = 1;
	if (why != NULL) {
		log_notice("%s: stopping %d worker(s), %u connection(s) open",
		    why, workers_alive(), conns_total());
		sd_notifyf("STOPPING=1\nSTATUS=stopping, %u connection(s)"
		    " open", conns_total());
	}
	TAILQ_FOREACH(w, &workers, entry)
		if (!w->retiring || why == NULL) {
			w->retiring = 1;
			kill(w->pid, SIGTERM);
		}
	listener_close_all();
	if (TAILQ_EMPTY(&workers)) {
		ev_break(proc.loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&kill_timer, kill_timeout_cb, (proc.conf != NULL ?
	    proc.conf->shutdown_timeout : DEF_SHUTDOWN_TIMEOUT) + KILL_GRACE,
	    KILL_GRACE);
	ev_timer_start(proc.loop, &kill_timer);
}

/* Open daemon.log_file of cf for the master, owned by daemon.user. */
static int
master_log_open(const struct config *cf)
{
	uid_t	 uid;
	gid_t	 gid;

	if (worker_ids(cf, &uid, &gid) != 1)
		uid = (uid_t)-1;
	return log_file_open(cf->log_file, uid, gid);
}

/* SIGUSR1: reopen the log file (after rotation), then in every worker. */
static void
master_log_reopen(void)
{
	struct worker	*w;
	const struct config *cf = current != NULL ? current->conf : proc.conf;

	if (cf == NULL || cf->log_file == NULL) {
		log_info("SIGUSR1: no daemon.log_file to reopen");
		return;
	}
	if (master_log_open(cf) == -1)
		return;
	log_info("SIGUSR1: reopened %s", cf->log_file);
	TAILQ_FOREACH(w, &workers, entry)
		if (w->ready)
			kill(w->pid, SIGUSR1);
}

static void
signal_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	switch (w->signum) {
	case SIGTERM:
		master_stop("SIGTERM");
		break;
	case SIGINT:
		master_stop("SIGINT");
		break;
	case SIGHUP:
		master_reload();
		break;
	case SIGUSR1:
		master_log_reopen();
		break;
	}
}

/*
 * A worker whose loop has not turned for daemon.worker_timeout seconds is
 * stuck in plugin code: SIGABRT makes its crash handler name the plugin
 * (and count it towards quarantine); SIGKILL follows if that hangs too.
 */
static void
hang_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	struct worker	*w;
	uint32_t	 beat;
	ev_tstamp	 now = ev_now(l);
	double		 limit;

	TAILQ_FOREACH(w, &workers, entry) {
		limit = w->gen->conf->worker_timeout;
		if (!w->ready || limit <= 0)
			continue;
		beat = master_shm->slots[w->slot].beat;
		if (beat != w->beat) {
			w->beat = beat;
			w->beat_at = now;
			continue;
		}
		if (w->abort_at == 0 && now - w->beat_at >= limit) {
			log_warnx("worker %d (pid %ld) unresponsive for %.1f s:"
			    " aborting it", w->index, (long)w->pid,
			    now - w->beat_at);
			w->abort_at = now;
			kill(w->pid, SIGABRT);
		} else if (w->abort_at != 0 &&
		    now - w->abort_at >= KILL_GRACE) {
			log_warnx("worker %d (pid %ld) ignored SIGABRT: killing"
			    " it", w->index, (long)w->pid);
			kill(w->pid, SIGKILL);
			w->abort_at = now;
		}
	}
}

static void
status_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	notify_status("");
}

static void
watchdog_cb(struct ev_loop *l, ev_timer *t, int revents)
{
	sd_notifyf("WATCHDOG=1");
}

static void
signals_init(void)
{
	struct sigaction	 sa;
	uint64_t		 usec;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	ev_signal_init(&sig_term, signal_cb, SIGTERM);
	ev_signal_init(&sig_int, signal_cb, SIGINT);
	ev_signal_init(&sig_hup, signal_cb, SIGHUP);
	ev_signal_init(&sig_usr1, signal_cb, SIGUSR1);
	ev_signal_start(proc.loop, &sig_term);
	ev_signal_start(proc.loop, &sig_int);
	ev_signal_start(proc.loop, &sig_hup);
	ev_signal_start(proc.loop, &sig_usr1);
	ev_init(&respawn_timer, respawn_cb);
	/* checked every quarter of the smallest timeout, at most 1 s */
	ev_timer_init(&hang_timer, hang_cb, HANG_CHECK, HANG_CHECK);
	ev_timer_start(proc.loop, &hang_timer);
	ev_unref(proc.loop);
	if (getenv("NOTIFY_SOCKET") != NULL) {
		ev_timer_init(&status_timer, status_cb, STATUS_INTERVAL,
		    STATUS_INTERVAL);
		ev_timer_start(proc.loop, &status_timer);
		ev_unref(proc.loop);
	}
	if (sd_watchdog_enabled(&usec) == 1) {
		ev_timer_init(&watchdog_timer, watchdog_cb, usec / 2e6,
		    usec / 2e6);
		ev_timer_start(proc.loop, &watchdog_timer);
		ev_unref(proc.loop);
	}
}

void
master_each_worker(void (*fn)(const struct worker_view *, void *), void *arg)
{
	struct worker		*w;
	struct worker_view	 v;

	TAILQ_FOREACH(w, &workers, entry) {
		v.index = w->index;
		v.gen = w->gen->id;
		v.pid = w->pid;
		v.slot = w->slot;
		v.ready = w->ready;
		v.retiring = w->retiring;
		v.nconns = master_shm->slots[w->slot].nconns;
		v.beat_age = w->ready && w->beat_at > 0 ?
		    ev_now(proc.loop) - w->beat_at : 0;
		fn(&v, arg);
	}
}

/* Tell the process waiting for the start-up (no -f) that it is over. */
void
starter_done(int ok)
{
	if (starter_fd == -1)
		return;
	log_tee(-1);
	if (ok && write(starter_fd, "", 1) != 1)
		log_warn("start-up pipe");
	close(starter_fd);
	starter_fd = -1;
}

/*
 * daemon(3), except that the process the user started waits for the
 * outcome: exit 0 once the master is ready, 1 (with the warnings and
 * errors the daemon logged) when it gave up.  Returns in the master.
 */
static void
detach(const struct config *cf)
{
	char	 buf[8192];
	size_t	 len = 0;
	ssize_t	 n;
	pid_t	 pid;
	int	 p[2], fd;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe2");
	fflush(NULL);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		for (;;) {
			n = read(p[0], buf + len, sizeof(buf) - 1 - len);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (memchr(buf + len, '\0', n) != NULL)
				_exit(0);
			len += n;
			if (len == sizeof(buf) - 1)
				len = 0;	/* keep the last lines */
		}
		buf[len] = '\0';
		fprintf(stderr, "%sasockd: start-up failed (the log, %s, has"
		    " the whole story)\n", buf, cf->log_file != NULL ?
		    cf->log_file : "syslog");
		_exit(1);
	}
	close(p[0]);
	starter_fd = p[1];
	log_tee(starter_fd);
	if (setsid() == -1)
		fatal("setsid");
	if (chdir("/") == -1)
		fatal("chdir /");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

static int
pidfile_write(const char *path)
{
	FILE	*fp;

	if ((fp = fopen(path, "we")) == NULL) {
		log_err("pidfile %s", path);
		return -1;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	if (fclose(fp) == EOF) {
		log_err("pidfile %s", path);
		return -1;
	}
	pidfile = xstrdup(path);
	return 0;
}

int
master_run(const char *pd, int foreground)
{
	struct gen	*g;

	plugin_dir = pd;
	master_shm = mmap(NULL, sizeof(*master_shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (master_shm == MAP_FAILED)
		fatal("mmap");
	policy_shm_init();	/* per-source limits, daemon-wide */
	ctr_init(WORKER_SLOTS);
	master_stats.start_time = ev_time();
	if (worker_privs(proc.conf, 0) == -1)
		return 1;
	/* from here on every line (the bound addresses too) goes there */
	if (proc.conf->log_file != NULL && master_log_open(proc.conf) == -1)
		return 1;
	/* keys readable only by root: read while we still are root */
	if (tls_load_all(proc.conf) == -1) {
		log_errx("%s: a TLS certificate or key could not be loaded",
		    proc.conf->file);
		return 1;
	}
	if (listener_open_all(proc.conf) == -1) {
		log_errx("%s: a listener could not be opened", proc.conf->file);
		listener_free_all();
		return 1;
	}
	if (geteuid() == 0 && proc.conf->user == NULL)
		log_warnx("running as root: set daemon.user and daemon.group"
		    " to drop privileges");
	if (!foreground) {
		detach(proc.conf);
		ev_loop_fork(proc.loop);
		/* detach() pointed stderr at /dev/null */
		if (proc.conf->log_file == NULL)
			log_init(LOG_TO_SYSLOG, log_getlevel());
		else if (master_log_open(proc.conf) == -1) {
			listener_free_all();
			return 1;
		}
	}
	if (proc.conf->pidfile != NULL &&
	    pidfile_write(proc.conf->pidfile) == -1) {
		listener_free_all();
		return 1;
	}
	if ((proc.conf->metrics != NULL && metrics_open(proc.conf) == -1) ||
	    (proc.conf->control != NULL && control_open(proc.conf) == -1)) {
		metrics_close();
		listener_free_all();
		return 1;
	}
	signals_init();

	if (gen_start(gen_new(proc.conf)) == 0)
		ev_run(proc.loop, 0);

	if (pidfile != NULL && unlink(pidfile) == -1 && errno != ENOENT)
		log_warn("unlink %s", pidfile);
	free(pidfile);
	metrics_close();
	control_close();
	listener_free_all();
	bus_master_forget();
	quarantine_clear();
	while ((g = TAILQ_FIRST(&gens)) != NULL) {
		g->state = GEN_RETIRING;
		g->alive = 0;
		gen_free_if_done(g);
	}
	config_free(proc.conf);
	proc.conf = NULL;
	policy_report();
	log_notice("stopped");
	return exit_code;
}
