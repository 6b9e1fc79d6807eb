/*
 * ini.c - a plugin's INI settings file, read with inih into a list of
 * (section, key, value, line) entries that the plugin looks up by name.
 *
 * inih is fed through ini_parse_stream() with our own line reader, for
 * two reasons: Debian's libinih is built without INI_HANDLER_LINENO, so
 * the reader's line count is the only way to put a line number on an
 * error found in the handler; and inih silently splits lines longer than
 * its buffer (200 bytes) into two, so the reader rejects them instead.
 *
 * A key given twice in one section is an error (like a repeated setting in
 * libconfig), except for inih's continuation lines, which append to the
 * value with a newline.  Every error of the file is logged as
 * "FILE:LINE: message"; then ini_load() returns NULL.
 *
 * The file must pass perm_check() (StrictModes) first: settings someone
 * else can rewrite steer a plugin running as root.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "asockd.h"

struct ini_parse {
	struct ini	*ini;
	FILE		*fp;
	char		*buf;		/* the current line, from getline */
	size_t		 bufsize;
	int		 line;		/* lines read so far */
	int		 too_long;	/* line number of an over-long line */
	int		 maxlen;	/* longest line inih takes */
	int		 errors;
};

/*
 * The ini_reader: hands inih one line at a time.  A line that would not
 * fit inih's buffer (num bytes with the newline and the NUL) stops the
 * parse, as if the file ended there, and is reported by ini_load().
 */
static char *
line_read(char *str, int num, void *stream)
{
	struct ini_parse	*p = stream;
	ssize_t			 n;
	size_t			 len;

	if (p->too_long)
		return NULL;
	if ((n = getline(&p->buf, &p->bufsize, p->fp)) == -1)
		return NULL;
	p->line++;
	len = (size_t)n;
	if (len > 0 && p->buf[len - 1] == '\n')
		len--;
	if (len > 0 && p->buf[len - 1] == '\r')
		len--;
	if (len + 2 > (size_t)num) {
		p->too_long = p->line;
		p->maxlen = num - 2;
		return NULL;
	}
	memcpy(str, p->buf, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

static struct ini_entry *
ini_last(const struct ini *ini)
{
	return TAILQ_LAST(&ini->entries, ini_entries);
}

/* The ini_handler: called once per key (and per continuation line). */
static int
entry_add(void *user, const char *section, const char *name,
    const char *value)
{
	struct ini_parse	*p = user;
	struct ini_entry	*e, *last;
	const struct ini_entry	*dup;
	char			*v;

	/*
	 * inih treats an indented line after a key as a continuation and
	 * passes that key again: append to the value.
	 */
	last = ini_last(p->ini);
	if (last != NULL && isspace((unsigned char)p->buf[0]) &&
	    strcmp(last->section, section) == 0 &&
	    strcmp(last->key, name) == 0) {
		if (xasprintf(&v, "%s\n%s", last->value, value) == -1)
			fatal("xasprintf");
		free(last->value);
		last->value = v;
		return 1;
	}

	if ((dup = ini_find(p->ini, section, name)) != NULL) {
		log_warnx("%s:%d: duplicate key '%s' in section [%s] "
		    "(first set at line %d)", p->ini->file, p->line, name,
		    section, dup->line);
		p->errors++;
		return 1;
	}
	e = xcalloc(1, sizeof(*e));
	e->section = xstrdup(section);
	e->key = xstrdup(name);
	e->value = xstrdup(value);
	e->line = p->line;
	TAILQ_INSERT_TAIL(&p->ini->entries, e, entry);
	return 1;
}

struct ini *
ini_load(const char *path)
{
	struct ini_parse	 p;
	struct ini		*ini;
	char			*real, err[PATH_MAX + 128];
	int			 rc;

	memset(&p, 0, sizeof(p));
	if (perm_check(path, &real, err, sizeof(err)) == -1) {
		if (errno == EPERM)
			log_warnx("%s: refused: %s", path, err);
		else
			log_warnx("%s: %s", path, strerror(errno));
		return NULL;
	}
	p.fp = fopen(real, "r");
	free(real);
	if (p.fp == NULL) {
		log_warnx("%s: %s", path, strerror(errno));
		return NULL;
	}
	ini = xcalloc(1, sizeof(*ini));
	ini->file = xstrdup(path);
	TAILQ_INIT(&ini->entries);
	p.ini = ini;

	/* The handler never fails: rc is the first syntax error's line. */
	rc = ini_parse_stream(line_read, &p, entry_add, &p);
	if (rc == -2)
		fatalx("ini_parse_stream: out of memory");
	if (rc > 0 && (p.too_long == 0 || rc < p.too_long)) {
		log_warnx("%s:%d: syntax error (expected [section], "
		    "key = value or a comment)", path, rc);
		p.errors++;
	}
	if (p.too_long) {
		log_warnx("%s:%d: line too long (at most %d bytes)", path,
		    p.too_long, p.maxlen);
		p.errors++;
	} else if (ferror(p.fp)) {
		log_warnx("%s: %s", path, strerror(errno));
		p.errors++;
	}
	free(p.buf);
	fclose(p.fp);
	if (p.errors > 0) {
		ini_free(ini);
		return NULL;
	}
	return ini;
}

void
ini_free(struct ini *ini)
{
	struct ini_entry	*e;

	if (ini == NULL)
		return;
	while ((e = TAILQ_FIRST(&ini->entries)) != NULL) {
		TAILQ_REMOVE(&ini->entries, e, entry);
		free(e->section);
		free(e->key);
		free(e->value);
		free(e);
	}
	free(ini->file);
	free(ini);
}

const struct ini_entry *
ini_find(const struct ini *ini, const char *section, const char *key)
{
	const struct ini_entry	*e;

	if (ini == NULL)
		return NULL;
	if (section == NULL)
		section = "";
	TAILQ_FOREACH(e, &ini->entries, entry) {
		if (strcmp(e->section, section) == 0 &&
		    strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

/*
 * Settings tables (ABI 1.2).  A plugin may declare its INI keys; the
 * host then checks the file against the table before the plugin's init
 * runs, and the getters fall back to the table's defaults.  The table is
 * read with the element size the plugin was built with, so a later ABI
 * may append members to struct asockd_setting.
 */

int
ini_parse_int(const char *s, long long *out)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
ini_parse_double(const char *s, double *out)
{
	char		*end;
	double		 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int
ini_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	size_t			 i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static const struct asockd_setting *
setting_at(const struct asockd_plugin *d, size_t i)
{
	return (const struct asockd_setting *)(const void *)
	    ((const char *)d->settings + i * d->setting_size);
}

const char *
ini_type_name(int type)
{
	switch (type) {
	case ASOCKD_SET_STRING:
		return "string";
	case ASOCKD_SET_INT:
		return "integer";
	case ASOCKD_SET_DOUBLE:
		return "number";
	case ASOCKD_SET_BOOL:
		return "boolean";
	case ASOCKD_SET_ENUM:
		return "enum";
	}
	return "unknown";
}

/* 1 when value is one of the '|'-separated choices. */
static int
choice_ok(const char *choices, const char *value)
{
	const char	*p = choices, *bar;
	size_t		 len, vlen = strlen(value);

	for (;;) {
		bar = strchr(p, '|');
		len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == vlen && strncmp(p, value, len) == 0)
			return 1;
		if (bar == NULL)
			return 0;
		p = bar + 1;
	}
}

/*
 * Check value against s.  Returns 0, or -1 with the reason in why
 * ("'x' is not an integer", "2000 is out of range 1..1024").
 */
static int
value_check(const struct asockd_setting *s, const char *value, char *why,
    size_t whylen)
{
	long long	 i;
	double		 v;
	int		 b;

	switch (s->type) {
	case ASOCKD_SET_STRING:
		return 0;
	case ASOCKD_SET_BOOL:
		if (ini_parse_bool(value, &b) == 0)
			return 0;
		snprintf(why, whylen, "'%s' is not a boolean (yes/no, "
		    "true/false, on/off, 1/0)", value);
		return -1;
	case ASOCKD_SET_ENUM:
		if (choice_ok(s->choices, value))
			return 0;
		snprintf(why, whylen, "'%s' is not one of %s", value,
		    s->choices);
		return -1;
	case ASOCKD_SET_INT:
		if (ini_parse_int(value, &i) == -1) {
			snprintf(why, whylen, "'%s' is not an integer", value);
			return -1;
		}
		v = (double)i;
		break;
	case ASOCKD_SET_DOUBLE:
		if (ini_parse_double(value, &v) == -1) {
			snprintf(why, whylen, "'%s' is not a number", value);
			return -1;
		}
		break;
	default:
		snprintf(why, whylen, "unknown setting type %d", s->type);
		return -1;
	}
	if (s->min < s->max && (v < s->min || v > s->max)) {
		snprintf(why, whylen, "%s is out of range %.15g..%.15g", value,
		    s->min, s->max);
		return -1;
	}
	return 0;
}

int
ini_table_check(const struct asockd_plugin *d, const char *who)
{
	const struct asockd_setting *s;
	char			 why[256];
	size_t			 i;
	int			 errors = 0;

	if (d->settings == NULL)
		return 0;
	if (d->setting_size < sizeof(struct asockd_setting)) {
		log_warnx("%s: settings table entries of %u bytes, at least "
		    "%zu expected", who, d->setting_size,
		    sizeof(struct asockd_setting));
		return -1;
	}
	for (i = 0; (s = setting_at(d, i))->name != NULL; i++) {
		why[0] = '\0';
		if (s->section == NULL)
			snprintf(why, sizeof(why), "no section");
		else if (strcmp(ini_type_name(s->type), "unknown") == 0)
			snprintf(why, sizeof(why), "unknown type %d", s->type);
		else if (s->type == ASOCKD_SET_ENUM && s->choices == NULL)
			snprintf(why, sizeof(why), "an enum without choices");
		else if (s->def != NULL)
			(void)value_check(s, s->def, why, sizeof(why));
		if (why[0] != '\0') {
			log_warnx("%s: settings table: %s: %s", who, s->name,
			    why);
			errors++;
		}
	}
	return errors ? -1 : 0;
}

const struct asockd_setting *
ini_setting(const struct asockd_plugin *d, const char *section,
    const char *key)
{
	const struct asockd_setting *s, *any = NULL;
	size_t			 i;

	if (d->settings == NULL)
		return NULL;
	if (section == NULL)
		section = "";
	for (i = 0; (s = setting_at(d, i))->name != NULL; i++) {
		if (strcmp(s->section, section) != 0)
			continue;
		if (strcmp(s->name, key) == 0)
			return s;
		/* "*" takes the keys no other row names (ABI 1.3) */
		if (strcmp(s->name, "*") == 0)
			any = s;
	}
	return any;
}

int
ini_validate(const struct ini *ini, const struct asockd_plugin *d,
    const char *plugin)
{
	const struct ini_entry	*e;
	const struct asockd_setting *s;
	char			 why[256];
	int			 errors = 0;

	if (ini == NULL || d->settings == NULL)
		return 0;
	TAILQ_FOREACH(e, &ini->entries, entry) {
		if ((s = ini_setting(d, e->section, e->key)) == NULL) {
			log_warnx("%s:%d: [%s] %s: unknown setting of plugin"
			    " '%s' (asockd --plugin-help lists them)",
			    ini->file, e->line, e->section, e->key, plugin);
			errors++;
		} else if (value_check(s, e->value, why, sizeof(why)) == -1) {
			log_warnx("%s:%d: [%s] %s: %s", ini->file, e->line,
			    e->section, e->key, why);
			errors++;
		}
	}
	return errors ? -1 : 0;
}

void
ini_table_print(FILE *fp, const struct asockd_plugin *d)
{
	const struct asockd_setting *s;
	const char		*section = NULL;
	size_t			 i;

	for (i = 0; (s = setting_at(d, i))->name != NULL; i++) {
		if (section == NULL || strcmp(section, s->section) != 0) {
			section = s->section;
			fprintf(fp, "%s[%s]\n", i ? "\n" : "", section);
		}
		fprintf(fp, "%s = %s\n", s->name, s->def ? s->def : "");
		fprintf(fp, "    %s", ini_type_name(s->type));
		if (s->type == ASOCKD_SET_ENUM)
			fprintf(fp, ": %s", s->choices);
		if ((s->type == ASOCKD_SET_INT ||
		    s->type == ASOCKD_SET_DOUBLE) && s->min < s->max)
			fprintf(fp, ", %.15g..%.15g", s->min, s->max);
		fprintf(fp, ", default %s\n", s->def ? s->def : "none");
		if (s->help != NULL)
			fprintf(fp, "    %s\n", s->help);
	}
	if (i == 0)
		fprintf(fp, "(takes no settings)\n");
}
