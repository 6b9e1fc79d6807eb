/*
 * plugin.c - loading plugins and checking their descriptor.
 *
 * The descriptor is data: the host reads and checks it (ABI major equal,
 * minor not newer than the daemon's, struct size large enough) before it
 * calls any plugin code.  The checked descriptor is copied into a full-size
 * struct owned by the host, so fields that an older plugin's smaller
 * struct lacks read as NULL.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "asockd.h"

/* The size of a version 1.0 descriptor (everything before on_message). */
#define DESC_MIN_SIZE	offsetof(struct asockd_plugin, on_message)

/*
 * Find and check the descriptor of the object dl (loaded from path),
 * before any of its code runs; then check its settings table.  Returns a
 * host-owned full-size copy, or NULL after one log line prefixed with who.
 */
static struct asockd_plugin *
desc_load(void *dl, const char *path, const char *who)
{
	const struct asockd_plugin *d;
	struct asockd_plugin	*copy;

	d = dlsym(dl, ASOCKD_PLUGIN_SYMBOL_NAME);
	if (d == NULL) {
		log_errx("%s: %s has no '%s' symbol: not an asockd plugin",
		    who, path, ASOCKD_PLUGIN_SYMBOL_NAME);
		return NULL;
	}
	if (d->abi_major != ASOCKD_ABI_MAJOR ||
	    d->abi_minor > ASOCKD_ABI_MINOR) {
		log_errx("%s: %s was built for plugin ABI %u.%u, this daemon"
		    " has ABI %u.%u", who, path, d->abi_major, d->abi_minor,
		    ASOCKD_ABI_MAJOR, ASOCKD_ABI_MINOR);
		return NULL;
	}
	if (d->size < DESC_MIN_SIZE) {
		log_errx("%s: %s has a descriptor of %u bytes, at least %zu"
		    " expected for ABI %u.%u", who, path, d->size,
		    DESC_MIN_SIZE, d->abi_major, d->abi_minor);
		return NULL;
	}
	copy = xcalloc(1, sizeof(*copy));
	memcpy(copy, d, d->size < sizeof(*copy) ? d->size : sizeof(*copy));
	/* a table is only read from a descriptor that knows of it */
	if (copy->abi_minor < 2)
		copy->settings = NULL;
	if (ini_table_check(copy, who) == -1) {
		free(copy);
		return NULL;
	}
	return copy;
}

struct asockd_instance *
plugin_load(const struct config *cf, const struct plugin_conf *pc)
{
	struct asockd_instance	*inst;
	struct asockd_plugin	*copy;
	void			*dl;
	char			*path, *who, *real, err[PATH_MAX + 128];

	path = config_plugin_path(cf, pc);
	if (xasprintf(&who, "%s:%d: plugin '%s'", pc->file, pc->line,
	    pc->name) == -1)
		fatal("xasprintf");
	/* a file someone else can change would run its code as us */
	if (perm_check(path, &real, err, sizeof(err)) == -1) {
		if (errno == EPERM)
			log_errx("%s: refusing %s: %s", who, path, err);
		else
			log_errx("%s: cannot load %s: %s", who, path,
			    strerror(errno));
		goto fail;
	}
	dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	free(real);
	if (dl == NULL) {
		log_errx("%s: cannot load %s: %s", who, path, dlerror());
		goto fail;
	}
	if ((copy = desc_load(dl, path, who)) == NULL) {
		dlclose(dl);
		goto fail;
	}
	free(who);
	if (copy->name == NULL)
		copy->name = pc->name;

	inst = xcalloc(1, sizeof(*inst));
	inst->name = xstrdup(pc->name);
	inst->ctr = &ctr_psink;	/* the worker points it at its block */
	inst->path = path;
	inst->dl = dl;
	inst->desc = copy;
	if (pc->ini != NULL && ((inst->ini = ini_load(pc->ini)) == NULL ||
	    ini_validate(inst->ini, copy, pc->name) == -1)) {
		log_errx("%s:%d: plugin '%s': bad settings file %s",
		    pc->file, pc->line, pc->name, pc->ini);
		plugin_unload(inst);
		return NULL;
	}
	log_debug("plugin %s: loaded %s (%s %s, ABI %u.%u)", inst->name,
	    path, copy->name, copy->version ? copy->version : "?",
	    copy->abi_major, copy->abi_minor);
	return inst;
fail:
	free(who);
	free(path);
	return NULL;
}

/*
 * asockd --plugin-help: a path (with a '/') is opened as is, a name as
 * DIR/NAME.so (DIR/NAME when it ends in .so).  Only the descriptor is
 * read: no plugin code runs, no config is needed.
 */
int
plugin_help(const char *arg, const char *dir)
{
	struct asockd_plugin	*d;
	const char		*ext;
	void			*dl;
	char			*path;
	size_t			 len = strlen(arg);

	ext = len > 3 && strcmp(arg + len - 3, ".so") == 0 ? "" : ".so";
	if (strchr(arg, '/') != NULL)
		path = xstrdup(arg);
	else if (xasprintf(&path, "%s/%s%s", dir, arg, ext) == -1)
		fatal("xasprintf");
	if ((dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_warnx("asockd: cannot load %s: %s", path, dlerror());
		free(path);
		return 1;
	}
	if ((d = desc_load(dl, path, "asockd")) == NULL) {
		dlclose(dl);
		free(path);
		return 1;
	}
	printf("plugin %s %s (ABI %u.%u), %s\n", d->name ? d->name : arg,
	    d->version ? d->version : "?", d->abi_major, d->abi_minor, path);
	if (d->settings == NULL)
		printf("(declares no settings table: its INI keys are not"
		    " checked; see its documentation)\n");
	else
		ini_table_print(stdout, d);
	free(d);
	dlclose(dl);
	free(path);
	return 0;
}

int
plugin_init(struct asockd_instance *inst)
{
	int	 rc = 0;

	if (inst->desc->init != NULL) {
		CB_CALL_P(inst,
		    rc = inst->desc->init(&host_api, inst, &inst->pdata));
	}
	if (rc < 0) {
		log_errx("plugin %s: init failed: %s", inst->name,
		    strerror(-rc));
		return -1;
	}
	inst->inited = 1;
	return 0;
}

int
plugin_validate(struct asockd_instance *inst)
{
	int	 rc = 0;

	if (inst->desc->validate != NULL) {
		CB_CALL_P(inst, rc = inst->desc->validate(inst));
	}
	if (rc < 0) {
		log_errx("plugin %s: settings rejected: %s", inst->name,
		    strerror(-rc));
		return -1;
	}
	return 0;
}

void
plugin_unload(struct asockd_instance *inst)
{
	timer_stop_instance(inst);
	if (inst->inited && inst->desc->fini != NULL) {
		CB_CALL_P(inst, inst->desc->fini(inst));
	}
	inst->inited = 0;
	/* keep the code mapped under ASan so leak reports have symbols */
#ifndef ASOCKD_NO_DLCLOSE
	if (getenv("ASOCKD_NO_DLCLOSE") == NULL)
		dlclose(inst->dl);
#endif
	if (inst->ini != NULL)
		ini_free(inst->ini);
	free((void *)(uintptr_t)inst->desc);
	free(inst->path);
	free(inst->name);
	free(inst);
}

/* Unload every plugin of list, the last loaded first. */
void
plugin_unload_all(struct instances *list)
{
	struct asockd_instance	*inst;

	while ((inst = TAILQ_LAST(list, instances)) != NULL) {
		TAILQ_REMOVE(list, inst, entry);
		plugin_unload(inst);
	}
}

struct asockd_instance *
plugin_find(struct instances *list, const char *name)
{
	struct asockd_instance	*inst;

	TAILQ_FOREACH(inst, list, entry)
		if (strcmp(inst->name, name) == 0)
			return inst;
	return NULL;
}
