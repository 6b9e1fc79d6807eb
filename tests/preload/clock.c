/*
 * clock.c - test-only LD_PRELOAD library: time() runs ahead of the real
 * clock by the number of seconds in the file $ASOCKD_TEST_CLOCK (read at
 * every call, so a test moves the daemon's clock while it runs).  Only
 * time() is shifted: OpenSSL 3.0 dates sessions with it and asockd's
 * session-ticket keys follow it, while libev's timers do not see it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

time_t	 time(time_t *);

time_t
time(time_t *out)
{
	struct timespec	 ts;
	const char	*path = getenv("ASOCKD_TEST_CLOCK");
	long		 off = 0;
	FILE		*fp;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (path != NULL && (fp = fopen(path, "r")) != NULL) {
		if (fscanf(fp, "%ld", &off) != 1)
			off = 0;
		fclose(fp);
	}
	ts.tv_sec += off;
	if (out != NULL)
		*out = ts.tv_sec;
	return ts.tv_sec;
}
