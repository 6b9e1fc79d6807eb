/*
 * worker.c - a worker process: the event loop that runs the plugins.
 *
 * The master binds every listener and forks the workers; each worker
 * switches to daemon.user/group, loads and initialises the plugins of its
 * configuration, starts accepting on the listening sockets it inherited,
 * and tells the master it is up by writing one byte to a pipe.  Pinned
 * listeners (workers = 1) are served by worker 0 of each generation only;
 * the others close their copy of the socket.
 *
 * Workers never unlink unix socket files (they mark every listener as
 * inherited): the master owns them.
 *
 * Stopping: SIGTERM is the graceful shutdown - stop accepting, close
 * every connection once its output is flushed, wait for the plugins'
 * child processes, exit 0, aborting (and killing) what is left after
 * shutdown_timeout.  A second SIGTERM changes nothing (under
 * systemd both systemd and the master send one); SIGQUIT, from a master
 * told twice to stop, aborts what is left at once.  SIGUSR2 retires the
 * worker after a reload: stop accepting and let the connections finish on
 * their own for up to shutdown_timeout, so no client sees a reload.
 *
 * A fatal signal (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) is attributed
 * to a plugin by looking for its code on the crashing stack; the index is
 * left in the worker's shared slot for the master to log and count.
 */
#include <sys/mman.h>
#include <sys/prctl.h>

#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

/* after ev.h: elf.h defines EV_NONE (to the same 0) */
#include <link.h>

#define STATUS_INTERVAL	0.5	/* seconds between slot updates */
#define CRASH_FRAMES	64
#define ALTSTACK_SIZE	(64 * 1024)

/* Where each plugin's code is mapped, for crash attribution. */
struct code_range {
	uintptr_t	 lo, hi;
	int		 plugin;	/* index in conf->plugins */
};

static struct worker_slot *slot;
static int		 worker_index;
static int		 retiring;
static ev_signal	 sig_term, sig_quit, sig_usr1, sig_usr2;
static ev_timer		 stop_timer, status_timer;
static struct code_range ranges[64];
static int		 nranges;

static void
stop_timeout_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	log_warnx("shutdown: %u connection(s) still open after %.1f s:"
	    " aborting them", conn_count, proc.conf->shutdown_timeout);
	conn_abort_all(ASOCKD_CLOSE_SHUTDOWN);
	ev_break(l, EVBREAK_ALL);	/* children: child_abort_all() */
}

/* conn.c's hook while stopping: leave the loop with the last one. */
static void
worker_conn_gone(void)
{
	if (conn_count == 0 && child_count == 0)
		ev_break(proc.loop, EVBREAK_ALL);
}

static void
stop_start(const char *why, int graceful_close)
{
	if (proc.shutting_down) {
		/* systemd's control-group kill and the master's both arrive:
		 * only the master's SIGQUIT means "stop now" */
		log_debug("%s again: already stopping", why);
		return;
	}
	proc.shutting_down = 1;
	conn_on_gone(worker_conn_gone);
	child_on_gone(worker_conn_gone);
	if (graceful_close)
		log_notice("%s: shutting down, %u connection(s) open", why,
		    conn_count);
	else
		log_info("worker %d: retiring, %u connection(s) left to"
		    " finish", worker_index, conn_count);
	listener_close_all();
	if (graceful_close)
		conn_close_all(ASOCKD_CLOSE_SHUTDOWN);
	if (conn_count == 0 && child_count == 0) {
		ev_break(proc.loop, EVBREAK_ALL);
		return;
	}
	ev_timer_init(&stop_timer, stop_timeout_cb, proc.conf->shutdown_timeout,
	    0.);
	ev_timer_start(proc.loop, &stop_timer);
}

static void
signal_cb(struct ev_loop *l, ev_signal *w, int revents)
{
	switch (w->signum) {
	case SIGTERM:
		stop_start("SIGTERM", 1);
		break;
	case SIGQUIT:
		/* the master was told twice to stop: do not wait */
		log_notice("SIGQUIT: not waiting for %u connection(s)",
		    conn_count);
		conn_abort_all(ASOCKD_CLOSE_SHUTDOWN);
		ev_break(proc.loop, EVBREAK_ALL);
		break;
	case SIGUSR1:
		/* the master reopened the log file (rotation): follow it */
		if (proc.conf->log_file != NULL &&
		    log_file_open(proc.conf->log_file, (uid_t)-1,
		    (gid_t)-1) == 0)
			log_debug("SIGUSR1: reopened %s", proc.conf->log_file);
		break;
	case SIGUSR2:
		/* a retiring worker asked again just keeps retiring */
		if (!retiring) {
			retiring = 1;
			stop_start("SIGUSR2", 0);
		}
		break;
	}
}

static void
status_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	slot->nconns = conn_count;
	slot->beat++;
	quarantine_apply(worker_index);
}

/* Record the mapped PT_LOAD segments of the object that holds addr. */
struct range_arg {
	uintptr_t	 addr;
	int		 plugin;
};

static int
phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct range_arg	*ra = arg;
	uintptr_t		 lo = UINTPTR_MAX, hi = 0, a, b;
	int			 i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type != PT_LOAD)
			continue;
		a = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
		b = a + info->dlpi_phdr[i].p_memsz;
		if (a < lo)
			lo = a;
		if (b > hi)
			hi = b;
	}
	if (ra->addr < lo || ra->addr >= hi)
		return 0;
	if (nranges < (int)(sizeof(ranges) / sizeof(ranges[0]))) {
		ranges[nranges].lo = lo;
		ranges[nranges].hi = hi;
		ranges[nranges].plugin = ra->plugin;
		nranges++;
	}
	return 1;
}

static int
plugin_at(uintptr_t pc)
{
	int	 i;

	for (i = 0; i < nranges; i++)
		if (pc >= ranges[i].lo && pc < ranges[i].hi)
			return ranges[i].plugin;
	return -1;
}

/*
 * A fatal signal: find the innermost plugin frame on the stack, leave its
 * index in the slot, and die of the same signal.  backtrace() was called
 * once at start-up so that it does not load libgcc_s here.
 */
static void
crash_handler(int sig, siginfo_t *si, void *uc)
{
	void	*frames[CRASH_FRAMES];
	int	 n, i, p = -1;

	n = backtrace(frames, CRASH_FRAMES);
	for (i = 0; i < n && p == -1; i++)
		p = plugin_at((uintptr_t)frames[i]);
	slot->crash_plugin = p;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
crash_init(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction	 sa;
	stack_t			 ss;
	void			*frames[4];
	size_t			 i;

	(void)backtrace(frames, 4);
	ss.ss_sp = xmalloc(ALTSTACK_SIZE);
	ss.ss_size = ALTSTACK_SIZE;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) == -1)
		log_warn("sigaltstack");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

int
worker_ids(const struct config *cf, uid_t *uid, gid_t *gid)
{
	struct passwd	*pw;
	struct group	*gr;

	*uid = 0;
	*gid = 0;
	if (cf->user == NULL && cf->group == NULL)
		return 0;
	if (cf->user != NULL) {
		if ((pw = getpwnam(cf->user)) == NULL) {
			log_warnx("%s: daemon.user: no user '%s'", cf->file,
			    cf->user);
			return -1;
		}
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else
		*uid = (uid_t)-1;	/* group only */
	if (cf->group != NULL) {
		if ((gr = getgrnam(cf->group)) == NULL) {
			log_warnx("%s: daemon.group: no group '%s'", cf->file,
			    cf->group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 1;
}

int
worker_privs(const struct config *cf, int apply)
{
	uid_t	 uid;
	gid_t	 gid;
	int	 r;

	if ((r = worker_ids(cf, &uid, &gid)) <= 0 || !apply)
		return r == -1 ? -1 : 0;
	if (setgroups(1, &gid) == -1) {
		log_warn("setgroups");
		return -1;
	}
	if (setgid(gid) == -1) {
		log_warn("setgid %ld", (long)gid);
		return -1;
	}
	if (uid != (uid_t)-1 && setuid(uid) == -1) {
		log_warn("setuid %ld", (long)uid);
		return -1;
	}
	return 0;
}

static void
signals_init(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/*
	 * Reloading is the master's business, and so is SIGINT: Ctrl-C
	 * reaches the whole process group, and the master's SIGTERM is
	 * what stops a worker (a second stop signal would abort its
	 * connections instead of draining them).  SIGUSR1 reopens the log.
	 */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ev_signal_init(&sig_usr1, signal_cb, SIGUSR1);
	ev_signal_start(proc.loop, &sig_usr1);
	ev_unref(proc.loop);
	ev_signal_init(&sig_term, signal_cb, SIGTERM);
	ev_signal_init(&sig_quit, signal_cb, SIGQUIT);
	ev_signal_init(&sig_usr2, signal_cb, SIGUSR2);
	ev_signal_start(proc.loop, &sig_term);
	ev_signal_start(proc.loop, &sig_quit);
	ev_signal_start(proc.loop, &sig_usr2);
	/* signal watchers alone do not keep the loop alive */
	ev_unref(proc.loop);
	ev_unref(proc.loop);
	ev_unref(proc.loop);
}

static int
plugins_load(void)
{
	struct plugin_conf	*pc;
	struct asockd_instance	*inst;
	struct range_arg	 ra;
	void			*sym;
	int			 i = 0;

	TAILQ_FOREACH(pc, &proc.conf->plugins, entry) {
		ra.plugin = i++;
		if (quarantine_has(pc->name)) {
			slot->nloaded = i;
			continue;
		}
		if ((inst = plugin_load(proc.conf, pc)) == NULL)
			return -1;
		slot->nloaded = i;
		inst->ctr = ctr_plugin_find(inst->name);
		TAILQ_INSERT_TAIL(&proc.instances, inst, entry);
		sym = dlsym(inst->dl, ASOCKD_PLUGIN_SYMBOL_NAME);
		if (sym != NULL) {
			ra.addr = (uintptr_t)sym;
			dl_iterate_phdr(phdr_cb, &ra);
		}
	}
	return 0;
}

/* Which inherited listeners this worker serves. */
static void
listeners_take(void)
{
	struct asockd_listener	*l;

	TAILQ_FOREACH(l, &listeners, entry) {
		l->inherited = 1;	/* the master unlinks socket files */
		l->inst = NULL;
		if (l->fd == -1)
			continue;
		if ((l->conf->workers == 1 && worker_index != 0) ||
		    quarantine_has(l->conf->plugin)) {
			close(l->fd);
			l->fd = -1;
			continue;
		}
		l->inst = plugin_find(&proc.instances, l->conf->plugin);
		l->ctr = ctr_listener_find(l->conf->name);
	}
}

void
worker_main(int index, int readyfd, int busfd, struct worker_slot *s)
{
	struct asockd_instance	*inst;
	char			 one = 'R';

	worker_index = index;
	slot = s;
	slot->pid = getpid();
	slot->nconns = 0;
	slot->crash_plugin = -1;
	slot->nloaded = 0;
	quarantine_sync();
	/* only the master speaks to systemd */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	/* do not outlive a master that was killed */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		exit(1);

	if (worker_privs(proc.conf, 1) == -1) {
		log_errx("worker %d: cannot switch to daemon.user/group:"
		    " exiting", index);
		exit(1);
	}
	signals_init();
	/* the counter block has the slot's index */
	ctr_attach((int)(s - master_shm->slots));
	conn_oob_init();
	connect_init();
	if (plugins_load() == -1) {
		log_errx("%s: a plugin could not be loaded", proc.conf->file);
		exit(1);
	}
	listeners_take();
	crash_init();
	/* before init: plugins subscribe there */
	if (bus_worker_start(busfd) == -1) {
		log_errx("worker %d: the bus did not start: exiting", index);
		exit(1);
	}
	TAILQ_FOREACH(inst, &proc.instances, entry)
		if (plugin_init(inst) == -1) {
			log_errx("worker %d: plugin %s did not start: exiting",
			    index, inst->name);
			exit(1);
		}
	listener_start_all();
	ev_timer_init(&status_timer, status_cb, STATUS_INTERVAL,
	    STATUS_INTERVAL);
	/* active even with nothing to serve: only a signal ends a worker */
	ev_timer_start(proc.loop, &status_timer);
	log_info("worker %d started (pid %ld)", index, (long)getpid());
	if (write(readyfd, &one, 1) != 1)
		log_warn("worker %d: ready pipe", index);
	close(readyfd);
	/* up: the starting process hears only from the master now */
	starter_done(0);

	ev_run(proc.loop, 0);

	/* every connection is closed before plugins are finalised */
	if (conn_count > 0)
		conn_abort_all(ASOCKD_CLOSE_SHUTDOWN);
	/* and no child outlives us unreaped, or after its plugin's fini */
	child_abort_all();
	slot->nconns = 0;
	listener_close_all();
	bus_worker_stop();
	plugin_unload_all(&proc.instances);
	log_debug("worker %d (pid %ld) stopped", index, (long)getpid());
	exit(0);
}
