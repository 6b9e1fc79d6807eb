/*
 * child.c - child processes that plugins start (host->spawn).
 *
 * A child is started with vfork() and execve(): the worker is suspended
 * until the child has exec'd, and nothing of the worker is copied.  With
 * fork() the worker paid for its own size on every program: copying its
 * page tables and then the copy-on-write faults of its next writes, about
 * 0.3 ms of the worker's CPU per program, which capped one worker at
 * about 1,500 programs a second on the bench machine; with vfork() it
 * runs at nine tenths of the rate of bench/spawn_floor, the least any
 * server can do per connection (docs/performance.md).  So the child,
 * which shares the worker's memory until the exec, does only system
 * calls, on its own stack, and returns from nothing: it resets every
 * signal handler (the parent blocks all signals around vfork, so none of
 * its handlers runs in the child, and a signal that arrives once the
 * child unblocks them, just before the exec, finds the default action),
 * makes a session of its own (so a kill reaches a shell's children too),
 * wires its standard descriptors, marks every other one close-on-exec,
 * applies the limits, nice value, directory and ids, and execs.  The ids
 * are set with the raw system calls, as glibc's setuid() would signal
 * threads the child does not have (and the resolver's thread, which goes
 * on running beside the child, is never touched).
 *
 * What is likely to fail (no such program, not executable, no such
 * directory) is checked before the vfork and fails the call.  A step
 * that fails in the child after all writes its number and errno to a
 * close-on-exec pipe and _exits with 127; when the child is reaped the
 * host logs the step and the error, and the exit callback follows as for
 * any exit.
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
#include <sys/stat.h>
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
	int			 errfd;		/* the child's failed step */
	char			*prog;		/* argv[0], for that log line */
	TAILQ_ENTRY(asockd_child) entry;
};

unsigned int		 child_count;
static TAILQ_HEAD(, asockd_child) children =
    TAILQ_HEAD_INITIALIZER(children);
static void		(*gone_hook)(void);

/* What the child needs, prepared by the parent. */
struct spawn_ctx {
	const struct asockd_spawn *sp;
	int			 fd0, fd1, fd2;	/* for stdin, stdout, stderr */
	int			 errfd;		/* close-on-exec pipe */
};

static const char *const step_names[] = {
	"exec", "setsid", "dup2", "setrlimit", "nice", "chdir", "setgroups",
	"setresgid", "setresuid", "sigaction"
};

enum {
	STEP_EXEC, STEP_SETSID, STEP_DUP2, STEP_RLIMIT, STEP_NICE,
	STEP_CHDIR, STEP_SETGROUPS, STEP_SETGID, STEP_SETUID, STEP_SIGNALS
};

/* The step and errno to the parent (read when it reaps us), and out. */
static void __attribute__((noreturn))
child_fail(struct spawn_ctx *x, int step)
{
	int	 msg[2] = { step, errno };

	(void)write(x->errfd, msg, sizeof(msg));
	_exit(127);
}

/* In the vforked child, up to the exec: system calls only. */
static void __attribute__((noreturn))
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
	if (setsid() == -1)
		child_fail(x, STEP_SETSID);
	/* a worker that crashes takes its programs along (kept by exec) */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (dup2(x->fd0, 0) == -1 || dup2(x->fd1, 1) == -1 ||
	    dup2(x->fd2, 2) == -1)
		child_fail(x, STEP_DUP2);
	/* every other one goes at the exec; errfd stays until then */
	if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOEXEC */) == -1)
		for (fd = 3; fd < 65536; fd++)
			if (fd != x->errfd)
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
	int	 msg[2];

	ev_child_stop(proc.loop, &ch->w);
	ev_timer_stop(proc.loop, &ch->kill_timer);
	TAILQ_REMOVE(&children, ch, entry);
	child_count--;
	status_text(status, what, sizeof(what));
	if (ch->errfd != -1) {
		if (read(ch->errfd, msg, sizeof(msg)) == sizeof(msg) &&
		    msg[0] >= 0 && msg[0] <= STEP_SIGNALS)
			logit(LOG_NOTICE, "plugin %s: child %ld: cannot run %s:"
			    " %s: %s", ch->inst->name, (long)ch->pid, ch->prog,
			    step_names[msg[0]], strerror(msg[1]));
		close(ch->errfd);
	}
	logit(LOG_INFO, "plugin %s: child %ld %s after %.3f s%s",
	    ch->inst->name, (long)ch->pid, what,
	    ev_now(proc.loop) - ch->started, ch->killed ?
	    " (after SIGKILL)" : "");
	if (ch->cb != NULL) {
		CB_CALL(ch->cb(ch, status, ch->arg));
	}
	free(ch->prog);
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

static int
spawn_check(const struct asockd_spawn *sp)
{
	struct stat	 st;

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
	/*
	 * What is likely to fail is asked here, so that it fails the call;
	 * what fails in the child after all is its exit (status 127).
	 */
	if (access(sp->argv[0], X_OK) == -1)
		return -errno;
	if (sp->cwd != NULL) {
		if (stat(sp->cwd, &st) == -1)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
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
	int			 ep[2], null, r, i;
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

	if (pipe2(ep, O_CLOEXEC | O_NONBLOCK) == -1) {
		r = -errno;
		goto out;
	}
	x.errfd = ep[1];

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((pid = vfork()) == 0)
		child_exec(&x);
	r = pid == -1 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(ep[1]);
	if (r < 0) {
		close(ep[0]);
		goto out;
	}

	ch = xcalloc(1, sizeof(*ch));
	ch->pid = pid;
	ch->inst = inst;
	ch->cb = cb;
	ch->arg = arg;
	ch->errfd = ep[0];
	ch->prog = xstrdup(sp->argv[0]);
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
