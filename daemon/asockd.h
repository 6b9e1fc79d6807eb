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
	int			 mode;		/* unix socket file mode */
	char			*owner;		/* unix socket owner, or NULL */
	char			*group;		/* unix socket group, or NULL */
	uid_t			 uid;		/* owner's uid, or -1 */
	gid_t			 gid;		/* group's gid, or -1 */
	int			 workers;	/* 0: all workers */
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
	char			*user;
	char			*group;
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
/* Writes the key table as documentation (used for docs and --help). */
void	 config_print_keys(FILE *);

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

/* Plugin calls on the stack now (read-only outside cb.c). */
extern int		 cb_depth;
void	 cb_enter(void);
void	 cb_leave(void);
/* Run fn at depth 0 whenever cb_defer() was called (register once). */
void	 cb_hook(void (*fn)(void));
/* Ask for the hooks to run when the outermost plugin call returns. */
void	 cb_defer(void);

/* -------------------------------------------------------------- listener.c */

struct asockd_listener {
	struct listener_conf	*conf;
	struct asockd_instance	*inst;
	int			 fd;
	int			 kind;
	char			 uri[160];	/* bound address, as a URI */
	ev_io			 io;
	int			 paused;	/* max_connections reached */
	int			 inherited;	/* fd from socket activation */
	unsigned int		 nconns;
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
/* A connection of l closed: resume accepting if it was paused. */
void	 listener_conn_gone(struct asockd_listener *);
unsigned int listener_count(void);
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
 * The layout stays in this header, not in conn.c, because two more units
 * of the core room need it: connect.c swaps the fd and watchers of each
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
	struct sendq		 sendq;
	unsigned char		*in;		/* unconsumed input, or NULL */
	size_t			 inlen;
	size_t			 incap;
	void			*udata;
	char			*peer;		/* peer name, for logs */
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

/* Take over an accepted fd on l: set up, call on_accept. */
void	 conn_accept(struct asockd_listener *, int fd,
	    const struct sockaddr *, socklen_t);
/* A new outbound connection for inst whose connect() is in progress. */
struct asockd_conn *conn_outbound(struct asockd_instance *, int fd,
	    const char *peer, void *udata);
/* The outbound connect finished: err 0 or -errno. */
void	 conn_connected(struct asockd_conn *, int err);
int	 conn_send(struct asockd_conn *, const void *, size_t);
/* Send a message in the listener's framing (length prefix, or line). */
int	 conn_send_frame(struct asockd_conn *, const void *, size_t);
/* Graceful close (flush first) or abort, with a reason to log. */
void	 conn_close(struct asockd_conn *, int reason);
void	 conn_abort(struct asockd_conn *, int reason);
int	 conn_shutdown_write(struct asockd_conn *);
void	 conn_pause_receive(struct asockd_conn *, int);
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
void	 conn_set_udata(struct asockd_conn *, void *);
void	*conn_udata(const struct asockd_conn *);
struct asockd_instance *conn_instance(const struct asockd_conn *);
struct asockd_listener *conn_listener(const struct asockd_conn *);
/* host->tls_info: 0 (out->tls 0 for plaintext), or -ENOTCONN. */
int	 conn_tls_info(const struct asockd_conn *, struct asockd_tls_info *);
/* conn_send_frame to every live connection of l; the first error. */
int	 conn_broadcast_frame(struct asockd_listener *, const void *, size_t);
/* Set up the EPOLLPRI watcher for out-of-band data. */
void	 conn_oob_init(void);

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
 * listeners.  Never returns.
 */
void	 worker_main(int index, int readyfd, struct worker_slot *)
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
