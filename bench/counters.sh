#!/bin/bash
# bench/counters.sh - what the counters cost: echo messages/s of asockd
# with its counters (A) against the same sources with them compiled out
# (B, bench/asockd-nocounters, -DASOCKD_NO_COUNTERS), alternating
# A B A B ... on loopback, one worker (pinned as in run.sh),
# bench/echo_load with 64 connections and 16 messages of 64 bytes in
# flight.  Besides messages/s it prints the worker's CPU time per
# message, which other load on the machine disturbs far less.
#
#   bench/counters.sh [--builddir DIR] [--rounds N] [--duration SECS]
#
# `make bench-counters` builds the tools and runs it.  It prints each run,
# the medians and the ratio A / B (wanted: at least 0.98).  Nothing here
# runs under `make check`.
set -eu

builddir=$(cd "$(dirname "$0")/.." && pwd)
rounds=5
dur=3
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--duration) dur=$2; shift ;;
	*) sed -n '9p' "$0" | sed 's/^# //' >&2; exit 2 ;;
	esac
	shift
done
for t in daemon/asockd bench/asockd-nocounters bench/echo_load; do
	[ -x "$builddir/$t" ] || { echo "counters.sh: no $builddir/$t" \
	    "(make bench-tools)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/asockd-ctr.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cat >"$work/asockd.conf" <<CONF
daemon: { workers = 1; log_level = "notice"; };
plugins: { echo = { path = "echo.so"; }; };
listeners: ( { name = "echo"; listen = "tcp://127.0.0.1:0";
  plugin = "echo"; } );
CONF

# as run.sh: server on CPU 1, load on CPU 0, when there are two
srv_pin= load_pin=
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	srv_pin="taskset -c 1"
	load_pin="taskset -c 0"
fi

# run BINARY: one measurement, prints msgs/s and CPU ns per message
run() {
	local port i
	$srv_pin "$1" -f -c "$work/asockd.conf" -P "$builddir/plugins/.libs" \
	    2>"$work/log" &
	pid=$!
	for i in $(seq 100); do
		port=$(sed -n 's/.*echo: listening on tcp:\/\/127.0.0.1:\([0-9]*\).*/\1/p' \
		    "$work/log")
		[ -n "$port" ] && grep -q ready "$work/log" && break
		sleep 0.05
	done
	w=$(cat /proc/"$pid"/task/*/children | tr -d " ")
	$load_pin "$builddir/bench/echo_load" -p "$port" -c 64 -P 16 -s 64 \
	    -d "$dur" -w 0 >"$work/out"
	# the worker's CPU time (user + system, clock ticks) per message:
	# steadier than messages/s on a machine others share
	t=$(awk '{ print $14 + $15 }' /proc/"$w"/stat)
	awk -v t="$t" -v hz="$(getconf CLK_TCK)" '{
		for (i = 1; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "msgs_per_s") r = kv[2]
			if (kv[1] == "total_msgs") m = kv[2]
		}
		printf "%d %.0f\n", r, t / hz * 1e9 / m }' "$work/out"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
}

median() {
	sort -n | awk '{ v[NR] = $1 }
	    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

: >"$work/a"
: >"$work/b"
for r in $(seq "$rounds"); do
	read -r a ca <<<"$(run "$builddir/daemon/asockd")"
	read -r b cb <<<"$(run "$builddir/bench/asockd-nocounters")"
	echo "round $r: counters $a msgs/s ($ca ns CPU/msg)," \
	    "compiled out $b msgs/s ($cb ns CPU/msg)"
	echo "$a" >>"$work/a"
	echo "$b" >>"$work/b"
	echo "$ca" >>"$work/ca"
	echo "$cb" >>"$work/cb"
done
ma=$(median <"$work/a")
mb=$(median <"$work/b")
mca=$(median <"$work/ca")
mcb=$(median <"$work/cb")
echo "median: counters $ma msgs/s, $mca ns CPU/msg;" \
    "compiled out $mb msgs/s, $mcb ns CPU/msg"
echo "ratio (counters / compiled out): msgs/s" \
    "$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.3f", a / b }')," \
    "CPU/msg $(awk -v a="$mca" -v b="$mcb" 'BEGIN { printf "%.3f", a / b }')"
