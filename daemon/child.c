/*
 * child.c - child processes that plugins start (host->spawn).
 *
 * A child is started with vfork() and execve(): the parent is suspended
 * until the exec (or the child's _exit), so no page tables are copied and
 * the cost does not grow with the worker's size.  Between the two the
 * child runs on the parent's memory, so it does only async-signal-safe
 * system calls on data the parent prepared: it resets every signal
 * handler (the parent blocks all signals around vfork so that none of
 * its handlers runs in the child), makes a process group of its own (so
 * a kill reaches a shell's children too; a session only when the worker
 * has a controlling terminal, see has_ctty), wires its standard descriptors,
 * closes every other one, applies the limits, nice value, directory and
 * ids, and execs.  The ids are set with the raw system calls: glibc's
 * setuid() would signal the parent's other threads (the resolver's).
 * A step that fails leaves its errno in memory the parent reads once
 * vfork returns, and the child _exits; then the call fails with that
 * errno and no exit callback follows.
 *
 * The host owns SIGCHLD: each child has an ev_child watcher, libev's
 * SIGCHLD handler reaps every child (also ones no watcher asked for), and
 * the watcher logs the exit with its status and calls the plugin's exit
 * callback once.  child_kill() sends SIGTERM to the child's process group
 * and arms a timer that sends SIGKILL.  A worker that stops waits for its
 * children as for its connections (child_on_gone), and kills and reaps
 * whatever is left before the plugins are unloaded (child_abort_all), so
 * no child outlives its worker unreaped.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

struct asockd_child {
	pid_t			 pid;
	struct asockd_instance	*inst;
	asockd_child_cb		 cb;
	void			*arg;
	ev_child		 w;
	ev_timer		 kill_timer;
	ev_tstamp		 started;
	int			 killing;	/* SIGTERM sent */
	int			 killed;	/* SIGKILL sent */
	TAILQ_ENTRY(asockd_child) entry;
};

unsigned int		 child_count;
static TAILQ_HEAD(, asockd_child) children =
    TAILQ_HEAD_INITIALIZER(children);
static void		(*gone_hook)(void);

/* What the vfork child needs, prepared by the parent. */
struct spawn_ctx {
	const struct asockd_spawn *sp;
	int			 fd0, fd1, fd2;	/* for stdin, stdout, stderr */
	int			 newsid;	/* setsid, not setpgid */
	volatile int		 err;		/* errno of the failed step */
	volatile int		 step;		/* which step failed */
};

static const char *const step_names[] = {
	"exec", "setsid/setpgid", "dup2", "setrlimit", "nice", "chdir",
	"setgroups", "setresgid", "setresuid", "sigaction"
};

enum {
	STEP_EXEC, STEP_SETSID, STEP_DUP2, STEP_RLIMIT, STEP_NICE,
	STEP_CHDIR, STEP_SETGROUPS, STEP_SETGID, STEP_SETUID, STEP_SIGNALS
};

static void __attribute__((noreturn))
child_fail(struct spawn_ctx *x, int step)
{
	x->err = errno;
	x->step = step;
	_exit(127);
}

/* In the vfork child: only system calls, on memory the parent owns. */
static void __attribute__((noreturn, noinline))
child_exec(struct spawn_ctx *x)
{
	const struct asockd_spawn *sp = x->sp;
	struct sigaction	 sa;
	struct rlimit		 rl;
	sigset_t		 none;
	size_t			 i;
	int			 sig, fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &sa, NULL);	/* glibc's own:
								   EINVAL */
	if ((x->newsid ? setsid() : setpgid(0, 0)) == -1)
		child_fail(x, STEP_SETSID);
	/* a worker that crashes takes its programs along (kept by exec) */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (dup2(x->fd0, 0) == -1 || dup2(x->fd1, 1) == -1 ||
	    dup2(x->fd2, 2) == -1)
		child_fail(x, STEP_DUP2);
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == -1)
		for (fd = 3; fd < 65536; fd++)
			(void)close(fd);
	for (i = 0; i < sp->nrlimits; i++) {
		rl.rlim_cur = sp->rlimits[i].cur;
		rl.rlim_max = sp->rlimits[i].max;
		if (setrlimit(sp->rlimits[i].resource, &rl) == -1)
			child_fail(x, STEP_RLIMIT);
	}
	errno = 0;
	if (sp->nice != 0 && nice(sp->nice) == -1 && errno != 0)
		child_fail(x, STEP_NICE);
	if (sp->gid != (gid_t)-1) {
		if (syscall(SYS_setgroups, 1, &sp->gid) == -1)
			child_fail(x, STEP_SETGROUPS);
		if (syscall(SYS_setresgid, sp->gid, sp->gid, sp->gid) == -1)
			child_fail(x, STEP_SETGID);
	}
	if (sp->uid != (uid_t)-1 &&
	    syscall(SYS_setresuid, sp->uid, sp->uid, sp->uid) == -1)
		child_fail(x, STEP_SETUID);
	/* after the ids: the directory may be the user's own */
	if (sp->cwd != NULL && chdir(sp->cwd) == -1)
		child_fail(x, STEP_CHDIR);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		child_fail(x, STEP_SIGNALS);
	execve(sp->argv[0], (char *const *)(uintptr_t)sp->argv,
	    (char *const *)(uintptr_t)(sp->envp ? sp->envp :
	    (const char *const[]){ NULL }));
	child_fail(x, STEP_EXEC);
}

/* vfork in a frame of its own, so nothing of the caller is clobbered. */
static pid_t __attribute__((noinline))
child_vfork(struct spawn_ctx *x)
{
	pid_t	 pid;

	if ((pid = vfork()) == 0)
		child_exec(x);
	return pid;
}

pid_t
child_pid(const struct asockd_child *ch)
{
	return ch->pid;
}

void
child_on_gone(void (*fn)(void))
{
	gone_hook = fn;
}

/* Describe a wait status: "exited with status 0", "killed by SIGTERM". */
static void
status_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "ended with wait status %#x", status);
}

/* The child ended: log it, tell the plugin, free it. */
static void
child_done(struct asockd_child *ch, int status)
{
	char	 what[128];

	ev_child_stop(proc.loop, &ch->w);
	ev_timer_stop(proc.loop, &ch->kill_timer);
	TAILQ_REMOVE(&children, ch, entry);
	child_count--;
	status_text(status, what, sizeof(what));
	logit(LOG_INFO, "plugin %s: child %ld %s after %.3f s%s",
	    ch->inst->name, (long)ch->pid, what,
	    ev_now(proc.loop) - ch->started, ch->killed ?
	    " (after SIGKILL)" : "");
	if (ch->cb != NULL) {
		CB_CALL(ch->cb(ch, status, ch->arg));
	}
	free(ch);
	if (gone_hook != NULL)
		gone_hook();
}

static void
child_cb(struct ev_loop *l, ev_child *w, int revents)
{
	struct asockd_child	*ch = w->data;

	if (!WIFEXITED(w->rstatus) && !WIFSIGNALED(w->rstatus))
		return;		/* stopped or continued: not the end */
	child_done(ch, w->rstatus);
}

static void
child_kill_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct asockd_child	*ch = w->data;

	ch->killed = 1;
	logit(LOG_NOTICE, "plugin %s: child %ld still running: SIGKILL",
	    ch->inst->name, (long)ch->pid);
	(void)kill(-ch->pid, SIGKILL);
	(void)kill(ch->pid, SIGKILL);
}

int
child_kill(struct asockd_child *ch, double timeout)
{
	if (ch->killing)
		return -EALREADY;
	ch->killing = 1;
	if (timeout <= 0) {
		ch->killed = 1;
		(void)kill(-ch->pid, SIGKILL);
		(void)kill(ch->pid, SIGKILL);
		return 0;
	}
	/* the group: a shell's children go too */
	(void)kill(-ch->pid, SIGTERM);
	(void)kill(ch->pid, SIGTERM);
	ev_timer_set(&ch->kill_timer, timeout, 0.);
	ev_timer_start(proc.loop, &ch->kill_timer);
	return 0;
}

/* A socketpair: *ours non-blocking, *theirs for the child. */
static int
child_pair(int *ours, int *theirs)
{
	int	 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -errno;
	if (fd_nonblock(sv[0]) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -EIO;
	}
	*ours = sv[0];
	*theirs = sv[1];
	return 0;
}

/*
 * Whether the worker has a controlling terminal (asockd -f on a tty);
 * asked once.  Only then does a child need a session of its own to be
 * rid of it: setsid() also makes a scheduler autogroup per program
 * (sched_autogroup_enabled, the default), which took 0.07 to 0.27 ms
 * per spawn with the worker held in vfork, against a few microseconds
 * for setpgid().
 */
static int
has_ctty(void)
{
	static int	 tty = -1;
	int		 fd;

	if (tty == -1) {
		fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
		tty = fd != -1;
		if (fd != -1)
			close(fd);
	}
	return tty;
}

static int
spawn_check(const struct asockd_spawn *sp)
{
	if (sp == NULL || sp->size < sizeof(*sp) || sp->argv == NULL ||
	    sp->argv[0] == NULL || strchr(sp->argv[0], '/') == NULL ||
	    (sp->flags & ~(ASOCKD_SPAWN_STDIO | ASOCKD_SPAWN_STDERR)) != 0 ||
	    (sp->nrlimits > 0 && sp->rlimits == NULL))
		return -EINVAL;
	/* changing ids needs root; asking for one's own is fine */
	if (geteuid() != 0 &&
	    ((sp->uid != (uid_t)-1 && sp->uid != geteuid()) ||
	    (sp->gid != (gid_t)-1 && sp->gid != getegid())))
		return -EPERM;
	return 0;
}

int
child_spawn(struct asockd_instance *inst, const struct asockd_spawn *sp,
    asockd_child_cb cb, void *arg, int fds[2], struct asockd_child **out)
{
	struct asockd_child	*ch;
	struct spawn_ctx	 x;
	sigset_t		 all, old;
	int			 io[2] = { -1, -1 }, kid[2] = { -1, -1 };
	int			 null, r, i;
	pid_t			 pid;

	fds[0] = fds[1] = -1;
	if ((r = spawn_check(sp)) < 0)
		return r;
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		return -errno;
	if ((sp->flags & ASOCKD_SPAWN_STDIO) &&
	    (r = child_pair(&io[0], &kid[0])) < 0)
		goto out;
	if ((sp->flags & ASOCKD_SPAWN_STDERR) &&
	    (r = child_pair(&io[1], &kid[1])) < 0)
		goto out;
	memset(&x, 0, sizeof(x));
	x.sp = sp;
	x.fd0 = x.fd1 = kid[0] != -1 ? kid[0] : null;
	x.fd2 = kid[1] != -1 ? kid[1] : null;
	x.step = -1;
	x.newsid = has_ctty();

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = child_vfork(&x);
	r = pid == -1 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid != -1 && x.step != -1) {
		/* it _exited before the exec: collect it here, not in libev */
		(void)waitpid(pid, NULL, 0);
		r = x.err != 0 ? -x.err : -EIO;
		log_debug("plugin %s: spawn %s: %s: %s", inst->name,
		    sp->argv[0], step_names[x.step], strerror(x.err));
	}
	if (r < 0)
		goto out;

	ch = xcalloc(1, sizeof(*ch));
	ch->pid = pid;
	ch->inst = inst;
	ch->cb = cb;
	ch->arg = arg;
	ch->started = ev_now(proc.loop);
	ev_child_init(&ch->w, child_cb, pid, 0);
	ch->w.data = ch;
	ev_child_start(proc.loop, &ch->w);
	ev_init(&ch->kill_timer, child_kill_cb);
	ch->kill_timer.data = ch;
	TAILQ_INSERT_TAIL(&children, ch, entry);
	child_count++;
	log_debug("plugin %s: child %ld started: %s", inst->name, (long)pid,
	    sp->argv[0]);
	fds[0] = io[0];
	fds[1] = io[1];
	io[0] = io[1] = -1;
	if (out != NULL)
		*out = ch;
out:
	for (i = 0; i < 2; i++) {
		if (io[i] != -1)
			close(io[i]);
		if (kid[i] != -1)
			close(kid[i]);
	}
	close(null);
	return r;
}

/* At the worker's exit: nothing may outlive it unreaped. */
void
child_abort_all(void)
{
	struct asockd_child	*ch;
	int			 status;

	TAILQ_FOREACH(ch, &children, entry) {
		ch->killed = 1;
		(void)kill(-ch->pid, SIGKILL);
		(void)kill(ch->pid, SIGKILL);
	}
	while ((ch = TAILQ_FIRST(&children)) != NULL) {
		while (waitpid(ch->pid, &status, 0) == -1) {
			if (errno == EINTR)
				continue;
			/* libev reaped it already: its status is pending */
			status = ev_is_pending(&ch->w) ? ch->w.rstatus :
			    SIGKILL;
			break;
		}
		child_done(ch, status);
	}
}
