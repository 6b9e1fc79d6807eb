/*
 * proc.c - the state of this process, in one place.
 *
 * Every process of the daemon (the master, a worker, the -t child) has
 * one event loop, one loaded configuration and, in a worker, the loaded
 * plugins.  They live in `proc` rather than in globals scattered over
 * main.c, master.c and worker.c.  The process room (main, master,
 * worker) writes it; every room below may read it: it is data, not a
 * call upward.
 */
#include "asockd.h"

struct proc		 proc = {
	.instances = TAILQ_HEAD_INITIALIZER(proc.instances),
};
