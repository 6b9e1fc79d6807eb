/*
 * check.c - the contract checks of libasockd-test (asockd_test_contract):
 * one call runs a plugin through the sequences where plugins break, each
 * on a fresh connection, and reports what went wrong.
 *
 * Every run ends the same way: the peer reads again, the host closes
 * what is still open, and the clock moves on an hour so that timers the
 * plugin left behind fire.  A run passes when its connection got on_close
 * exactly once (the kit's finish() guarantees once; what is checked is
 * that no callback came after it) and the plugin made no contract
 * violation meanwhile.  The split runs must also give the output and the
 * close reason of the whole-input run, unless that run's output changes
 * from one run to the next (a Date header): then only the reason counts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kit.h"

#define WAIT	3600.0		/* seconds of timers after each run */

struct run {
	unsigned char	*out;
	size_t		 len;
	int		 reason;
	int		 refused;
};

enum how { WHOLE, SPLIT, BYTES };

static const char *kinds[KIT_CB_MAX] = {
	[KIT_CB_ACCEPT] = "on_accept",
	[KIT_CB_RECEIVE] = "on_receive/on_message",
	[KIT_CB_SEND] = "on_send",
	[KIT_CB_EOF] = "on_eof",
	[KIT_CB_TIMER] = "a timer",
};

/* The end of every run; 1 (after reporting) when it broke the contract. */
static int
run_end(struct asockd_test *t, struct asockd_conn *c, int viol0,
    const char *what)
{
	int	 bad = 0;

	(void)asockd_test_peer_reading(c, 1);
	if (!asockd_test_closed(c))
		kit_host_close(c);
	asockd_test_advance(t, WAIT);
	if (!asockd_test_closed(c)) {
		kit_report(t, "contract: %s: the connection never closed",
		    what);
		bad = 1;
	}
	if (kit_conn_callbacks(c) > 0) {
		kit_report(t, "contract: %s: %d callbacks after on_close",
		    what, kit_conn_callbacks(c));
		bad = 1;
	}
	if (asockd_test_nviolations(t) > viol0) {
		kit_report(t, "contract: %s: %d contract violations (see"
		    " asockd_test_violations)", what,
		    asockd_test_nviolations(t) - viol0);
		bad = 1;
	}
	return bad;
}

/* One session: input (whole, split at `at`, or a byte at a time), EOF. */
static int
session(struct asockd_listener *l, const unsigned char *in, size_t len,
    enum how how, size_t at, struct run *r, const char *what)
{
	struct asockd_test	*t = kit_listener_test(l);
	struct asockd_conn	*c;
	const void		*p;
	int			 viol0 = asockd_test_nviolations(t), bad;

	memset(r, 0, sizeof(*r));
	if (asockd_test_accept(l, NULL, &c) < 0) {
		r->refused = 1;
		return 0;
	}
	/* the peer reads only at the end: output then cannot depend on
	 * how many loop turns the feeding took */
	(void)asockd_test_peer_reading(c, 0);
	if (how == SPLIT) {
		(void)asockd_test_feed(c, in, at);
		(void)asockd_test_feed(c, in + at, len - at);
	} else
		(void)asockd_test_feed_chunks(c, in, len, how == BYTES ? 1 :
		    0);
	(void)asockd_test_eof(c);
	bad = run_end(t, c, viol0, what);
	p = asockd_test_output(c, &r->len);
	r->out = malloc(r->len ? r->len : 1);
	if (r->out == NULL)
		abort();
	memcpy(r->out, p, r->len);
	r->reason = asockd_test_closed(c);
	return bad;
}

static size_t
differ(const struct run *a, const struct run *b)
{
	size_t	 i, n = a->len < b->len ? a->len : b->len;

	for (i = 0; i < n; i++)
		if (a->out[i] != b->out[i])
			return i;
	return n;
}

static int
same(const struct run *a, const struct run *b, int output)
{
	return a->reason == b->reason && (!output || (a->len == b->len &&
	    memcmp(a->out, b->out, a->len) == 0));
}

/* The split runs; problems found. */
static int
splits(struct asockd_listener *l, const unsigned char *in, size_t len)
{
	struct asockd_test	*t = kit_listener_test(l);
	struct run		 ref, again, r;
	char			 what[128];
	size_t			 at;
	int			 bad = 0, output;

	bad += session(l, in, len, WHOLE, 0, &ref, "whole input");
	if (ref.refused) {
		kit_report(t, "contract: on_accept refused the connection:"
		    " nothing else checked");
		free(ref.out);
		return bad + 1;
	}
	bad += session(l, in, len, WHOLE, 0, &again, "whole input again");
	output = same(&ref, &again, 1);
	free(again.out);
	for (at = 0; at <= len; at++) {
		if (at == len)
			snprintf(what, sizeof(what), "a byte at a time");
		else
			snprintf(what, sizeof(what), "split at byte %zu",
			    at);
		bad += session(l, in, len, at == len ? BYTES : SPLIT, at, &r,
		    what);
		if (output && !same(&ref, &r, 1)) {
			/* a clock in the output shows as a changed rerun */
			bad += session(l, in, len, WHOLE, 0, &again,
			    "whole input again");
			if (!same(&ref, &again, 1))
				output = 0;
			free(again.out);
		}
		if (!same(&ref, &r, output)) {
			if (ref.reason != r.reason)
				kit_report(t, "contract: %s: closed with"
				    " reason %d, the whole input with %d",
				    what, r.reason, ref.reason);
			else
				kit_report(t, "contract: %s: output differs"
				    " from the whole input's at byte %zu (%zu"
				    " bytes, %zu expected)", what,
				    differ(&ref, &r), r.len, ref.len);
			bad++;
		}
		free(r.out);
	}
	free(ref.out);
	return bad;
}

/* Bytes after the host closed: they go nowhere, nothing breaks. */
static int
after_close(struct asockd_listener *l, const unsigned char *in, size_t len)
{
	struct asockd_test	*t = kit_listener_test(l);
	struct asockd_conn	*c;
	int			 viol0 = asockd_test_nviolations(t);

	if (asockd_test_accept(l, NULL, &c) < 0)
		return 0;
	(void)asockd_test_feed(c, in, len);
	kit_host_close(c);
	if (asockd_test_feed(c, in, len) == 0) {
		kit_report(t, "contract: bytes after close: delivered");
		return 1 + run_end(t, c, viol0, "bytes after close");
	}
	return run_end(t, c, viol0, "bytes after close");
}

/* A reset while the plugin's output waits in the queue. */
static int
reset_queued(struct asockd_listener *l, const unsigned char *in, size_t len)
{
	struct asockd_test	*t = kit_listener_test(l);
	struct asockd_conn	*c;
	int			 viol0 = asockd_test_nviolations(t), bad;

	if (asockd_test_accept(l, NULL, &c) < 0)
		return 0;
	(void)asockd_test_peer_reading(c, 0);
	kit_conn_sndbuf(c, 0);
	(void)asockd_test_feed(c, in, len);
	(void)asockd_test_reset(c);
	bad = run_end(t, c, viol0, "reset with output queued");
	return bad;
}

/* A reset found by the first host call inside callback kind. */
static int
reset_inside(struct asockd_listener *l, const unsigned char *in, size_t len,
    int kind)
{
	struct asockd_test	*t = kit_listener_test(l);
	struct asockd_conn	*c;
	char			 what[128];
	int			 viol0 = asockd_test_nviolations(t);

	snprintf(what, sizeof(what), "reset inside %s", kinds[kind]);
	kit_arm_reset(t, kind);
	if (asockd_test_accept(l, NULL, &c) < 0) {
		kit_arm_reset(t, KIT_CB_NONE);
		return 0;
	}
	if (kind == KIT_CB_SEND) {
		/* fill the queue past its high-water mark, then drain it */
		(void)asockd_test_peer_reading(c, 0);
		kit_conn_sndbuf(c, 0);
	}
	(void)asockd_test_feed(c, in, len);
	if (kind == KIT_CB_SEND)
		(void)asockd_test_peer_reading(c, 1);
	if (kind == KIT_CB_TIMER)
		asockd_test_advance(t, WAIT);
	(void)asockd_test_eof(c);
	return run_end(t, c, viol0, what);
}

int
asockd_test_contract(struct asockd_listener *l, const void *input,
    size_t len)
{
	const unsigned char	*in = input;
	int			 bad, kind;

	bad = splits(l, in, len);
	bad += after_close(l, in, len);
	bad += reset_queued(l, in, len);
	for (kind = KIT_CB_ACCEPT; kind < KIT_CB_MAX; kind++)
		if (kit_has_cb(kit_listener_test(l), kind))
			bad += reset_inside(l, in, len, kind);
	return bad;
}
