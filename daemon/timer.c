/*
 * timer.c - plugin timers (host->timer_start / timer_stop).
 *
 * A timer of a connection is stopped and freed with the connection, before
 * its on_close; a plugin-wide timer lives until timer_stop or exit.  Timer
 * callbacks are plugin callbacks like any other: they run bracketed by
 * CB_CALL(), with a reference on their connection.
 */
#include <stdlib.h>

#include "asockd.h"

static TAILQ_HEAD(, asockd_timer) global_timers =
    TAILQ_HEAD_INITIALIZER(global_timers);

static void
timer_unlink(struct asockd_timer *t)
{
	ev_timer_stop(proc.loop, &t->w);
	if (t->conn != NULL)
		TAILQ_REMOVE(&t->conn->timers, t, entry);
	else
		TAILQ_REMOVE(&global_timers, t, entry);
}

static void
timer_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct asockd_timer	*t = w->data;
	struct asockd_conn	*c = t->conn;
	struct asockd_instance	*inst = t->inst;

	if (c != NULL)
		conn_ref(c);
	t->running = 1;
	CB_CALL_P(inst, t->cb(t, t->arg));
	t->running = 0;
	if (t->stopped)
		free(t);	/* timer_stop inside its own callback */
	else if (t->w.repeat == 0.) {
		timer_unlink(t);	/* one-shot: done */
		free(t);
	}
	if (c != NULL)
		conn_unref(c);
}

struct asockd_timer *
timer_start(struct asockd_instance *inst, struct asockd_conn *c,
    double after, double repeat, asockd_timer_cb cb, void *arg)
{
	struct asockd_timer	*t;

	if (cb == NULL || after < 0 || repeat < 0)
		return NULL;
	if (c != NULL && c->state == CONN_CLOSED)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->inst = inst;
	t->conn = c;
	t->cb = cb;
	t->arg = arg;
	ev_timer_init(&t->w, timer_cb, after, repeat);
	t->w.data = t;
	if (c != NULL)
		TAILQ_INSERT_TAIL(&c->timers, t, entry);
	else
		TAILQ_INSERT_TAIL(&global_timers, t, entry);
	ev_timer_start(proc.loop, &t->w);
	return t;
}

void
timer_stop(struct asockd_timer *t)
{
	if (t == NULL || t->stopped)
		return;
	timer_unlink(t);
	t->stopped = 1;
	if (!t->running)
		free(t);
}

void
timer_stop_conn(struct asockd_conn *c)
{
	struct asockd_timer	*t;

	while ((t = TAILQ_FIRST(&c->timers)) != NULL)
		timer_stop(t);
}

void
timer_stop_instance(struct asockd_instance *inst)
{
	struct asockd_timer	*t, *tmp;

	TAILQ_FOREACH_SAFE(t, &global_timers, entry, tmp)
		if (t->inst == inst)
			timer_stop(t);
}
