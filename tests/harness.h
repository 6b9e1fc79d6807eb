/*
 * harness.h - helpers for integration tests that start the real asockd
 * binary and talk to it over loopback sockets.
 *
 * Environment (set by tests/Makemodule.am's AM_TESTS_ENVIRONMENT):
 *   ASOCKD_BIN              the daemon binary
 *   ASOCKD_PLUGIN_DIR       bundled plugins of the build tree (.libs)
 *   ASOCKD_TEST_PLUGIN_DIR  test-only plugins (tests/plugins/.libs)
 *   ASOCKD_SRCDIR, ASOCKD_BUILDDIR
 *
 * Config texts given to h_daemon_start() may use these placeholders:
 *   @PLUGIN_DIR@  @TEST_PLUGIN_DIR@  @TMP@ (the test's temporary directory)
 *   @SRCDIR@
 * Listeners should use port 0 (tcp://127.0.0.1:0): the daemon logs the bound
 * address as "listener NAME: listening on URI" and h_port() reads it.
 */
#ifndef HARNESS_H
#define HARNESS_H

#include <sys/types.h>
#include <stddef.h>

struct daemon {
	pid_t	 pid;
	char	 conf[512];	/* config file path */
	char	 log[512];	/* the daemon's stderr, captured */
	int	 status;	/* exit code after h_daemon_stop/h_daemon_wait,
				   128+signal if killed */
};

/* The per-process temporary directory (created on first use, removed at
 * exit).  Unix socket paths go here. */
const char	*h_tmpdir(void);
/* Expand placeholders in text and write it to h_tmpdir()/name; returns
 * the path (malloc'd). */
char		*h_write_file(const char *name, const char *text);
/* Expand placeholders; returns a malloc'd string. */
char		*h_expand(const char *text);

/*
 * Write conf_text to a config file and start `asockd -f -l debug -c FILE`
 * with extra args (NULL-terminated list, may be just NULL).  Waits up to
 * 10 s for the "ready" log line.  Returns NULL when the daemon exited or
 * did not get ready (its log is printed to stderr).
 */
struct daemon	*h_daemon_start(const char *conf_text, ...);
/* SIGTERM, then wait up to timeout_ms; SIGKILL after that.  Returns the
 * exit status (see struct daemon).  Frees nothing: call h_daemon_free. */
int		 h_daemon_stop(struct daemon *, int timeout_ms);
/* Wait up to timeout_ms for the daemon to exit; -1 if it did not. */
int		 h_daemon_wait(struct daemon *, int timeout_ms);
void		 h_daemon_free(struct daemon *);
/* Port of the listener called name, from the log; -1 if not found. */
int		 h_port(struct daemon *, const char *name);
/* Poll the log up to timeout_ms for a line containing s; 1 found, 0 not. */
int		 h_log_wait(struct daemon *, const char *s, int timeout_ms);
/* Count the log lines containing s. */
int		 h_log_count(struct daemon *, const char *s);
/* The whole log so far (malloc'd, NUL-terminated). */
char		*h_log_text(struct daemon *);

/*
 * Run the daemon binary with argv (argv[0] is ignored and replaced),
 * NULL-terminated; collect stdout+stderr into out (NUL-terminated).
 * Returns the exit code (128+signal when killed), after at most 20 s.
 */
int		 h_run(char *const argv[], char *out, size_t outlen);

/*
 * Is the outside program prog (a name on PATH, or a path) there?  1; or
 * 0 after a "SKIP" line on stderr for the test that needs it -- except
 * in CI (CI=true), where scripts/install-deps installs every program the
 * suites use, so a missing one fails the test instead.
 */
int		 h_have(const char *prog);

/* Blocking client sockets with 5 s send/receive timeouts; -1 on failure. */
/* host: an IPv4 or IPv6 literal */
int		 h_tcp_connect(const char *host, int port);
int		 h_unix_connect(const char *path);
/* A UDP socket connected to host:port. */
int		 h_udp_connect(const char *host, int port);
/* A unix datagram socket bound to a temporary path, connected to path. */
int		 h_unix_dgram_connect(const char *path);

/* Write all of buf; returns len or -1. */
ssize_t		 h_write_all(int fd, const void *buf, size_t len);
/* Read until n bytes, EOF or timeout_ms; returns bytes read (or -1 when
 * nothing could be read because of an error). */
ssize_t		 h_read_n(int fd, void *buf, size_t n, int timeout_ms);
/*
 * Read one length-prefixed frame (4-byte big-endian length, as framing =
 * "length" and "archive") into buf (cap bytes; a longer one fails the
 * test): its length, or -1 at EOF, a reset or after timeout_ms.
 */
ssize_t		 h_read_frame(int fd, void *buf, size_t cap, int timeout_ms);
/* Read until EOF (or max bytes, or timeout); returns bytes read. */
ssize_t		 h_read_eof(int fd, void *buf, size_t max, int timeout_ms);
/* 1 when the peer closed (read returns 0) within timeout_ms. */
int		 h_wait_eof(int fd, int timeout_ms);

/* Resident set size of pid in KiB (from /proc), -1 on error. */
long		 h_rss_kb(pid_t pid);
/* A bound on memory growth in KiB: kb, or 8 times it under
 * AddressSanitizer (its quarantine keeps freed memory resident) or with
 * the daemon under a wrapper such as valgrind (ASOCKD_WRAPPER). */
long		 h_rss_bound_kb(long kb);
/* Milliseconds from a monotonic clock. */
long long	 h_now_ms(void);

/* main() helper: run suite s, fail if no test ran; returns exit status. */
struct Suite;
int		 h_run_suite(struct Suite *s);

#endif /* HARNESS_H */
