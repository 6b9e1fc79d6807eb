/*
 * exec.c - run a program per connection, like inetd, xinetd or tcpserver.
 *
 * For each accepted connection the plugin starts [exec] command with
 * host->spawn: the program's stdin and stdout are one end of a
 * socketpair, its stderr another; the plugin hands the other ends to the
 * host with host->attach_fd, so the program's output is a connection like
 * any other and gets the host's backpressure, half-closes and close
 * reasons.  A session joins four parts: the client, the program's stdio,
 * its stderr and the child itself; it is freed when all four are gone.
 *
 *   client -> program: on_receive(client) sends to the stdio connection;
 *     while that one is not writable the client is paused, and its
 *     on_send resumes it.  The same the other way round.
 *   client EOF: shutdown_write on the stdio connection (the program reads
 *     end of file); the program's EOF (it closed stdout or exited): the
 *     client is closed once its output is flushed.
 *   client reset, idle timeout, daemon stop: the program gets SIGTERM and
 *     SIGKILL after kill_timeout (host->child_kill).
 *   stderr: logged line by line with the client's connection prefix
 *     (stderr_burst lines at once, stderr_rate a second after that),
 *     never sent to the client.
 *
 * The environment is the [env] section plus the UCSPI variables (PROTO,
 * TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT) of the client.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <asockd/plugin.h>

#define ENV_MAX		256	/* [env] entries */
#define LINE_MAX_LOG	1024	/* a stderr line longer is logged in parts */
#define DEF_PATH	"PATH=/usr/local/bin:/usr/bin:/bin"

static const struct asockd_host *host;

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Limits an [exec] rlimit_* key sets. */
static const struct {
	const char	*key;
	int		 resource;
} limit_keys[] = {
	{ "rlimit_cpu", RLIMIT_CPU },
	{ "rlimit_as", RLIMIT_AS },
	{ "rlimit_data", RLIMIT_DATA },
	{ "rlimit_fsize", RLIMIT_FSIZE },
	{ "rlimit_nofile", RLIMIT_NOFILE },
	{ "rlimit_nproc", RLIMIT_NPROC },
	{ "rlimit_core", RLIMIT_CORE },
	{ "rlimit_stack", RLIMIT_STACK },
};
#define NLIMITS	(sizeof(limit_keys) / sizeof(limit_keys[0]))

struct exec {
	struct asockd_instance	*inst;
	char			**argv;		/* parsed command */
	char			*env[ENV_MAX + 8];	/* [env], then UCSPI */
	int			 nenv;
	int			 has_path;
	uid_t			 uid;
	gid_t			 gid;
	char			*cwd;
	long long		 nice;
	long long		 max_instances;	/* 0: no limit */
	double			 kill_timeout;
	double			 stderr_rate;	/* lines/s logged; 0: all */
	long long		 stderr_burst;
	struct asockd_rlimit	 limits[NLIMITS];
	size_t			 nlimits;
	long long		 running;	/* children alive */
};

struct session {
	struct exec		*ex;
	struct asockd_conn	*client;
	struct asockd_conn	*io;		/* program's stdin/stdout */
	struct asockd_conn	*err;		/* program's stderr */
	struct asockd_child	*child;
	struct asockd_timer	*grace;		/* kill after io_eof */
	int			 io_eof;	/* the program closed stdout */
	char			 line[LINE_MAX_LOG];
	size_t			 linelen;
	double			 tokens;	/* stderr lines it may log */
	double			 refilled;	/* when tokens were topped up */
	unsigned long long	 unlogged;	/* lines over stderr_rate */
};

/*
 * Split a command line into words.  Whitespace separates words; "..."
 * and '...' quote (inside double quotes a backslash escapes " and \);
 * outside quotes a backslash escapes the next character.  No variables,
 * globs or redirections: for those, run /bin/sh -c "...".  -1 with why
 * for an unterminated quote or a trailing backslash.
 */
static int
command_split(const char *s, char ***out, const char **why)
{
	char	**argv = NULL, *w;
	size_t	 n = 0, len;
	int	 in_word;

	w = malloc(strlen(s) + 1);
	if (w == NULL)
		return -1;
	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		len = 0;
		in_word = 1;
		while (in_word && *s != '\0') {
			if (isspace((unsigned char)*s)) {
				in_word = 0;
			} else if (*s == '\'') {
				for (s++; *s != '\0' && *s != '\''; s++)
					w[len++] = *s;
				if (*s == '\0')
					goto unterminated;
				s++;
			} else if (*s == '"') {
				for (s++; *s != '\0' && *s != '"'; s++) {
					if (*s == '\\' && (s[1] == '"' ||
					    s[1] == '\\'))
						s++;
					w[len++] = *s;
				}
				if (*s == '\0')
					goto unterminated;
				s++;
			} else if (*s == '\\') {
				if (*++s == '\0') {
					*why = "a backslash at the end";
					goto fail;
				}
				w[len++] = *s++;
			} else
				w[len++] = *s++;
		}
		argv = realloc(argv, (n + 2) * sizeof(*argv));
		if (argv == NULL)
			abort();
		argv[n] = strndup(w, len);
		argv[++n] = NULL;
	}
	free(w);
	if (n == 0) {
		*why = "an empty command";
		free(argv);
		return -1;
	}
	*out = argv;
	return 0;
unterminated:
	*why = "an unterminated quote";
fail:
	free(w);
	while (n > 0)
		free(argv[--n]);
	free(argv);
	return -1;
}

static void
argv_free(char **argv)
{
	size_t	 i;

	if (argv == NULL)
		return;
	for (i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* A program name without '/' is looked up in PATH, as the shell does. */
static char *
program_find(const char *name)
{
	const char	*path = getenv("PATH"), *p, *e;
	char		 buf[4096];

	if (strchr(name, '/') != NULL)
		return strdup(name);
	if (path == NULL)
		path = DEF_PATH + 5;
	for (p = path; *p != '\0'; p = *e ? e + 1 : e) {
		e = strchrnul(p, ':');
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(e - p), p, name);
		if (access(buf, X_OK) == 0)
			return strdup(buf);
	}
	return NULL;
}

static int
env_add(const char *key, const char *value, int line, void *arg)
{
	struct exec	*ex = arg;

	if (ex->nenv >= ENV_MAX) {
		host->log(ex->inst, ASOCKD_LOG_ERR, "[env]: more than %d"
		    " variables", ENV_MAX);
		return -E2BIG;
	}
	if (strcmp(key, "PATH") == 0)
		ex->has_path = 1;
	if (asprintf(&ex->env[ex->nenv], "%s=%s", key, value) == -1)
		abort();
	ex->nenv++;
	return 0;
}

static int
ids_read(struct exec *ex)
{
	const char	*user, *group;
	struct passwd	*pw;
	struct group	*gr;

	ex->uid = (uid_t)-1;
	ex->gid = (gid_t)-1;
	user = host->ini_str(ex->inst, "exec", "user", NULL);
	group = host->ini_str(ex->inst, "exec", "group", NULL);
	if (user != NULL) {
		if ((pw = getpwnam(user)) == NULL) {
			host->log(ex->inst, ASOCKD_LOG_ERR, "[exec] user:"
			    " no such user '%s'", user);
			return -EINVAL;
		}
		ex->uid = pw->pw_uid;
		ex->gid = pw->pw_gid;	/* the user's group unless group= */
	}
	if (group != NULL) {
		if ((gr = getgrnam(group)) == NULL) {
			host->log(ex->inst, ASOCKD_LOG_ERR, "[exec] group:"
			    " no such group '%s'", group);
			return -EINVAL;
		}
		ex->gid = gr->gr_gid;
	}
	if (geteuid() != 0 && ((ex->uid != (uid_t)-1 &&
	    ex->uid != geteuid()) || (ex->gid != (gid_t)-1 &&
	    ex->gid != getegid()))) {
		host->log(ex->inst, ASOCKD_LOG_ERR, "[exec] user/group: the"
		    " worker runs as uid %ld, not root, and cannot switch",
		    (long)geteuid());
		return -EPERM;
	}
	return 0;
}

static int
limits_read(struct exec *ex)
{
	long long	 v;
	size_t		 i;

	for (i = 0; i < NLIMITS; i++) {
		if (host->ini_int(ex->inst, "exec", limit_keys[i].key, -1,
		    &v) < 0)
			return -EINVAL;
		if (v < 0)
			continue;
		ex->limits[ex->nlimits].resource = limit_keys[i].resource;
		ex->limits[ex->nlimits].cur = v;
		ex->limits[ex->nlimits].max = v;
		ex->nlimits++;
	}
	return 0;
}

static void
exec_free(struct exec *ex)
{
	int	 i;

	argv_free(ex->argv);
	for (i = 0; i < ex->nenv; i++)
		free(ex->env[i]);
	free(ex->cwd);
	free(ex);
}

static int
exec_init(const struct asockd_host *h, struct asockd_instance *inst,
    void **pdata)
{
	struct exec	*ex;
	const char	*cmd, *cwd, *why = NULL;
	char		*prog;
	struct stat	 st;
	int		 r;

	host = h;
	if (h->abi_minor < 3 || h->size < sizeof(*h)) {
		h->log(inst, ASOCKD_LOG_ERR, "needs a daemon with ABI 1.3");
		return -ENOTSUP;
	}
	if ((ex = calloc(1, sizeof(*ex))) == NULL)
		return -ENOMEM;
	ex->inst = inst;
	cmd = h->ini_str(inst, "exec", "command", NULL);
	if (cmd == NULL) {
		h->log(inst, ASOCKD_LOG_ERR, "[exec] command is not set");
		r = -EINVAL;
		goto fail;
	}
	if (command_split(cmd, &ex->argv, &why) == -1) {
		h->log(inst, ASOCKD_LOG_ERR, "[exec] command: %s", why ? why :
		    "out of memory");
		r = -EINVAL;
		goto fail;
	}
	if ((prog = program_find(ex->argv[0])) == NULL ||
	    stat(prog, &st) == -1 || !S_ISREG(st.st_mode) ||
	    access(prog, X_OK) == -1) {
		h->log(inst, ASOCKD_LOG_ERR, "[exec] command: %s: not an"
		    " executable file", prog ? prog : ex->argv[0]);
		free(prog);
		r = -ENOENT;
		goto fail;
	}
	free(ex->argv[0]);
	ex->argv[0] = prog;
	cwd = h->ini_str(inst, "exec", "cwd", NULL);
	ex->cwd = cwd ? strdup(cwd) : NULL;
	if ((r = ids_read(ex)) < 0 || (r = limits_read(ex)) < 0)
		goto fail;
	if (h->ini_int(inst, "exec", "nice", 0, &ex->nice) < 0 ||
	    h->ini_int(inst, "exec", "max_instances", 0,
	    &ex->max_instances) < 0 ||
	    h->ini_double(inst, "exec", "kill_timeout", 5,
	    &ex->kill_timeout) < 0 ||
	    h->ini_double(inst, "exec", "stderr_rate", 10,
	    &ex->stderr_rate) < 0 ||
	    h->ini_int(inst, "exec", "stderr_burst", 100,
	    &ex->stderr_burst) < 0) {
		r = -EINVAL;
		goto fail;
	}
	if ((r = h->ini_each(inst, "env", env_add, ex)) != 0)
		goto fail;
	*pdata = ex;
	return 0;
fail:
	exec_free(ex);
	return r;
}

static void
exec_fini(struct asockd_instance *inst)
{
	struct exec	*ex = host->instance_data(inst);

	if (ex != NULL)
		exec_free(ex);
}

static void
session_maybe_free(struct session *s)
{
	if (s->client == NULL && s->io == NULL && s->err == NULL &&
	    s->child == NULL)
		free(s);
}

/* "PROTO=TCP" and the TCP*IP / TCP*PORT pairs, into env from *n on. */
static void
ucspi_env(struct asockd_conn *c, char **env, int *n)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 ip[INET6_ADDRSTRLEN];
	int			 local, port;

	len = sizeof(ss);
	if (host->peer_addr(c, (struct sockaddr *)&ss, &len) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		env[(*n)++] = strdup("PROTO=UNIX");
		return;
	}
	env[(*n)++] = strdup("PROTO=TCP");
	for (local = 0; local < 2; local++) {
		len = sizeof(ss);
		if (local && host->local_addr(c, (struct sockaddr *)&ss,
		    &len) < 0)
			break;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
			port = ntohs(sin->sin_port);
		} else {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			port = ntohs(s6->sin6_port);
		}
		if (asprintf(&env[(*n)++], "TCP%sIP=%s", local ? "LOCAL" :
		    "REMOTE", ip) == -1 || asprintf(&env[(*n)++],
		    "TCP%sPORT=%d", local ? "LOCAL" : "REMOTE", port) == -1)
			abort();
	}
}

static void
child_exited(struct asockd_child *ch, int status, void *arg)
{
	struct session	*s = arg;

	s->ex->running--;
	s->child = NULL;
	if (s->grace != NULL)
		host->timer_stop(s->grace);
	s->grace = NULL;
	/* the host logged the status; say which connection it served */
	if (s->client != NULL)
		host->conn_log(s->client, ASOCKD_LOG_DEBUG, "program %ld"
		    " ended", (long)host->child_pid(ch));
	session_maybe_free(s);
}

static int
exec_accept(struct asockd_conn *c)
{
	struct exec		*ex = host->instance_data(
				    host->conn_instance(c));
	struct asockd_spawn	 sp;
	struct session		*s;
	char			 name[64];
	int			 fds[2], n, i, r;

	if (ex->max_instances > 0 && ex->running >= ex->max_instances) {
		host->conn_log(c, ASOCKD_LOG_WARNING, "max_instances (%lld)"
		    " programs running: refused", ex->max_instances);
		return -EAGAIN;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->ex = ex;
	s->tokens = (double)ex->stderr_burst;
	s->refilled = now();
	n = ex->nenv;
	if (!ex->has_path)
		ex->env[n++] = strdup(DEF_PATH);
	ucspi_env(c, ex->env, &n);
	ex->env[n] = NULL;

	memset(&sp, 0, sizeof(sp));
	sp.size = sizeof(sp);
	sp.flags = ASOCKD_SPAWN_STDIO | ASOCKD_SPAWN_STDERR;
	sp.argv = (const char *const *)ex->argv;
	sp.envp = (const char *const *)ex->env;
	sp.cwd = ex->cwd;
	sp.uid = ex->uid;
	sp.gid = ex->gid;
	sp.nice = (int)ex->nice;
	sp.rlimits = ex->limits;
	sp.nrlimits = ex->nlimits;
	r = host->spawn(host->conn_instance(c), &sp, child_exited, s, fds,
	    &s->child);
	for (i = ex->nenv; i < n; i++)
		free(ex->env[i]);
	ex->env[ex->nenv] = NULL;
	if (r < 0) {
		host->conn_log(c, ASOCKD_LOG_WARNING, "cannot run %s: %s",
		    ex->argv[0], strerror(-r));
		free(s);
		return r;
	}
	ex->running++;
	s->client = c;
	host->set_udata(c, s);
	snprintf(name, sizeof(name), "child %ld stdio",
	    (long)host->child_pid(s->child));
	if (host->attach_fd(host->conn_instance(c), fds[0], name, s,
	    &s->io) < 0)
		close(fds[0]);
	snprintf(name, sizeof(name), "child %ld stderr",
	    (long)host->child_pid(s->child));
	if (host->attach_fd(host->conn_instance(c), fds[1], name, s,
	    &s->err) < 0)
		close(fds[1]);
	host->conn_log(c, ASOCKD_LOG_DEBUG, "running %s (pid %ld)",
	    ex->argv[0], (long)host->child_pid(s->child));
	return 0;
}

/* Log a line of the program's stderr, tagged by client. */
static void
err_log(struct session *s, const char *fmt, ...)
{
	char	 msg[LINE_MAX_LOG + 64];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->client != NULL)
		host->conn_log(s->client, ASOCKD_LOG_NOTICE, "%s", msg);
	else
		host->log(s->ex->inst, ASOCKD_LOG_NOTICE, "%s", msg);
}

/* Say how many lines stderr_rate kept out of the log, if any. */
static void
err_unlogged(struct session *s)
{
	if (s->unlogged == 0)
		return;
	err_log(s, "stderr: %llu line(s) not logged (over stderr_rate %g/s,"
	    " stderr_burst %lld)", s->unlogged, s->ex->stderr_rate,
	    s->ex->stderr_burst);
	s->unlogged = 0;
}

/*
 * Log one line of the program's stderr, at most stderr_burst at once and
 * stderr_rate a second after that (a token bucket per program): a
 * program that writes a flood to its stderr cannot flood the log.  What
 * is not logged is counted, and the count logged once lines pass again
 * and when its stderr ends.
 */
static void
err_line(struct session *s, const char *p, size_t len)
{
	struct exec	*ex = s->ex;
	double		 t;

	if (len > 0 && p[len - 1] == '\r')
		len--;
	if (ex->stderr_rate > 0) {
		t = now();
		s->tokens += (t - s->refilled) * ex->stderr_rate;
		if (s->tokens > (double)ex->stderr_burst)
			s->tokens = (double)ex->stderr_burst;
		s->refilled = t;
		if (s->tokens < 1) {
			s->unlogged++;
			return;
		}
		s->tokens -= 1;
		err_unlogged(s);
	}
	err_log(s, "stderr: %.*s", (int)len, p);
}

static void
err_receive(struct session *s, const char *p, size_t len)
{
	const char	*nl;
	size_t		 take;

	while (len > 0) {
		nl = memchr(p, '\n', len);
		take = nl ? (size_t)(nl - p) : len;
		if (s->linelen + take > sizeof(s->line))
			take = sizeof(s->line) - s->linelen;
		memcpy(s->line + s->linelen, p, take);
		s->linelen += take;
		p += take;
		len -= take;
		if (len > 0 && *p == '\n') {
			p++;
			len--;
		} else if (s->linelen < sizeof(s->line))
			break;		/* the rest of the line comes later */
		err_line(s, s->line, s->linelen);
		s->linelen = 0;
	}
}

static size_t
exec_receive(struct asockd_conn *c, const void *data, size_t len)
{
	struct session		*s = host->udata(c);
	struct asockd_conn	*to;

	if (c == s->err) {
		err_receive(s, data, len);
		return len;
	}
	to = c == s->client ? s->io : s->client;
	if (to == NULL || host->send(to, data, len) < 0)
		return len;	/* the other side is gone: drop */
	if (!host->writable(to))
		(void)host->pause_receive(c, 1);	/* on_send resumes */
	return len;
}

static void
exec_send(struct asockd_conn *c)
{
	struct session		*s = host->udata(c);
	struct asockd_conn	*from;

	from = c == s->client ? s->io : c == s->io ? s->client : NULL;
	if (from != NULL)
		(void)host->pause_receive(from, 0);
}

static void
exec_eof(struct asockd_conn *c)
{
	struct session	*s = host->udata(c);

	if (c == s->client) {
		/* the program reads end of file; its answer still comes */
		if (s->io == NULL || host->shutdown_write(s->io) < 0)
			(void)host->close(c);
	} else if (c == s->io) {
		s->io_eof = 1;
		(void)host->close(c);
		if (s->client != NULL)
			(void)host->close(s->client);	/* after the flush */
	} else {
		if (s->linelen > 0)
			err_line(s, s->line, s->linelen);
		s->linelen = 0;
		(void)host->close(c);
	}
}

static void
grace_over(struct asockd_timer *t, void *arg)
{
	struct session	*s = arg;

	s->grace = NULL;	/* a one-shot timer is freed after this */
	if (s->child != NULL)
		(void)host->child_kill(s->child, s->ex->kill_timeout);
}

/*
 * The client is gone: the program gets SIGTERM, and SIGKILL after
 * kill_timeout.  One that closed its stdout is on its way out and gets
 * kill_timeout to exit by itself first.
 */
static void
session_kill(struct session *s)
{
	if (s->child == NULL || s->grace != NULL)
		return;
	if (s->io_eof && s->ex->kill_timeout > 0)
		s->grace = host->timer_start(s->ex->inst, NULL,
		    s->ex->kill_timeout, 0, grace_over, s);
	if (s->grace == NULL)
		(void)host->child_kill(s->child, s->ex->kill_timeout);
}

static void
exec_close(struct asockd_conn *c, int reason)
{
	struct session	*s = host->udata(c);

	if (s == NULL)
		return;
	if (c == s->client) {
		s->client = NULL;
		if (s->io != NULL) {
			if (reason == ASOCKD_CLOSE_LOCAL ||
			    reason == ASOCKD_CLOSE_PEER)
				(void)host->close(s->io);
			else
				(void)host->abort(s->io);
		}
		session_kill(s);
	} else if (c == s->io) {
		s->io = NULL;
		s->io_eof = 1;
		if (s->client != NULL)
			(void)host->close(s->client);
	} else {
		if (s->linelen > 0)
			err_line(s, s->line, s->linelen);
		s->linelen = 0;
		err_unlogged(s);
		s->err = NULL;
	}
	session_maybe_free(s);
}

static const struct asockd_setting exec_settings[] = {
	{ "exec", "command", ASOCKD_SET_STRING, NULL, 0, 0, NULL,
	    "program and arguments (quoting as in docs/exec.md)" },
	{ "exec", "user", ASOCKD_SET_STRING, NULL, 0, 0, NULL,
	    "run the program as this user (the worker must be root)" },
	{ "exec", "group", ASOCKD_SET_STRING, NULL, 0, 0, NULL,
	    "and this group (default: the user's)" },
	{ "exec", "cwd", ASOCKD_SET_STRING, NULL, 0, 0, NULL,
	    "working directory of the program" },
	{ "exec", "nice", ASOCKD_SET_INT, "0", -20, 19, NULL,
	    "added to the program's nice value" },
	{ "exec", "max_instances", ASOCKD_SET_INT, "0", 0, 1000000, NULL,
	    "programs running at once per worker; 0: no limit" },
	{ "exec", "kill_timeout", ASOCKD_SET_DOUBLE, "5", 0, 3600, NULL,
	    "seconds from SIGTERM to SIGKILL" },
	{ "exec", "stderr_rate", ASOCKD_SET_DOUBLE, "10", 0, 1e6, NULL,
	    "stderr lines a second a program may log after the burst; 0: all" },
	{ "exec", "stderr_burst", ASOCKD_SET_INT, "100", 1, 1000000, NULL,
	    "stderr lines a program may log at once" },
	{ "exec", "rlimit_cpu", ASOCKD_SET_INT, NULL, 0, 9e18, NULL,
	    "RLIMIT_CPU, seconds" },
	{ "exec", "rlimit_as", ASOCKD_SET_INT, NULL, 0, 9e18, NULL,
	    "RLIMIT_AS, bytes" },
	{ "exec", "rlimit_data", ASOCKD_SET_INT, NULL, 0, 9e18, NULL,
	    "RLIMIT_DATA, bytes" },
	{ "exec", "rlimit_fsize", ASOCKD_SET_INT, NULL, 0, 9e18, NULL,
	    "RLIMIT_FSIZE, bytes" },
	{ "exec", "rlimit_nofile", ASOCKD_SET_INT, NULL, 0, 9e18, NULL,
	    "RLIMIT_NOFILE, descriptors" },
	{ "exec", "rlimit_nproc", ASOCKD_SET_INT, NULL, 0, 9e18, NULL,
	    "RLIMIT_NPROC, processes of the user" },
	{ "exec", "rlimit_core", ASOCKD_SET_INT, NULL, 0, 9e18, NULL,
	    "RLIMIT_CORE, bytes" },
	{ "exec", "rlimit_stack", ASOCKD_SET_INT, NULL, 0, 9e18, NULL,
	    "RLIMIT_STACK, bytes" },
	{ "env", "*", ASOCKD_SET_STRING, NULL, 0, 0, NULL,
	    "NAME = value: the program's environment" },
	{ .name = NULL }
};

ASOCKD_PLUGIN_DEFINE(
	.name = "exec",
	.version = "1.0",
	.flags = ASOCKD_F_OWN_FLOW,	/* exec_receive paces both sides */
	.init = exec_init,
	.fini = exec_fini,
	.on_accept = exec_accept,
	.on_receive = exec_receive,
	.on_send = exec_send,
	.on_eof = exec_eof,
	.on_close = exec_close,
	.settings = exec_settings
);
