/*
 * cb.c - calling into a plugin: the bracket around every plugin callback.
 *
 * Every call of plugin code (a notification, a timer, init, validate,
 * fini) runs inside CB_CALL(), which counts the depth of nested calls.
 * A unit that must not act while plugin code is on the stack (conn.c,
 * whose closes would free a connection the plugin still holds) records
 * the work, calls cb_defer(), and registers with cb_hook() the function
 * that carries it out: cb_leave() runs the hooks once the outermost
 * callback has returned, and only when cb_defer() asked for it, so the
 * common return costs one test.  Readers of the archive API opened inside
 * a callback are freed there too.
 *
 * cb.c names no other unit's internals: the lower rooms it calls (the
 * archive reader's garbage collection) are below it, the upper ones
 * register hooks.
 */
#include "asockd.h"

#define CB_HOOKS_MAX	4

int			 cb_depth;
static void		(*hooks[CB_HOOKS_MAX])(void);
static unsigned int	 nhooks;
static int		 deferred;	/* a hook has work */

void
cb_hook(void (*fn)(void))
{
	unsigned int	 i;

	for (i = 0; i < nhooks; i++)
		if (hooks[i] == fn)
			return;
	if (nhooks == CB_HOOKS_MAX)
		fatalx("cb_hook: more than %d hooks", CB_HOOKS_MAX);
	hooks[nhooks++] = fn;
}

void
cb_defer(void)
{
	deferred = 1;
}

void
cb_enter(void)
{
	cb_depth++;
}

void
cb_leave(void)
{
	unsigned int	 i;

	if (--cb_depth > 0)
		return;
	/* both are idle after almost every callback: test before calling */
	if (archive_nreaders > 0)
		archive_rd_gc();
	if (!deferred)
		return;
	/* a hook may call plugins again, and their cb_leave() these hooks */
	deferred = 0;
	for (i = 0; i < nhooks; i++)
		hooks[i]();
}
