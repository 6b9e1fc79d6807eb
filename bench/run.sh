#!/bin/bash
# bench/run.sh - asockd's benchmark suite: one command, one table.
#
#   bench/run.sh [--quick] [--rounds N] [--duration SECS] [--only LIST]
#                [--builddir DIR] [--workers N] [--idle N] [--no-pin]
#
# Without --builddir it configures and builds asockd, its plugins and the
# bench tools in bench/out/build (`make bench` in a build tree passes its
# own directory).  Then, on loopback only, it alternates asockd (A) and a
# reference server (B) -- A B A B ... -- for each case:
#
#   echo    asockd's echo plugin vs bench/epoll_echo, bench/echo_load with
#           64 connections and 1 or 16 messages of 64 bytes in flight,
#           every byte verified: messages/s, p50/p99 round trip
#   http    asockd's http plugin vs nginx (return 200 "hello\n"), wrk with
#           64 and 256 keep-alive connections, plain and 16 pipelined
#           requests per write: requests/s, server CPU time per request
#   memory  resident memory per idle connection, 10,000 connections
#
# With one worker on a machine of 2 or more CPUs, the server is pinned to
# CPU 1 and the load generator to CPU 0 (taskset), so that the two never
# share a core; --no-pin leaves placement to the scheduler.
# It prints the medians and the ratio asockd / reference.  Raw results go
# to bench/out/results-*.txt.  Nothing here runs under `make check`.
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=
rounds=3
dur=5
only="echo http memory"
workers=1
idle_n=10000
port_base=${BENCH_PORT:-27100}
pin=1

usage() {
	sed -n '3,5p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) rounds=1; dur=2; idle_n=2000 ;;
	--rounds) rounds=$2; shift ;;
	--duration) dur=$2; shift ;;
	--only) only=$2; shift ;;
	--builddir) builddir=$2; shift ;;
	--workers) workers=$2; shift ;;
	--idle) idle_n=$2; shift ;;
	--no-pin) pin=0 ;;
	*) usage ;;
	esac
	shift
done

out=$srcdir/bench/out
mkdir -p "$out"
if [ -z "$builddir" ]; then
	builddir=$out/build
	mkdir -p "$builddir"
	if [ ! -f "$builddir/Makefile" ]; then
		(cd "$builddir" && "$srcdir/configure" -q)
	fi
	make -s -C "$builddir" -j"$(nproc)" bench-tools
fi
builddir=$(cd "$builddir" && pwd)
for t in daemon/asockd bench/epoll_echo bench/echo_load bench/idle_conns \
    plugins/.libs/echo.so plugins/.libs/http.so; do
	if [ ! -e "$builddir/$t" ]; then
		echo "run.sh: $builddir/$t is missing (make bench-tools)" >&2
		exit 1
	fi
done
for t in wrk nginx; do
	command -v $t >/dev/null || { echo "run.sh: $t not found" >&2; exit 1; }
done

srv_pin=
load_pin=
if [ $pin = 1 ] && [ "$workers" = 1 ] && [ "$(nproc)" -ge 2 ] &&
    command -v taskset >/dev/null; then
	srv_pin="taskset -c 1"
	load_pin="taskset -c 0"
fi

stamp=$(date +%Y%m%d-%H%M%S)
raw=$out/results-$stamp.txt
work=$(mktemp -d /tmp/asockd-bench.XXXXXX)
server_pid=

cleanup() {
	stop_server
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both servers inherit this limit: 10,000 idle connections need fds.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((idle_n + 100)) ]
then
	echo "run.sh: open file limit $(ulimit -n) is below $((idle_n + 100))" >&2
	exit 1
fi

# --- processes and CPU accounting from /proc -----------------------------

. "$srcdir/bench/lib.sh"

hz=$(getconf CLK_TCK)

wait_port() {
	local i
	for i in $(seq 100); do
		if (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; then
			return 0
		fi
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "run.sh: server did not come up on port $1" >&2
	cat "$work"/*.log >&2 2>/dev/null || true
	return 1
}

stop_server() {
	if [ -n "$server_pid" ]; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}

# start_server KIND PORT: asockd-echo, asockd-http, epoll_echo, nginx
start_server() {
	local kind=$1 port=$2 plugin
	case $kind in
	asockd-*)
		plugin=${kind#asockd-}
		cat >"$work/asockd.conf" <<EOF
daemon: { workers = $workers; log_level = "warning"; };
plugins: { $plugin: { path = "$plugin.so"; }; };
listeners: ( { name = "bench"; listen = "tcp://127.0.0.1:$port";
    plugin = "$plugin"; backlog = 4096; max_connections = 60000; } );
EOF
		$srv_pin "$builddir/daemon/asockd" -f -c "$work/asockd.conf" \
		    -P "$builddir/plugins/.libs" 2>"$work/asockd.log" &
		;;
	epoll_echo)
		$srv_pin "$builddir/bench/epoll_echo" -p "$port" 2>"$work/ref.log" &
		;;
	nginx)
		mkdir -p "$work/nginx/tmp"
		sed -e "s|@DIR@|$work/nginx|g" -e "s|@PORT@|$port|g" \
		    -e "s|@WORKERS@|$workers|g" "$srcdir/bench/nginx.conf.in" \
		    >"$work/nginx/nginx.conf"
		$srv_pin nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" \
		    -e "$work/nginx/nginx-error.log" 2>"$work/nginx.log" &
		;;
	esac
	server_pid=$!
	wait_port "$port"
	sleep 0.3	# let the workers settle
}

# --- one measurement each; they print "value value ..." ------------------

# run_echo KIND PORT INFLIGHT -> msgs/s p50 p99 cpu_ns_per_msg
run_echo() {
	local pids c0 c1 line
	start_server "$1" "$2"
	pids=$(tree_pids "$server_pid")
	c0=$(cpu_ticks $pids)
	line=$($load_pin "$builddir/bench/echo_load" -p "$2" -c 64 -P "$3" -s 64 \
	    -d "$dur" -w 1) || {
		stop_server; echo "echo_load failed: $line" >&2; exit 1; }
	c1=$(cpu_ticks $pids)
	stop_server
	echo "$1 P=$3 $line cpu_ticks=$((c1 - c0))" >>"$raw"
	echo "$line" | awk -v t=$((c1 - c0)) -v hz="$hz" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		printf "%s %s %s %.0f\n", v["msgs_per_s"], v["p50_us"],
		    v["p99_us"], t / hz * 1e9 / v["total_msgs"] }'
}

# run_http KIND PORT CONNS DEPTH -> req/s cpu_ns_per_req
run_http() {
	local pids c0 c1 txt script=
	start_server "$1" "$2"
	pids=$(tree_pids "$server_pid")
	if [ "$4" -gt 1 ]; then
		script="-s $srcdir/bench/pipeline.lua"
	fi
	c0=$(cpu_ticks $pids)
	txt=$($load_pin wrk -t1 -c"$3" -d"${dur}s" $script \
	    "http://127.0.0.1:$2/" -- "$4" 2>&1)
	c1=$(cpu_ticks $pids)
	stop_server
	echo "$1 c=$3 depth=$4 cpu_ticks=$((c1 - c0))" \
	    "$(echo "$txt" | tr '\n' ' ')" >>"$raw"
	if echo "$txt" | grep -q "Non-2xx\|Socket errors" ||
	    ! echo "$txt" | grep -q "requests in"; then
		echo "run.sh: wrk reported errors against $1:" >&2
		echo "$txt" >&2
		exit 1
	fi
	echo "$txt" | awk -v t=$((c1 - c0)) -v hz="$hz" '
		/requests in/ { n = $1 }
		/^Requests\/sec:/ { r = $2 }
		END { printf "%.0f %.0f\n", r, n ? t / hz * 1e9 / n : 0 }'
}

# run_memory KIND PORT -> bytes per idle connection
run_memory() {
	local line
	start_server "$1" "$2"
	line=$("$builddir/bench/idle_conns" -p "$2" -n "$idle_n" -t 60 \
	    $(tree_pids "$server_pid")) || {
		stop_server; echo "idle_conns failed against $1" >&2; exit 1; }
	stop_server
	echo "$1 $line" >>"$raw"
	echo "$line" | sed 's/.*bytes_per_conn=\([0-9-]*\).*/\1/'
}

# --- alternation and the table -------------------------------------------

median() {
	tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 }
	    END { if (NR % 2) print v[(NR + 1) / 2];
		  else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

rows=
row() {		# row LABEL A_VALUES B_VALUES TARGET
	local a b
	a=$(echo "$2" | median)
	b=$(echo "$3" | median)
	rows="$rows$1|$a|$b|$4
"
}

# alternate FUNC A_KIND B_KIND ARGS...: results in arrays resA, resB
alternate() {
	local fn=$1 ka=$2 kb=$3 r v
	shift 3
	resA=() resB=()
	for r in $(seq "$rounds"); do
		port_base=$((port_base + 1))
		v=$($fn "$ka" "$port_base" "$@") || exit 1
		resA+=("$v")
		port_base=$((port_base + 1))
		v=$($fn "$kb" "$port_base" "$@") || exit 1
		resB+=("$v")
	done
}

col() {		# col N LINES... : field N of each line
	local n=$1
	shift
	printf '%s\n' "$@" | awk -v n="$n" '{ print $n }' | tr '\n' ' '
}

echo "asockd bench: $rounds round(s) of ${dur}s, $workers worker(s)," \
    "${srv_pin:-no pinning}, raw results in $raw" >&2
{
	echo "# $(date -u) $(uname -r) $(nproc) CPUs; rounds=$rounds" \
	    "dur=$dur workers=$workers pin=${srv_pin:-none}"
	echo "# load: $(cat /proc/loadavg)"
} >"$raw"

for what in $only; do
	case $what in
	echo)
		for p in 1 16; do
			echo "echo, $p in flight ..." >&2
			alternate run_echo asockd-echo epoll_echo "$p"
			row "echo P=$p msgs/s" "$(col 1 "${resA[@]}")" \
			    "$(col 1 "${resB[@]}")" ">= 0.95"
			row "echo P=$p p50 us" "$(col 2 "${resA[@]}")" \
			    "$(col 2 "${resB[@]}")" ""
			row "echo P=$p p99 us" "$(col 3 "${resA[@]}")" \
			    "$(col 3 "${resB[@]}")" ""
			row "echo P=$p CPU ns/msg" "$(col 4 "${resA[@]}")" \
			    "$(col 4 "${resB[@]}")" ""
		done
		;;
	http)
		for c in 64 256; do
			for d in 1 16; do
				echo "http, $c conns, depth $d ..." >&2
				alternate run_http asockd-http nginx "$c" "$d"
				if [ "$d" = 1 ]; then
					t1=">= 1"; t2="<= 0.95"
				else
					t1=">= 3"; t2=""
				fi
				row "http c=$c d=$d req/s" \
				    "$(col 1 "${resA[@]}")" \
				    "$(col 1 "${resB[@]}")" "$t1"
				row "http c=$c d=$d CPU ns/req" \
				    "$(col 2 "${resA[@]}")" \
				    "$(col 2 "${resB[@]}")" "$t2"
			done
		done
		;;
	memory)
		echo "memory, $idle_n idle connections ..." >&2
		alternate run_memory asockd-http nginx
		row "idle conn bytes (http)" "$(printf '%s ' "${resA[@]}")" \
		    "$(printf '%s ' "${resB[@]}")" "<= 1"
		;;
	*)
		echo "run.sh: unknown case $what (echo, http, memory)" >&2
		exit 2
		;;
	esac
done

{
	printf '%-26s %12s %12s %7s  %s\n' measure asockd reference ratio \
	    target
	printf '%s' "$rows" | while IFS='|' read -r label a b target; do
		ratio=$(awk -v a="$a" -v b="$b" \
		    'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
		printf '%-26s %12s %12s %7s  %s\n' "$label" "$a" "$b" \
		    "$ratio" "$target"
	done
	echo "reference: epoll_echo for echo, nginx $(nginx -v 2>&1 |
	    sed 's|.*/||') for http and memory; medians of $rounds run(s)"
} | tee -a "$raw"
