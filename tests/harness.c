/*
 * harness.c - helpers for integration tests that run the real asockd
 * binary (see harness.h for the API).
 *
 * check runs each test in a forked child by default.  Everything a test
 * creates is therefore tied to the process that created it: the temporary
 * directory and the daemons record their creator's pid, and one atexit
 * handler in that process kills its daemons and removes its directory.  A
 * child that merely inherited them (a helper forked by a test) leaves them
 * alone.
 *
 * A failed check assertion ends the test child with _exit(), and check's
 * timeout with SIGKILL: no atexit handler runs.  So the daemons get
 * SIGKILL from the kernel when the child dies (PR_SET_PDEATHSIG), and
 * h_run_suite() makes a base directory in the runner, under which each
 * test child makes its own; the runner removes the base, with whatever a
 * dead child left in it, when it exits.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "harness.h"

#define H_MAX_DAEMONS	32
#define H_MAX_ARGS	64
#define H_READY_MS	10000
#define H_RUN_MS	20000
#define H_IO_TIMEOUT	5	/* seconds, SO_RCVTIMEO/SO_SNDTIMEO */

static char	 tmpdir[256];	/* short: unix socket paths live here */
static pid_t	 tmpdir_owner;
static char	 basedir[128];	/* made by h_run_suite(), or empty */
static pid_t	 basedir_owner;
static int	 atexit_done;
static unsigned int serial;	/* unique file names in tmpdir */

/* Daemons started by this process, killed at exit if still running. */
static struct {
	struct daemon	*d;
	pid_t		 owner;
	int		 reaped;
} daemons[H_MAX_DAEMONS];

static void	 h_atexit(void);

/*
 * Deadlines stretch with CK_TIMEOUT_MULTIPLIER, so the same tests run
 * under valgrind or the sanitizers (CI sets it for those runs).
 */
static long long
h_scale(long long ms)
{
	const char	*m = getenv("CK_TIMEOUT_MULTIPLIER");
	long		 k;

	if (m == NULL || (k = strtol(m, NULL, 10)) < 1)
		return ms;
	return ms * k;
}

static void *
h_xmalloc(size_t len)
{
	void	*p;

	if ((p = malloc(len)) == NULL) {
		perror("malloc");
		abort();
	}
	return p;
}

static void
h_register_atexit(void)
{
	if (!atexit_done) {
		atexit(h_atexit);
		atexit_done = 1;
	}
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)remove(path);
	return 0;
}

static void
h_atexit(void)
{
	pid_t	 me = getpid();
	int	 i;

	for (i = 0; i < H_MAX_DAEMONS; i++) {
		if (daemons[i].d == NULL || daemons[i].owner != me ||
		    daemons[i].reaped)
			continue;
		kill(daemons[i].d->pid, SIGKILL);
		(void)waitpid(daemons[i].d->pid, NULL, 0);
		daemons[i].reaped = 1;
	}
	if (tmpdir[0] != '\0' && tmpdir_owner == me)
		(void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (basedir[0] != '\0' && basedir_owner == me)
		(void)nftw(basedir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* mkdtemp under $TMPDIR (or /tmp); aborts on failure. */
static void
make_dir(char *buf, size_t len, const char *parent, const char *prefix)
{
	snprintf(buf, len, "%s/%s.XXXXXX", parent, prefix);
	if (mkdtemp(buf) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", buf, strerror(errno));
		abort();
	}
}

static const char *
tmp_base(void)
{
	const char	*base;

	if ((base = getenv("TMPDIR")) == NULL || *base == '\0')
		base = "/tmp";
	return base;
}

const char *
h_tmpdir(void)
{
	if (tmpdir[0] != '\0')
		return tmpdir;
	if (basedir[0] != '\0')
		make_dir(tmpdir, sizeof(tmpdir), basedir, "t");
	else
		make_dir(tmpdir, sizeof(tmpdir), tmp_base(), "asockd-test");
	tmpdir_owner = getpid();
	h_register_atexit();
	return tmpdir;
}

static const char *
env_or(const char *name, const char *def)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : def;
}

char *
h_expand(const char *text)
{
	static const struct {
		const char	*key;
		const char	*env;	/* NULL: the temp directory */
	} vars[] = {
		{ "@PLUGIN_DIR@", "ASOCKD_PLUGIN_DIR" },
		{ "@TEST_PLUGIN_DIR@", "ASOCKD_TEST_PLUGIN_DIR" },
		{ "@SRCDIR@", "ASOCKD_SRCDIR" },
		{ "@TMP@", NULL }
	};
	const char	*p, *val;
	char		*out;
	size_t		 len, cap, vlen, i;

	cap = strlen(text) + 1;
	out = h_xmalloc(cap);
	len = 0;
	for (p = text; *p != '\0';) {
		val = NULL;
		vlen = 0;
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
			if (strncmp(p, vars[i].key, strlen(vars[i].key)) != 0)
				continue;
			val = vars[i].env == NULL ? h_tmpdir() :
			    env_or(vars[i].env, ".");
			vlen = strlen(vars[i].key);
			break;
		}
		if (val == NULL) {
			val = p;
			vlen = 1;
		} else {
			p += vlen;
			vlen = strlen(val);
		}
		if (len + vlen + 1 > cap) {
			cap = (len + vlen + 1) * 2;
			if ((out = realloc(out, cap)) == NULL)
				abort();
		}
		memcpy(out + len, val, vlen);
		len += vlen;
		if (val == p)
			p++;
	}
	out[len] = '\0';
	return out;
}

char *
h_write_file(const char *name, const char *text)
{
	char	*path, *data;
	FILE	*f;
	size_t	 len;

	len = strlen(h_tmpdir()) + strlen(name) + 2;
	path = h_xmalloc(len);
	snprintf(path, len, "%s/%s", h_tmpdir(), name);
	data = h_expand(text);
	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(data, 1, strlen(data), f) != strlen(data) ||
	    fclose(f) != 0) {
		fprintf(stderr, "write %s: %s\n", path, strerror(errno));
		abort();
	}
	free(data);
	return path;
}

/* Contents of a file, NUL-terminated (empty when it cannot be read). */
static char *
read_file(const char *path)
{
	char	*buf;
	size_t	 len = 0, cap = 4096;
	ssize_t	 n;
	int	 fd;

	buf = h_xmalloc(cap);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		for (;;) {
			if (cap - len < 4096 &&
			    (buf = realloc(buf, (cap *= 2))) == NULL)
				abort();
			n = read(fd, buf + len, cap - len - 1);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			len += n;
		}
		close(fd);
	}
	buf[len] = '\0';
	return buf;
}

char *
h_log_text(struct daemon *d)
{
	return read_file(d->log);
}

int
h_log_count(struct daemon *d, const char *s)
{
	char	*text, *line, *nl;
	int	 count = 0;

	text = h_log_text(d);
	for (line = text; line != NULL && *line != '\0'; line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		if (strstr(line, s) != NULL)
			count++;
	}
	free(text);
	return count;
}

int
h_log_wait(struct daemon *d, const char *s, int timeout_ms)
{
	long long	 end = h_now_ms() + h_scale(timeout_ms);

	for (;;) {
		if (h_log_count(d, s) > 0)
			return 1;
		if (h_now_ms() >= end)
			return 0;
		usleep(10 * 1000);
	}
}

static void
print_log(struct daemon *d, const char *why)
{
	char	*text = h_log_text(d);

	fprintf(stderr, "asockd (pid %d) %s; its log:\n%s\n-- end of log\n",
	    (int)d->pid, why, text);
	free(text);
}

static int
decode_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

static int
daemon_slot(struct daemon *d)
{
	int	 i;

	for (i = 0; i < H_MAX_DAEMONS; i++)
		if (daemons[i].d == d)
			return i;
	return -1;
}

/* Reap d if it exited; 1 when it is gone (status set), 0 when running. */
static int
daemon_reap(struct daemon *d)
{
	int	 i, status;
	pid_t	 pid;

	if ((i = daemon_slot(d)) != -1 && daemons[i].reaped)
		return 1;
	do
		pid = waitpid(d->pid, &status, WNOHANG);
	while (pid == -1 && errno == EINTR);
	if (pid == 0)
		return 0;
	d->status = pid == d->pid ? decode_status(status) : -1;
	if (i != -1)
		daemons[i].reaped = 1;
	return 1;
}

/* Fork and exec the daemon with argv, output to logpath. */
/*
 * exec bin, or, when ASOCKD_WRAPPER is set ("valgrind -q ..."), the
 * wrapper's words followed by bin and argv[1..].
 */
static void
exec_wrapped(const char *bin, char *const argv[])
{
	const char	*w = getenv("ASOCKD_WRAPPER");
	char		*args[H_MAX_ARGS * 2], *copy, *tok, *save;
	int		 n = 0, i;

	if (w == NULL || *w == '\0') {
		execv(bin, argv);
		return;
	}
	if ((copy = strdup(w)) == NULL)
		return;
	for (tok = strtok_r(copy, " ", &save); tok != NULL && n < H_MAX_ARGS;
	    tok = strtok_r(NULL, " ", &save))
		args[n++] = tok;
	args[n++] = (char *)(uintptr_t)bin;
	for (i = 1; argv[i] != NULL && n < H_MAX_ARGS * 2 - 1; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	execvp(args[0], args);
}

static pid_t
spawn(char *const argv[], int outfd)
{
	const char	*bin = env_or("ASOCKD_BIN", "asockd");
	pid_t		 parent = getpid(), pid;
	int		 fd;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		perror("fork");
		return -1;
	}
	if (pid > 0)
		return pid;

	/* The child: never return, never run the test's atexit handlers. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(127);
	signal(SIGPIPE, SIG_DFL);
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		if (fd != STDIN_FILENO)
			close(fd);
	}
	dup2(outfd, STDOUT_FILENO);
	dup2(outfd, STDERR_FILENO);
	if (outfd > STDERR_FILENO)
		close(outfd);
	exec_wrapped(bin, argv);
	fprintf(stderr, "execv %s: %s\n", bin, strerror(errno));
	_exit(127);
}

struct daemon *
h_daemon_start(const char *conf_text, ...)
{
	struct daemon	*d;
	char		*argv[H_MAX_ARGS], name[64], *path, *plugin_dir;
	char		*arg;
	long long	 end;
	va_list		 ap;
	int		 argc = 0, fd, slot;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	serial++;
	snprintf(name, sizeof(name), "asockd-%u.conf", serial);
	path = h_write_file(name, conf_text);
	snprintf(d->conf, sizeof(d->conf), "%s", path);
	free(path);
	snprintf(d->log, sizeof(d->log), "%s/asockd-%u.log", h_tmpdir(),
	    serial);

	argv[argc++] = (char *)"asockd";
	argv[argc++] = (char *)"-f";
	argv[argc++] = (char *)"-l";
	argv[argc++] = (char *)"debug";
	argv[argc++] = (char *)"-c";
	argv[argc++] = d->conf;
	if ((plugin_dir = getenv("ASOCKD_PLUGIN_DIR")) != NULL) {
		argv[argc++] = (char *)"-P";
		argv[argc++] = plugin_dir;
	}
	va_start(ap, conf_text);
	while ((arg = va_arg(ap, char *)) != NULL && argc < H_MAX_ARGS - 1)
		argv[argc++] = arg;
	va_end(ap);
	argv[argc] = NULL;

	if ((fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		fprintf(stderr, "open %s: %s\n", d->log, strerror(errno));
		free(d);
		return NULL;
	}
	d->pid = spawn(argv, fd);
	close(fd);
	if (d->pid == -1) {
		free(d);
		return NULL;
	}
	h_register_atexit();
	for (slot = 0; slot < H_MAX_DAEMONS; slot++)
		if (daemons[slot].d == NULL)
			break;
	if (slot == H_MAX_DAEMONS) {
		fprintf(stderr, "h_daemon_start: too many daemons\n");
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		free(d);
		return NULL;
	}
	daemons[slot].d = d;
	daemons[slot].owner = getpid();
	daemons[slot].reaped = 0;

	end = h_now_ms() + h_scale(H_READY_MS);
	for (;;) {
		if (h_log_count(d, " ready") > 0)
			return d;
		if (daemon_reap(d)) {
			print_log(d, "exited before it was ready");
			break;
		}
		if (h_now_ms() >= end) {
			print_log(d, "did not get ready in 10 s");
			break;
		}
		usleep(10 * 1000);
	}
	h_daemon_stop(d, 0);
	h_daemon_free(d);
	return NULL;
}

int
h_daemon_wait(struct daemon *d, int timeout_ms)
{
	long long	 end = h_now_ms() + h_scale(timeout_ms);

	for (;;) {
		if (daemon_reap(d))
			return d->status;
		if (h_now_ms() >= end)
			return -1;
		usleep(5 * 1000);
	}
}

int
h_daemon_stop(struct daemon *d, int timeout_ms)
{
	int	 i;

	if ((i = daemon_slot(d)) != -1 && daemons[i].reaped)
		return d->status;
	kill(d->pid, SIGTERM);
	if (h_daemon_wait(d, timeout_ms) != -1)
		return d->status;
	kill(d->pid, SIGKILL);
	return h_daemon_wait(d, H_RUN_MS);
}

void
h_daemon_free(struct daemon *d)
{
	int	 i;

	if (d == NULL)
		return;
	if ((i = daemon_slot(d)) != -1) {
		if (!daemons[i].reaped && daemons[i].owner == getpid())
			h_daemon_stop(d, 0);
		daemons[i].d = NULL;
	}
	free(d);
}

int
h_port(struct daemon *d, const char *name)
{
	char	*text, *p, *uri, *end, *colon, key[256];
	long	 port = -1;

	snprintf(key, sizeof(key), "listener %s: listening on ", name);
	text = h_log_text(d);
	if ((p = strstr(text, key)) != NULL) {
		uri = p + strlen(key);
		end = uri + strcspn(uri, " \t\r\n");
		*end = '\0';
		/* tcp://127.0.0.1:PORT, udp://[::1]:PORT; unix: has none. */
		if (strstr(uri, "://") != NULL &&
		    (colon = strrchr(uri, ':')) != NULL &&
		    colon[1] != '\0' && colon[1] != '/') {
			port = strtol(colon + 1, &end, 10);
			if (*end != '\0' || port < 0 || port > 65535)
				port = -1;
		}
	}
	free(text);
	return (int)port;
}

int
h_have(const char *prog)
{
	const char	*ci = getenv("CI"), *path = getenv("PATH");
	char		 full[PATH_MAX];
	const char	*p, *e;

	if (strchr(prog, '/') != NULL) {
		if (access(prog, X_OK) == 0)
			return 1;
	} else
		for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0';
		    p = *e != '\0' ? e + 1 : e) {
			e = strchr(p, ':');
			if (e == NULL)
				e = p + strlen(p);
			snprintf(full, sizeof(full), "%.*s/%s", (int)(e - p),
			    p, prog);
			if (e > p && access(full, X_OK) == 0)
				return 1;
		}
	ck_assert_msg(ci == NULL || strcmp(ci, "true") != 0,
	    "%s is not installed, and CI must have it (scripts/install-deps)",
	    prog);
	fprintf(stderr, "SKIP: %s is not installed\n", prog);
	return 0;
}

int
h_run(char *const argv[], char *out, size_t outlen)
{
	char		*args[H_MAX_ARGS], sink[4096];
	struct pollfd	 pfd;
	long long	 end;
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid;
	int		 p[2], i, status, timed_out = 0;

	args[0] = (char *)"asockd";
	for (i = 1; argv[0] != NULL && argv[i] != NULL && i < H_MAX_ARGS - 1;
	    i++)
		args[i] = argv[i];
	args[i] = NULL;

	if (pipe2(p, O_CLOEXEC) == -1) {
		perror("pipe2");
		return -1;
	}
	if ((pid = spawn(args, p[1])) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);

	/* Read until EOF (every writer gone) or the deadline. */
	end = h_now_ms() + h_scale(H_RUN_MS);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		long long left = end - h_now_ms();

		if (left <= 0) {
			timed_out = 1;
			break;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (outlen > 0 && len < outlen - 1)
			n = read(p[0], out + len, outlen - 1 - len);
		else
			n = read(p[0], sink, sizeof(sink));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (outlen > 0 && len < outlen - 1)
			len += n;
	}
	close(p[0]);
	if (outlen > 0)
		out[len] = '\0';
	if (timed_out) {
		fprintf(stderr, "h_run: asockd still running after 20 s\n");
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	return decode_status(status);
}

/* A socket with the 5 s send/receive timeouts. */
static int
h_socket(int domain, int type)
{
	struct timeval	 tv = { H_IO_TIMEOUT, 0 };
	int		 fd;

	if ((fd = socket(domain, type | SOCK_CLOEXEC, 0)) == -1) {
		perror("socket");
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
h_inet_connect(const char *host, int port, int type)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len;
	int			 fd;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	} else {
		fprintf(stderr, "not an address literal: %s\n", host);
		return -1;
	}
	if (port <= 0 || (fd = h_socket(ss.ss_family, type)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		fprintf(stderr, "connect %s port %d: %s\n", host, port,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
h_tcp_connect(const char *host, int port)
{
	return h_inet_connect(host, port, SOCK_STREAM);
}

int
h_udp_connect(const char *host, int port)
{
	return h_inet_connect(host, port, SOCK_DGRAM);
}

static int
unix_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		fprintf(stderr, "unix socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sun->sun_path, path);
	return 0;
}

int
h_unix_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	if (unix_addr(path, &sun) == -1 ||
	    (fd = h_socket(AF_UNIX, SOCK_STREAM)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "connect %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
h_unix_dgram_connect(const char *path)
{
	struct sockaddr_un	 sun, me;
	char			 mine[PATH_MAX];
	int			 fd;

	/* A bound address, so the daemon has somewhere to reply to. */
	snprintf(mine, sizeof(mine), "%s/client-%d-%u.sock", h_tmpdir(),
	    (int)getpid(), ++serial);
	if (unix_addr(path, &sun) == -1 || unix_addr(mine, &me) == -1 ||
	    (fd = h_socket(AF_UNIX, SOCK_DGRAM)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "unix-dgram %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

ssize_t
h_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	size_t		 done = 0;
	ssize_t		 n;

	while (done < len) {
		/* MSG_NOSIGNAL: a reset is an error, not a SIGPIPE. */
		n = send(fd, p + done, len - done, MSG_NOSIGNAL);
		if (n == -1 && errno == ENOTSOCK)
			n = write(fd, p + done, len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return (ssize_t)len;
}

/*
 * Read into buf until n bytes, EOF, an error or the deadline.  *eof is
 * set when the peer closed.  Returns bytes read, or -1 on an error before
 * anything was read.
 */
static ssize_t
read_until(int fd, void *buf, size_t n, int timeout_ms, int *eof)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	long long	 end = h_now_ms() + h_scale(timeout_ms), left;
	size_t		 got = 0;
	ssize_t		 r;

	*eof = 0;
	while (got < n) {
		if ((left = end - h_now_ms()) <= 0)
			break;
		r = poll(&pfd, 1, (int)left);
		if (r == -1 && errno != EINTR)
			return got > 0 ? (ssize_t)got : -1;
		if (r <= 0)
			continue;
		r = read(fd, (char *)buf + got, n - got);
		if (r == 0) {
			*eof = 1;
			break;
		}
		if (r == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return got > 0 ? (ssize_t)got : -1;
		}
		got += r;
	}
	return (ssize_t)got;
}

ssize_t
h_read_frame(int fd, void *buf, size_t cap, int timeout_ms)
{
	unsigned char	 hdr[4];
	size_t		 len;

	if (h_read_n(fd, hdr, 4, timeout_ms) != 4)
		return -1;
	len = (size_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	ck_assert_uint_le(len, cap);
	if (h_read_n(fd, buf, len, timeout_ms) != (ssize_t)len)
		return -1;
	return (ssize_t)len;
}

ssize_t
h_read_n(int fd, void *buf, size_t n, int timeout_ms)
{
	int	 eof;

	return read_until(fd, buf, n, timeout_ms, &eof);
}

ssize_t
h_read_eof(int fd, void *buf, size_t max, int timeout_ms)
{
	int	 eof;

	return read_until(fd, buf, max, timeout_ms, &eof);
}

int
h_wait_eof(int fd, int timeout_ms)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	long long	 end = h_now_ms() + h_scale(timeout_ms), left;
	char		 buf[4096];
	ssize_t		 r;

	/* Data still in flight is read and dropped. */
	while ((left = end - h_now_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		r = read(fd, buf, sizeof(buf));
		if (r == 0)
			return 1;
		/* A reset is the peer closing too, just not gracefully. */
		if (r == -1 && (errno == ECONNRESET || errno == EPIPE))
			return 1;
		if (r == -1 && errno != EINTR && errno != EAGAIN)
			return 0;
	}
	return 0;
}

long
h_rss_bound_kb(long kb)
{
	const char	*w = getenv("ASOCKD_WRAPPER");
	int		 slow = w != NULL && *w != '\0';

#if defined(__SANITIZE_ADDRESS__)
	slow = 1;
#endif
	return slow ? kb * 8 : kb;
}

long
h_rss_kb(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

long long
h_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
h_run_suite(struct Suite *s)
{
	SRunner	*sr;
	int	 run, failed;

	/* Tests write to sockets the daemon may have reset. */
	signal(SIGPIPE, SIG_IGN);
	if (basedir[0] == '\0') {
		make_dir(basedir, sizeof(basedir), tmp_base(), "asockd-test");
		basedir_owner = getpid();
		h_register_atexit();
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (run <= 0) {
		fprintf(stderr, "no test ran (CK_RUN_SUITE? CK_RUN_CASE?)\n");
		return EXIT_FAILURE;
	}
	printf("%d passed, %d failed\n", run - failed, failed);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
