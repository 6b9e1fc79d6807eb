/*
 * log.c - logging to stderr (foreground) or syslog.
 *
 * In the foreground every line goes to stderr; when $JOURNAL_STREAM names
 * stderr's device:inode (systemd connected stderr to the journal) each line
 * starts with "<N>", its syslog priority, which journald strips and keeps,
 * then "[PID] ": the journal credits the whole stream to the master, so
 * the pid tells a worker's lines from the master's.  Syslog lines carry
 * each process's pid (LOG_PID).
 * With daemon.log_file the file becomes stderr (so worker processes share
 * it) and lines carry a time stamp; SIGUSR1 reopens it after rotation.
 * log_warn appends strerror(errno) so the caller names only the syscall:
 * log_warn("accept4") -> "accept4: Too many open files".
 *
 * Every line is one write(2), whole or not at all: on a full disk a line
 * that does not fit is taken back (or, if another process wrote after it,
 * ended with a newline), so no fragment is glued to a later line.  Each
 * process counts the lines it dropped and, once a write succeeds again,
 * says how many were lost.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "asockd.h"

static int	 log_where = LOG_TO_STDERR;
static int	 log_level = LOG_INFO;
static int	 log_journal;	/* stderr is the journal: "<N>" prefixes */
static int	 log_stamp;	/* stderr is a log file: time stamps */
static unsigned long log_dropped;	/* lines lost since the last write */
static int	 log_drop_errno;	/* why the last one was lost */
static int	 log_tee_fd = -1;	/* start-up: warnings also go here */

static const char *const level_names[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
};

static int
journal_stderr(void)
{
	const char		*js;
	struct stat		 st;
	unsigned long long	 dev, ino;

	if ((js = getenv("JOURNAL_STREAM")) == NULL)
		return 0;
	if (sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(int where, int level)
{
	log_where = where;
	log_level = level;
	log_journal = where == LOG_TO_STDERR && journal_stderr();
	log_stamp = 0;
	if (where == LOG_TO_SYSLOG)
		openlog("asockd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_file_open(const char *path, uid_t uid, gid_t gid)
{
	int	 fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1) {
		log_err("log file %s", path);
		return -1;
	}
	if (uid != (uid_t)-1 && fchown(fd, uid, gid) == -1)
		log_warn("log file %s: fchown", path);
	if (dup2(fd, STDERR_FILENO) == -1) {
		log_err("log file %s: dup2", path);
		close(fd);
		return -1;
	}
	close(fd);
	if (log_where == LOG_TO_SYSLOG)
		closelog();
	log_where = LOG_TO_STDERR;
	log_journal = 0;
	log_stamp = 1;
	return 0;
}

void
log_tee(int fd)
{
	log_tee_fd = fd;
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return log_level;
}

int
log_level_parse(const char *name)
{
	int	 i;

	for (i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	if (strcmp(name, "error") == 0)
		return LOG_ERR;
	if (strcmp(name, "warn") == 0)
		return LOG_WARNING;
	return -1;
}

/* Format msg as the line that goes to stderr; returns its length. */
static size_t
line_format(char *line, size_t size, int pri, const char *msg)
{
	char		 ts[32];
	time_t		 now;
	struct tm	 tm;
	int		 n;

	if (log_journal)
		n = snprintf(line, size, "<%d>[%d] %s\n", pri, (int)getpid(),
		    msg);
	else if (log_stamp) {
		now = time(NULL);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S",
		    localtime_r(&now, &tm));
		n = snprintf(line, size, "%s asockd[%d]: %s: %s\n", ts,
		    (int)getpid(), level_names[pri], msg);
	} else
		n = snprintf(line, size, "asockd[%d]: %s: %s\n",
		    (int)getpid(), level_names[pri], msg);
	if (n < 0)
		n = 0;
	if ((size_t)n >= size) {
		/* cut, but still one line */
		n = (int)size - 1;
		line[n - 1] = '\n';
	}
	return (size_t)n;
}

/*
 * Write one whole line to stderr: 0, or -1 when nothing of it stays.  A
 * short write (a full disk) leaves a fragment: cut the file back to where
 * the line began if nothing was appended since, else end it with '\n'.
 */
static int
line_write(const char *line, size_t len)
{
	struct stat	 st;
	ssize_t		 n;
	off_t		 end;

	do
		n = write(STDERR_FILENO, line, len);
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)len)
		return 0;
	if (n <= 0) {
		log_drop_errno = n == 0 ? ENOSPC : errno;
		return -1;
	}
	log_drop_errno = ENOSPC;
	end = lseek(STDERR_FILENO, 0, SEEK_CUR);
	if (end != -1 && fstat(STDERR_FILENO, &st) == 0 &&
	    S_ISREG(st.st_mode) && st.st_size == end &&
	    ftruncate(STDERR_FILENO, end - n) == 0)
		return -1;
	if (write(STDERR_FILENO, "\n", 1) != 1)
		log_drop_errno = errno;	/* the fragment stays; nothing else */
	return -1;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	 buf[2048], line[2200];
	size_t	 len;
	int	 saved = errno;

	if (pri > log_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_tee_fd != -1 && pri <= LOG_WARNING) {
		int	 n;

		n = snprintf(line, sizeof(line), "asockd[%d]: %s: %s\n",
		    (int)getpid(), level_names[pri], buf);
		if (n > 0 && write(log_tee_fd, line, (size_t)n < sizeof(line) ?
		    (size_t)n : sizeof(line) - 1) == -1)
			log_tee_fd = -1;	/* the starter is gone */
	}
	if (log_where == LOG_TO_SYSLOG) {
		syslog(pri, "%s", buf);
		errno = saved;
		return;
	}
	if (log_dropped > 0) {
		char	 note[128];

		snprintf(note, sizeof(note), "%lu lines dropped: the log could"
		    " not be written (%s)", log_dropped,
		    strerror(log_drop_errno));
		len = line_format(line, sizeof(line), LOG_WARNING, note);
		if (line_write(line, len) == -1) {
			log_dropped++;
			errno = saved;
			return;
		}
		log_dropped = 0;
	}
	len = line_format(line, sizeof(line), pri, buf);
	if (line_write(line, len) == -1)
		log_dropped++;
	errno = saved;
}

static void
vlog_errno(int pri, int err, const char *fmt, va_list ap)
{
	char	 buf[1536];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	logit(pri, "%s: %s", buf, strerror(err));
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list	 ap;
	int	 err = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, err, fmt, ap);
	va_end(ap);
	errno = err;
}

void
log_errx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 err = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, err, fmt, ap);
	va_end(ap);
	errno = err;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_notice(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_NOTICE, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < LOG_DEBUG)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 err = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
