/*
 * kit.h - libasockd-test's private header: what kit.c (the simulated
 * host) and check.c (the contract checks) share, and glue.c's bridge to
 * the daemon code built into the library (frame.c, archive.c, ini.c,
 * perm.c, mp.c, utf8.c, xmalloc.c).  kit.c completes the opaque plugin
 * types in its own way, so it cannot include daemon/asockd.h, which
 * completes them for the daemon; glue.c includes it and nothing else
 * does.
 */
#ifndef ASOCKD_KIT_H
#define ASOCKD_KIT_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "asockd/plugin.h"
#include "asockd/test.h"

struct ini;			/* daemon/ini.c, opaque here */

/* ---------------------------------------------------------------- glue.c */

/* The archive reader and writer entries of the host table. */
void	 kit_archive_table(struct asockd_host *h);
/* Free the readers a callback left open (archive_rd_gc). */
void	 kit_rd_gc(void);
/* frame_next() for framing (enum asockd_test_framing). */
ssize_t	 kit_frame_next(int framing, const unsigned char *buf, size_t len,
	    size_t max, const unsigned char **msg, size_t *msglen,
	    const char **why);
/*
 * Parse INI text through the daemon's loader (a private copy at path,
 * 0600), check it against d's settings table as plugin_load does and
 * name it "ini" in later messages.  NULL after logging why.
 */
struct ini *kit_ini_load(const char *path, const struct asockd_plugin *d,
	    const char *name);
/* d's settings table itself is sound; -1 after logging. */
int	 kit_ini_table_check(const struct asockd_plugin *d, const char *who);
void	 kit_ini_free(struct ini *);
/*
 * The value of section/key: from the file (*line > 0), else the table's
 * default (*line 0).  NULL when neither has one.
 */
const char *kit_ini_value(const struct ini *, const struct asockd_plugin *,
	    const char *section, const char *key, int *line);
int	 kit_parse_int(const char *, long long *);
int	 kit_parse_double(const char *, double *);
int	 kit_parse_bool(const char *, int *);

/* ---------------------------------------------------------------- kit.c */

/* A log line from the daemon code (log_warnx) for the current test. */
void	 kit_vlog(const char *fmt, va_list ap)
	    __attribute__((format(printf, 1, 0)));
/* Append one line to t's report (check.c). */
void	 kit_report(struct asockd_test *t, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The test l belongs to. */
struct asockd_test *kit_listener_test(struct asockd_listener *l);
/* How many callbacks ran for c after its on_close (must stay 0). */
int	 kit_conn_callbacks(struct asockd_conn *c);
/*
 * Arm a reset of the next connection inside its first callback of kind
 * (KIT_CB_*): the first host call made on it there finds it reset (a
 * send fails with -EPIPE), and on_close(ASOCKD_CLOSE_RESET) follows when
 * the callback returns.
 */
enum {
	KIT_CB_NONE = 0,
	KIT_CB_ACCEPT,
	KIT_CB_RECEIVE,		/* on_receive or on_message */
	KIT_CB_SEND,
	KIT_CB_EOF,
	KIT_CB_TIMER,
	KIT_CB_MAX
};
void	 kit_arm_reset(struct asockd_test *t, int kind);
/* Set the simulated socket buffer of one connection. */
void	 kit_conn_sndbuf(struct asockd_conn *c, size_t sndbuf);
/* 1 when the plugin has a callback of kind (check.c skips the others). */
int	 kit_has_cb(struct asockd_test *t, int kind);
/* A graceful close from the host side (a daemon stop). */
void	 kit_host_close(struct asockd_conn *c);

#endif /* ASOCKD_KIT_H */
