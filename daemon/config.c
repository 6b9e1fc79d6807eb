/*
 * config.c - the daemon's configuration: libconfig files parsed into a
 * fresh struct config, validated, with no side effects (no sockets, no
 * dlopen), so that -t, start-up and reload share one path.
 *
 * One table, keys[] below, drives everything about a setting: its type,
 * whether it is required, its range, its default, the unknown-key check
 * and the documentation printed by config_print_keys().
 *
 * Files: the main file, then every conf.d/ *.conf next to it in strcmp
 * order (drop-ins may add plugins and listeners, not daemon settings).
 * Each must pass perm_check() (StrictModes) before it is read.
 * @include is resolved against the main file's directory in every file:
 * libconfig 1.5 has one include directory per parse and no per-file hook.
 *
 * Errors are logged as "FILE:LINE: message".  Parsing goes on after an
 * error so that one run reports all of them; the cross-checks over the
 * whole configuration (unknown plugins, duplicate names and addresses)
 * run at the end, and config_load() returns NULL if anything was wrong.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <libconfig.h>

#include "asockd.h"

#ifndef PLUGINDIR
#define PLUGINDIR	"/usr/local/lib/asockd"
#endif

#define MiB		(1024.0 * 1024.0)
#define NAME_MAX_LEN	64		/* listener names */

enum scope {
	SC_DAEMON,
	SC_PLUGIN,
	SC_LISTENER,
	SC_TLS,		/* listeners[].tls */
	SC_SNI		/* listeners[].tls.sni[] */
};

enum ktype {
	KT_STRING,	/* char * */
	KT_FILE,	/* char *: path relative to its file, must exist */
	KT_PATH,	/* char *: path relative to its file */
	KT_INT,		/* int */
	KT_SIZE,	/* size_t */
	KT_DOUBLE,	/* double; an integer is accepted */
	KT_LEVEL,	/* int: a log level name */
	KT_FRAMING,	/* int: enum framing */
	KT_MODE,	/* int: octal file mode, "0660" or 0660 */
	KT_BOOL,	/* int: true or false */
	KT_ACL,		/* struct acl *: [ "10.0.0.0/8", "::1", "unix" ] */
	KT_LDEF,	/* daemon.listener_defaults: parsed on its own */
	KT_PROXY,	/* int: PROXY_V1 | PROXY_V2 bits, 0: none */
	KT_LIST,	/* char **: array of strings, NULL-terminated */
	KT_VERIFY,	/* int: enum tls_verify */
	KT_TLS,		/* struct tls_conf *: a group */
	KT_SNI		/* struct tls_conf: a list of SC_SNI groups */
};

struct ckey {
	int		 scope;
	const char	*name;
	int		 type;
	int		 required;
	double		 min, max;	/* numbers only */
	const char	*def;		/* as text; NULL: unset */
	size_t		 off;
	const char	*doc;
};

#define D(f)	offsetof(struct config, f)
#define P(f)	offsetof(struct plugin_conf, f)
#define L(f)	offsetof(struct listener_conf, f)
#define T(f)	offsetof(struct tls_conf, f)
#define S(f)	offsetof(struct tls_sni_conf, f)

static const struct ckey keys[] = {
	{ SC_DAEMON, "plugin_dir", KT_STRING, 0, 0, 0, PLUGINDIR,
	    D(plugin_dir), "directory of the plugin shared objects "
	    "(-P overrides it)" },
	{ SC_DAEMON, "log_level", KT_LEVEL, 0, 0, 0, "info", D(log_level),
	    "err, warning, notice, info or debug (-l overrides it)" },
	{ SC_DAEMON, "shutdown_timeout", KT_DOUBLE, 0, 0, 86400,
	    DEF_STR(DEF_SHUTDOWN_TIMEOUT),
	    D(shutdown_timeout), "seconds connections get to close on "
	    "SIGTERM before they are aborted" },
	{ SC_DAEMON, "workers", KT_INT, 0, 0, WORKERS_MAX, "0", D(workers),
	    "worker processes; 0: one per CPU" },
	{ SC_DAEMON, "worker_timeout", KT_DOUBLE, 0, 0, 86400, "30.0",
	    D(worker_timeout), "seconds a worker's event loop may stay "
	    "stuck (a plugin that never returns) before it is aborted and "
	    "replaced; 0: never" },
	{ SC_DAEMON, "log_file", KT_PATH, 0, 0, 0, NULL, D(log_file),
	    "log to this file instead of stderr/syslog (relative to the "
	    "config file; SIGUSR1 reopens it); unset: none" },
	{ SC_DAEMON, "pidfile", KT_PATH, 0, 0, 0, NULL, D(pidfile),
	    "write the daemon's pid to this file (relative to the config "
	    "file); unset: none" },
	{ SC_DAEMON, "metrics", KT_STRING, 0, 0, 0, NULL, D(metrics),
	    "tcp://HOST:PORT where the master serves GET /metrics "
	    "(Prometheus text format); unset: none" },
	{ SC_DAEMON, "control", KT_PATH, 0, 0, 0, NULL, D(control),
	    "unix socket where the master takes asockctl commands (mode "
	    "0600, owned by daemon.user; relative to the config file); "
	    "unset: none" },
	{ SC_DAEMON, "user", KT_STRING, 0, 0, 0, NULL, D(user),
	    "drop privileges to this user after binding; unset: stay" },
	{ SC_DAEMON, "group", KT_STRING, 0, 0, 0, NULL, D(group),
	    "drop privileges to this group; unset: the user's group" },
	{ SC_DAEMON, "listener_defaults", KT_LDEF, 0, 0, 0, NULL, D(ldef),
	    "a group of listener keys (not name, listen, plugin) that "
	    "every listener takes unless it sets them itself" },
	{ SC_DAEMON, "bus", KT_STRING, 0, 0, 0, NULL, D(bus),
	    "the plugins' message bus: redis://[:PASSWORD@]HOST[:PORT][/DB]"
	    " or unix:PATH[?db=N][&password=P] (Redis); unset: the "
	    "workers of this daemon only" },

	{ SC_PLUGIN, "path", KT_STRING, 1, 0, 0, NULL, P(path),
	    "shared object; relative to plugin_dir unless absolute" },
	{ SC_PLUGIN, "config", KT_FILE, 0, 0, 0, NULL, P(ini),
	    "the plugin's INI file, relative to the config file that "
	    "names it; must exist" },

	{ SC_LISTENER, "name", KT_STRING, 1, 0, 0, NULL, L(name),
	    "unique name, [A-Za-z0-9_.-], at most 64 characters (also the "
	    "socket-activation fd name)" },
	{ SC_LISTENER, "listen", KT_STRING, 1, 0, 0, NULL, L(listen),
	    "tcp://HOST:PORT, udp://HOST:PORT, unix:PATH or "
	    "unix-dgram:PATH" },
	{ SC_LISTENER, "plugin", KT_STRING, 1, 0, 0, NULL, L(plugin),
	    "name of a plugin in plugins" },
	{ SC_LISTENER, "backlog", KT_INT, 0, 1, 65535, "511", L(backlog),
	    "listen(2) backlog" },
	{ SC_LISTENER, "max_connections", KT_INT, 0, 1, INT_MAX, "10000",
	    L(max_connections), "open connections before accepting pauses" },
	{ SC_LISTENER, "idle_timeout", KT_DOUBLE, 0, 0, 1e9, "300.0",
	    L(idle_timeout), "seconds without traffic before a connection "
	    "is closed; 0: never" },
	{ SC_LISTENER, "sndq_high", KT_SIZE, 0, 1, 1024 * MiB,
	    DEF_STR(DEF_SNDQ_HIGH),
	    L(sndq_high), "output queue bytes above which reading stops "
	    "and the plugin is told it is not writable" },
	{ SC_LISTENER, "sndq_low", KT_SIZE, 0, 0, 1024 * MiB,
	    DEF_STR(DEF_SNDQ_LOW),
	    L(sndq_low), "output queue bytes below which on_send fires; "
	    "must be below sndq_high" },
	{ SC_LISTENER, "sndq_max", KT_SIZE, 0, 1, 1024 * MiB,
	    DEF_STR(DEF_SNDQ_MAX),
	    L(sndq_max), "output queue bytes past which the connection is "
	    "aborted (close reason overflow); at least sndq_high" },
	{ SC_LISTENER, "max_input", KT_SIZE, 0, 1024, 1024 * MiB,
	    DEF_STR(DEF_MAX_INPUT),
	    L(max_input), "unconsumed input bytes kept per connection; a "
	    "full buffer closes it as a protocol error" },
	{ SC_LISTENER, "framing", KT_FRAMING, 0, 0, 0, "raw", L(framing),
	    "raw, line, length (4-byte big-endian prefix) or archive "
	    "(length-prefixed MessagePack)" },
	{ SC_LISTENER, "max_line", KT_SIZE, 0, 1, 64 * MiB, "8192",
	    L(max_line), "longest line with framing = \"line\"" },
	{ SC_LISTENER, "max_frame", KT_SIZE, 0, 1, 64 * MiB, "1048576",
	    L(max_frame), "largest frame with framing = \"length\" or "
	    "\"archive\"" },
	{ SC_LISTENER, "record", KT_PATH, 0, 0, 0, NULL, L(record),
	    "stream listeners: write one file per connection of its events "
	    "and bytes into this directory, for asockd-replay; unset: off" },
	{ SC_LISTENER, "mode", KT_MODE, 0, 0, 07777, "0660", L(mode),
	    "unix listeners only: socket file mode, octal: \"0660\" or "
	    "0660; set after bind, whatever the umask" },
	{ SC_LISTENER, "owner", KT_STRING, 0, 0, 0, NULL, L(owner),
	    "unix listeners only: user (name or number) that owns the "
	    "socket file; unset: the daemon's user" },
	{ SC_LISTENER, "group", KT_STRING, 0, 0, 0, NULL, L(group),
	    "unix listeners only: group (name or number) of the socket "
	    "file; unset: the daemon's group" },
	{ SC_LISTENER, "workers", KT_INT, 0, 0, 1, "0", L(workers),
	    "0: every worker accepts; 1: only the first worker" },
	{ SC_LISTENER, "allow", KT_ACL, 0, 0, 0, NULL, L(allow),
	    "addresses, CIDR prefixes or \"unix\" that may connect (or "
	    "send datagrams); unset: everyone" },
	{ SC_LISTENER, "deny", KT_ACL, 0, 0, 0, NULL, L(deny),
	    "addresses, CIDR prefixes or \"unix\" that are refused; deny "
	    "wins over allow" },
	{ SC_LISTENER, "ipv6only", KT_BOOL, 0, 0, 0, "true", L(ipv6only),
	    "IPv6 listeners only: false lets a [::] socket take IPv4 "
	    "clients too (as ::ffff:a.b.c.d)" },
	{ SC_LISTENER, "max_per_source", KT_INT, 0, 0, INT_MAX, "0",
	    L(max_per_source), "stream listeners: open connections per "
	    "source, daemon-wide; 0: no limit" },
	{ SC_LISTENER, "source_prefix_v4", KT_INT, 0, 0, 32, "32",
	    L(source_prefix_v4), "an IPv4 source is the address masked to "
	    "this many bits" },
	{ SC_LISTENER, "source_prefix_v6", KT_INT, 0, 0, 128, "64",
	    L(source_prefix_v6), "an IPv6 source is the address masked to "
	    "this many bits" },
	{ SC_LISTENER, "rate", KT_DOUBLE, 0, 0, 1e9, "0", L(rate),
	    "new connections (datagrams on udp) a second per source, "
	    "daemon-wide (token bucket); 0: no limit" },
	{ SC_LISTENER, "rate_burst", KT_INT, 0, 0, INT_MAX, "0",
	    L(rate_burst), "tokens a source's bucket holds; 0: rate "
	    "rounded up" },
	{ SC_LISTENER, "proxy_protocol", KT_PROXY, 0, 0, 0, NULL,
	    L(proxy_protocol), "stream listeners: \"v1\", \"v2\" or "
	    "\"any\": each connection starts with a PROXY header whose "
	    "client address becomes the peer; unset: none" },
	{ SC_LISTENER, "proxy_trusted", KT_ACL, 0, 0, 0, NULL,
	    L(proxy_trusted), "who may send a PROXY header (required with "
	    "proxy_protocol); other peers are refused" },
	{ SC_LISTENER, "proxy_timeout", KT_DOUBLE, 0, 0.001, 3600, "5.0",
	    L(proxy_timeout), "seconds the PROXY header may take" },
	{ SC_LISTENER, "tls", KT_TLS, 0, 0, 0, NULL, L(tls),
	    "TLS on this stream listener: a group of the tls.* keys; "
	    "unset: plaintext" },

	{ SC_TLS, "certificate", KT_FILE, 1, 0, 0, NULL, T(certificate),
	    "PEM certificate, the chain after the leaf; relative to the "
	    "config file" },
	{ SC_TLS, "key", KT_FILE, 1, 0, 0, NULL, T(key),
	    "PEM private key of the certificate; read by the master before "
	    "privileges drop (may be readable by root only)" },
	{ SC_TLS, "protocols", KT_LIST, 0, 0, 0, "[ \"TLSv1.2\", "
	    "\"TLSv1.3\" ]", T(protocols), "protocol versions accepted, "
	    "of TLSv1.2 and TLSv1.3; older ones are always refused" },
	{ SC_TLS, "ciphers", KT_STRING, 0, 0, 0, NULL, T(ciphers),
	    "TLS 1.2 cipher list, OpenSSL syntax; unset: OpenSSL's default" },
	{ SC_TLS, "ciphersuites", KT_STRING, 0, 0, 0, NULL, T(ciphersuites),
	    "TLS 1.3 cipher suites, OpenSSL syntax, in the server's order; "
	    "unset: TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
	    "TLS_CHACHA20_POLY1305_SHA256" },
	{ SC_TLS, "alpn", KT_LIST, 0, 0, 0, NULL, T(alpn),
	    "ALPN protocols offered, in order of preference, e.g. "
	    "[ \"http/1.1\" ]; a client offering none of them is refused; "
	    "unset: no ALPN" },
	{ SC_TLS, "client_ca", KT_FILE, 0, 0, 0, NULL, T(client_ca),
	    "PEM CA certificates that client certificates are verified "
	    "against" },
	{ SC_TLS, "verify_client", KT_VERIFY, 0, 0, 0, "none",
	    T(verify_client), "none, optional (verify a certificate if "
	    "the client sends one) or require (refuse clients without a "
	    "valid one); not none needs client_ca" },
	{ SC_TLS, "sni", KT_SNI, 0, 0, 0, NULL, 0,
	    "( { server_name; certificate; key; }, ... ): certificates "
	    "chosen by the client's server name; others get certificate" },
	{ SC_TLS, "session_tickets", KT_BOOL, 0, 0, 0, "true",
	    T(session_tickets), "resume sessions with tickets whose keys "
	    "all workers share (rotated hourly, the previous key still "
	    "accepted)" },
	{ SC_TLS, "handshake_timeout", KT_DOUBLE, 0, 0.001, 3600,
	    DEF_STR(DEF_HANDSHAKE_TIMEOUT),
	    T(handshake_timeout), "seconds a client gets to finish its "
	    "handshake before it is closed" },

	{ SC_SNI, "server_name", KT_STRING, 1, 0, 0, NULL, S(server_name),
	    "host name the client asks for (exact, case-insensitive)" },
	{ SC_SNI, "certificate", KT_FILE, 1, 0, 0, NULL, S(certificate),
	    "PEM certificate for that name" },
	{ SC_SNI, "key", KT_FILE, 1, 0, 0, NULL, S(key),
	    "PEM private key for that name" },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static const char *const framings[] = {
	[FRAMING_RAW] = "raw",
	[FRAMING_LINE] = "line",
	[FRAMING_LENGTH] = "length",
	[FRAMING_ARCHIVE] = "archive",
};

/* Where a listener's settings were, for the cross-checks. */
struct lsrc {
	struct listener_conf	*l;
	int			 name_line;
	int			 listen_line;
	int			 plugin_line;
};

struct cparse {
	struct config	*conf;
	const char	*file;		/* file being parsed */
	char		*incdir;	/* the main file's directory */
	int		 errors;
	struct lsrc	*lsrc;
	size_t		 nlsrc;
	char		 srcbuf[PATH_MAX];	/* see src_file() */
};

static void	 cerr(struct cparse *, const config_setting_t *,
		    const char *, ...) __attribute__((format(printf, 3, 4)));

/*
 * The file a setting comes from.  libconfig 1.5 records an included file
 * by the name written after @include, so a relative one is put back under
 * the include directory.  The result lives until the next call.
 */
static const char *
src_file(struct cparse *cp, const config_setting_t *s)
{
	const char	*f = NULL;

	if (s != NULL)
		f = config_setting_source_file(s);
	if (f == NULL || strcmp(f, cp->file) == 0 || f[0] == '/')
		return f != NULL ? f : cp->file;
	snprintf(cp->srcbuf, sizeof(cp->srcbuf), "%s/%s", cp->incdir, f);
	return cp->srcbuf;
}

static int
src_line(const config_setting_t *s)
{
	return s != NULL ? (int)config_setting_source_line(s) : 0;
}

/* Log one error at the setting's FILE:LINE. */
static void
cerr(struct cparse *cp, const config_setting_t *s, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s:%d: %s", src_file(cp, s), src_line(s), msg);
	cp->errors++;
}

static const char *
type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "nothing";
}

static int
framing_parse(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(framings) / sizeof(framings[0]); i++)
		if (strcmp(s, framings[i]) == 0)
			return (int)i;
	return -1;
}

/* "0660" -> 0660; -1 unless the whole string is octal digits. */
static int
mode_parse(const char *s)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '7' || strlen(s) > 5)
		return -1;
	errno = 0;
	v = strtol(s, &end, 8);
	if (*end != '\0' || errno != 0 || v > 07777)
		return -1;
	return (int)v;
}

static const struct ckey *
key_find(int scope, const char *name)
{
	size_t	 i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].scope == scope && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* Apply the defaults of every key of scope to base. */
static void
defaults_apply(int scope, void *base)
{
	const struct ckey	*k;
	char			*p;
	size_t			 i;

	for (i = 0; i < NKEYS; i++) {
		k = &keys[i];
		if (k->scope != scope)
			continue;
		p = (char *)base + k->off;
		switch (k->type) {
		case KT_STRING:
		case KT_FILE:
		case KT_PATH:
			free(*(char **)p);
			*(char **)p = k->def != NULL ? xstrdup(k->def) : NULL;
			break;
		case KT_INT:
			*(int *)p = k->def != NULL ? atoi(k->def) : 0;
			break;
		case KT_SIZE:
			*(size_t *)p = k->def != NULL ?
			    strtoull(k->def, NULL, 10) : 0;
			break;
		case KT_DOUBLE:
			*(double *)p = k->def != NULL ?
			    strtod(k->def, NULL) : 0;
			break;
		case KT_LEVEL:
			*(int *)p = log_level_parse(k->def);
			break;
		case KT_FRAMING:
			*(int *)p = framing_parse(k->def);
			break;
		case KT_MODE:
			*(int *)p = k->def != NULL ? mode_parse(k->def) : -1;
			break;
		case KT_BOOL:
			*(int *)p = k->def != NULL &&
			    strcmp(k->def, "true") == 0;
			break;
		case KT_ACL:
			acl_free(*(struct acl **)p);
			*(struct acl **)p = NULL;
			break;
		case KT_LDEF:
			break;
		case KT_PROXY:
			*(int *)p = 0;
			break;
		case KT_VERIFY:
			*(int *)p = TLS_VERIFY_NONE;
			break;
		case KT_LIST:	/* the documented default is the NULL case */
		case KT_TLS:
			*(void **)p = NULL;
			break;
		case KT_SNI:	/* no field of its own */
			break;
		}
	}
}

static const char *const verifies[] = {
	[TLS_VERIFY_NONE] = "none",
	[TLS_VERIFY_OPTIONAL] = "optional",
	[TLS_VERIFY_REQUIRE] = "require",
};

static void
strlist_free(char **v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void
tls_conf_free(struct tls_conf *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	if (t->ctx != NULL && t->ctx_free != NULL)
		t->ctx_free(t->ctx);
	free(t->certificate);
	free(t->key);
	strlist_free(t->protocols);
	free(t->ciphers);
	free(t->ciphersuites);
	strlist_free(t->alpn);
	free(t->client_ca);
	for (i = 0; i < t->nsni; i++) {
		free(t->sni[i].server_name);
		free(t->sni[i].certificate);
		free(t->sni[i].key);
		free(t->sni[i].file);
	}
	free(t->sni);
	free(t->file);
	free(t);
}

/* Resolve a KT_FILE path against the directory of the file naming it. */
static char *
path_resolve(const char *file, const char *path)
{
	const char	*slash;
	char		*r;

	if (path[0] == '/' || file == NULL ||
	    (slash = strrchr(file, '/')) == NULL)
		return xstrdup(path);
	if (xasprintf(&r, "%.*s/%s", (int)(slash - file), file, path) == -1)
		fatal("xasprintf");
	return r;
}

static int
number_check(struct cparse *cp, const config_setting_t *s,
    const struct ckey *k, const char *ctx, double v)
{
	if (v >= k->min && v <= k->max)
		return 0;
	if (k->type == KT_DOUBLE)
		cerr(cp, s, "%s: %s: %g is out of range (%g..%g)", ctx,
		    k->name, v, k->min, k->max);
	else
		cerr(cp, s, "%s: %s: %.0f is out of range (%.0f..%.0f)", ctx,
		    k->name, v, k->min, k->max);
	return -1;
}

static void
key_set_string(struct cparse *cp, const config_setting_t *s,
    const struct ckey *k, const char *ctx, char *p)
{
	const char	*v = config_setting_get_string(s);
	struct stat	 st;
	char		*path;
	int		 n;

	if (*v == '\0') {
		cerr(cp, s, "%s: %s: must not be empty", ctx, k->name);
		return;
	}
	switch (k->type) {
	case KT_STRING:
		free(*(char **)p);
		*(char **)p = xstrdup(v);
		break;
	case KT_PATH:
		free(*(char **)p);
		*(char **)p = path_resolve(src_file(cp, s), v);
		break;
	case KT_FILE:
		path = path_resolve(src_file(cp, s), v);
		if (stat(path, &st) == -1) {
			cerr(cp, s, "%s: %s: %s: %s", ctx, k->name, path,
			    strerror(errno));
			free(path);
		} else if (!S_ISREG(st.st_mode)) {
			cerr(cp, s, "%s: %s: %s: not a regular file", ctx,
			    k->name, path);
			free(path);
		} else {
			free(*(char **)p);
			*(char **)p = path;
		}
		break;
	case KT_LEVEL:
		if ((n = log_level_parse(v)) == -1)
			cerr(cp, s, "%s: %s: unknown level '%s' (err, "
			    "warning, notice, info, debug)", ctx, k->name, v);
		else
			*(int *)p = n;
		break;
	case KT_FRAMING:
		if ((n = framing_parse(v)) == -1)
			cerr(cp, s, "%s: %s: unknown framing '%s' (raw, line, "
			    "length, archive)", ctx, k->name, v);
		else
			*(int *)p = n;
		break;
	case KT_PROXY:
		n = strcmp(v, "v1") == 0 ? PROXY_V1 : strcmp(v, "v2") == 0 ?
		    PROXY_V2 : strcmp(v, "any") == 0 ? PROXY_V1 | PROXY_V2 : -1;
		if (n == -1)
			cerr(cp, s, "%s: %s: '%s' is not v1, v2 or any", ctx,
			    k->name, v);
		else
			*(int *)p = n;
		break;
	case KT_VERIFY:
		for (n = 0; n < 3 && strcmp(v, verifies[n]) != 0; n++)
			;
		if (n == 3)
			cerr(cp, s, "%s: %s: unknown value '%s' (none, "
			    "optional, require)", ctx, k->name, v);
		else
			*(int *)p = n;
		break;
	case KT_MODE:
		if ((n = mode_parse(v)) == -1)
			cerr(cp, s, "%s: %s: '%s' is not an octal file mode "
			    "like \"0660\"", ctx, k->name, v);
		else
			*(int *)p = n;
		break;
	}
}

/*
 * mode = 0660; libconfig reads a leading 0 as decimal (660), so the
 * digits of the integer are taken as octal, as chmod(1) takes them.
 */
static void
mode_int(struct cparse *cp, const config_setting_t *s, const struct ckey *k,
    const char *ctx, char *p)
{
	char	 buf[32];
	int	 n;

	snprintf(buf, sizeof(buf), "%lld",
	    (long long)config_setting_get_int64(s));
	if ((n = mode_parse(buf)) == -1)
		cerr(cp, s, "%s: %s: %s is not an octal file mode like 0660",
		    ctx, k->name, buf);
	else
		*(int *)p = n;
}

/* allow = [ "10.0.0.0/8", "::1", "unix" ], or one string. */
static void
acl_set(struct cparse *cp, const config_setting_t *s, const struct ckey *k,
    const char *ctx, struct acl **ap)
{
	const config_setting_t	*e;
	struct acl		*a;
	char			 err[256];
	int			 i, n, t = config_setting_type(s), bad = 0;

	if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST &&
	    t != CONFIG_TYPE_STRING) {
		cerr(cp, s, "%s: %s: expected a list of addresses [ \"...\","
		    " ... ], got %s", ctx, k->name, type_name(t));
		return;
	}
	a = acl_new();
	if (t == CONFIG_TYPE_STRING) {
		if (acl_add(a, config_setting_get_string(s), err,
		    sizeof(err)) == -1) {
			cerr(cp, s, "%s: %s: %s", ctx, k->name, err);
			bad = 1;
		}
	} else {
		n = config_setting_length(s);
		for (i = 0; i < n; i++) {
			e = config_setting_get_elem(s, i);
			if (config_setting_type(e) != CONFIG_TYPE_STRING) {
				cerr(cp, s, "%s: %s: entry %d: expected a "
				    "string, got %s", ctx, k->name, i + 1,
				    type_name(config_setting_type(e)));
				bad = 1;
			} else if (acl_add(a, config_setting_get_string(e),
			    err, sizeof(err)) == -1) {
				cerr(cp, s, "%s: %s: %s", ctx, k->name, err);
				bad = 1;
			}
		}
	}
	if (bad) {
		acl_free(a);
		return;
	}
	acl_finish(a);
	acl_free(*ap);
	*ap = a;
}

static void	 group_parse(struct cparse *, const config_setting_t *, int,
		    const char *, void *);

/* An array of non-empty strings into a NULL-terminated char **. */
static void
strlist_set(struct cparse *cp, const config_setting_t *s,
    const struct ckey *k, const char *ctx, char ***p)
{
	const config_setting_t	*e;
	const char		*v;
	char			**r;
	int			 i, n = config_setting_length(s);

	if (n == 0) {
		cerr(cp, s, "%s: %s: must not be empty", ctx, k->name);
		return;
	}
	r = xcalloc(n + 1, sizeof(*r));
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    *(v = config_setting_get_string(e)) == '\0') {
			cerr(cp, e, "%s: %s: expected non-empty strings", ctx,
			    k->name);
			strlist_free(r);
			return;
		}
		r[i] = xstrdup(v);
	}
	strlist_free(*p);
	*p = r;
}

/* tls.sni = ( { server_name; certificate; key; }, ... ) */
static void
sni_parse(struct cparse *cp, const config_setting_t *s, const char *ctx,
    struct tls_conf *t)
{
	const config_setting_t	*g;
	struct tls_sni_conf	*e;
	char			 sctx[160];
	int			 i, n = config_setting_length(s);

	t->sni = xcalloc(n > 0 ? n : 1, sizeof(*t->sni));
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(s, i);
		snprintf(sctx, sizeof(sctx), "%s: tls.sni #%d", ctx, i + 1);
		if (!config_setting_is_group(g)) {
			cerr(cp, g, "%s: expected a group { server_name; "
			    "certificate; key; }", sctx);
			continue;
		}
		e = &t->sni[t->nsni++];
		e->file = xstrdup(src_file(cp, g));
		e->line = src_line(g);
		defaults_apply(SC_SNI, e);
		group_parse(cp, g, SC_SNI, sctx, e);
		e->cert_line = src_line(config_setting_get_member(g,
		    "certificate"));
		e->key_line = src_line(config_setting_get_member(g, "key"));
	}
}

static int
member_line(const config_setting_t *g, const char *name)
{
	return src_line(config_setting_get_member(g, name));
}

/* listeners[].tls = { ... } */
static void
tls_parse(struct cparse *cp, const config_setting_t *g, const char *ctx,
    struct tls_conf **p)
{
	const config_setting_t	*s;
	struct tls_conf		*t;
	char			 tctx[160];
	size_t			 i;

	snprintf(tctx, sizeof(tctx), "%s: tls", ctx);
	t = xcalloc(1, sizeof(*t));
	t->file = xstrdup(src_file(cp, g));
	t->line = src_line(g);
	defaults_apply(SC_TLS, t);
	group_parse(cp, g, SC_TLS, tctx, t);
	t->cert_line = member_line(g, "certificate");
	t->key_line = member_line(g, "key");
	t->ca_line = member_line(g, "client_ca");
	t->proto_line = member_line(g, "protocols");
	t->ciphers_line = member_line(g, "ciphers");
	t->suites_line = member_line(g, "ciphersuites");
	s = config_setting_get_member(g, "protocols");
	for (i = 0; t->protocols != NULL && t->protocols[i] != NULL; i++)
		if (strcmp(t->protocols[i], "TLSv1.2") != 0 &&
		    strcmp(t->protocols[i], "TLSv1.3") != 0)
			cerr(cp, s, "%s: protocols: '%s' is not supported "
			    "(TLSv1.2, TLSv1.3; older versions are refused)",
			    tctx, t->protocols[i]);
	s = config_setting_get_member(g, "alpn");
	for (i = 0; t->alpn != NULL && t->alpn[i] != NULL; i++)
		if (strlen(t->alpn[i]) > 255)
			cerr(cp, s, "%s: alpn: '%.20s...' is longer than 255 "
			    "bytes", tctx, t->alpn[i]);
	if (t->verify_client != TLS_VERIFY_NONE && t->client_ca == NULL)
		cerr(cp, config_setting_get_member(g, "verify_client"),
		    "%s: verify_client = \"%s\" needs client_ca", tctx,
		    verifies[t->verify_client]);
	tls_conf_free(*p);
	*p = t;
}

/* Check the type of s against k and store its value into base. */
static void
key_set(struct cparse *cp, const config_setting_t *s, const struct ckey *k,
    const char *ctx, void *base)
{
	char	*p = (char *)base + k->off;
	int	 t = config_setting_type(s);
	double	 v;

	switch (k->type) {
	case KT_INT:
	case KT_SIZE:
		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
			break;
		v = (double)config_setting_get_int64(s);
		if (number_check(cp, s, k, ctx, v) == -1)
			return;
		if (k->type == KT_INT)
			*(int *)p = (int)v;
		else
			*(size_t *)p = (size_t)v;
		return;
	case KT_MODE:
		if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
			mode_int(cp, s, k, ctx, p);
			return;
		}
		if (t == CONFIG_TYPE_STRING) {
			key_set_string(cp, s, k, ctx, p);
			return;
		}
		cerr(cp, s, "%s: %s: expected an octal mode like \"0660\", "
		    "got %s", ctx, k->name, type_name(t));
		return;
	case KT_DOUBLE:
		if (t == CONFIG_TYPE_FLOAT)
			v = config_setting_get_float(s);
		else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
			v = (double)config_setting_get_int64(s);
		else
			break;
		if (number_check(cp, s, k, ctx, v) == 0)
			*(double *)p = v;
		return;
	case KT_BOOL:
		if (t != CONFIG_TYPE_BOOL) {
			cerr(cp, s, "%s: %s: expected true or false, got %s",
			    ctx, k->name, type_name(t));
			return;
		}
		*(int *)p = config_setting_get_bool(s);
		return;
	case KT_ACL:
		acl_set(cp, s, k, ctx, (struct acl **)p);
		return;
	case KT_LDEF:
		return;		/* ldef_parse() read it */
	case KT_LIST:
		if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
			cerr(cp, s, "%s: %s: expected an array [ \"...\" ], "
			    "got %s", ctx, k->name, type_name(t));
			return;
		}
		strlist_set(cp, s, k, ctx, (char ***)p);
		return;
	case KT_TLS:
		if (t != CONFIG_TYPE_GROUP) {
			cerr(cp, s, "%s: %s: expected a group { ... }, got %s",
			    ctx, k->name, type_name(t));
			return;
		}
		tls_parse(cp, s, ctx, (struct tls_conf **)p);
		return;
	case KT_SNI:
		if (t != CONFIG_TYPE_LIST) {
			cerr(cp, s, "%s: %s: expected a list ( { ... } ), got "
			    "%s", ctx, k->name, type_name(t));
			return;
		}
		if (((struct tls_conf *)base)->sni != NULL) {
			cerr(cp, s, "%s: %s: given twice", ctx, k->name);
			return;
		}
		sni_parse(cp, s, ctx, base);
		return;
	default:
		if (t != CONFIG_TYPE_STRING)
			break;
		key_set_string(cp, s, k, ctx, p);
		return;
	}
	cerr(cp, s, "%s: %s: expected %s, got %s", ctx, k->name,
	    k->type == KT_INT || k->type == KT_SIZE ? "an integer" :
	    k->type == KT_DOUBLE ? "a number" : "a string", type_name(t));
}

/*
 * Read the settings of group g into base (defaults already applied):
 * unknown keys, wrong types and missing required keys are errors.
 */
static void
group_parse(struct cparse *cp, const config_setting_t *g, int scope,
    const char *ctx, void *base)
{
	const config_setting_t	*s;
	const struct ckey	*k;
	const char		*name;
	int			 i, n;
	size_t			 j;

	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, i);
		name = config_setting_name(s);
		if ((k = key_find(scope, name)) == NULL) {
			cerr(cp, s, "%s: unknown key '%s'", ctx, name);
			continue;
		}
		key_set(cp, s, k, ctx, base);
	}
	for (j = 0; j < NKEYS; j++) {
		k = &keys[j];
		if (k->scope == scope && k->required &&
		    config_setting_get_member(g, k->name) == NULL)
			cerr(cp, g, "%s: missing required key '%s'", ctx,
			    k->name);
	}
}

/*
 * daemon.listener_defaults = { ... }: every listener key but the three
 * that make a listener what it is, read once into the template that
 * listener_parse() copies.
 */
static void
ldef_parse(struct cparse *cp, const config_setting_t *g)
{
	const char		*ctx = "daemon: listener_defaults";
	const config_setting_t	*s;
	const struct ckey	*k;
	struct listener_conf	*l;
	const char		*name;
	int			 i, n;

	if (!config_setting_is_group(g)) {
		cerr(cp, g, "%s: expected a group { ... }, got %s", ctx,
		    type_name(config_setting_type(g)));
		return;
	}
	l = xcalloc(1, sizeof(*l));
	l->uid = (uid_t)-1;
	l->gid = (gid_t)-1;
	defaults_apply(SC_LISTENER, l);
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, i);
		name = config_setting_name(s);
		if ((k = key_find(SC_LISTENER, name)) == NULL)
			cerr(cp, s, "%s: unknown key '%s'", ctx, name);
		else if (k->required || k->type == KT_TLS)
			cerr(cp, s, "%s: %s must be set in each listener",
			    ctx, name);
		else
			key_set(cp, s, k, ctx, l);
	}
	cp->conf->ldef = l;
}

/* Start l as a copy of the template t (listener_defaults). */
static void
lconf_copy(struct listener_conf *l, const struct listener_conf *t)
{
	*l = *t;
	l->owner = t->owner != NULL ? xstrdup(t->owner) : NULL;
	l->group = t->group != NULL ? xstrdup(t->group) : NULL;
	l->record = t->record != NULL ? xstrdup(t->record) : NULL;
	l->tls = NULL;		/* never in listener_defaults */
	l->allow = acl_ref(t->allow);
	l->deny = acl_ref(t->deny);
	l->proxy_trusted = acl_ref(t->proxy_trusted);
}

static void
lconf_free(struct listener_conf *l)
{
	free(l->name);
	free(l->listen);
	free(l->plugin);
	free(l->owner);
	free(l->group);
	free(l->record);
	free(l->file);
	acl_free(l->allow);
	acl_free(l->deny);
	acl_free(l->proxy_trusted);
	tls_conf_free(l->tls);
	free(l);
}

static void
plugins_parse(struct cparse *cp, const config_setting_t *g)
{
	const config_setting_t	*s;
	struct plugin_conf	*p, *q;
	char			 ctx[128];
	const char		*name;
	int			 i, n;

	if (!config_setting_is_group(g)) {
		cerr(cp, g, "plugins: expected a group { NAME = { ... }; }, "
		    "got %s", type_name(config_setting_type(g)));
		return;
	}
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, i);
		name = config_setting_name(s);
		snprintf(ctx, sizeof(ctx), "plugin '%s'", name);
		if (!config_setting_is_group(s)) {
			cerr(cp, s, "%s: expected a group { path = ...; }, "
			    "got %s", ctx, type_name(config_setting_type(s)));
			continue;
		}
		TAILQ_FOREACH(q, &cp->conf->plugins, entry)
			if (strcmp(q->name, name) == 0)
				break;
		if (q != NULL) {
			cerr(cp, s, "%s: already defined at %s:%d", ctx,
			    q->file, q->line);
			continue;
		}
		p = xcalloc(1, sizeof(*p));
		p->name = xstrdup(name);
		p->file = xstrdup(src_file(cp, s));
		p->line = src_line(s);
		defaults_apply(SC_PLUGIN, p);
		group_parse(cp, s, SC_PLUGIN, ctx, p);
		TAILQ_INSERT_TAIL(&cp->conf->plugins, p, entry);
	}
}

static int
name_valid(const char *s)
{
	size_t	 n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-");

	return s[n] == '\0' && n > 0 && n <= NAME_MAX_LEN;
}

/*
 * A relative unix socket path is relative to the directory of the config
 * file that names it (like every other path in the config), not to the
 * daemon's working directory, which is / once it runs in the background.
 */
static int
unix_absolute(struct cparse *cp, const config_setting_t *s,
    struct listener_conf *l)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&l->addr.ss;
	char			*path;
	size_t			 len;

	if ((l->addr.kind != ASOCKD_UNIX && l->addr.kind != ASOCKD_UNIX_DGRAM)
	    || sun->sun_path[0] == '/')
		return 0;
	path = path_resolve(src_file(cp, s), sun->sun_path);
	len = strlen(path);
	if (len >= sizeof(sun->sun_path)) {
		free(path);
		return -1;
	}
	memcpy(sun->sun_path, path, len + 1);
	l->addr.sslen = offsetof(struct sockaddr_un, sun_path) + len + 1;
	free(path);
	return 0;
}

/* A user or group name, or a number; -1 when there is none such. */
static long
id_parse(const char *v, int group)
{
	struct passwd	*pw;
	struct group	*gr;
	char		*end;
	long		 n;

	if (*v >= '0' && *v <= '9') {
		errno = 0;
		n = strtol(v, &end, 10);
		if (*end != '\0' || errno != 0 || n < 0 || n >= 0x7fffffffL)
			return -1;
		return n;
	}
	if (group)
		return (gr = getgrnam(v)) != NULL ? (long)gr->gr_gid : -1;
	return (pw = getpwnam(v)) != NULL ? (long)pw->pw_uid : -1;
}

/* mode, owner and group: unix listeners only; resolve the names. */
static void
unix_owner_check(struct cparse *cp, const config_setting_t *g,
    const char *ctx, struct listener_conf *l)
{
	static const char *const names[] = { "mode", "owner", "group" };
	const config_setting_t	*s;
	size_t			 i;
	long			 id;

	if (l->addr.kind != ASOCKD_UNIX && l->addr.kind != ASOCKD_UNIX_DGRAM) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if ((s = config_setting_get_member(g,
			    names[i])) != NULL)
				cerr(cp, s, "%s: %s applies only to unix "
				    "listeners", ctx, names[i]);
		return;
	}
	if (l->owner != NULL) {
		if ((id = id_parse(l->owner, 0)) == -1)
			cerr(cp, config_setting_get_member(g, "owner"),
			    "%s: owner: no user '%s'", ctx, l->owner);
		else
			l->uid = (uid_t)id;
	}
	if (l->group != NULL) {
		if ((id = id_parse(l->group, 1)) == -1)
			cerr(cp, config_setting_get_member(g, "group"),
			    "%s: group: no group '%s'", ctx, l->group);
		else
			l->gid = (gid_t)id;
	}
}

/*
 * The access keys that do not fit a listener's kind: an error when the
 * listener sets them, ignored (reset) when they come from
 * listener_defaults, which speak for every kind of listener at once.
 */
static void
policy_check(struct cparse *cp, const config_setting_t *g, const char *ctx,
    struct listener_conf *l)
{
	const config_setting_t	*s;
	int			 kind = l->addr.kind, dgram;

	dgram = kind == ASOCKD_UDP || kind == ASOCKD_UNIX_DGRAM;
	if ((s = config_setting_get_member(g, "ipv6only")) != NULL &&
	    kind != 0 && l->addr.ss.ss_family != AF_INET6)
		cerr(cp, s, "%s: ipv6only applies only to IPv6 listeners "
		    "(tcp://[ADDR]:PORT, udp://[ADDR]:PORT)", ctx);
	if (l->max_per_source > 0 && dgram) {
		if ((s = config_setting_get_member(g,
		    "max_per_source")) != NULL)
			cerr(cp, s, "%s: max_per_source applies only to stream "
			    "listeners (datagrams have no connections; use "
			    "rate)", ctx);
		l->max_per_source = 0;
	}
	if (l->proxy_protocol != 0 && dgram) {
		if ((s = config_setting_get_member(g,
		    "proxy_protocol")) != NULL)
			cerr(cp, s, "%s: proxy_protocol applies only to stream "
			    "listeners", ctx);
		l->proxy_protocol = 0;
	}
	if (l->proxy_protocol != 0 && l->proxy_trusted == NULL)
		cerr(cp, config_setting_get_member(g, "proxy_protocol") ?
		    config_setting_get_member(g, "proxy_protocol") : g,
		    "%s: proxy_protocol needs proxy_trusted (the balancers' "
		    "addresses)", ctx);
	if (l->rate > 0 && kind == ASOCKD_UNIX_DGRAM) {
		if ((s = config_setting_get_member(g, "rate")) != NULL)
			cerr(cp, s, "%s: rate is not supported on unix-dgram "
			    "listeners (their senders have no source)", ctx);
		l->rate = 0;
	}
}

/* Checks of daemon settings that need more than the key table. */
static void
daemon_check(struct cparse *cp, const config_setting_t *g)
{
	struct config	*c = cp->conf;
#ifndef ASOCKD_NO_COUNTERS
	char		 err[512];
#endif

	if (c->control != NULL &&
	    strlen(c->control) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		cerr(cp, config_setting_get_member(g, "control"),
		    "daemon: control: %s: path too long for a unix socket",
		    c->control);
	if (c->metrics == NULL)
		return;
#ifdef ASOCKD_NO_COUNTERS
	cerr(cp, config_setting_get_member(g, "metrics"), "daemon: metrics:"
	    " not supported: asockd was built with --disable-counters");
#else
	if (addr_parse(c->metrics, 1, &c->metrics_addr, err,
	    sizeof(err)) == -1)
		cerr(cp, config_setting_get_member(g, "metrics"),
		    "daemon: metrics: %s", err);
	else if (c->metrics_addr.kind != ASOCKD_TCP)
		cerr(cp, config_setting_get_member(g, "metrics"),
		    "daemon: metrics: %s: expected tcp://HOST:PORT",
		    c->metrics);
#endif
}

/* Checks of one listener that need no other part of the config. */
/* record = "DIR": an existing directory, on a stream listener. */
static void
record_check(struct cparse *cp, const config_setting_t *g, const char *ctx,
    const struct listener_conf *l)
{
	const config_setting_t	*s = config_setting_get_member(g, "record");
	struct stat		 st;

	if (l->record == NULL || s == NULL)
		return;
	if (l->addr.kind == ASOCKD_UDP || l->addr.kind == ASOCKD_UNIX_DGRAM)
		cerr(cp, s, "%s: record: only stream listeners are recorded",
		    ctx);
	else if (stat(l->record, &st) == -1)
		cerr(cp, s, "%s: record: %s: %s", ctx, l->record,
		    strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		cerr(cp, s, "%s: record: %s: not a directory", ctx,
		    l->record);
}

static void
listener_check(struct cparse *cp, const config_setting_t *g,
    const char *ctx, struct listener_conf *l)
{
	const config_setting_t	*s;
	char			 err[512];

	if (l->name != NULL && !name_valid(l->name))
		cerr(cp, config_setting_get_member(g, "name"),
		    "%s: bad name (use 1 to %d of A-Z a-z 0-9 _ . -)", ctx,
		    NAME_MAX_LEN);
	if (l->listen != NULL) {
		s = config_setting_get_member(g, "listen");
		if (addr_parse(l->listen, 1, &l->addr, err,
		    sizeof(err)) == -1) {
			cerr(cp, s, "%s: listen: %s", ctx, err);
			l->addr.kind = 0;
		} else if (unix_absolute(cp, s, l) == -1) {
			cerr(cp, s, "%s: listen: socket path too long once made"
			    " relative to %s", ctx, src_file(cp, s));
			l->addr.kind = 0;
		} else
			unix_owner_check(cp, g, ctx, l);
	}
	if (l->tls != NULL && (l->addr.kind == ASOCKD_UDP ||
	    l->addr.kind == ASOCKD_UNIX_DGRAM))
		cerr(cp, config_setting_get_member(g, "tls"), "%s: tls applies "
		    "only to stream listeners (tcp://, unix:)", ctx);
	if (l->sndq_low >= l->sndq_high)
		cerr(cp, config_setting_get_member(g, "sndq_low") != NULL ?
		    config_setting_get_member(g, "sndq_low") :
		    config_setting_get_member(g, "sndq_high") != NULL ?
		    config_setting_get_member(g, "sndq_high") : g,
		    "%s: sndq_low (%zu) must be below sndq_high (%zu)", ctx,
		    l->sndq_low, l->sndq_high);
	record_check(cp, g, ctx, l);
	if (l->sndq_max < l->sndq_high)
		cerr(cp, config_setting_get_member(g, "sndq_max") != NULL ?
		    config_setting_get_member(g, "sndq_max") :
		    config_setting_get_member(g, "sndq_high") != NULL ?
		    config_setting_get_member(g, "sndq_high") : g,
		    "%s: sndq_max (%zu) must be at least sndq_high (%zu)", ctx,
		    l->sndq_max, l->sndq_high);
	policy_check(cp, g, ctx, l);
}

static void
listener_parse(struct cparse *cp, const config_setting_t *g, int idx)
{
	const config_setting_t	*s;
	struct listener_conf	*l;
	struct lsrc		*ls;
	char			 ctx[128];

	s = config_setting_get_member(g, "name");
	if (s != NULL && config_setting_type(s) == CONFIG_TYPE_STRING)
		snprintf(ctx, sizeof(ctx), "listener '%s'",
		    config_setting_get_string(s));
	else
		snprintf(ctx, sizeof(ctx), "listener #%d", idx + 1);

	l = xcalloc(1, sizeof(*l));
	if (cp->conf->ldef != NULL)
		lconf_copy(l, cp->conf->ldef);
	else
		defaults_apply(SC_LISTENER, l);
	l->file = xstrdup(src_file(cp, g));
	l->line = src_line(g);
	l->uid = (uid_t)-1;
	l->gid = (gid_t)-1;
	group_parse(cp, g, SC_LISTENER, ctx, l);
	listener_check(cp, g, ctx, l);
	TAILQ_INSERT_TAIL(&cp->conf->listeners, l, entry);

	cp->lsrc = xrealloc(cp->lsrc, (cp->nlsrc + 1) * sizeof(*cp->lsrc));
	ls = &cp->lsrc[cp->nlsrc++];
	ls->l = l;
	ls->name_line = src_line(config_setting_get_member(g, "name"));
	ls->listen_line = src_line(config_setting_get_member(g, "listen"));
	ls->plugin_line = src_line(config_setting_get_member(g, "plugin"));
}

static void
listeners_parse(struct cparse *cp, const config_setting_t *list)
{
	const config_setting_t	*g;
	int			 i, n;

	if (!config_setting_is_list(list)) {
		cerr(cp, list, "listeners: expected a list ( { ... }, ... ), "
		    "got %s", type_name(config_setting_type(list)));
		return;
	}
	n = config_setting_length(list);
	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(list, i);
		if (!config_setting_is_group(g)) {
			cerr(cp, g, "listener #%d: expected a group { ... }, "
			    "got %s", i + 1,
			    type_name(config_setting_type(g)));
			continue;
		}
		listener_parse(cp, g, i);
	}
}

static void	 bus_check(struct cparse *, const config_setting_t *);

/* Parse one file (the main one when is_main is set) into cp->conf. */
static void
file_parse(struct cparse *cp, const char *path, int is_main)
{
	config_t		 cf;
	const config_setting_t	*root, *s;
	const char		*name, *efile;
	struct stat		 st;
	char			*real, err[PATH_MAX + 128];
	int			 i, n, rc;

	if (stat(path, &st) == -1) {
		log_warnx("%s: %s", path, strerror(errno));
		cp->errors++;
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		log_warnx("%s: %s", path, strerror(EISDIR));
		cp->errors++;
		return;
	}
	/* StrictModes: the config says which code runs as root */
	if (perm_check(path, &real, err, sizeof(err)) == -1) {
		if (errno == EPERM)
			log_warnx("%s: refused: %s", path, err);
		else
			log_warnx("%s: %s", path, strerror(errno));
		cp->errors++;
		return;
	}
	cp->file = path;
	config_init(&cf);
	config_set_include_dir(&cf, cp->incdir);
	rc = config_read_file(&cf, real);
	free(real);
	if (rc != CONFIG_TRUE) {
		efile = config_error_file(&cf);
		if (efile != NULL && strcmp(efile, path) != 0 &&
		    efile[0] != '/') {
			snprintf(cp->srcbuf, sizeof(cp->srcbuf), "%s/%s",
			    cp->incdir, efile);
			efile = cp->srcbuf;
		}
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO &&
		    config_error_line(&cf) == 0)
			log_warnx("%s: %s", efile != NULL ? efile : path,
			    config_error_text(&cf));
		else
			log_warnx("%s:%d: %s", efile != NULL ? efile : path,
			    config_error_line(&cf), config_error_text(&cf));
		cp->errors++;
		config_destroy(&cf);
		return;
	}

	root = config_root_setting(&cf);
	if (is_main && (s = config_lookup(&cf,
	    "daemon.listener_defaults")) != NULL)
		ldef_parse(cp, s);
	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(root, i);
		name = config_setting_name(s);
		if (strcmp(name, "daemon") == 0) {
			if (!is_main)
				cerr(cp, s, "daemon: allowed only in the main "
				    "config file %s", cp->conf->file);
			else if (!config_setting_is_group(s))
				cerr(cp, s, "daemon: expected a group { ... }, "
				    "got %s",
				    type_name(config_setting_type(s)));
			else {
				group_parse(cp, s, SC_DAEMON, "daemon",
				    cp->conf);
				daemon_check(cp, s);
				bus_check(cp, s);
			}
		} else if (strcmp(name, "plugins") == 0)
			plugins_parse(cp, s);
		else if (strcmp(name, "listeners") == 0)
			listeners_parse(cp, s);
		else
			cerr(cp, s, "unknown key '%s' (daemon, plugins, "
			    "listeners)", name);
	}
	config_destroy(&cf);
}

static int
dropin_filter(const struct dirent *d)
{
	size_t	 n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 &&
	    strcmp(d->d_name + n - 5, ".conf") == 0;
}

/* Plain byte order, whatever the locale. */
static int
dropin_compare(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void
dropins_parse(struct cparse *cp)
{
	struct dirent	**names;
	struct stat	  st;
	char		 *dir, *path;
	int		  i, n;

	if (xasprintf(&dir, "%s/conf.d", cp->incdir) == -1)
		fatal("xasprintf");
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		free(dir);
		return;
	}
	if ((n = scandir(dir, &names, dropin_filter, dropin_compare)) == -1) {
		log_warnx("%s: %s", dir, strerror(errno));
		cp->errors++;
		free(dir);
		return;
	}
	for (i = 0; i < n; i++) {
		if (xasprintf(&path, "%s/%s", dir, names[i]->d_name) == -1)
			fatal("xasprintf");
		free(names[i]);
		file_parse(cp, path, 0);
		free(path);
	}
	free(names);
	free(dir);
}

static int
addr_same(const struct addr *a, const struct addr *b)
{
	if (a->kind == 0 || a->kind != b->kind || a->sslen == 0 ||
	    a->sslen != b->sslen)
		return 0;
	/* Port 0 asks the kernel for a fresh port each time. */
	if ((a->kind == ASOCKD_TCP || a->kind == ASOCKD_UDP) && a->port == 0)
		return 0;
	return memcmp(&a->ss, &b->ss, a->sslen) == 0;
}

/*
 * Parse a daemon.bus URI.  redis://[:PASSWORD@]HOST[:PORT][/DB] (HOST an
 * IPv4 or [IPv6] literal; PORT 6379 by default) or
 * unix:PATH[?db=N][&password=P].  -1 with the reason in err.
 */
int
config_bus_parse(const char *uri, struct bus_uri *u, char *err,
    size_t errlen)
{
	const char	*p, *at, *end, *q;
	char		*ep;
	long		 n;
	size_t		 len;
	struct in6_addr	 a6;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(uri, "unix:", 5) == 0) {
		u->is_unix = 1;
		p = uri + 5;
		len = strcspn(p, "?");
		if (len == 0 || p[0] != '/' || len >= sizeof(u->path)) {
			snprintf(err, errlen, "unix: needs an absolute path "
			    "shorter than %zu bytes", sizeof(u->path));
			return -1;
		}
		memcpy(u->path, p, len);
		for (q = p + len; *q != '\0'; q += len) {
			q++;
			len = strcspn(q, "&");
			if (strncmp(q, "db=", 3) == 0) {
				n = strtol(q + 3, &ep, 10);
				if (ep != q + len || ep == q + 3 || n < 0 ||
				    n > 65535)
					goto baddb;
				u->db = (int)n;
			} else if (strncmp(q, "password=", 9) == 0 &&
			    len - 9 < sizeof(u->password))
				memcpy(u->password, q + 9, len - 9);
			else {
				snprintf(err, errlen, "unknown or too long "
				    "option '%.*s' (db=N, password=P)",
				    (int)len, q);
				return -1;
			}
		}
		return 0;
	}
	if (strncmp(uri, "redis://", 8) != 0) {
		snprintf(err, errlen, "'%s': expected redis://HOST[:PORT]"
		    " or unix:PATH", uri);
		return -1;
	}
	p = uri + 8;
	if ((at = strchr(p, '@')) != NULL) {
		if (*p != ':' || (size_t)(at - p - 1) >= sizeof(u->password)) {
			snprintf(err, errlen, "expected :PASSWORD@ (at most "
			    "%zu bytes) before the host",
			    sizeof(u->password) - 1);
			return -1;
		}
		memcpy(u->password, p + 1, at - p - 1);
		p = at + 1;
	}
	if (*p == '[') {
		if ((end = strchr(p, ']')) == NULL)
			goto badhost;
		len = end - p - 1;
		p++;
		end++;
	} else {
		len = strcspn(p, ":/");
		end = p + len;
	}
	if (len == 0 || len >= sizeof(u->host))
		goto badhost;
	memcpy(u->host, p, len);
	/* hiredis would resolve a name with a blocking lookup */
	if (inet_pton(AF_INET, u->host, &a6) != 1 &&
	    inet_pton(AF_INET6, u->host, &a6) != 1) {
		snprintf(err, errlen, "'%s': the host must be an IPv4 or "
		    "[IPv6] address, not a name", u->host);
		return -1;
	}
	if (*end == ':') {
		n = strtol(end + 1, &ep, 10);
		if (ep == end + 1 || n < 1 || n > 65535 ||
		    (*ep != '\0' && *ep != '/')) {
			snprintf(err, errlen, "bad port in '%s'", uri);
			return -1;
		}
		u->port = (int)n;
		end = ep;
	}
	if (*end == '/') {
		n = strtol(end + 1, &ep, 10);
		if (ep == end + 1 || *ep != '\0' || n < 0 || n > 65535)
			goto baddb;
		u->db = (int)n;
	} else if (*end != '\0')
		goto badhost;
	return 0;
badhost:
	snprintf(err, errlen, "bad host in '%s'", uri);
	return -1;
baddb:
	snprintf(err, errlen, "bad database number in '%s' (0..65535)", uri);
	return -1;
}

/* daemon.bus, when set, must parse. */
static void
bus_check(struct cparse *cp, const config_setting_t *g)
{
	struct bus_uri	 u;
	char		 err[512];

	if (cp->conf->bus != NULL && config_bus_parse(cp->conf->bus, &u, err,
	    sizeof(err)) == -1)
		cerr(cp, config_setting_get_member(g, "bus"),
		    "daemon: bus: %s", err);
}

/* Checks across the whole configuration, after every file was read. */
static void
cross_check(struct cparse *cp)
{
	struct lsrc		*a, *b;
	struct plugin_conf	*p;
	size_t			 i, j;

	for (i = 0; i < cp->nlsrc; i++) {
		a = &cp->lsrc[i];
		if (a->l->plugin != NULL) {
			TAILQ_FOREACH(p, &cp->conf->plugins, entry)
				if (strcmp(p->name, a->l->plugin) == 0)
					break;
			if (p == NULL) {
				log_warnx("%s:%d: listener '%s': unknown "
				    "plugin '%s'", a->l->file, a->plugin_line,
				    a->l->name ? a->l->name : "?",
				    a->l->plugin);
				cp->errors++;
			}
		}
		for (j = 0; j < i; j++) {
			b = &cp->lsrc[j];
			if (a->l->name != NULL && b->l->name != NULL &&
			    strcmp(a->l->name, b->l->name) == 0) {
				log_warnx("%s:%d: duplicate listener name "
				    "'%s' (first defined at %s:%d)",
				    a->l->file, a->name_line, a->l->name,
				    b->l->file, b->name_line);
				cp->errors++;
			}
			if (addr_same(&a->l->addr, &b->l->addr)) {
				log_warnx("%s:%d: listener '%s': address "
				    "'%s' is already used by listener '%s' "
				    "(%s:%d)", a->l->file, a->listen_line,
				    a->l->name ? a->l->name : "?",
				    a->l->listen,
				    b->l->name ? b->l->name : "?",
				    b->l->file, b->listen_line);
				cp->errors++;
			}
		}
	}
}

struct config *
config_load(const char *path, const char *plugin_dir_override)
{
	struct cparse	 cp;
	struct config	*c;
	const char	*slash;

	memset(&cp, 0, sizeof(cp));
	c = xcalloc(1, sizeof(*c));
	TAILQ_INIT(&c->plugins);
	TAILQ_INIT(&c->listeners);
	c->file = xstrdup(path);
	defaults_apply(SC_DAEMON, c);
	cp.conf = c;

	if ((slash = strrchr(path, '/')) == NULL)
		cp.incdir = xstrdup(".");
	else if (slash == path)
		cp.incdir = xstrdup("/");
	else if (xasprintf(&cp.incdir, "%.*s", (int)(slash - path),
	    path) == -1)
		fatal("xasprintf");

	file_parse(&cp, path, 1);
	dropins_parse(&cp);
	cross_check(&cp);

	if (plugin_dir_override != NULL) {
		free(c->plugin_dir);
		c->plugin_dir = xstrdup(plugin_dir_override);
	}
	free(cp.incdir);
	free(cp.lsrc);
	if (cp.errors > 0) {
		config_free(c);
		return NULL;
	}
	return c;
}

void
config_free(struct config *c)
{
	struct plugin_conf	*p;
	struct listener_conf	*l;

	if (c == NULL)
		return;
	while ((p = TAILQ_FIRST(&c->plugins)) != NULL) {
		TAILQ_REMOVE(&c->plugins, p, entry);
		free(p->name);
		free(p->path);
		free(p->ini);
		free(p->file);
		free(p);
	}
	while ((l = TAILQ_FIRST(&c->listeners)) != NULL) {
		TAILQ_REMOVE(&c->listeners, l, entry);
		lconf_free(l);
	}
	if (c->ldef != NULL)
		lconf_free(c->ldef);
	free(c->file);
	free(c->plugin_dir);
	free(c->pidfile);
	free(c->log_file);
	free(c->metrics);
	free(c->control);
	free(c->bus);
	free(c->user);
	free(c->group);
	free(c);
}

char *
config_plugin_path(const struct config *c, const struct plugin_conf *p)
{
	char	*r;

	if (p->path[0] == '/')
		return xstrdup(p->path);
	if (xasprintf(&r, "%s/%s", c->plugin_dir, p->path) == -1)
		fatal("xasprintf");
	return r;
}

static const char *
ktype_name(int type)
{
	switch (type) {
	case KT_STRING:
		return "string";
	case KT_FILE:
	case KT_PATH:
		return "path";
	case KT_INT:
	case KT_SIZE:
		return "integer";
	case KT_DOUBLE:
		return "number";
	case KT_LEVEL:
		return "level";
	case KT_FRAMING:
		return "framing";
	case KT_MODE:
		return "mode";
	case KT_BOOL:
		return "boolean";
	case KT_ACL:
		return "address list";
	case KT_LDEF:
		return "group";
	case KT_PROXY:
		return "string";
	case KT_LIST:
		return "array of strings";
	case KT_VERIFY:
		return "none|optional|require";
	case KT_TLS:
		return "group";
	case KT_SNI:
		return "list of groups";
	}
	return "?";
}

static void	 list_dump(FILE *, const char *, char *const *, const char *);
static void	 tls_dump(FILE *, const char *, const struct tls_conf *,
		    const char *);

/* One key of scope at base as libconfig text; nothing when unset. */
static void
key_dump(FILE *fp, const struct ckey *k, const void *base, const char *ind)
{
	static const char *const levels[] = {
		[LOG_ERR] = "err", [LOG_WARNING] = "warning",
		[LOG_NOTICE] = "notice", [LOG_INFO] = "info",
		[LOG_DEBUG] = "debug"
	};
	const char	*p = (const char *)base + k->off;
	const char	*s;
	char		 num[64];
	int		 v;

	switch (k->type) {
	case KT_STRING:
	case KT_FILE:
	case KT_PATH:
		if ((s = *(char *const *)(const void *)p) == NULL)
			return;
		fprintf(fp, "%s%s = \"", ind, k->name);
		for (; *s != '\0'; s++)
			fprintf(fp, *s == '"' || *s == '\\' ? "\\%c" : "%c",
			    *s);
		fputs("\";\n", fp);
		break;
	case KT_INT:
		fprintf(fp, "%s%s = %d;\n", ind, k->name,
		    *(const int *)(const void *)p);
		break;
	case KT_SIZE:
		fprintf(fp, "%s%s = %zu;\n", ind, k->name,
		    *(const size_t *)(const void *)p);
		break;
	case KT_DOUBLE:
		/* libconfig reads a number without a point as an integer */
		snprintf(num, sizeof(num), "%.17g",
		    *(const double *)(const void *)p);
		fprintf(fp, "%s%s = %s%s;\n", ind, k->name, num,
		    strpbrk(num, ".e") == NULL ? ".0" : "");
		break;
	case KT_LEVEL:
		v = *(const int *)(const void *)p;
		fprintf(fp, "%s%s = \"%s\";\n", ind, k->name,
		    v >= LOG_ERR && v <= LOG_DEBUG ? levels[v] : "info");
		break;
	case KT_FRAMING:
		fprintf(fp, "%s%s = \"%s\";\n", ind, k->name,
		    framings[*(const int *)(const void *)p]);
		break;
	case KT_MODE:
		fprintf(fp, "%s%s = \"%04o\";\n", ind, k->name,
		    *(const int *)(const void *)p);
		break;
	case KT_BOOL:
		fprintf(fp, "%s%s = %s;\n", ind, k->name,
		    *(const int *)(const void *)p ? "true" : "false");
		break;
	case KT_PROXY:
		if ((v = *(const int *)(const void *)p) == 0)
			return;
		fprintf(fp, "%s%s = \"%s\";\n", ind, k->name,
		    v == PROXY_V1 ? "v1" : v == PROXY_V2 ? "v2" : "any");
		break;
	case KT_ACL:
		if (*(struct acl *const *)(const void *)p == NULL)
			return;
		fprintf(fp, "%s%s = ", ind, k->name);
		acl_print(*(struct acl *const *)(const void *)p, fp);
		fputs(";\n", fp);
		break;
	case KT_LIST:
		list_dump(fp, k->name, *(char **const *)(const void *)p, ind);
		break;
	case KT_VERIFY:
		fprintf(fp, "%s%s = \"%s\";\n", ind, k->name,
		    verifies[*(const int *)(const void *)p]);
		break;
	case KT_TLS:
		tls_dump(fp, k->name,
		    *(struct tls_conf *const *)(const void *)p, ind);
		break;
	case KT_LDEF:	/* merged into every listener */
	case KT_SNI:	/* inside tls_dump */
		break;
	}
}

/* name = [ "a", "b" ]; nothing when unset. */
static void
list_dump(FILE *fp, const char *name, char *const *l, const char *ind)
{
	size_t	 i;

	if (l == NULL)
		return;
	fprintf(fp, "%s%s = [", ind, name);
	for (i = 0; l[i] != NULL; i++)
		fprintf(fp, "%s \"%s\"", i > 0 ? "," : "", l[i]);
	fputs(" ];\n", fp);
}

/* A listener's tls group with its sni list; nothing when plaintext. */
static void
tls_dump(FILE *fp, const char *name, const struct tls_conf *t,
    const char *ind)
{
	char	 in2[32], in3[32];
	size_t	 i, j;

	if (t == NULL)
		return;
	snprintf(in2, sizeof(in2), "%s  ", ind);
	snprintf(in3, sizeof(in3), "%s    ", ind);
	fprintf(fp, "%s%s = {\n", ind, name);
	for (i = 0; i < NKEYS; i++)
		if (keys[i].scope == SC_TLS)
			key_dump(fp, &keys[i], t, in2);
	if (t->nsni > 0) {
		fprintf(fp, "%ssni = (\n", in2);
		for (j = 0; j < t->nsni; j++) {
			fprintf(fp, "%s  {\n", in2);
			for (i = 0; i < NKEYS; i++)
				if (keys[i].scope == SC_SNI)
					key_dump(fp, &keys[i], &t->sni[j],
					    in3);
			fprintf(fp, "%s  }%s\n", in2,
			    j + 1 < t->nsni ? "," : "");
		}
		fprintf(fp, "%s);\n", in2);
	}
	fprintf(fp, "%s};\n", ind);
}

void
config_dump(FILE *fp, const struct config *c)
{
	const struct plugin_conf	*pc;
	const struct listener_conf	*lc;
	size_t				 i;
	int				 unix_l;

	fprintf(fp, "# %s as asockd understands it: defaults filled in,\n"
	    "# @include and conf.d/ merged, paths resolved.\n", c->file);
	fputs("daemon: {\n", fp);
	for (i = 0; i < NKEYS; i++)
		if (keys[i].scope == SC_DAEMON)
			key_dump(fp, &keys[i], c, "  ");
	fputs("};\nplugins: {\n", fp);
	TAILQ_FOREACH(pc, &c->plugins, entry) {
		fprintf(fp, "  # %s:%d\n  %s = {\n", pc->file, pc->line,
		    pc->name);
		for (i = 0; i < NKEYS; i++)
			if (keys[i].scope == SC_PLUGIN)
				key_dump(fp, &keys[i], pc, "    ");
		fputs("  };\n", fp);
	}
	fputs("};\nlisteners: (\n", fp);
	TAILQ_FOREACH(lc, &c->listeners, entry) {
		unix_l = lc->addr.kind == ASOCKD_UNIX ||
		    lc->addr.kind == ASOCKD_UNIX_DGRAM;
		fprintf(fp, "  # %s:%d\n  {\n", lc->file, lc->line);
		for (i = 0; i < NKEYS; i++) {
			if (keys[i].scope != SC_LISTENER)
				continue;
			/* mode, owner, group: unix sockets only */
			if (!unix_l && (strcmp(keys[i].name, "mode") == 0 ||
			    strcmp(keys[i].name, "owner") == 0 ||
			    strcmp(keys[i].name, "group") == 0))
				continue;
			/* ipv6only: IPv6 listeners only */
			if (lc->addr.ss.ss_family != AF_INET6 &&
			    strcmp(keys[i].name, "ipv6only") == 0)
				continue;
			if (unix_l && strcmp(keys[i].name, "listen") == 0) {
				/* as resolved against its file's directory */
				fprintf(fp, "    listen = \"%s:%s\";\n",
				    lc->addr.kind == ASOCKD_UNIX ? "unix" :
				    "unix-dgram", ((const struct sockaddr_un *)
				    (const void *)&lc->addr.ss)->sun_path);
				continue;
			}
			key_dump(fp, &keys[i], lc, "    ");
		}
		fprintf(fp, "  }%s\n", TAILQ_NEXT(lc, entry) ? "," : "");
	}
	fputs(");\n", fp);
}

void
config_print_keys(FILE *fp)
{
	static const char *const scopes[] = {
		[SC_DAEMON] = "daemon",
		[SC_PLUGIN] = "plugins.NAME",
		[SC_LISTENER] = "listeners[]",
		[SC_TLS] = "listeners[].tls",
		[SC_SNI] = "listeners[].tls.sni[]",
	};
	const struct ckey	*k;
	size_t			 i;

	for (i = 0; i < NKEYS; i++) {
		k = &keys[i];
		fprintf(fp, "%s.%s (%s", scopes[k->scope], k->name,
		    ktype_name(k->type));
		if (k->required)
			fprintf(fp, ", required");
		if (k->type == KT_DOUBLE)
			fprintf(fp, ", %g..%g", k->min, k->max);
		else if (k->type == KT_INT || k->type == KT_SIZE)
			fprintf(fp, ", %.0f..%.0f", k->min, k->max);
		if (k->def != NULL)
			fprintf(fp, ", default %s%s%s",
			    k->type == KT_STRING ? "\"" : "", k->def,
			    k->type == KT_STRING ? "\"" : "");
		fprintf(fp, ")\n\t%s\n", k->doc);
	}
}
