/*
 * glue.c - libasockd-test's bridge to the daemon code built into the
 * library: the archive entries of the host table, the framing decoder,
 * the INI loader and checks, and the logging and fatal functions that
 * code calls (log_warnx goes to the test's log; out of memory is fatal,
 * as in the daemon).  testkit/shared.h renames all of it, so a test
 * program with a log_warnx of its own gets its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asockd.h"
#include "kit.h"

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	kit_vlog(fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	fprintf(stderr, "asockd-test: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(saved));
	abort();
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "asockd-test: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

void
kit_archive_table(struct asockd_host *h)
{
	h->rd_open = archive_rd_open;
	h->rd_free = archive_rd_free;
	h->rd_next_type = archive_rd_next_type;
	h->rd_nil = archive_rd_nil;
	h->rd_bool = archive_rd_bool;
	h->rd_int = archive_rd_int;
	h->rd_uint = archive_rd_uint;
	h->rd_float = archive_rd_float;
	h->rd_double = archive_rd_double;
	h->rd_str = archive_rd_str;
	h->rd_bin = archive_rd_bin;
	h->rd_array = archive_rd_array;
	h->rd_map = archive_rd_map;
	h->rd_skip = archive_rd_skip;
	h->wr_new = archive_wr_new;
	h->wr_free = archive_wr_free;
	h->wr_reset = archive_wr_reset;
	h->wr_nil = archive_wr_nil;
	h->wr_bool = archive_wr_bool;
	h->wr_int = archive_wr_int;
	h->wr_uint = archive_wr_uint;
	h->wr_float = archive_wr_float;
	h->wr_double = archive_wr_double;
	h->wr_str = archive_wr_str;
	h->wr_bin = archive_wr_bin;
	h->wr_array = archive_wr_array;
	h->wr_map = archive_wr_map;
	h->wr_data = archive_wr_data;
	h->rd_float_bits = archive_rd_float_bits;
	h->rd_ext = archive_rd_ext;
	h->rd_raw = archive_rd_raw;
	h->rd_copy = archive_rd_copy;
	h->wr_ext = archive_wr_ext;
	h->wr_raw = archive_wr_raw;
}

void
kit_rd_gc(void)
{
	if (archive_nreaders > 0)
		archive_rd_gc();
}

ssize_t
kit_frame_next(int framing, const unsigned char *buf, size_t len,
    size_t max, const unsigned char **msg, size_t *msglen, const char **why)
{
	static const int map[] = {
		[ASOCKD_TEST_RAW] = FRAMING_RAW,
		[ASOCKD_TEST_LINE] = FRAMING_LINE,
		[ASOCKD_TEST_LENGTH] = FRAMING_LENGTH,
		[ASOCKD_TEST_ARCHIVE] = FRAMING_ARCHIVE
	};

	return frame_next(map[framing], buf, len, max, msg, msglen, why);
}

struct ini *
kit_ini_load(const char *path, const struct asockd_plugin *d,
    const char *name)
{
	struct ini	*ini;

	if ((ini = ini_load(path)) == NULL)
		return NULL;
	free(ini->file);
	ini->file = xstrdup("ini");
	if (ini_validate(ini, d, name) == -1) {
		ini_free(ini);
		return NULL;
	}
	return ini;
}

int
kit_ini_table_check(const struct asockd_plugin *d, const char *who)
{
	return ini_table_check(d, who);
}

void
kit_ini_free(struct ini *ini)
{
	if (ini != NULL)
		ini_free(ini);
}

const char *
kit_ini_value(const struct ini *ini, const struct asockd_plugin *d,
    const char *section, const char *key, int *line)
{
	const struct ini_entry	*e;
	const struct asockd_setting *s;

	if (section == NULL)
		section = "";
	if (ini != NULL && (e = ini_find(ini, section, key)) != NULL) {
		*line = e->line;
		return e->value;
	}
	*line = 0;
	if ((s = ini_setting(d, section, key)) == NULL)
		return NULL;
	return s->def;
}

int
kit_parse_int(const char *s, long long *v)
{
	return ini_parse_int(s, v);
}

int
kit_parse_double(const char *s, double *v)
{
	return ini_parse_double(s, v);
}

int
kit_parse_bool(const char *s, int *v)
{
	return ini_parse_bool(s, v);
}
