/*
 * check_config.c - unit tests of daemon/config.c and daemon/ini.c: valid
 * files with their defaults, every error kind with its FILE:LINE, all
 * errors of a run reported, @include, conf.d drop-ins, plugin INI files.
 *
 * The log is captured by pointing fd 2 at a file around each load.
 * Fixtures live in $ASOCKD_SRCDIR/tests/conf; other files are written to
 * a fresh directory under h_tmpdir() by each test.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "asockd.h"
#include "harness.h"

#ifndef PLUGINDIR
#define PLUGINDIR	"/usr/local/lib/asockd"
#endif

static char	 logbuf[64 * 1024];	/* the captured log of the last load */
static int	 saved_fd = -1;
static int	 cap_fd = -1;

static void
capture_begin(void)
{
	char	 path[PATH_MAX];

	log_init(LOG_TO_STDERR, LOG_DEBUG);
	snprintf(path, sizeof(path), "%s/log.XXXXXX", h_tmpdir());
	ck_assert_int_ne(cap_fd = mkstemp(path), -1);
	unlink(path);
	fflush(stderr);
	ck_assert_int_ne(saved_fd = dup(2), -1);
	ck_assert_int_ne(dup2(cap_fd, 2), -1);
}

static void
capture_end(void)
{
	ssize_t	 n;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	n = pread(cap_fd, logbuf, sizeof(logbuf) - 1, 0);
	close(cap_fd);
	logbuf[n > 0 ? n : 0] = '\0';
	/* Keep it in the test's .log for whoever reads a failure. */
	fputs(logbuf, stderr);
}

static struct config *
load(const char *path, const char *override)
{
	struct config	*c;

	capture_begin();
	c = config_load(path, override);
	capture_end();
	return c;
}

static struct ini *
load_ini(const char *path)
{
	struct ini	*ini;

	capture_begin();
	ini = ini_load(path);
	capture_end();
	return ini;
}

#define LOG_HAS(s) \
	ck_assert_msg(strstr(logbuf, (s)) != NULL, \
	    "log lacks \"%s\"; log:\n%s", (s), logbuf)

/* Assert that the log has "FILE:LINE: msg" (file given in full). */
static void
log_has_at(const char *file, int line, const char *msg)
{
	char	 want[PATH_MAX + 512];

	snprintf(want, sizeof(want), "%s:%d: %s", file, line, msg);
	LOG_HAS(want);
}

static int
log_lines(void)
{
	const char	*p;
	int		 n = 0;

	for (p = logbuf; *p != '\0'; p++)
		if (*p == '\n')
			n++;
	return n;
}

static char *
fixture(const char *name)
{
	const char	*src = getenv("ASOCKD_SRCDIR");
	char		*p;

	char		*real;

	/* the daemon names a config by its resolved path (perm_check) */
	real = realpath(src != NULL ? src : ".", NULL);
	ck_assert_ptr_nonnull(real);
	if (asprintf(&p, "%s/tests/conf/%s", real, name) == -1)
		abort();
	free(real);
	return p;
}

/* A fresh directory for one test's files. */
static char *
testdir(void)
{
	char	*d;

	if (asprintf(&d, "%s/cfg.XXXXXX", h_tmpdir()) == -1)
		abort();
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

/* Write text to dir/name (creating dir/conf.d as needed); malloc'd path. */
static char *
writef(const char *dir, const char *name, const char *text)
{
	char	*p, *sub;
	FILE	*fp;

	if (strncmp(name, "conf.d/", 7) == 0 || strncmp(name, "sub/", 4) == 0) {
		if (asprintf(&sub, "%s/%.*s", dir,
		    (int)(strchr(name, '/') - name), name) == -1)
			abort();
		mkdir(sub, 0755);
		free(sub);
	}
	if (asprintf(&p, "%s/%s", dir, name) == -1)
		abort();
	ck_assert_ptr_nonnull(fp = fopen(p, "w"));
	fputs(text, fp);
	fclose(fp);
	return p;
}

static struct listener_conf *
listener_nth(struct config *c, int n)
{
	struct listener_conf	*l;

	TAILQ_FOREACH(l, &c->listeners, entry)
		if (n-- == 0)
			return l;
	return NULL;
}

static struct plugin_conf *
plugin_named(struct config *c, const char *name)
{
	struct plugin_conf	*p;

	TAILQ_FOREACH(p, &c->plugins, entry)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t	 a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

START_TEST(valid_defaults)
{
	struct config		*c;
	struct plugin_conf	*p;
	struct listener_conf	*l;
	char			*path = fixture("valid.conf"), *so;

	ck_assert_ptr_nonnull(c = load(path, NULL));
	ck_assert_str_eq(logbuf, "");
	ck_assert_str_eq(c->file, path);
	ck_assert_str_eq(c->plugin_dir, PLUGINDIR);
	ck_assert_int_eq(c->log_level, LOG_INFO);
	ck_assert(c->shutdown_timeout == 10.0);
	ck_assert_int_eq(c->workers, 0);
	ck_assert_ptr_null(c->pidfile);
	ck_assert_ptr_null(c->user);
	ck_assert_ptr_null(c->group);

	ck_assert_ptr_nonnull(p = plugin_named(c, "echo"));
	ck_assert_str_eq(p->path, "echo.so");
	ck_assert_ptr_null(p->ini);
	ck_assert_str_eq(p->file, path);
	ck_assert_int_eq(p->line, 4);
	so = config_plugin_path(c, p);
	ck_assert_str_eq(so, PLUGINDIR "/echo.so");
	free(so);

	ck_assert_ptr_nonnull(l = listener_nth(c, 0));
	ck_assert_ptr_null(listener_nth(c, 1));
	ck_assert_str_eq(l->name, "echo");
	ck_assert_str_eq(l->listen, "tcp://127.0.0.1:7007");
	ck_assert_str_eq(l->plugin, "echo");
	ck_assert_int_eq(l->addr.kind, ASOCKD_TCP);
	ck_assert_int_eq(l->addr.port, 7007);
	ck_assert_int_eq(l->backlog, 511);
	ck_assert_int_eq(l->max_connections, 10000);
	ck_assert(l->idle_timeout == 300.0);
	ck_assert_uint_eq(l->sndq_high, 262144);
	ck_assert_uint_eq(l->sndq_low, 65536);
	ck_assert_uint_eq(l->max_input, 65536);
	ck_assert_int_eq(l->framing, FRAMING_RAW);
	ck_assert_uint_eq(l->max_line, 8192);
	ck_assert_uint_eq(l->max_frame, 1048576);
	ck_assert_int_eq(l->mode, 0660);
	ck_assert_ptr_null(l->owner);
	ck_assert_int_eq(l->uid, (uid_t)-1);
	ck_assert_int_eq(l->gid, (gid_t)-1);
	ck_assert_int_eq(l->workers, 0);
	ck_assert_str_eq(l->file, path);
	ck_assert_int_eq(l->line, 8);
	config_free(c);

	/* -P replaces plugin_dir. */
	ck_assert_ptr_nonnull(c = load(path, "/build/plugins"));
	ck_assert_str_eq(c->plugin_dir, "/build/plugins");
	so = config_plugin_path(c, TAILQ_FIRST(&c->plugins));
	ck_assert_str_eq(so, "/build/plugins/echo.so");
	free(so);
	config_free(c);
	free(path);
}
END_TEST

START_TEST(full_every_key)
{
	struct config		*c;
	struct plugin_conf	*p;
	struct listener_conf	*l;
	char			*path, *ini, *inc, *so;

	path = fixture("full.conf");
	ini = fixture("echo.ini");
	inc = fixture("included.conf");
	ck_assert_ptr_nonnull(c = load(path, NULL));
	ck_assert_str_eq(logbuf, "");
	ck_assert_str_eq(c->plugin_dir, "/opt/asockd/plugins");
	ck_assert_int_eq(c->log_level, LOG_DEBUG);
	ck_assert(c->shutdown_timeout == 2.0);
	ck_assert_int_eq(c->workers, 4);
	ck_assert_str_eq(c->pidfile, "/run/asockd.pid");
	ck_assert_str_eq(c->user, "asockd");
	ck_assert_str_eq(c->group, "nogroup");

	ck_assert_ptr_nonnull(p = plugin_named(c, "echo"));
	ck_assert_str_eq(p->ini, ini);
	so = config_plugin_path(c, p);
	ck_assert_str_eq(so, "/opt/asockd/plugins/echo.so");
	free(so);
	ck_assert_ptr_nonnull(p = plugin_named(c, "abs"));
	so = config_plugin_path(c, p);
	ck_assert_str_eq(so, "/usr/lib/x/abs.so");
	free(so);
	/* Defined in the @include'd file, which is where it is located. */
	ck_assert_ptr_nonnull(p = plugin_named(c, "inc"));
	ck_assert_str_eq(p->file, inc);
	ck_assert_int_eq(p->line, 2);
	ck_assert_str_eq(p->ini, ini);

	ck_assert_ptr_nonnull(l = listener_nth(c, 0));
	ck_assert_str_eq(l->name, "all-keys");
	ck_assert_int_eq(l->addr.ss.ss_family, AF_INET6);
	ck_assert_int_eq(l->backlog, 128);
	ck_assert_int_eq(l->max_connections, 50);
	ck_assert(l->idle_timeout == 1.5);
	ck_assert_uint_eq(l->sndq_high, 1000000);
	ck_assert_uint_eq(l->sndq_low, 1000);
	ck_assert_uint_eq(l->max_input, 2048);
	ck_assert_int_eq(l->framing, FRAMING_LINE);
	ck_assert_uint_eq(l->max_line, 100);
	ck_assert_uint_eq(l->max_frame, 200);
	ck_assert_int_eq(l->workers, 1);
	ck_assert_int_eq(l->mode, 0660);

	ck_assert_ptr_nonnull(l = listener_nth(c, 1));
	ck_assert_str_eq(l->name, "Unix_1.x");
	ck_assert_int_eq(l->addr.kind, ASOCKD_UNIX);
	ck_assert_int_eq(l->mode, 0600);
	ck_assert_int_eq(l->framing, FRAMING_ARCHIVE);
	ck_assert(l->idle_timeout == 0.0);
	ck_assert_ptr_nonnull(l = listener_nth(c, 2));
	ck_assert_int_eq(l->addr.kind, ASOCKD_UDP);
	ck_assert_int_eq(l->framing, FRAMING_LENGTH);
	ck_assert_ptr_nonnull(l = listener_nth(c, 3));
	ck_assert_int_eq(l->addr.kind, ASOCKD_UNIX_DGRAM);
	ck_assert_int_eq(l->mode, 0660);
	ck_assert_int_eq(l->framing, FRAMING_RAW);
	/* Two listeners on port 0 are not a clash. */
	ck_assert_ptr_nonnull(l = listener_nth(c, 5));
	ck_assert_str_eq(l->name, "any2");
	ck_assert_ptr_null(listener_nth(c, 6));
	config_free(c);
	free(path);
	free(ini);
	free(inc);
}
END_TEST

/* errors.conf: every error, with its line, in one run. */
START_TEST(all_errors_reported)
{
	char	*f = fixture("errors.conf");

	ck_assert_ptr_null(load(f, NULL));
	log_has_at(f, 4, "daemon: log_level: unknown level 'loud'");
	log_has_at(f, 5, "daemon: workers: 2000 is out of range (0..1024)");
	log_has_at(f, 6, "daemon: shutdown_timeout: expected a number, "
	    "got a string");
	log_has_at(f, 7, "daemon: unknown key 'colour'");
	log_has_at(f, 10, "plugin 'echo': config: ");
	LOG_HAS("missing.ini: No such file or directory");
	log_has_at(f, 11, "plugin 'nopath': missing required key 'path'");
	log_has_at(f, 12, "plugin 'typo': unknown key 'pth'");
	log_has_at(f, 13, "plugin 'flat': expected a group");
	log_has_at(f, 15, "unknown key 'frobs'");
	log_has_at(f, 18, "listener 'a': unknown plugin 'nosuch'");
	log_has_at(f, 18, "duplicate listener name 'a' (first defined at ");
	log_has_at(f, 18, "listener 'a': address 'tcp://127.0.0.1:7007' is "
	    "already used by listener 'a'");
	log_has_at(f, 19, "listener 'bad name!': bad name");
	log_has_at(f, 19, "listener 'bad name!': listen: bad port '70000' "
	    "in 'tcp://127.0.0.1:70000'");
	log_has_at(f, 21, "listener #4: missing required key 'name'");
	log_has_at(f, 21, "listener #4: backlog: 0 is out of range "
	    "(1..65535)");
	log_has_at(f, 21, "listener #4: listen: unknown scheme 'foo'");
	log_has_at(f, 26, "listener 't': backlog: expected an integer, "
	    "got a string");
	log_has_at(f, 27, "listener 't': mode applies only to unix "
	    "listeners");
	log_has_at(f, 28, "listener 't': max_connections: expected an "
	    "integer, got a number");
	log_has_at(f, 35, "listener 'q': sndq_low (500) must be below "
	    "sndq_high (100)");
	log_has_at(f, 36, "listener 'q': mode: 'rw' is not an octal file "
	    "mode");
	log_has_at(f, 37, "listener 'q': framing: unknown framing 'json'");
	log_has_at(f, 43, "listener 'm': max_frame: 67108865 is out of "
	    "range (1..67108864)");
	log_has_at(f, 44, "listener 'm': max_input: 100 is out of range");
	log_has_at(f, 45, "listener 'm': idle_timeout: -1 is out of range");
	log_has_at(f, 46, "listener 'm': workers: 2 is out of range (0..1)");
	log_has_at(f, 48, "listener #8: expected a group");
	ck_assert_int_eq(log_lines(), 28);
	free(f);
}
END_TEST

START_TEST(syntax_error)
{
	char	*d = testdir(), *f;

	f = writef(d, "s.conf", "daemon: {\n\tworkers = 1;\n\tuser = ;\n};\n");
	ck_assert_ptr_null(load(f, NULL));
	log_has_at(f, 3, "syntax error");
	ck_assert_int_eq(log_lines(), 1);
	free(f);

	/* A repeated key is a parse error in libconfig. */
	f = writef(d, "r.conf", "daemon: {\n\tworkers = 1;\n"
	    "\tworkers = 2;\n};\n");
	ck_assert_ptr_null(load(f, NULL));
	log_has_at(f, 3, "duplicate setting name");
	free(f);
	free(d);
}
END_TEST

START_TEST(missing_file)
{
	char	*d = testdir(), *f;

	if (asprintf(&f, "%s/nope.conf", d) == -1)
		abort();
	ck_assert_ptr_null(load(f, NULL));
	LOG_HAS("nope.conf: No such file or directory");
	ck_assert_int_eq(log_lines(), 1);
	ck_assert_ptr_null(load(d, NULL));
	LOG_HAS(": Is a directory");
	free(f);
	free(d);
}
END_TEST

START_TEST(types_and_ranges)
{
	char	*d = testdir(), *f;

	f = writef(d, "t.conf",
	    "daemon: {\n"
	    "\tshutdown_timeout = -1;\n"			/* 2 */
	    "\tworkers = \"2\";\n"				/* 3 */
	    "\tpidfile = \"\";\n"				/* 4 */
	    "\tuser = 7;\n"					/* 5 */
	    "\tdaemon = 1;\n"					/* 6 */
	    "};\n"
	    "plugins: { p = { path = \"p.so\"; }; };\n"	/* 8 */
	    "listeners: (\n"
	    "  { name = \"x\"; listen = \"tcp://127.0.0.1:1\";\n"	/* 10 */
	    "    plugin = \"p\";\n"
	    "    max_connections = 5000000000L;\n"		/* 12 */
	    "    sndq_high = 0;\n"				/* 13 */
	    "    idle_timeout = true;\n"			/* 14 */
	    "    framing = [\"raw\"];\n"			/* 15 */
	    "    max_line = 0;\n"				/* 16 */
	    "    mode = 0689;\n"				/* 17 */
	    "    extra = { a = 1; };\n"				/* 18 */
	    "    name2 = \"y\"; }\n"				/* 19 */
	    ");\n");
	ck_assert_ptr_null(load(f, NULL));
	log_has_at(f, 2, "daemon: shutdown_timeout: -1 is out of range");
	log_has_at(f, 3, "daemon: workers: expected an integer, got a "
	    "string");
	log_has_at(f, 4, "daemon: pidfile: must not be empty");
	log_has_at(f, 5, "daemon: user: expected a string, got an integer");
	log_has_at(f, 6, "daemon: unknown key 'daemon'");
	log_has_at(f, 12, "listener 'x': max_connections: 5000000000 is "
	    "out of range");
	log_has_at(f, 13, "listener 'x': sndq_high: 0 is out of range");
	log_has_at(f, 14, "listener 'x': idle_timeout: expected a number, "
	    "got a boolean");
	log_has_at(f, 15, "listener 'x': framing: expected a string, got "
	    "an array");
	log_has_at(f, 16, "listener 'x': max_line: 0 is out of range");
	log_has_at(f, 17, "listener 'x': mode: 689 is not an octal file "
	    "mode");
	log_has_at(f, 17, "listener 'x': mode applies only to unix");
	log_has_at(f, 18, "listener 'x': unknown key 'extra'");
	log_has_at(f, 19, "listener 'x': unknown key 'name2'");
	ck_assert_int_eq(log_lines(), 14);
	free(f);

	f = writef(d, "u.conf",
	    "daemon = 1;\n"
	    "plugins = ( 1 );\n"
	    "listeners: { a = 1; };\n");
	ck_assert_ptr_null(load(f, NULL));
	log_has_at(f, 1, "daemon: expected a group");
	log_has_at(f, 2, "plugins: expected a group");
	log_has_at(f, 3, "listeners: expected a list");
	ck_assert_int_eq(log_lines(), 3);
	free(f);
	free(d);
}
END_TEST

/* daemon.bus: the Redis URIs it takes, and FILE:LINE for the others. */
START_TEST(bus_uri)
{
	static const char *const bad[] = {
		"redis:/x", "redis://", "redis://localhost:6379",
		"redis://127.0.0.1:0", "redis://127.0.0.1:x",
		"redis://127.0.0.1/x", "redis://pw@127.0.0.1",
		"redis://[::1", "unix:", "unix:rel", "unix:/s?db=x",
		"unix:/s?x=1", "tcp://127.0.0.1:6379", NULL
	};
	struct bus_uri	 u;
	char		 err[256], *d = testdir(), *f;
	int		 i;

	ck_assert_int_eq(config_bus_parse("redis://127.0.0.1", &u, err,
	    sizeof(err)), 0);
	ck_assert_str_eq(u.host, "127.0.0.1");
	ck_assert_int_eq(u.port, 6379);
	ck_assert_int_eq(u.db, 0);
	ck_assert_str_eq(u.password, "");
	ck_assert_int_eq(config_bus_parse("redis://:s3cret@[::1]:7000/2",
	    &u, err, sizeof(err)), 0);
	ck_assert_str_eq(u.host, "::1");
	ck_assert_int_eq(u.port, 7000);
	ck_assert_int_eq(u.db, 2);
	ck_assert_str_eq(u.password, "s3cret");
	ck_assert_int_eq(config_bus_parse("unix:/run/r.sock?db=3&password=p",
	    &u, err, sizeof(err)), 0);
	ck_assert(u.is_unix);
	ck_assert_str_eq(u.path, "/run/r.sock");
	ck_assert_int_eq(u.db, 3);
	ck_assert_str_eq(u.password, "p");
	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(config_bus_parse(bad[i], &u, err,
		    sizeof(err)) == -1, "%s accepted", bad[i]);

	f = writef(d, "b.conf",
	    "daemon: {\n"
	    "\tbus = \"redis://redis.example:6379\";\n"		/* 2 */
	    "};\n"
	    "plugins: { p = { path = \"p.so\"; }; };\n"
	    "listeners: ();\n");
	ck_assert_ptr_null(load(f, NULL));
	log_has_at(f, 2, "daemon: bus: 'redis.example': the host must be "
	    "an IPv4 or [IPv6] address");
	free(f);
	free(d);
}
END_TEST

START_TEST(same_address)
{
	char	*d = testdir(), *f;

	f = writef(d, "a.conf",
	    "plugins: { p = { path = \"p.so\"; }; };\n"
	    "listeners: (\n"
	    "  { name = \"a\"; listen = \"unix:/tmp/x.sock\"; "
		"plugin = \"p\"; },\n"
	    "  { name = \"b\"; listen = \"tcp://127.0.0.1:7\"; "
		"plugin = \"p\"; },\n"
	    "  { name = \"c\"; listen = \"udp://127.0.0.1:7\"; "
		"plugin = \"p\"; },\n"
	    "  { name = \"d\"; listen = \"unix:/tmp/x.sock\"; "
		"plugin = \"p\"; },\n"
	    "  { name = \"e\"; listen = \"tcp://localhost:7\"; "
		"plugin = \"p\"; },\n"
	    "  { name = \"f\"; listen = \"unix-dgram:/tmp/x.sock\"; "
		"plugin = \"p\"; }\n"
	    ");\n");
	ck_assert_ptr_null(load(f, NULL));
	log_has_at(f, 6, "listener 'd': address 'unix:/tmp/x.sock' is "
	    "already used by listener 'a'");
	/* f is a unix-dgram socket: a clash of paths at bind, not here. */
	ck_assert_int_ge(log_lines(), 1);
	ck_assert_int_le(log_lines(), 2);
	free(f);
	free(d);
}
END_TEST

START_TEST(include)
{
	struct config	*c;
	char		*d = testdir(), *f, *inc, *ini;

	/*
	 * Every @include is relative to the main file's directory, also in
	 * an included file in a subdirectory; a plugin's INI path is relative
	 * to the file naming it.
	 */
	free(writef(d, "sub/one.conf", "@include \"sub/two.conf\"\n"));
	inc = writef(d, "sub/two.conf",
	    "p = { path = \"p.so\"; config = \"p.ini\"; };\n"
	    "q = { path = 1; };\n");
	ini = writef(d, "sub/p.ini", "[x]\na = 1\n");
	f = writef(d, "m.conf",
	    "plugins: {\n"
	    "  @include \"sub/one.conf\"\n"
	    "};\n");
	/* Not from the main file's directory. */
	ck_assert_int_eq(chdir("/"), 0);
	ck_assert_ptr_null(load(f, NULL));
	log_has_at(inc, 2, "plugin 'q': path: expected a string");
	ck_assert_int_eq(log_lines(), 1);

	free(writef(d, "sub/two.conf",
	    "p = { path = \"p.so\"; config = \"p.ini\"; };\n"));
	ck_assert_ptr_nonnull(c = load(f, NULL));
	ck_assert_str_eq(TAILQ_FIRST(&c->plugins)->ini, ini);
	config_free(c);

	/* A syntax error inside an included file names that file. */
	free(writef(d, "sub/two.conf", "p = { path = \"p.so\" ; ; };\n"));
	ck_assert_ptr_null(load(f, NULL));
	log_has_at(inc, 1, "syntax error");

	/* A missing include is reported where it is included. */
	free(writef(d, "sub/one.conf", "\n@include \"sub/three.conf\"\n"));
	ck_assert_ptr_null(load(f, NULL));
	LOG_HAS("cannot open include file");
	free(f);
	free(inc);
	free(ini);
	free(d);
}
END_TEST

START_TEST(dropin_order)
{
	struct config		*c;
	struct plugin_conf	*p;
	struct listener_conf	*l;
	char			*f, *ini, *first;

	f = fixture("dropin/main.conf");
	ini = fixture("dropin/conf.d/../plugin.ini");
	first = fixture("dropin/conf.d/10-first.conf");
	ck_assert_ptr_nonnull(c = load(f, NULL));
	ck_assert_str_eq(logbuf, "");
	ck_assert_int_eq(c->log_level, LOG_NOTICE);
	ck_assert_ptr_nonnull(p = plugin_named(c, "first"));
	ck_assert_str_eq(p->ini, ini);
	ck_assert_str_eq(p->file, first);
	ck_assert_int_eq(p->line, 2);
	ck_assert_str_eq(listener_nth(c, 0)->name, "main");
	ck_assert_str_eq(listener_nth(c, 1)->name, "first");
	ck_assert_str_eq((l = listener_nth(c, 2))->name, "second");
	ck_assert(ends_with(l->file, "/conf.d/20-second.conf"));
	ck_assert_int_eq(l->line, 3);
	ck_assert_str_eq(listener_nth(c, 3)->name, "third");
	ck_assert_ptr_null(listener_nth(c, 4));
	config_free(c);
	free(f);
	free(ini);
	free(first);
}
END_TEST

START_TEST(dropin_errors)
{
	char	*d = testdir(), *f, *a, *b, *s;

	f = writef(d, "main.conf",
	    "plugins: { p = { path = \"p.so\"; }; };\n"
	    "listeners: (\n"
	    "  { name = \"x\"; listen = \"tcp://127.0.0.1:9\"; "
		"plugin = \"p\"; }\n"
	    ");\n");
	a = writef(d, "conf.d/a.conf",
	    "# a drop-in may not set daemon keys\n"
	    "daemon: { workers = 1; };\n");
	b = writef(d, "conf.d/b.conf",
	    "plugins: {\n"
	    "  p = { path = \"again.so\"; };\n"
	    "  q = { path = \"q.so\"; config = \"none.ini\"; };\n"
	    "};\n"
	    "listeners: (\n"
	    "  { name = \"x\"; listen = \"tcp://127.0.0.1:10\"; "
		"plugin = \"q\"; },\n"
	    "  { name = \"y\"; listen = \"tcp://127.0.0.1:9\"; "
		"plugin = \"z\"; }\n"
	    ");\n");
	s = writef(d, "conf.d/c.conf",
	    "listeners: (\n  { name = \"w\"; },\n);\n");
	/* Neither is a drop-in. */
	free(writef(d, "conf.d/.hidden.conf", "garbage {"));
	free(writef(d, "conf.d/d.conf.bak", "garbage {"));

	ck_assert_ptr_null(load(f, NULL));
	log_has_at(a, 2, "daemon: allowed only in the main config file");
	log_has_at(b, 2, "plugin 'p': already defined at ");
	log_has_at(b, 3, "plugin 'q': config: ");
	log_has_at(b, 6, "duplicate listener name 'x' (first defined at ");
	log_has_at(b, 7, "listener 'y': unknown plugin 'z'");
	log_has_at(b, 7, "listener 'y': address 'tcp://127.0.0.1:9' is "
	    "already used by listener 'x'");
	log_has_at(s, 3, "syntax error");
	ck_assert_int_eq(log_lines(), 7);
	free(f);
	free(a);
	free(b);
	free(s);
	free(d);
}
END_TEST

START_TEST(ini_good)
{
	struct ini		*ini;
	const struct ini_entry	*e;
	char			*f = fixture("good.ini");

	ck_assert_ptr_nonnull(ini = load_ini(f));
	ck_assert_str_eq(logbuf, "");
	ck_assert_str_eq(ini->file, f);
	ck_assert_ptr_nonnull(e = ini_find(ini, "", "top"));
	ck_assert_str_eq(e->value, "before any section");
	ck_assert_int_eq(e->line, 2);
	ck_assert_ptr_nonnull(e = ini_find(ini, NULL, "top"));
	ck_assert_ptr_nonnull(e = ini_find(ini, "server", "name"));
	ck_assert_str_eq(e->value, "asockd");
	ck_assert_int_eq(e->line, 6);
	ck_assert_ptr_nonnull(e = ini_find(ini, "server", "port"));
	ck_assert_str_eq(e->value, "7007");
	ck_assert_ptr_nonnull(e = ini_find(ini, "server", "empty"));
	ck_assert_str_eq(e->value, "");
	ck_assert_ptr_nonnull(e = ini_find(ini, "server", "multi"));
	ck_assert_str_eq(e->value, "first\nsecond\nthird");
	ck_assert_int_eq(e->line, 9);
	ck_assert_ptr_nonnull(e = ini_find(ini, "client", "name"));
	ck_assert_str_eq(e->value, "other");
	ck_assert_int_eq(e->line, 14);
	ck_assert_ptr_nonnull(e = ini_find(ini, "client", "colon"));
	ck_assert_str_eq(e->value, "also a separator");
	ck_assert_ptr_null(ini_find(ini, "client", "port"));
	ck_assert_ptr_null(ini_find(ini, "nosuch", "name"));
	ini_free(ini);
	free(f);
}
END_TEST

START_TEST(ini_errors)
{
	struct ini	*ini;
	char		*d = testdir(), *f, *text, line[300];

	f = fixture("bad.ini");
	ck_assert_ptr_null(load_ini(f));
	log_has_at(f, 4, "duplicate key 'x' in section [a] (first set at "
	    "line 2)");
	log_has_at(f, 7, "syntax error");
	log_has_at(f, 9, "duplicate key 'y' in section [b] (first set at "
	    "line 8)");
	ck_assert_int_eq(log_lines(), 3);
	free(f);

	/* inih would split a line over 200 bytes: it is refused. */
	memset(line, 'v', sizeof(line));
	memcpy(line, "k = ", 4);
	line[250] = '\0';
	if (asprintf(&text, "[s]\na = 1\n%s\nb = 2\n", line) == -1)
		abort();
	f = writef(d, "long.ini", text);
	free(text);
	ck_assert_ptr_null(load_ini(f));
	log_has_at(f, 3, "line too long (at most 198 bytes)");
	ck_assert_int_eq(log_lines(), 1);
	free(f);

	/* 198 bytes still fit. */
	line[198] = '\0';
	if (asprintf(&f, "%s/fits.ini", d) == -1)
		abort();
	free(writef(d, "fits.ini", line));
	ck_assert_ptr_nonnull(ini = load_ini(f));
	ck_assert_uint_eq(strlen(ini_find(ini, "", "k")->value), 198 - 4);
	ini_free(ini);
	free(f);

	if (asprintf(&f, "%s/none.ini", d) == -1)
		abort();
	ck_assert_ptr_null(load_ini(f));
	LOG_HAS("none.ini: No such file or directory");
	free(f);
	free(d);
}
END_TEST

/* The shipped conf/asockd.conf that `make run` uses. */
START_TEST(shipped_config)
{
	struct config		*c;
	struct listener_conf	*l;
	const char		*src = getenv("ASOCKD_SRCDIR");
	char			*f;
	int			 n = 0;

	if (asprintf(&f, "%s/conf/asockd.conf", src != NULL ? src : ".") ==
	    -1)
		abort();
	ck_assert_ptr_nonnull(c = load(f, "/build/plugins"));
	ck_assert_str_eq(logbuf, "");
	TAILQ_FOREACH(l, &c->listeners, entry) {
		/* Loopback only. */
		if (l->addr.kind == ASOCKD_TCP || l->addr.kind == ASOCKD_UDP)
			ck_assert_str_eq(l->addr.host, "127.0.0.1");
		n++;
	}
	ck_assert_int_eq(n, 9);
	ck_assert_ptr_nonnull(plugin_named(c, "chargen")->ini);
	config_free(c);
	free(f);
}
END_TEST

START_TEST(print_keys)
{
	static const char *const names[] = {
		"daemon.plugin_dir", "daemon.log_level",
		"daemon.shutdown_timeout", "daemon.workers", "daemon.pidfile",
		"daemon.user", "daemon.group", "plugins.NAME.path",
		"plugins.NAME.config", "listeners[].name", "listeners[].listen",
		"listeners[].plugin", "listeners[].backlog",
		"listeners[].max_connections", "listeners[].idle_timeout",
		"listeners[].sndq_high", "listeners[].sndq_low",
		"listeners[].max_input", "listeners[].framing",
		"listeners[].max_line", "listeners[].max_frame",
		"listeners[].mode", "listeners[].owner", "listeners[].group",
		"listeners[].workers", "listeners[].tls",
		"listeners[].tls.certificate", "listeners[].tls.key",
		"listeners[].tls.verify_client",
		"listeners[].tls.handshake_timeout",
		"listeners[].tls.sni[].server_name",
	};
	FILE	*fp;
	size_t	 i;
	long	 n;

	ck_assert_ptr_nonnull(fp = tmpfile());
	config_print_keys(fp);
	n = ftell(fp);
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, (long)sizeof(logbuf));
	rewind(fp);
	logbuf[fread(logbuf, 1, sizeof(logbuf) - 1, fp)] = '\0';
	fclose(fp);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		LOG_HAS(names[i]);
	LOG_HAS("listeners[].backlog (integer, 1..65535, default 511)");
	LOG_HAS("listeners[].name (string, required)");
	LOG_HAS("daemon.log_level (level, default info)");
}
END_TEST

/*
 * StrictModes (daemon/perm.c): a config or INI file that anyone but root
 * or the invoking user could change is refused, naming the path.
 */
static const char strict_conf[] =
    "plugins: { echo: { path = \"echo.so\"; }; };\n"
    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";"
    " plugin = \"echo\"; } );\n";

/* Make dir group-writable by group nogroup (no private group of root). */
static void
group_writable(const char *dir)
{
	struct group	*gr;

	ck_assert_ptr_nonnull(gr = getgrnam("nogroup"));
	ck_assert_int_eq(chown(dir, (uid_t)-1, gr->gr_gid), 0);
	ck_assert_int_eq(chmod(dir, 0775), 0);
}

START_TEST(strict_modes_config)
{
	struct config	*c;
	struct passwd	*pw;
	char		*d = testdir(), *f, *sub, *drop, want[PATH_MAX + 128];

	f = writef(d, "a.conf", strict_conf);
	ck_assert_int_eq(chmod(f, 0644), 0);
	ck_assert_ptr_nonnull(c = load(f, NULL));
	config_free(c);

	/* world-writable file */
	ck_assert_int_eq(chmod(f, 0666), 0);
	ck_assert_ptr_null(load(f, NULL));
	snprintf(want, sizeof(want), "%s: refused: %s is writable by others"
	    " (mode 0666)", f, f);
	LOG_HAS(want);
	ck_assert_int_eq(chmod(f, 0644), 0);

	/* owned by someone else */
	ck_assert_ptr_nonnull(pw = getpwnam("nobody"));
	ck_assert_int_eq(chown(f, pw->pw_uid, (gid_t)-1), 0);
	ck_assert_ptr_null(load(f, NULL));
	snprintf(want, sizeof(want), "%s is owned by uid %ld, not by root",
	    f, (long)pw->pw_uid);
	LOG_HAS(want);
	ck_assert_int_eq(chown(f, 0, (gid_t)-1), 0);

	/* a group-writable directory above it */
	sub = writef(d, "sub/a.conf", strict_conf);
	*strrchr(sub, '/') = '\0';
	group_writable(sub);
	ck_assert_int_eq(chmod(sub, 0775), 0);
	free(f);
	if (asprintf(&f, "%s/a.conf", sub) == -1)
		abort();
	ck_assert_ptr_null(load(f, NULL));
	snprintf(want, sizeof(want), "%s: refused: %s is writable by group "
	    "nogroup (mode 0775)", f, sub);
	LOG_HAS(want);

	/* a sticky directory (like /tmp) is fine: ours cannot be moved */
	ck_assert_int_eq(chmod(sub, 01777), 0);
	ck_assert_ptr_nonnull(c = load(f, NULL));
	ck_assert_str_eq(logbuf, "");
	config_free(c);
	free(f);

	/* a drop-in is checked too */
	drop = writef(d, "conf.d/x.conf", "");
	ck_assert_int_eq(chmod(drop, 0646), 0);
	if (asprintf(&f, "%s/a.conf", d) == -1)
		abort();
	ck_assert_ptr_null(load(f, NULL));
	snprintf(want, sizeof(want), "%s: refused: %s is writable by others",
	    drop, drop);
	LOG_HAS(want);
	free(drop);
	free(f);
	free(sub);
	free(d);
}
END_TEST

START_TEST(strict_modes_ini)
{
	struct ini	*ini;
	char		*d = testdir(), *f, *sub, want[PATH_MAX + 128];

	f = writef(d, "good.ini", "[a]\nx = 1\n");
	ck_assert_int_eq(chmod(f, 0644), 0);
	ck_assert_ptr_nonnull(ini = load_ini(f));
	ini_free(ini);
	ck_assert_int_eq(chmod(f, 0622), 0);
	ck_assert_ptr_null(load_ini(f));
	snprintf(want, sizeof(want), "%s: refused: %s is writable by others"
	    " (mode 0622)", f, f);
	LOG_HAS(want);
	free(f);

	sub = writef(d, "sub/good.ini", "[a]\nx = 1\n");
	ck_assert_int_eq(chmod(sub, 0644), 0);
	if (asprintf(&f, "%s", sub) == -1)
		abort();
	*strrchr(sub, '/') = '\0';
	group_writable(sub);
	ck_assert_ptr_null(load_ini(f));
	snprintf(want, sizeof(want), "%s: refused: %s is writable by group "
	    "nogroup", f, sub);
	LOG_HAS(want);
	free(f);
	free(sub);
	free(d);
}
END_TEST

/* Unix socket owner, group and mode (issue 10, item 5). */
START_TEST(unix_owner_group)
{
	struct config		*c;
	struct listener_conf	*l;
	char			*d = testdir(), *f;

	f = writef(d, "u.conf",
	    "plugins: { p = { path = \"p.so\"; }; };\n"
	    "listeners: (\n"
	    "  { name = \"a\"; listen = \"unix:a.sock\"; plugin = \"p\";\n"
	    "    owner = \"nobody\"; group = \"nogroup\"; mode = 660; },\n"
	    "  { name = \"b\"; listen = \"unix-dgram:b.sock\";"
	    " plugin = \"p\";\n"
	    "    owner = \"1234\"; group = \"4321\"; mode = \"0600\"; }\n"
	    ");\n");
	ck_assert_int_eq(chmod(f, 0644), 0);
	ck_assert_ptr_nonnull(c = load(f, NULL));
	ck_assert_ptr_nonnull(l = listener_nth(c, 0));
	ck_assert_str_eq(l->owner, "nobody");
	ck_assert_int_eq(l->uid, 65534);
	ck_assert_int_eq(l->gid, 65534);
	ck_assert_int_eq(l->mode, 0660);
	ck_assert_ptr_nonnull(l = listener_nth(c, 1));
	ck_assert_int_eq(l->uid, 1234);
	ck_assert_int_eq(l->gid, 4321);
	ck_assert_int_eq(l->mode, 0600);
	config_free(c);
	free(f);

	f = writef(d, "bad.conf",
	    "plugins: { p = { path = \"p.so\"; }; };\n"
	    "listeners: (\n"
	    "  { name = \"a\"; listen = \"unix:a.sock\"; plugin = \"p\";\n"
	    "    owner = \"no-such-user\";\n"			/* 4 */
	    "    group = \"no-such-group\"; },\n"		/* 5 */
	    "  { name = \"t\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"p\";\n"
	    "    owner = \"root\";\n"				/* 7 */
	    "    group = \"root\"; }\n"				/* 8 */
	    ");\n");
	ck_assert_int_eq(chmod(f, 0644), 0);
	ck_assert_ptr_null(load(f, NULL));
	log_has_at(f, 4, "listener 'a': owner: no user 'no-such-user'");
	log_has_at(f, 5, "listener 'a': group: no group 'no-such-group'");
	log_has_at(f, 7, "listener 't': owner applies only to unix listeners");
	log_has_at(f, 8, "listener 't': group applies only to unix listeners");
	ck_assert_int_eq(log_lines(), 4);
	free(f);
	free(d);
}
END_TEST

/* A relative pidfile is relative to the config file, like log_file: the
 * detached daemon runs in /, where a path as written would land. */
START_TEST(relative_pidfile)
{
	struct config	*c;
	char		*dir, *path, *want;

	dir = testdir();
	path = writef(dir, "pid.conf",
	    "daemon: { pidfile = \"run/asockd.pid\"; };\n"
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: ( { name = \"e\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; } );\n");
	ck_assert_ptr_nonnull(c = load(path, NULL));
	if (asprintf(&want, "%s/run/asockd.pid", dir) == -1)
		abort();
	ck_assert_str_eq(c->pidfile, want);
	config_free(c);
	free(want);
	free(path);
	free(dir);
}
END_TEST

/* Drop the lines starting with '#' (file names and lines differ). */
static void
strip_comments(char *s)
{
	char	*r = s, *w = s, *nl;

	while (*r != '\0') {
		nl = strchr(r, '\n');
		nl = nl != NULL ? nl + 1 : r + strlen(r);
		if (strncmp(r, "#", 1) != 0 && strncmp(r, "  #", 3) != 0) {
			memmove(w, r, nl - r);
			w += nl - r;
		}
		r = nl;
	}
	*w = '\0';
}

static char *
dump_text(struct config *c)
{
	char	*buf = NULL;
	size_t	 len;
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = open_memstream(&buf, &len));
	config_dump(fp, c);
	fclose(fp);
	return buf;
}

/*
 * asockd -T: the config as the daemon understands it, @include and
 * conf.d/ merged, defaults filled in; the dump reads back the same.
 */
START_TEST(test_dump)
{
	struct config	*c, *c2;
	char		*dir, *dir2, *path, *again, *t1, *t2, out[16384];
	char		*argv[] = { "asockd", "-T", "-P", NULL, "-c", NULL,
			    NULL };
	int		 rc;

	dir = testdir();
	free(writef(dir, "more.conf",
	    "listeners: ( { name = \"inc\"; listen = \"tcp://127.0.0.1:0\";"
	    " plugin = \"echo\"; framing = \"line\"; } );\n"));
	free(writef(dir, "conf.d/b.conf",
	    "listeners: ( { name = \"drop\"; listen = \"unix:drop.sock\";"
	    " plugin = \"echo\"; mode = \"0660\"; } );\n"));
	path = writef(dir, "main.conf",
	    "daemon: { workers = 2; metrics = \"tcp://127.0.0.1:0\"; };\n"
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "@include \"more.conf\"\n");
	ck_assert_ptr_nonnull(c = load(path, NULL));
	t1 = dump_text(c);
	ck_assert_msg(strstr(t1, "  workers = 2;\n") != NULL &&
	    strstr(t1, "  shutdown_timeout = 10.0;\n") != NULL &&
	    strstr(t1, "  log_level = \"info\";\n") != NULL &&
	    strstr(t1, "    name = \"inc\";\n") != NULL &&
	    strstr(t1, "    framing = \"line\";\n") != NULL &&
	    strstr(t1, "    name = \"drop\";\n") != NULL &&
	    strstr(t1, "    mode = \"0660\";\n") != NULL &&
	    strstr(t1, "/drop.sock\";\n") != NULL &&
	    strstr(t1, "listen = \"unix:drop.sock") == NULL &&
	    strstr(t1, "conf.d/b.conf:1\n") != NULL &&
	    strstr(t1, "    backlog = 511;\n") != NULL, "%s", t1);
	/* read back (away from conf.d/): the same configuration */
	dir2 = testdir();
	again = writef(dir2, "again.conf", t1);
	ck_assert_ptr_nonnull(c2 = load(again, NULL));
	t2 = dump_text(c2);
	strip_comments(t1);
	strip_comments(t2);
	ck_assert_str_eq(t1, t2);
	/* the binary: -t's checks, then the dump on stdout */
	argv[3] = getenv("ASOCKD_PLUGIN_DIR");
	argv[5] = path;
	rc = h_run(argv, out, sizeof(out));
	ck_assert_msg(rc == 0 && strstr(out, "configuration OK") != NULL &&
	    strstr(out, "    name = \"drop\";\n") != NULL, "%s", out);
	config_free(c);
	config_free(c2);
	free(t1);
	free(t2);
	free(again);
	free(path);
	free(dir);
	free(dir2);
}
END_TEST

/* -T prints TLS groups, address lists, PROXY and ipv6only so that the
 * dump reads back as the same configuration. */
START_TEST(test_dump_tls_access)
{
	struct config	*c, *c2;
	char		*dir, *path, *again, *t1, *t2;

	dir = testdir();
	free(writef(dir, "c.pem", "x"));
	free(writef(dir, "k.pem", "x"));
	free(writef(dir, "b.pem", "x"));
	path = writef(dir, "tls.conf",
	    "plugins: { echo: { path = \"echo.so\"; }; };\n"
	    "listeners: (\n"
	    " { name = \"t\"; listen = \"tcp://127.0.0.1:0\"; plugin ="
	    " \"echo\"; allow = [ \"127.0.0.0/8\", \"::1\" ];"
	    " deny = \"127.0.0.3\"; tls = { certificate = \"c.pem\";"
	    " key = \"k.pem\"; alpn = [ \"http/1.1\" ];"
	    " sni = ( { server_name = \"b.example\"; certificate ="
	    " \"b.pem\"; key = \"k.pem\"; } ); }; },\n"
	    " { name = \"p\"; listen = \"tcp://[::1]:0\"; plugin ="
	    " \"echo\"; ipv6only = false; proxy_protocol = \"v2\";"
	    " proxy_trusted = [ \"::1\" ]; }\n"
	    ");\n");
	ck_assert_ptr_nonnull(c = load(path, NULL));
	t1 = dump_text(c);
	ck_assert_msg(strstr(t1, "    allow = [ \"127.0.0.0/8\", \"::1\" ];\n")
	    != NULL && strstr(t1, "    deny = [ \"127.0.0.3\" ];\n") != NULL &&
	    strstr(t1, "    tls = {\n") != NULL &&
	    strstr(t1, "      alpn = [ \"http/1.1\" ];\n") != NULL &&
	    strstr(t1, "        server_name = \"b.example\";\n") != NULL &&
	    strstr(t1, "    ipv6only = false;\n") != NULL &&
	    strstr(t1, "    proxy_protocol = \"v2\";\n") != NULL, "%s", t1);
	again = writef(dir, "again.conf", t1);
	ck_assert_ptr_nonnull(c2 = load(again, NULL));
	t2 = dump_text(c2);
	strip_comments(t1);
	strip_comments(t2);
	ck_assert_str_eq(t1, t2);
	config_free(c);
	config_free(c2);
	free(t1);
	free(t2);
	free(again);
	free(path);
	free(dir);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc;

	tc = tcase_create("valid");
	tcase_add_test(tc, valid_defaults);
	tcase_add_test(tc, full_every_key);
	tcase_add_test(tc, print_keys);
	tcase_add_test(tc, shipped_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, all_errors_reported);
	tcase_add_test(tc, syntax_error);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, types_and_ranges);
	tcase_add_test(tc, same_address);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, include);
	tcase_add_test(tc, relative_pidfile);
	tcase_add_test(tc, test_dump);
	tcase_add_test(tc, test_dump_tls_access);
	tcase_add_test(tc, dropin_order);
	tcase_add_test(tc, dropin_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("ini");
	tcase_add_test(tc, ini_good);
	tcase_add_test(tc, ini_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("strict");
	tcase_add_test(tc, strict_modes_config);
	tcase_add_test(tc, strict_modes_ini);
	tcase_add_test(tc, unix_owner_group);
	tcase_add_test(tc, bus_uri);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return h_run_suite(config_suite());
}
