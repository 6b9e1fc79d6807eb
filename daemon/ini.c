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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
