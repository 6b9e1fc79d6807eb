#!/bin/bash
# bench/access.sh - what an allow list costs at accept time: new
# connections per second (bench/accept_rate) against asockd's echo
# listener with no list (A) and with a 10,000-entry allow list (B) whose
# match for the client is one entry among them, alternating A B A B ...
# for --rounds rounds of --duration seconds.  Prints the medians and the
# ratio B / A (docs/performance.md; the issue asks for >= 0.95).
#
#   bench/access.sh --builddir DIR [--rounds N] [--duration SECS]
#                   [--procs N]
#
# Loopback only; run it on a quiet machine (the figures are shared-CPU
# figures otherwise, and say so).
set -eu

builddir=
rounds=3
dur=2
procs=2
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--duration) dur=$2; shift 2 ;;
	--procs) procs=$2; shift 2 ;;
	*) sed -n '10,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
done
[ -n "$builddir" ] || { echo "access.sh: --builddir DIR" >&2; exit 2; }
tool=$builddir/bench/accept_rate
[ -x "$tool" ] || { echo "access.sh: build $tool first (make bench-tools)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/asockd-access.XXXXXX")
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$work"' EXIT

# 10,000 /24s in 10.0.0.0/8 .. 10.39.x, none of them loopback, and
# 127.0.0.1 in the middle of the sorted list.
{
	printf '[ '
	for i in $(seq 0 9999); do
		printf '"10.%d.%d.0/24", ' $((i / 256 + (i % 2) * 100)) $((i % 256))
		[ $i -eq 5000 ] && printf '"127.0.0.1", '
	done
	printf '"192.0.2.0/24" ]'
} > "$work/list"

start() {	# name allow-line -> port
	cat > "$work/$1.conf" <<CONF
daemon: { workers = 1; log_level = "notice"; };
plugins: { echo = { path = "echo.so"; }; };
listeners: ( { name = "$1"; listen = "tcp://127.0.0.1:0"; plugin = "echo";
  backlog = 4096; $2 } );
CONF
	chmod 600 "$work/$1.conf"
	"$builddir/daemon/asockd" -f -c "$work/$1.conf" \
	    -P "$builddir/plugins/.libs" > "$work/$1.log" 2>&1 &
	pids="$pids $!"
	for _ in $(seq 100); do
		port=$(sed -n "s/.*listener $1: listening on tcp:\/\/127.0.0.1:\([0-9]*\).*/\1/p" "$work/$1.log")
		[ -n "$port" ] && grep -q ready "$work/$1.log" && break
		sleep 0.1
	done
	[ -n "$port" ] || { cat "$work/$1.log" >&2; exit 1; }
	echo "$port"
}

pa=$(start none "")
pb=$(start list "allow = $(cat "$work/list");")
ra=() rb=()
for r in $(seq "$rounds"); do
	ra+=("$("$tool" 127.0.0.1 "$pa" "$dur" "$procs" | sed 's/.*: \([0-9]*\)\/s/\1/')")
	rb+=("$("$tool" 127.0.0.1 "$pb" "$dur" "$procs" | sed 's/.*: \([0-9]*\)\/s/\1/')")
	echo "round $r: no list ${ra[-1]}/s, 10,000 entries ${rb[-1]}/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ma=$(median "${ra[@]}")
mb=$(median "${rb[@]}")
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "median: no list %d/s, 10,000-entry allow list %d/s, ratio %.3f\n", a, b, b / a }'
