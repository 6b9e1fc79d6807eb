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

struct asockd_instance *
plugin_load(const struct config *cf, const struct plugin_conf *pc)
{
	struct asockd_instance	*inst;
	const struct asockd_plugin *d;
	struct asockd_plugin	*copy;
	void			*dl;
	char			*path, *real, err[PATH_MAX + 128];

	path = config_plugin_path(cf, pc);
	/* a file someone else can change would run its code as us */
	if (perm_check(path, &real, err, sizeof(err)) == -1) {
		if (errno == EPERM)
			log_warnx("%s:%d: plugin '%s': refusing %s: %s",
			    pc->file, pc->line, pc->name, path, err);
		else
			log_warnx("%s:%d: plugin '%s': cannot load %s: %s",
			    pc->file, pc->line, pc->name, path,
			    strerror(errno));
		free(path);
		return NULL;
	}
	dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	free(real);
	if (dl == NULL) {
		log_warnx("%s:%d: plugin '%s': cannot load %s: %s", pc->file,
		    pc->line, pc->name, path, dlerror());
		free(path);
		return NULL;
	}
	d = dlsym(dl, ASOCKD_PLUGIN_SYMBOL_NAME);
	if (d == NULL) {
		log_warnx("%s:%d: plugin '%s': %s has no '%s' symbol: not an"
		    " asockd plugin", pc->file, pc->line, pc->name, path,
		    ASOCKD_PLUGIN_SYMBOL_NAME);
		goto fail;
	}
	if (d->abi_major != ASOCKD_ABI_MAJOR ||
	    d->abi_minor > ASOCKD_ABI_MINOR) {
		log_warnx("%s:%d: plugin '%s': %s was built for plugin ABI"
		    " %u.%u, this daemon has ABI %u.%u", pc->file, pc->line,
		    pc->name, path, d->abi_major, d->abi_minor,
		    ASOCKD_ABI_MAJOR, ASOCKD_ABI_MINOR);
		goto fail;
	}
	if (d->size < DESC_MIN_SIZE) {
		log_warnx("%s:%d: plugin '%s': %s has a descriptor of %u"
		    " bytes, at least %zu expected for ABI %u.%u", pc->file,
		    pc->line, pc->name, path, d->size, DESC_MIN_SIZE,
		    d->abi_major, d->abi_minor);
		goto fail;
	}
	copy = xcalloc(1, sizeof(*copy));
	memcpy(copy, d, d->size < sizeof(*copy) ? d->size : sizeof(*copy));
	if (copy->name == NULL)
		copy->name = pc->name;

	inst = xcalloc(1, sizeof(*inst));
	inst->name = xstrdup(pc->name);
	inst->path = path;
	inst->dl = dl;
	inst->desc = copy;
	if (pc->ini != NULL && (inst->ini = ini_load(pc->ini)) == NULL) {
		log_warnx("%s:%d: plugin '%s': bad settings file %s",
		    pc->file, pc->line, pc->name, pc->ini);
		plugin_unload(inst);
		return NULL;
	}
	log_debug("plugin %s: loaded %s (%s %s, ABI %u.%u)", inst->name,
	    path, copy->name, copy->version ? copy->version : "?",
	    copy->abi_major, copy->abi_minor);
	return inst;
fail:
	dlclose(dl);
	free(path);
	return NULL;
}

int
plugin_init(struct asockd_instance *inst)
{
	int	 rc = 0;

	if (inst->desc->init != NULL) {
		cb_enter();
		rc = inst->desc->init(&host_api, inst, &inst->pdata);
		cb_leave();
	}
	if (rc < 0) {
		log_warnx("plugin %s: init failed: %s", inst->name,
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
		cb_enter();
		rc = inst->desc->validate(inst);
		cb_leave();
	}
	if (rc < 0) {
		log_warnx("plugin %s: settings rejected: %s", inst->name,
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
		cb_enter();
		inst->desc->fini(inst);
		cb_leave();
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
