/*
 * stubs.c - the few daemon functions frame.c, archive.c and utf8.c call,
 * for the fuzz targets, which link only those three files (not libev, not
 * the rest of the daemon).  Out of memory and fatal errors abort, so the
 * fuzzer reports them as crashes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asockd.h"

void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		abort();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		abort();
	return p;
}

void *
xrealloc(void *old, size_t size)
{
	void	*p;

	if ((p = realloc(old, size == 0 ? 1 : size)) == NULL)
		abort();
	return p;
}

void
fatalx(const char *fmt, ...)
{
	fprintf(stderr, "fatalx: %s\n", fmt);
	abort();
}
