/*
 * asockd.h - the daemon's private header: core structures and the
 * prototypes of every daemon source file, one section per file.
 *
 * The public plugin ABI is include/asockd/plugin.h; the opaque types it
 * declares (struct asockd_conn, asockd_listener, asockd_instance,
 * asockd_timer) are completed here.  No libev or libconfig type appears in
 * the public header.
 */
#ifndef ASOCKD_H
#define ASOCKD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include <ev.h>

#include "asockd/plugin.h"
#include "addr.h"	/* addr.c: shared with libasockd-client */
#include "mp.h"		/* mp.c, utf8.c: shared with libasockd-client */

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* glibc's sys/queue.h lacks the _SAFE iterators. */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#ifndef STAILQ_LAST
#define STAILQ_LAST(head, type, field)					\
	(STAILQ_EMPTY(head) ? NULL : (struct type *)(void *)		\
	    ((char *)((head)->stqh_last) - offsetof(struct type, field)))
#endif

#define ASOCKD_READ_BUF		(64 * 1024)	/* shared read buffer */
#define ASOCKD_IOV_MAX		64		/* iovecs per writev */

/* ---------------------------------------------------------------- log.c */

#define LOG_TO_STDERR	1
#define LOG_TO_SYSLOG	2

void	 log_init(int where, int level);
/*
 * Log to path (appending, created 0640 and, when uid is not -1, given to
 * uid:gid) from now on; also what SIGUSR1 calls to reopen it after
 * rotation.  The file becomes stderr, so workers inherit it.  -1 after
 * logging why (the previous destination stays).
 */
int	 log_file_open(const char *path, uid_t uid, gid_t gid);
/*
 * Until the daemon is ready, also write warnings and errors to fd (the
 * pipe to the process that started it, without -f); -1 stops that.
 */
void	 log_tee(int fd);
void	 log_setlevel(int level);
int	 log_getlevel(void);
/* "err", "warning", "notice", "info", "debug" -> level, or -1. */
int	 log_level_parse(const char *name);
void	 vlog(int pri, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
void	 logit(int pri, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * log_err/log_errx: what stops the daemon, fails a start-up or drops a
 * listener; log_warn/log_warnx: what it survives.  The plain forms append
 * strerror(errno).
 */
void	 log_err(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 log_errx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 log_notice(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 log_info(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
void	 fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* ------------------------------------------------------------- counters.c */

/*
 * Counters kept by each worker in a shared page, one block per worker
 * slot: the worker is the only writer of its block (plain stores, no lock,
 * no syscall), the master sums the blocks and, when a worker exits, folds
 * its block into totals of its own, so a count never goes backwards.
 * Listeners and plugins are matched by name, across generations.
 */
#define CTR_LISTENERS		64	/* per worker; more share a sink */
#define CTR_PLUGINS		32
#define CTR_NAMELEN		64
#define CTR_REASONS		16	/* ASOCKD_CLOSE_*, 0..OVERFLOW used */
#define CTR_BUCKETS		8	/* callback time: 7 bounds and +Inf */

/* Why a connection was refused (a slot each; later reasons append). */
enum ctr_refuse {
	CTR_REFUSE_MAXCONN = 0,	/* a worker stopped accepting at its share */
	CTR_REFUSE_PLUGIN,	/* on_accept returned an error */
	CTR_REFUSE_DENY,	/* access lists and limits (policy.c) */
	CTR_REFUSE_ALLOW,
	CTR_REFUSE_RATE,
	CTR_REFUSE_PER_SOURCE,
	CTR_REFUSE_PROXY,
	/* later reasons: the next slots */
	CTR_REFUSE_MAX = 8
};

struct ctr_listener {
	char		 name[CTR_NAMELEN];
	uint64_t	 accepted;
	uint64_t	 refused[CTR_REFUSE_MAX];
	uint64_t	 closed[CTR_REASONS];
	uint64_t	 bytes_in, bytes_out;
	uint64_t	 msgs_in, msgs_out;
	uint64_t	 framing_errors;
	uint64_t	 backpressure;	/* reading paused at sndq_high */
};

struct ctr_plugin {
	char		 name[CTR_NAMELEN];
	uint64_t	 calls;
	uint64_t	 hist[CTR_BUCKETS];	/* per bucket, not cumulative */
	uint64_t	 time_ns;
	uint64_t	 crashes;	/* master only: workers it killed */
};

struct ctr_block {
	uint64_t	 iterations;	/* loop turns */
	uint64_t	 stall_ns[2];	/* worst turn, this and last 30 s */
	uint64_t	 stall_win;	/* which 30 s window stall_ns[] hold */
	uint64_t	 bus_dropped;	/* bus messages lost (bus_drop()) */
	int		 nlisteners, nplugins;
	struct ctr_listener	 listeners[CTR_LISTENERS];
	struct ctr_plugin	 plugins[CTR_PLUGINS];
};

/* The single writer's increment: a plain load and store, never torn. */
#ifdef ASOCKD_NO_COUNTERS
#define CTR_ADD(f, n)	((void)0)
#else
#define CTR_ADD(f, n)	__atomic_store_n(&(f), (f) + (uint64_t)(n),	\
			    __ATOMIC_RELAXED)
#endif
#define CTR_GET(f)	__atomic_load_n(&(f), __ATOMIC_RELAXED)

/* The callback time histogram's upper bounds in seconds. */
extern const double	 ctr_bounds[CTR_BUCKETS - 1];
/* Where counts with no listener go (outbound connections, overflow). */
extern struct ctr_listener ctr_sink;
extern struct ctr_plugin ctr_psink;
extern struct ctr_block	*ctr_shm;	/* one block per worker slot */

/* Master, before any fork: map n blocks. */
void	 ctr_init(int n);
struct config;
/* Master: zero slot's block and name conf's listeners and plugins. */
void	 ctr_slot_reset(int slot, const struct config *);
/* Master: a worker exited: add its block to the totals. */
void	 ctr_slot_fold(int slot);
/* Master: plugin name's code killed a worker. */
void	 ctr_plugin_crash(const char *name);
/* Worker: count into slot's block; start the loop-stall watchers. */
void	 ctr_attach(int slot);
struct ctr_listener *ctr_listener_find(const char *name);
struct ctr_plugin *ctr_plugin_find(const char *name);
/* Outermost callback: add its duration (ctr_now() ticks) to p. */
void	 ctr_callback(struct ctr_plugin *, uint64_t ticks);
/*
 * A monotonic clock for callback durations, in ticks: the CPU's time
 * stamp counter when the kernel's clocksource is the TSC (one rdtsc,
 * 11 ns here, against 25 ns for clock_gettime through the vDSO: a
 * callback is timed twice), else nanoseconds.  ctr_tick_ns converts;
 * ctr_init() calibrates it.
 */
extern int	 ctr_tsc;
extern double	 ctr_tick_ns;
static inline uint64_t
ctr_now(void)
{
	struct timespec	 ts;

#if defined(__x86_64__) || defined(__i386__)
	if (ctr_tsc)
		return __builtin_ia32_rdtsc();
#endif
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
/*
 * Master: the totals of every listener/plugin name so far (folded blocks)
 * plus the blocks of live slots (live[slot] != 0).  Arrays are malloc'd;
 * free with ctr_sum_free.
 */
struct ctr_sum {
	struct ctr_listener	*l;
	int			 nl;
	struct ctr_plugin	*p;
	int			 np;
	uint64_t		 bus_dropped;
};
void	 ctr_sum(struct ctr_sum *, const char *live);
/* One bus message lost: a worker's count, or the master's own (relay). */
void	 ctr_bus_dropped(void);
void	 ctr_sum_free(struct ctr_sum *);

/* ---------------------------------------------------------------- xmalloc.c */

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- ini.c */

/* A plugin's INI settings: every (section, key) with its value and line. */
struct ini_entry {
	char			*section;
	char			*key;
	char			*value;
	int			 line;
	TAILQ_ENTRY(ini_entry)	 entry;
};
TAILQ_HEAD(ini_entries, ini_entry);

struct ini {
	char			*file;
	struct ini_entries	 entries;
};

/*
 * Parse an INI file with inih.  Returns NULL after printing
 * "FILE:LINE: message" (or "FILE: strerror") to the log.
 */
struct ini *ini_load(const char *path);
void	 ini_free(struct ini *);
/* Entry for section/key (section "" for keys before any [section]). */
const struct ini_entry *ini_find(const struct ini *, const char *section,
	    const char *key);
/* Parse an INI value as the getters do; 0, or -1 when it does not. */
int	 ini_parse_int(const char *, long long *);
int	 ini_parse_double(const char *, double *);
int	 ini_parse_bool(const char *, int *);
/* "integer", "boolean", ... for an enum asockd_setting_type. */
const char *ini_type_name(int type);
/* Check a plugin's settings table itself; who prefixes the log lines. */
int	 ini_table_check(const struct asockd_plugin *, const char *who);
/* The table's entry for section/key, or NULL (also without a table). */
const struct asockd_setting *ini_setting(const struct asockd_plugin *,
	    const char *section, const char *key);
/*
 * Check every key of ini against the plugin's table (nothing without
 * one): unknown keys and bad values are logged as FILE:LINE; -1 then.
 */
int	 ini_validate(const struct ini *, const struct asockd_plugin *,
	    const char *plugin);
/* The table as --plugin-help prints it. */
void	 ini_table_print(FILE *, const struct asockd_plugin *);

/* ---------------------------------------------------------------- config.c */

enum framing {
	FRAMING_RAW = 0,
	FRAMING_LINE,
	FRAMING_LENGTH,
	FRAMING_ARCHIVE
};

/*
 * Defaults of the config key table (config.c writes them as text with
 * DEF_STR) that other units use too: outbound connections take the
 * listeners' defaults, the master's last resort the shutdown timeout.
 */
#define DEF_SHUTDOWN_TIMEOUT	10.0
#define DEF_SNDQ_HIGH		262144
#define DEF_SNDQ_LOW		65536
#define DEF_SNDQ_MAX		4194304
#define DEF_MAX_INPUT		65536
/* proxy_protocol: the header versions taken (a bit each). */
#define PROXY_V1		1
#define PROXY_V2		2
#define DEF_HANDSHAKE_TIMEOUT	10.0	/* tls; outbound tls:// too */
/* The most workers daemon.workers asks for, and "one per CPU" gives. */
#define WORKERS_MAX		1024
#define DEF_STR_(x)		#x
#define DEF_STR(x)		DEF_STR_(x)

struct plugin_conf {
	char			*name;
	char			*path;		/* as written */
	char			*ini;		/* resolved INI path, or NULL */
	char			*file;		/* where it was defined */
	int			 line;
	TAILQ_ENTRY(plugin_conf) entry;
};
TAILQ_HEAD(plugin_confs, plugin_conf);

/* verify_client */
enum tls_verify {
	TLS_VERIFY_NONE = 0,
	TLS_VERIFY_OPTIONAL,
	TLS_VERIFY_REQUIRE
};

/* One tls.sni entry: a certificate chosen by the client's server name. */
struct tls_sni_conf {
	char			*server_name;
	char			*certificate;	/* resolved path */
	char			*key;		/* resolved path */
	char			*file;		/* where it was defined */
	int			 line;
	int			 cert_line;
	int			 key_line;
};

/*
 * A listener's tls group.  config.c parses it; tls.c (the transport room)
 * builds the OpenSSL contexts in the master before the workers fork and
 * hangs them on ctx, with ctx_free for config_free() to call.
 */
struct tls_conf {
	char			*certificate;	/* resolved path */
	char			*key;		/* resolved path */
	char			**protocols;	/* NULL-terminated, or NULL */
	char			*ciphers;
	char			*ciphersuites;
	char			**alpn;		/* NULL-terminated, or NULL */
	char			*client_ca;	/* resolved path, or NULL */
	int			 verify_client;	/* enum tls_verify */
	int			 session_tickets;
	double			 handshake_timeout;
	struct tls_sni_conf	*sni;
	size_t			 nsni;
	char			*file;		/* where it was defined */
	int			 line;
	int			 cert_line;
	int			 key_line;
	int			 ca_line;
	int			 proto_line;
	int			 ciphers_line;
	int			 suites_line;
	void			*ctx;		/* tls.c's contexts, or NULL */
	void			(*ctx_free)(void *);
};

struct listener_conf {
	char			*name;
	char			*listen;	/* URI as written */
	struct addr		 addr;
	char			*plugin;	/* name in plugins: */
	int			 backlog;
	int			 max_connections;
	double			 idle_timeout;	/* 0: none */
	size_t			 sndq_high;	/* output high-water mark */
	size_t			 sndq_low;	/* output low-water mark */
	size_t			 sndq_max;	/* output hard cap: abort */
	size_t			 max_input;	/* unconsumed input limit */
	int			 framing;	/* enum framing */
	size_t			 max_line;
	size_t			 max_frame;
	char			*record;	/* record = "DIR", or NULL */
	int			 mode;		/* unix socket file mode */
	char			*owner;		/* unix socket owner, or NULL */
	char			*group;		/* unix socket group, or NULL */
	uid_t			 uid;		/* owner's uid, or -1 */
	gid_t			 gid;		/* group's gid, or -1 */
	int			 workers;	/* 0: all workers */
	/* access policy (policy.c, docs/access.md) */
	struct acl		*allow;		/* NULL: everyone */
	struct acl		*deny;		/* NULL: no one */
	int			 ipv6only;	/* [::] takes IPv6 only */
	int			 max_per_source; /* 0: no limit */
	int			 source_prefix_v4;
	int			 source_prefix_v6;
	double			 rate;		/* per source per s; 0: off */
	int			 rate_burst;	/* 0: ceil(rate) */
	int			 proxy_protocol; /* PROXY_V1|V2 bits; 0: off */
	struct acl		*proxy_trusted;	/* who may send the header */
	double			 proxy_timeout;
	struct tls_conf		*tls;		/* NULL: plaintext */
	char			*file;		/* where it was defined */
	int			 line;
	TAILQ_ENTRY(listener_conf) entry;
};
TAILQ_HEAD(listener_confs, listener_conf);

struct config {
	char			*file;		/* main config file */
	char			*plugin_dir;
	int			 log_level;
	double			 shutdown_timeout;
	int			 workers;	/* 0: one per CPU */
	double			 worker_timeout; /* hung worker; 0: off */
	char			*pidfile;
	char			*log_file;	/* NULL: stderr or syslog */
	char			*metrics;	/* tcp:// URI, or NULL */
	struct addr		 metrics_addr;
	char			*control;	/* unix socket path, or NULL */
	char			*user;
	char			*group;
	/* daemon.listener_defaults, or NULL: what listeners start from */
	struct listener_conf	*ldef;
	char			*bus;		/* daemon.bus; NULL: local */
	struct plugin_confs	 plugins;
	struct listener_confs	 listeners;
};

/*
 * Parse and validate path into a new struct config.  No side effects: no
 * sockets, no dlopen.  Every error is logged as "FILE:LINE: message" (all
 * of them, not just the first); returns NULL when there was any.
 * plugin_dir_override, when not NULL, replaces daemon.plugin_dir.
 */
struct config *config_load(const char *path, const char *plugin_dir_override);
void	 config_free(struct config *);
/* The resolved path of a plugin's shared object (plugin_dir + path). */
char	*config_plugin_path(const struct config *, const struct plugin_conf *);
/* asockd -T: c as libconfig text, every key with its value. */
void	 config_dump(FILE *, const struct config *);
/* Writes the key table as documentation (used for docs and --help). */
void	 config_print_keys(FILE *);

/* ---------------------------------------------------------------- acl.c */

/* An address in canonical form: IPv6, IPv4 as ::ffff:a.b.c.d. */
struct acl_key {
	uint64_t		 hi, lo;
};
struct acl;

/* A new empty list (one reference); entries are added, then finished. */
struct acl *acl_new(void);
struct acl *acl_ref(struct acl *);
void	 acl_free(struct acl *);
/* Add "ADDR", "ADDR/BITS" (IPv4 or IPv6) or "unix"; -1 with err set. */
int	 acl_add(struct acl *, const char *, char *err, size_t errlen);
/* Sort and merge the ranges; call once after the last acl_add. */
void	 acl_finish(struct acl *);
/* 1 when k (or a unix peer) is in the list. */
int	 acl_match(const struct acl *, const struct acl_key *);
int	 acl_match_unix(const struct acl *);
size_t	 acl_ranges(const struct acl *);
/* Print the entries as they were added, as a libconfig array. */
void	 acl_print(const struct acl *, FILE *);
/* The canonical key of an AF_INET/AF_INET6 address; -1 for others. */
int	 acl_key(const struct sockaddr *, socklen_t, struct acl_key *);
/* 1 when k is an IPv4 (mapped) address. */
int	 acl_key_v4(const struct acl_key *);
/* Mask k to its source prefix (IPv4 bits, or IPv6 bits). */
void	 acl_key_prefix(struct acl_key *, int prefix_v4, int prefix_v6);
/* "10.1.2.3", "2001:db8::/64" (bits of the address's own family). */
void	 acl_key_format(const struct acl_key *, int bits, char *, size_t);
/* A parsed daemon.bus (Redis) address. */
struct bus_uri {
	int			 is_unix;
	char			 host[256];
	int			 port;
	char			 path[108];
	char			 password[256];
	int			 db;
};

/* Parse a daemon.bus URI; -1 with the reason in err. */
int	 config_bus_parse(const char *uri, struct bus_uri *, char *err,
	    size_t errlen);

/* ---------------------------------------------------------------- plugin.c */

/* A loaded plugin: the daemon's side of struct asockd_instance. */
struct asockd_instance {
	char			*name;
	char			*path;		/* resolved .so path */
	void			*dl;
	const struct asockd_plugin *desc;
	void			*pdata;		/* from init */
	struct ini		*ini;		/* NULL: no INI file */
	int			 inited;
	struct ctr_plugin	*ctr;		/* counters.c; never NULL */
	TAILQ_ENTRY(asockd_instance) entry;
};
TAILQ_HEAD(instances, asockd_instance);

/*
 * dlopen the plugin, find and check the descriptor (no plugin code runs
 * before the checks pass), load its INI file.  NULL after logging why.
 */
struct asockd_instance *plugin_load(const struct config *,
	    const struct plugin_conf *);
int	 plugin_init(struct asockd_instance *);
int	 plugin_validate(struct asockd_instance *);
void	 plugin_unload(struct asockd_instance *);
void	 plugin_unload_all(struct instances *);
struct asockd_instance *plugin_find(struct instances *, const char *name);
/* asockd --plugin-help: print a plugin's settings table; exit code. */
int	 plugin_help(const char *name_or_path, const char *plugin_dir);

/* ---------------------------------------------------------------- hostapi.c */

extern const struct asockd_host host_api;

/* ---------------------------------------------------------------- cb.c */

/*
 * Bracket every call into plugin code (of any kind): CB_CALL(rc =
 * d->on_accept(c)).  Work deferred with cb_defer() while plugin code runs
 * is carried out by the cb_hook() functions once the outermost call has
 * returned.
 */
#define CB_CALL(call) do {						\
	cb_enter();							\
	call;								\
	cb_leave();							\
} while (0)
/*
 * The same for a call into inst's code, counted for inst: the calls, and
 * the time of the outermost one (two ctr_now() reads) in its histogram.
 */
#ifdef ASOCKD_NO_COUNTERS
#define CB_CALL_P(inst, call) do {					\
	(void)(inst);							\
	CB_CALL(call);							\
} while (0)
#else
#define CB_CALL_P(inst, call) do {					\
	uint64_t cb_t0_ = cb_depth == 0 ? ctr_now() : 0;		\
	cb_enter();							\
	call;								\
	CTR_ADD((inst)->ctr->calls, 1);					\
	if (cb_t0_ != 0)						\
		ctr_callback((inst)->ctr, ctr_now() - cb_t0_);		\
	cb_leave();							\
} while (0)
#endif

/* Plugin calls on the stack now (read-only outside cb.c). */
extern int		 cb_depth;
void	 cb_enter(void);
void	 cb_leave(void);
/* Run fn at depth 0 whenever cb_defer() was called (register once). */
void	 cb_hook(void (*fn)(void));
/* Ask for the hooks to run when the outermost plugin call returns. */
void	 cb_defer(void);

/* ---------------------------------------------------------------- policy.c */

/* What the policy table counts (policy_count()). */
enum policy_count {
	POLICY_DENY = 1,	/* refused: in deny */
	POLICY_ALLOW,		/* refused: not in allow */
	POLICY_RATE,		/* refused: the source's bucket is empty */
	POLICY_PER_SOURCE,	/* refused: max_per_source reached */
	POLICY_PROXY,		/* refused: PROXY header bad or untrusted */
	POLICY_DGRAM_DROPPED,	/* datagrams among the refusals */
	POLICY_EVICTED,		/* table entries evicted */
	POLICY_UNTRACKED,	/* admitted without an entry (window full) */
	POLICY_NCOUNTS
};

/*
 * What the policy step knows of an admitted connection beyond its peer
 * address: handed to conn_accept(), owned by the connection, freed with
 * policy_peer_free() when it closes.
 */
struct policy_peer {
	int			 slot;		/* table entry, or -1 */
	int			 proxied;	/* came with a PROXY header */
	int			 version;	/* its version, 1 or 2 */
	int			 local;		/* LOCAL/UNKNOWN: peer is lb */
	struct sockaddr_storage	 peer;		/* the client (or lb) */
	socklen_t		 peerlen;
	struct sockaddr_storage	 lb;		/* the balancer */
	socklen_t		 lblen;
	struct sockaddr_storage	 dst;		/* what the client reached */
	socklen_t		 dstlen;
	unsigned char		*tlv;		/* v2 TLVs (owned), or NULL */
	size_t			 tlvlen;
};

/*
 * A listener with proxy_protocol hands each accepted fd to
 * policy_proxy_start() (after policy_proxy_trusted() said yes); once its
 * header is read the hook set with policy_on_proxied() gets the fd, the
 * peer the header named and the policy_peer (owned by the hook's
 * callee), arg as given.  A bad, late or refused header closes the fd.
 */
void	 policy_on_proxied(void (*fn)(void *arg, int fd,
	    const struct sockaddr *, socklen_t, struct policy_peer *));
/* 1 when the balancer sa may send a header to lc; else counted, logged. */
int	 policy_proxy_trusted(const struct listener_conf *, int kind, int fd,
	    const struct sockaddr *, socklen_t);
void	 policy_proxy_start(const struct listener_conf *, int kind, int fd,
	    const struct sockaddr *, socklen_t, void *arg);
/* Close the fds still waiting for a header for arg (NULL: all). */
void	 policy_proxy_cancel(void *arg);

/* Release p's table entry and free it (NULL: nothing). */
void	 policy_peer_free(struct policy_peer *);

/* Map the daemon-wide table (the master, before it forks). */
void	 policy_shm_init(void);
/* 1 when lc has allow, deny or a limit. */
int	 policy_active(const struct listener_conf *);
/*
 * May the peer sa (accepted as fd on a listener of kind) be served?  0
 * and *slot (-1, or the entry to policy_release() when it closes), or
 * -POLICY_DENY .. -POLICY_PER_SOURCE, the reason, when it is refused
 * (counted and logged; the caller closes fd).
 */
int	 policy_admit(const struct listener_conf *, int kind, int fd,
	    const struct sockaddr *, socklen_t, int *slot);
/* The same for one datagram: 0 pass, -reason drop (counted). */
int	 policy_datagram(const struct listener_conf *, int kind,
	    const struct sockaddr *, socklen_t);
/* A connection admitted with slot closed. */
void	 policy_release(int slot);
uint64_t policy_count(int which);
/* Log the counters (the master, at exit), when any is not 0. */
void	 policy_report(void);

/* -------------------------------------------------------------- listener.c */

struct asockd_listener {
	struct listener_conf	*conf;
	struct asockd_instance	*inst;
	int			 fd;
	int			 kind;
	char			 uri[160];	/* bound address, as a URI */
	ev_io			 io;
	int			 paused;	/* max_connections reached */
	int			 disabled;	/* asockctl disable listener */
	int			 inherited;	/* fd from socket activation */
	unsigned int		 nconns;
	struct ctr_listener	*ctr;		/* counters.c; never NULL */
	TAILQ_HEAD(, asockd_conn) conns;
	TAILQ_ENTRY(asockd_listener) entry;
};
TAILQ_HEAD(listeners, asockd_listener);

extern struct listeners	 listeners;
/*
 * Worker processes that accept on the same sockets (set in each worker):
 * each enforces its share, max_connections / listener_share rounded up,
 * of a listener that is not pinned to one worker.
 */
extern unsigned int	 listener_share;

/*
 * For -t: what binding would need, checked without binding - a unix
 * socket's directory exists and is writable, no other file is in its
 * place, a port below 1024 may be bound.  -1 after logging each problem.
 */
int	 listener_check_all(const struct config *);
/* Bind every listener of conf (no plugin code).  -1 after logging. */
int	 listener_open_all(struct config *);
/*
 * Reload: make the listener list that of nc.  A listener with the same
 * name and address takes over the old socket, the others are bound; the
 * old list goes to oldl.  -1 after logging, and nothing changed.
 */
int	 listener_swap(struct config *nc, struct listeners *oldl);
/* Free the listeners of head, closing the sockets keep does not hold. */
void	 listener_drop(struct listeners *head, struct listeners *keep,
	    int logit);
/* Start/stop the accept (or datagram) watchers. */
void	 listener_start_all(void);
void	 listener_stop_all(void);
/* Close l's socket; remove its unix socket file unless inherited. */
void	 listener_shut(struct asockd_listener *);
/* Close every listening socket (and unlink unix socket files). */
void	 listener_close_all(void);
/* asockctl disable (1) / enable (0) listener: stop or resume accepting. */
void	 listener_disable(struct asockd_listener *, int);
/* A connection of l closed: resume accepting if it was paused. */
void	 listener_conn_gone(struct asockd_listener *);
unsigned int listener_count(void);
/* Count a refusal of the access policy on l (listener_accept_cb,
 * dgram.c) by its reason, -policy_admit() or -policy_datagram(). */
void	 listener_refused(struct asockd_listener *, int reason);
/* The listener's name in the config (for hostapi.c). */
const char *listener_name(const struct asockd_listener *);
/* Close and free every listener (at exit). */
void	 listener_free_all(void);

/* ---------------------------------------------------------------- tls.c */

struct tls;
struct sendq;

/*
 * Build the OpenSSL contexts of every TLS listener of conf (the master,
 * before the workers fork: keys readable only by root are read here), and
 * the ticket key seed their workers share.  Certificates that expired or
 * expire within 30 days are warned about (-t, start-up, reload).  -1
 * after logging each problem as FILE:LINE; conf is then unchanged.
 */
int	 tls_load_all(struct config *conf);
/* A server session on an accepted fd of a listener with tls. */
struct tls *tls_server(struct tls_conf *, int fd);
/*
 * A client session on a connected fd (host->connect "tls://"): the
 * system's CA store (SSL_CERT_FILE / SSL_CERT_DIR override it), SNI and
 * the certificate's name checked against host.
 */
struct tls *tls_client(int fd, const char *host);
/*
 * Advance the handshake: 1 done, 0 in progress (wait for the socket to be
 * readable, or writable when tls_want_write()), -1 failed (tls_error()).
 */
int	 tls_handshake(struct tls *);
int	 tls_want_write(const struct tls *);
/*
 * Read plaintext: bytes (> 0), 0 at the peer's close_notify, -1 with
 * errno: EAGAIN (wait), ECONNRESET (the stream ended without
 * close_notify: truncated), EPROTO (a TLS error: tls_error()).
 */
ssize_t	 tls_read(struct tls *, void *, size_t);
/*
 * Bytes TLS holds that the socket no longer signals: decrypted ones left
 * after a read filled the buffer, records read ahead (also right after
 * the handshake).
 */
int	 tls_pending(const struct tls *);
/*
 * Encrypt and write iov: the plaintext bytes taken (0 while ciphertext
 * from before is still waiting for the socket), or -1 with errno.
 */
ssize_t	 tls_writev(struct tls *, const struct iovec *, int cnt);
/* tls_writev from the head of a send queue, consuming what was taken. */
ssize_t	 tls_flush_queue(struct tls *, struct sendq *);
/* Ciphertext waiting for the socket: write it; 1 when some is left. */
int	 tls_flush(struct tls *);
/* A write waits for the peer (renegotiation refused: never in practice). */
int	 tls_write_wants_read(const struct tls *);
/* Send close_notify (best effort; a graceful close or shutdown_write). */
void	 tls_shutdown(struct tls *);
void	 tls_free(struct tls *);
/* OpenSSL's reason for the last failure, for the log. */
const char *tls_error(const struct tls *);
/* The facts host->tls_info gives plugins (out->tls = 1). */
void	 tls_info(const struct tls *, struct asockd_tls_info *);
/*
 * May a failed handshake from peer ("ADDR:PORT") be logged?  At most a
 * few a minute per address; *suppressed counts those not logged in the
 * address's previous minute.
 */
int	 tls_log_ok(const char *peer, unsigned int *suppressed);

/* ---------------------------------------------------------------- conn.c */

enum conn_state {
	CONN_CONNECTING = 0,	/* outbound connect in progress */
	CONN_OPEN,		/* reading and writing */
	CONN_CLOSING,		/* no more reading; flushing, then close */
	CONN_CLOSED		/* socket closed; freed when unreferenced */
};

struct sendq_chunk;
struct resolve;

struct sendq {
	STAILQ_HEAD(, sendq_chunk) chunks;
	size_t			 len;	/* bytes queued */
};

struct asockd_timer {
	ev_timer		 w;
	struct asockd_instance	*inst;
	struct asockd_conn	*conn;	/* NULL: plugin-wide timer */
	asockd_timer_cb		 cb;
	void			*arg;
	int			 running;	/* inside cb */
	int			 stopped;	/* freed when cb returns */
	TAILQ_ENTRY(asockd_timer) entry;
};

/*
 * The layout stays in this header, not in conn.c, because more units of
 * the core room need it: conn_read.c and conn_tls.c are conn.c's read
 * path and TLS handshake, connect.c swaps the fd and watchers of each
 * attempt, timer.c links its timers to the connection.  Accessors there
 * would cost a call on connect's and the timers' paths for nothing.  The
 * rooms above the core (hostapi.c, plugin.c, the process room) go
 * through the conn_* accessors instead.
 */
struct asockd_conn {
	uint64_t		 id;
	int			 fd;
	enum conn_state		 state;
	struct asockd_listener	*listener;	/* NULL: outbound */
	struct asockd_instance	*inst;
	ev_io			 rio;		/* readable */
	ev_io			 wio;		/* writable */
	ev_timer		 idle;
	ev_tstamp		 last_active;
	ev_tstamp		 started;
	int			 refs;		/* held across callbacks */
	int			 close_reason;	/* pending close, 0: none */
	unsigned int		 aborting:1;	/* pending close is an abort */
	unsigned int		 blocked:1;	/* over high-water */
	unsigned int		 rpaused:1;	/* plugin paused receive */
	unsigned int		 shut_wr:1;	/* shutdown_write requested */
	unsigned int		 wr_done:1;	/* write side shut down */
	unsigned int		 eof:1;		/* peer ended its stream */
	unsigned int		 oob:1;		/* registered for EPOLLPRI */
	unsigned int		 notified:1;	/* on_close owed */
	unsigned int		 reaping:1;	/* on the reap list */
	unsigned int		 runq:1;	/* on the run queue */
	unsigned int		 pending:1;	/* in may hold whole messages
						   not yet delivered */
	unsigned int		 handshaking:1;	/* TLS handshake running */
	uint32_t		 sndq_high;	/* output high-water mark */
	uint32_t		 sndq_low;	/* output low-water mark */
	uint32_t		 sndq_max;	/* output hard cap: abort */
	uint64_t		 bytes_in;
	uint64_t		 bytes_out;
	struct ctr_listener	*ctr;		/* its listener's or ctr_sink */
	struct sendq		 sendq;
	unsigned char		*in;		/* unconsumed input, or NULL */
	size_t			 inlen;
	size_t			 incap;
	void			*udata;
	char			*peer;		/* peer name, for logs */
	struct policy_peer	*pp;		/* policy.c's, or NULL */
	struct record		*rec;		/* record = "DIR", or NULL */
	struct resolve		*resolving;	/* outbound name lookup */
	struct tls		*tls;		/* NULL: plaintext */
	char			*tls_host;	/* outbound tls://: the name */
	TAILQ_HEAD(, asockd_timer) timers;
	TAILQ_ENTRY(asockd_conn) entry;	/* in listener's or outbound list */
	TAILQ_ENTRY(asockd_conn) reap_entry;	/* close deferred */
	TAILQ_ENTRY(asockd_conn) run_entry;	/* delivery resumes next turn */
};

extern unsigned int	 conn_count;
/* Connections of this worker aborted for passing sndq_max. */
extern unsigned long long conn_overflows;

/* Take over an accepted fd on l: set up, call on_accept.  pp (or NULL)
 * is what policy.c knows of the peer; the connection owns it. */
void	 conn_accept(struct asockd_listener *, int fd,
	    const struct sockaddr *, socklen_t, struct policy_peer *pp);
/* A new outbound connection for inst whose connect() is in progress. */
struct asockd_conn *conn_outbound(struct asockd_instance *, int fd,
	    const char *peer, void *udata);
/* A foreign stream socket fd (host->attach_fd), open at once. */
struct asockd_conn *conn_attach(struct asockd_instance *, int fd,
	    const char *peer, void *udata);
/* The outbound connect finished: err 0 or -errno. */
void	 conn_connected(struct asockd_conn *, int err);
/*
 * An accepted connection is set up (a TLS one once its handshake is done,
 * conn_tls.c): call on_accept, then start reading or close it.
 */
void	 conn_accepted(struct asockd_conn *);
/*
 * The one teardown path: stop every watcher, call on_close once, close
 * the fd (with a reset for an abort), log and free -- unless a callback
 * holds c, which then finishes it.  For the core's own watcher callbacks
 * (conn_tls.c); everyone else asks with conn_close() or conn_abort().
 */
void	 conn_finish(struct asockd_conn *, int reason);
/* The write watcher's callback: connect completion, flushing the queue. */
void	 conn_write_cb(struct ev_loop *, ev_io *, int);
/* The socket error err as a close reason (reset, timeout or error). */
int	 conn_errno_reason(int err);
int	 conn_send(struct asockd_conn *, const void *, size_t);
/* Bytes an outbound connection sends first, once connected (a PROXY
 * header); 0, or -EISCONN when it is no longer connecting. */
int	 conn_preface(struct asockd_conn *, const void *, size_t);
/* Send a message in the listener's framing (length prefix, or line). */
int	 conn_send_frame(struct asockd_conn *, const void *, size_t);
/* Graceful close (flush first) or abort, with a reason to log. */
void	 conn_close(struct asockd_conn *, int reason);
void	 conn_abort(struct asockd_conn *, int reason);
int	 conn_shutdown_write(struct asockd_conn *);
/* Reference held around plugin callbacks; a deferred close runs at 0. */
void	 conn_ref(struct asockd_conn *);
void	 conn_unref(struct asockd_conn *);
void	 conn_unref_finish(struct asockd_conn *);
/* Graceful close of every connection (daemon shutdown). */
void	 conn_close_all(int reason);
void	 conn_abort_all(int reason);
void	 conn_log(struct asockd_conn *, int pri, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	 vconn_log(struct asockd_conn *, int pri, const char *, va_list)
	    __attribute__((format(printf, 3, 0)));
const char *conn_reason_name(int reason);
/* Call fn after each connection is freed (NULL: nothing); one hook. */
void	 conn_on_gone(void (*fn)(void));
/*
 * What the rooms above conn.c (hostapi.c) may know of a connection.
 * live: open, no close pending; writable: live, write side open, queue
 * under sndq_high; closing: closed, closing or a close pending; aborting:
 * closed or an abort pending.
 */
int	 conn_live(const struct asockd_conn *);
int	 conn_writable(const struct asockd_conn *);
size_t	 conn_queued(const struct asockd_conn *);
int	 conn_closed(const struct asockd_conn *);
int	 conn_closing(const struct asockd_conn *);
int	 conn_aborting(const struct asockd_conn *);
int	 conn_fd(const struct asockd_conn *);	/* -1: not yet connected */
const char *conn_peer(const struct asockd_conn *);
/* What policy.c knew of the peer (PROXY header, ...), or NULL. */
const struct policy_peer *conn_policy(const struct asockd_conn *);
void	 conn_set_udata(struct asockd_conn *, void *);
void	*conn_udata(const struct asockd_conn *);
struct asockd_instance *conn_instance(const struct asockd_conn *);
struct asockd_listener *conn_listener(const struct asockd_conn *);
/* conn_send_frame to every live connection of l; the first error. */
int	 conn_broadcast_frame(struct asockd_listener *, const void *, size_t);
/* Set up the EPOLLPRI watcher for out-of-band data. */
void	 conn_oob_init(void);
/* For the control socket (control.c): what asockctl shows of one. */
struct conn_info {
	uint64_t		 id;
	const char		*peer;
	double			 age;		/* seconds open */
	uint64_t		 bytes_in, bytes_out;
	size_t			 queued;	/* output bytes waiting */
	const char		*state;	/* open, blocked, paused, closing */
};
void	 conn_info(const struct asockd_conn *, struct conn_info *);
/* The connection after prev (NULL: the first) of listener l, or NULL. */
struct asockd_conn *conn_next(struct asockd_listener *,
	    struct asockd_conn *prev);
/* This process's connection id, or NULL. */
struct asockd_conn *conn_find(uint64_t id);

/* ---------------------------------------------------------- conn_read.c */

/* The read watcher's callback: read, deliver, keep the rest. */
void	 conn_read_cb(struct ev_loop *, ev_io *, int);
/*
 * Reading from c is held for c's own output queue being over its
 * high-water mark (not for a plugin with ASOCKD_F_OWN_FLOW).
 */
int	 conn_read_held(const struct asockd_conn *);
/* c's read watcher runs again: have it called for bytes TLS holds. */
void	 conn_read_kick(struct asockd_conn *);
/* Paused, blocked or queued input of c may flow again: read or deliver. */
void	 conn_input_resume(struct asockd_conn *);
/* Take c off the run queue (before it is freed); c->pending stays. */
void	 conn_read_unqueue(struct asockd_conn *);
/* host->pause_receive: stop (paused != 0) or resume handing c input. */
void	 conn_pause_receive(struct asockd_conn *, int paused);

/* ----------------------------------------------------------- conn_tls.c */

/* Start the server handshake of c, accepted on a listener with tls. */
void	 conn_tls_accept(struct asockd_conn *);
/* Start the client handshake of c, a connected tls:// connection. */
void	 conn_tls_connect(struct asockd_conn *);
/* c's idle timer fired while it was handshaking: log, fail, close. */
void	 conn_tls_timeout(struct asockd_conn *);
/* host->tls_info: 0 (out->tls 0 for plaintext), or -ENOTCONN. */
int	 conn_tls_info(const struct asockd_conn *, struct asockd_tls_info *);

/* ---------------------------------------------------------------- sendq.c */

void	 sendq_init(struct sendq *);
/* Copy len bytes to the tail of the queue. */
void	 sendq_push(struct sendq *, const void *, size_t);
/*
 * Write as much of the queue as fd takes, with writev.  Returns bytes
 * written (>= 0), or -1 with errno (EAGAIN is returned as 0).
 */
ssize_t	 sendq_flush(struct sendq *, int fd);
/* Fill iov with up to max entries of the queue's head; returns count. */
int	 sendq_iov(struct sendq *, struct iovec *, int max);
/* Drop n bytes from the head of the queue. */
void	 sendq_consume(struct sendq *, size_t n);
void	 sendq_free(struct sendq *);

/* ---------------------------------------------------------------- record.c */

/* Event types of a recording (docs/testing-plugins.md). */
#define RECORD_ACCEPT	'A'	/* key=value lines */
#define RECORD_READ	'R'	/* the bytes read */
#define RECORD_EOF	'E'	/* the peer ended its stream */
#define RECORD_OOB	'O'	/* one urgent byte */
#define RECORD_BLOCKED	'B'	/* 1: over sndq_high, 0: drained */
#define RECORD_CLOSE	'C'	/* the close reason */

struct record;
/*
 * Start recording connection id (socket fd) of listener lc into a new
 * file in dir (never NULL: a file that cannot be made is logged and the
 * recorder does nothing).
 */
struct record *record_open(const char *dir, const struct listener_conf *lc,
	    uint64_t id, const char *peer, int fd, double now);
void	 record_read(struct record *, double now, const void *, size_t);
/* An EOF, OOB or BLOCKED event with its one-byte value. */
void	 record_mark(struct record *, int type, double now, int value);
/* The close event; frees the recorder. */
void	 record_close(struct record *, double now, int reason);

/* ---------------------------------------------------------------- frame.c */

/*
 * Split one message off the front of buf for framing mode (line, length,
 * archive).  Returns the bytes consumed (> 0) with *msg, *msglen set; 0
 * when more bytes are needed; -1 when the peer broke the framing, with a
 * static message in *why.  max is max_line or max_frame.
 */
ssize_t	 frame_next(int framing, const unsigned char *buf, size_t len,
	    size_t max, const unsigned char **msg, size_t *msglen,
	    const char **why);

/* ------------------------------------------------------------ proxyproto.c */

#define PROXY_V2_MAX	2048	/* largest v2 address + TLV block taken */
#define PROXY_HDR_MAX	(16 + PROXY_V2_MAX)

/* A PROXY protocol header; tlv points into the parsed buffer. */
struct proxy_hdr {
	int			 version;	/* 1 or 2 */
	int			 local;		/* LOCAL/UNKNOWN: no address */
	struct sockaddr_storage	 src, dst;	/* the client, the balancer's
						   own address it reached */
	socklen_t		 srclen, dstlen;
	const unsigned char	*tlv;		/* v2 TLVs, or NULL */
	size_t			 tlvlen;
};

/*
 * Look at the len bytes received so far for a header of the versions
 * (PROXY_V1 | PROXY_V2): its length (> 0) with *h filled in; 0 when more
 * bytes are needed (all len bytes belong to the header); -1 when they
 * are not a header, with a static reason in *why.
 */
ssize_t	 proxy_parse(const unsigned char *, size_t len, int versions,
	    struct proxy_hdr *h, const char **why);
/* The value of TLV type in a v2 TLV block: 0, or -1 when absent/bad. */
int	 proxy_tlv(const unsigned char *, size_t, int type,
	    const unsigned char **val, size_t *vlen);
/*
 * Write a version 1 or 2 header for a connection from src to dst into
 * buf (PROXY UNKNOWN / UNSPEC when they are not both IPv4 or IPv6);
 * returns its length, or 0 when cap is too small.
 */
size_t	 proxy_write(unsigned char *, size_t cap, int version,
	    const struct sockaddr *src, socklen_t srclen,
	    const struct sockaddr *dst, socklen_t dstlen);

/* ---------------------------------------------------------------- archive.c */

/* The archive reader/writer behind host->rd_* and host->wr_* (msgpack-c). */
struct asockd_reader *archive_rd_open(const void *, size_t);
void	 archive_rd_free(struct asockd_reader *);
enum asockd_type archive_rd_next_type(struct asockd_reader *);
int	 archive_rd_nil(struct asockd_reader *);
int	 archive_rd_bool(struct asockd_reader *, int *);
int	 archive_rd_int(struct asockd_reader *, int64_t *);
int	 archive_rd_uint(struct asockd_reader *, uint64_t *);
int	 archive_rd_float(struct asockd_reader *, float *);
int	 archive_rd_double(struct asockd_reader *, double *);
int	 archive_rd_str(struct asockd_reader *, const char **, size_t *);
int	 archive_rd_bin(struct asockd_reader *, const void **, size_t *);
int	 archive_rd_array(struct asockd_reader *, uint32_t *);
int	 archive_rd_map(struct asockd_reader *, uint32_t *);
int	 archive_rd_skip(struct asockd_reader *);
int	 archive_rd_float_bits(struct asockd_reader *);
int	 archive_rd_ext(struct asockd_reader *, int8_t *, const void **,
	    size_t *);
int	 archive_rd_raw(struct asockd_reader *, const void **, size_t *);
int	 archive_rd_copy(struct asockd_reader *, struct asockd_writer *);
/* Readers opened inside a callback are freed when it returns. */
void	 archive_rd_gc(void);
/* Readers open now: cb_leave() skips archive_rd_gc() at 0. */
extern unsigned int archive_nreaders;
struct asockd_writer *archive_wr_new(void);
void	 archive_wr_free(struct asockd_writer *);
void	 archive_wr_reset(struct asockd_writer *);
int	 archive_wr_nil(struct asockd_writer *);
int	 archive_wr_bool(struct asockd_writer *, int);
int	 archive_wr_int(struct asockd_writer *, int64_t);
int	 archive_wr_uint(struct asockd_writer *, uint64_t);
int	 archive_wr_float(struct asockd_writer *, float);
int	 archive_wr_double(struct asockd_writer *, double);
int	 archive_wr_str(struct asockd_writer *, const char *, size_t);
int	 archive_wr_bin(struct asockd_writer *, const void *, size_t);
int	 archive_wr_array(struct asockd_writer *, uint32_t);
int	 archive_wr_map(struct asockd_writer *, uint32_t);
const void *archive_wr_data(struct asockd_writer *, size_t *);
int	 archive_wr_ext(struct asockd_writer *, int8_t, const void *, size_t);
int	 archive_wr_raw(struct asockd_writer *, const void *, size_t);

/* ---------------------------------------------------------------- dgram.c */

void	 dgram_start(struct asockd_listener *);
int	 dgram_sendto(struct asockd_listener *, const void *, size_t,
	    const struct sockaddr *, socklen_t);

/* ---------------------------------------------------------------- connect.c */

int	 connect_start(struct asockd_instance *, const char *target,
	    void *udata, struct asockd_conn **out);
void	 connect_init(void);
/* c is connected or being freed: drop its name lookup. */
void	 connect_forget(struct asockd_conn *);
/* An attempt of c failed with err: start one to the next address of its
 * name; 0 when one started, -1 when none is left. */
int	 connect_retry(struct asockd_conn *, int err);

/* ---------------------------------------------------------------- timer.c */

struct asockd_timer *timer_start(struct asockd_instance *,
	    struct asockd_conn *, double after, double repeat,
	    asockd_timer_cb, void *);
void	 timer_stop(struct asockd_timer *);
/* Stop and free every timer of c (before its on_close). */
void	 timer_stop_conn(struct asockd_conn *);
/* Stop the plugin-wide timers of inst (before fini). */
void	 timer_stop_instance(struct asockd_instance *);

/* ---------------------------------------------------------------- child.c */

/*
 * Child processes plugins start (host->spawn): vfork + execve, reaped
 * through ev_child; the exit callback runs inside CB_CALL().
 */
int	 child_spawn(struct asockd_instance *, const struct asockd_spawn *,
	    asockd_child_cb, void *, int fds[2], struct asockd_child **);
int	 child_kill(struct asockd_child *, double timeout);
pid_t	 child_pid(const struct asockd_child *);
/* Children alive in this worker. */
extern unsigned int	 child_count;
/* Call fn after each child was reaped (NULL: nothing); one hook. */
void	 child_on_gone(void (*fn)(void));
/* SIGKILL every child and reap it now, calling its exit callback. */
void	 child_abort_all(void);
/* ---------------------------------------------------------------- bus.c */

/* A plugin instance's subscription to a channel. */
struct bus_sub {
	struct asockd_instance	*inst;
	char			*channel;	/* NUL-terminated */
	size_t			 chlen;
	uint32_t		 id;
	int			 pending;	/* its backlog is coming */
	int			 gone;		/* unsubscribed: freed soon */
	/* Redis: the newest stream id delivered, and the live messages
	 * held back until the backlog is in */
	uint64_t		 last_ms, last_seq;
	void			*rsub;
	TAILQ_ENTRY(bus_sub)	 entry;
};
TAILQ_HEAD(bus_subs, bus_sub);
struct bus_peer;

/* Messages publish refused or the bus lost (this process). */
extern unsigned long long bus_dropped;
/* Count one: here, and in asockd_bus_dropped_messages_total. */
#define BUS_DROP() do {							\
	bus_dropped++;							\
	ctr_bus_dropped();						\
} while (0)

/* The host calls: 0 or -errno, as plugin.h documents them. */
int	 bus_publish(struct asockd_instance *, const char *channel,
	    const void *, size_t);
int	 bus_subscribe(struct asockd_instance *, const char *channel,
	    unsigned int backlog);
int	 bus_unsubscribe(struct asockd_instance *, const char *channel);
/* Hand a message to every live subscriber of the channel (backends). */
void	 bus_deliver(const char *channel, size_t chlen, const void *,
	    size_t);
/*
 * Hand a message to one subscription (backends).  Between
 * bus_deliver_begin() and bus_deliver_end() no subscription is freed, so
 * a backend may walk bus_subs() while it calls it.
 */
void	 bus_deliver_sub(struct bus_sub *, const void *, size_t);
void	 bus_deliver_begin(void);
void	 bus_deliver_end(void);
struct bus_sub *bus_sub_find(uint32_t id);
struct bus_subs *bus_subs(void);
/*
 * Worker: start the backend of proc.conf (Redis, or the local bus over
 * fd, the worker's end of bus_socketpair(); -1: none).  -1 after
 * logging.  bus_worker_stop() drops every subscription (before fini).
 */
int	 bus_worker_start(int fd);
void	 bus_worker_stop(void);
/* Master: the socketpair of a new worker; -1 after logging. */
int	 bus_socketpair(int fds[2]);
/* Master: relay for the worker pid at the other end of fd. */
struct bus_peer *bus_master_add(int fd, pid_t pid);
void	 bus_master_drop(struct bus_peer *);
/* In a new worker: drop the master's relay state. */
void	 bus_master_forget(void);

/* ---------------------------------------------------------- bus_redis.c */

/* The Redis backend of bus.c; each returns as bus_publish does. */
int	 bus_redis_start(const struct bus_uri *);
int	 bus_redis_publish(const char *channel, size_t chlen, const void *,
	    size_t);
void	 bus_redis_subscribe(struct bus_sub *, unsigned int backlog);
void	 bus_redis_unsubscribe(struct bus_sub *);
void	 bus_redis_stop(void);

/* ---------------------------------------------------------------- sd.c */

/* systemd notify protocol: send "READY=1" etc. to $NOTIFY_SOCKET.
 * Returns 1 when sent, 0 when NOTIFY_SOCKET is unset, -1 on error. */
int	 sd_notifyf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/*
 * Socket activation: the fds passed by LISTEN_FDS/LISTEN_PID, with their
 * LISTEN_FDNAMES.  Returns the count (0 when not activated); names[i] is
 * "unknown" when not named.  Clears the environment variables.
 */
int	 sd_listen_fds(int **fds, char ***names);
/* "RELOADING=1" with MONOTONIC_USEC; send "READY=1" after the reload. */
int	 sd_notify_reloading(void);
/* 1 with *usec when WatchdogSec= asks for "WATCHDOG=1" every *usec / 2. */
int	 sd_watchdog_enabled(uint64_t *usec);
/* 1 when fd suits a listener of kind, 0 when not, -1 when not a socket. */
int	 sd_match_kind(int fd, int kind);

/* ---------------------------------------------------------------- perm.c */

/*
 * StrictModes for a file the daemon reads or runs: path and every
 * directory above it must be owned by root or the invoking user and not be
 * writable by group or others (a sticky directory such as /tmp, and the
 * owner's private group, excepted).  0 with the realpath() in *resolved
 * (malloc'd; open that one) when resolved is not NULL.  -1 with the reason
 * in err, naming the offending path, and errno EPERM when it is unsafe,
 * another errno when it could not be checked (a missing file).
 */
int	 perm_check(const char *path, char **resolved, char *err,
	    size_t errlen);
/* Remember the invoking user (before any privilege change). */
void	 perm_init(void);

/* ---------------------------------------------------------------- util.c */

/* Set O_NONBLOCK on fd; -1 after logging. */
int	 fd_nonblock(int);

/* ---------------------------------------------------------------- proc.c */

/* This process's state: written by main, master and worker, read by all. */
struct proc {
	struct ev_loop		*loop;
	struct config		*conf;		/* the one in service */
	struct instances	 instances;	/* loaded plugins (worker) */
	int			 shutting_down;	/* stopping: no new work */
};

extern struct proc	 proc;

/* ---------------------------------------------------------------- master.c */

#define WORKER_SLOTS		4096	/* workers alive at once, reloads too */
#define QUARANTINE_MAX		32
#define QUARANTINE_NAMELEN	64

/*
 * One per worker process, in a MAP_SHARED page the master maps before it
 * forks: the worker writes, the master reads.
 */
struct worker_slot {
	volatile pid_t		 pid;
	volatile uint32_t	 nconns;	/* open connections */
	/* index in conf->plugins of the plugin whose code raised a fatal
	 * signal, -1: none known */
	volatile int		 crash_plugin;
	/* how many of conf->plugins, in order, the worker has dealt with
	 * (loaded, or skipped as quarantined): what its death names */
	volatile int		 nloaded;
	/* bumped by the worker's loop every half second: a stuck plugin
	 * stops it, and the master notices */
	volatile uint32_t	 beat;
};

struct master_shm {
	/* plugins taken out of service; seq counts additions */
	volatile uint32_t	 quarantine_seq;
	volatile int		 nquarantined;
	char		 quarantined[QUARANTINE_MAX][QUARANTINE_NAMELEN];
	struct worker_slot	 slots[WORKER_SLOTS];
};

extern struct master_shm *master_shm;

/* What the master counts itself (metrics.c shows it). */
struct master_stats {
	double			 start_time;	/* ev_time() at start */
	unsigned int		 generation;	/* the newest one's number */
	uint64_t		 reloads_ok, reloads_failed;
	uint64_t		 restarts;	/* workers that died unasked */
};
extern struct master_stats master_stats;

/* A worker process as the master sees it. */
struct worker_view {
	int			 index;
	unsigned int		 gen;
	pid_t			 pid;
	int			 slot;		/* in master_shm and ctr_shm */
	int			 ready, retiring;
	unsigned int		 nconns;
	double			 beat_age;	/* s since the loop beat */
};
/* Call fn for every worker process there is. */
void	 master_each_worker(void (*)(const struct worker_view *, void *),
	    void *);

/*
 * Bind every listener, fork and supervise the workers, reload on SIGHUP,
 * stop on SIGTERM.  conf is loaded.  Returns the exit code.
 */
int	 master_run(const char *plugin_dir, int foreground);
/*
 * Without -f: end the pipe to the process waiting for the start-up, with
 * the "ready" byte when ok (the master), or without (a worker that is up
 * lets go of its copy).
 */
void	 starter_done(int ok);

/* -------------------------------------------------------------- metrics.c */

/*
 * Master: serve GET /metrics (Prometheus text format) on cf->metrics.
 * -1 after logging.
 */
int	 metrics_open(const struct config *);
/* Stop serving and close the sockets (at exit, and in a new worker). */
void	 metrics_close(void);
/* The exposition text (malloc'd, NUL-terminated), its length in *len. */
char	*metrics_text(size_t *len);

/* -------------------------------------------------------------- control.c */

/* Master: take asockctl commands on cf->control.  -1 after logging. */
int	 control_open(const struct config *);
/* Master at exit: close and unlink the socket, drop the channels. */
void	 control_close(void);
/* In a new worker: close what is the master's (no unlink). */
void	 control_forget(void);
/* Master: the channel to the worker in slot (its end of a socketpair). */
void	 control_worker_new(int slot, int fd, int index, pid_t pid);
/* Master: the worker in slot is up (it gets the disabled listeners). */
void	 control_worker_ready(int slot);
/* Master: the worker in slot is gone; retired: it was retiring or the
 * daemon stopping, so a question it leaves unanswered is no failure. */
void	 control_worker_gone(int slot, int retired);
/* Worker: answer the master's requests on fd. */
void	 control_child(int fd);

/* ---------------------------------------------------------- quarantine.c */

/* 1 when the plugin called name is quarantined (master and workers). */
int	 quarantine_has(const char *name);
/*
 * Master: a worker died of plugin name's code; at the limit the plugin is
 * quarantined and the master's listening sockets for it closed.
 */
void	 quarantine_crash(const char *name);
/* Master, at a reload: forget every death and quarantine. */
void	 quarantine_clear(void);
/* Worker: what the master quarantined so far is already applied. */
void	 quarantine_sync(void);
/* Worker: stop serving the listeners of newly quarantined plugins. */
void	 quarantine_apply(int worker);

/* ---------------------------------------------------------------- worker.c */

/*
 * The worker process, in the child of a fork from the master: drop
 * privileges, load and init the plugins, serve conf's listeners, and
 * write one byte to readyfd once accepting.  index 0 also serves pinned
 * listeners.  busfd is its end of the local bus (-1: none).  Never
 * returns.
 */
void	 worker_main(int index, int readyfd, int busfd, struct worker_slot *)
	    __attribute__((noreturn));
/*
 * daemon.user and daemon.group: look them up (apply 0, the master checks a
 * config) or switch to them with setgroups, setgid, setuid (apply 1).
 * 0, or -1 after logging.
 */
int	 worker_privs(const struct config *, int apply);
/* The uid/gid of daemon.user/group: 1 set, 0 none configured, -1 error. */
int	 worker_ids(const struct config *, uid_t *, gid_t *);

#endif /* ASOCKD_H */
