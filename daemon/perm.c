/*
 * perm.c - refusing files that someone else could change (StrictModes).
 *
 * The daemon runs plugin code, and reads plugin settings and its own
 * config, as root (before workers switch to daemon.user) or as the user
 * who started it.  A file that another user can rewrite, or that sits in
 * a directory another user can rewrite, hands that user the daemon: so
 * like sshd's StrictModes (OpenSSH's safe_path()) the file and every
 * directory above it must be owned by root or by the invoking user, and
 * not be writable by group or others.  Two exceptions:
 *
 *   - a directory with the sticky bit (/tmp, /var/tmp) may be writable
 *     by anyone: others can add entries there but cannot rename or remove
 *     ours, and the entry below it is checked in turn.  OpenSSH does not
 *     make this exception (it stops at the home directory instead); we
 *     need it because paths are absolute and tests and `make run` use
 *     /tmp.  A sticky directory must still be owned by root or us.
 *   - group-writable is fine when the group is the owner's private group
 *     (user private groups, umask 002): the owner is its only member.
 *     Debian's OpenSSH makes the same exception (user-group-modes.patch).
 *
 * The path is resolved with realpath() first and the resolved path is
 * what the caller opens: every component of it has just been checked,
 * so no other user can swap one between the check and the open.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asockd.h"

static uid_t	 perm_uid;
static int	 perm_inited;

void
perm_init(void)
{
	perm_uid = geteuid();
	perm_inited = 1;
}

/*
 * 1 when group gid has no member but uid: nobody else has it as primary
 * group or is listed in it.  Zero members (a setgid program's group) do
 * not count as private.
 */
static int
group_private(gid_t gid, uid_t uid)
{
	struct group	*gr;
	struct passwd	*pw;
	char		*owner;
	int		 members = 0, ok = 1;

	if ((pw = getpwuid(uid)) == NULL)
		return 0;
	owner = xstrdup(pw->pw_name);
	if ((gr = getgrgid(gid)) == NULL) {
		free(owner);
		return 0;
	}
	if (gr->gr_mem[0] != NULL) {
		members++;
		if (strcmp(gr->gr_mem[0], owner) != 0 || gr->gr_mem[1] != NULL)
			ok = 0;
	}
	setpwent();
	while (ok && (pw = getpwent()) != NULL) {
		if (pw->pw_gid != gid)
			continue;
		members++;
		if (pw->pw_uid != uid)
			ok = 0;
	}
	endpwent();
	free(owner);
	return ok && members > 0;
}

/* Why st (of path) is unsafe, in err; 0 when it is safe. */
static int
entry_check(const char *path, const struct stat *st, char *err,
    size_t errlen)
{
	struct group	*gr;

	if (st->st_uid != 0 && st->st_uid != perm_uid) {
		if (perm_uid == 0)
			snprintf(err, errlen, "%s is owned by uid %ld, not by"
			    " root", path, (long)st->st_uid);
		else
			snprintf(err, errlen, "%s is owned by uid %ld, not by"
			    " root or uid %ld", path, (long)st->st_uid,
			    (long)perm_uid);
		return -1;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) == 0)
		return 0;
	if (S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))
		return 0;
	if ((st->st_mode & S_IWOTH) == 0 &&
	    group_private(st->st_gid, st->st_uid))
		return 0;
	if (st->st_mode & S_IWOTH)
		snprintf(err, errlen, "%s is writable by others (mode %04o)",
		    path, (unsigned int)(st->st_mode & 07777));
	else if ((gr = getgrgid(st->st_gid)) != NULL)
		snprintf(err, errlen, "%s is writable by group %s (mode %04o)",
		    path, gr->gr_name, (unsigned int)(st->st_mode & 07777));
	else
		snprintf(err, errlen, "%s is writable by group %ld (mode "
		    "%04o)", path, (long)st->st_gid,
		    (unsigned int)(st->st_mode & 07777));
	return -1;
}

int
perm_check(const char *path, char **resolved, char *err, size_t errlen)
{
	struct stat	 st;
	char		*rp, *dir, *slash;
	int		 rc = -1, saved;

	if (!perm_inited)
		perm_init();
	if (resolved != NULL)
		*resolved = NULL;
	if ((rp = realpath(path, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	dir = xstrdup(rp);
	if (stat(rp, &st) == -1) {
		snprintf(err, errlen, "%s: %s", rp, strerror(errno));
		goto done;
	}
	errno = EPERM;
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", rp);
		goto done;
	}
	if (entry_check(rp, &st, err, errlen) == -1) {
		errno = EPERM;
		goto done;
	}
	/* every directory above it, up to / */
	while ((slash = strrchr(dir, '/')) != NULL) {
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(dir, &st) == -1) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			goto done;
		}
		if (entry_check(dir, &st, err, errlen) == -1) {
			errno = EPERM;
			goto done;
		}
		if (slash == dir)
			break;
	}
	rc = 0;
done:
	saved = errno;
	free(dir);
	if (rc == 0 && resolved != NULL)
		*resolved = rp;
	else
		free(rp);
	errno = saved;
	return rc;
}
