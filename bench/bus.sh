#!/bin/bash
# bench/bus.sh - chat fan-out through the plugins' message bus.
#
#   bench/bus.sh [--rounds N] [--receivers N] [--messages N] BUILDDIR
#
# Three cases, alternated round by round (A B C A B C ...), each one
# bench/bus_fanout with RECEIVERS members and a talker keeping 16
# messages in flight:
#
#   one     one asockd, one worker (the master relays to it)
#   two     one asockd, two workers (the master relays between them)
#   redis   two asockd of one worker each, on one redis-server (streams),
#           members spread over both
#
# Each case runs twice a round: 16 messages in flight (throughput) and 1
# (latency without queueing).  Prints the median messages delivered per
# second and p50/p99 latency (publish to delivery, microseconds) of each,
# and redis / one.
# Loopback only; the machine may be shared, so read ratios, not absolutes.
set -eu -o pipefail

rounds=3
recv=50
msgs=2000
while [ $# -gt 1 ]; do
	case $1 in
	--rounds) rounds=$2; shift 2 ;;
	--receivers) recv=$2; shift 2 ;;
	--messages) msgs=$2; shift 2 ;;
	*) break ;;
	esac
done
b=$(cd "${1:?builddir}" && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
	local rc=$?
	[ $rc -eq 0 ] || tail -n 5 "$tmp"/*.log >&2 || true
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

port() { # a free loopback port
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rport=$(port)
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no \
	--loglevel warning >/dev/null &
pids+=($!)
for i in $(seq 50); do
	redis-cli -p "$rport" ping >/dev/null 2>&1 && break
	sleep 0.1
done

printf '[chat]\nhistory = 0\n' > "$tmp/chat.ini"
# start NAME WORKERS [BUS]: prints the listener's port
start() {
	local p busline=
	p=$(port)
	[ -z "${3:-}" ] || busline="bus = \"$3\";"
	cat > "$tmp/$1.conf" <<EOC
daemon: { workers = $2; log_level = "warning"; $busline };
plugins: { chat = { path = "chat.so"; config = "$tmp/chat.ini"; }; };
listeners: ( { name = "room"; listen = "tcp://127.0.0.1:$p";
  plugin = "chat"; framing = "archive"; sndq_high = 4194304;
  sndq_max = 16777216; } );
EOC
	"$b/daemon/asockd" -f -c "$tmp/$1.conf" -P "$b/plugins/.libs" \
		>>"$tmp/$1.log" 2>&1 &
	echo $! > "$tmp/$1.pid"
	echo "$p"
}
one=$(start one 1)
two=$(start two 2)
ra=$(start ra 1 "redis://127.0.0.1:$rport")
rb=$(start rb 1 "redis://127.0.0.1:$rport")
for c in one two ra rb; do pids+=("$(cat "$tmp/$c.pid")"); done
sleep 1

run() { # CASE WINDOW MESSAGES PORT...
	local c=$1 w=$2 m=$3; shift 3
	"$b/bench/bus_fanout" -n "$recv" -w "$w" -m "$m" "$@" |
	    tee -a "$tmp/$c.out"
}
for r in $(seq "$rounds"); do
	echo "round $r"
	run one 16 "$msgs" "$one"
	run two 16 "$msgs" "$two"
	run redis 16 "$msgs" "$ra" "$rb"
	# latency alone: one message in flight
	run one1 1 $((msgs / 4)) "$one"
	run two1 1 $((msgs / 4)) "$two"
	run redis1 1 $((msgs / 4)) "$ra" "$rb"
done

med() { # CASE FIELD
	sed -n "s/.*$2=\([0-9.]*\).*/\1/p" "$tmp/$1.out" | sort -n |
	    awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
echo
echo "16 messages in flight (rate), and 1 in flight (one1, two1, redis1):"
printf '%-6s %12s %10s %10s\n' case "msgs/s" "p50 us" "p99 us"
for c in one two redis one1 two1 redis1; do
	printf '%-6s %12s %10s %10s\n' "$c" "$(med $c rate)" "$(med $c p50)" \
	    "$(med $c p99)"
done
awk -v r="$(med redis rate)" -v o="$(med one rate)" \
    'BEGIN { printf "redis / one: %.2f\n", r / o }'
