#!/bin/bash
# bench/inetd.sh - the exec and proxy plugins against the tools they
# replace, on loopback, alternating A B A B ... (docs/performance.md).
#
#   bench/inetd.sh --builddir DIR [--rounds N] [--duration SECS]
#                  [--only "exec proxy"] [--bulk MB] [--exec-workers N]
#
#   exec   asockd's exec plugin (--exec-workers, default 1) vs xinetd
#          (-dontfork, one process that forks per connection), and
#          bench/spawn_floor (the least a server can do: accept and
#          posix_spawn, nothing else) as the ceiling any server could
#          reach, bench/conn_rate with 8 connections at a time:
#          connections/s for /bin/true and for a one-line echo
#          (head -n 1)
#   proxy  asockd's proxy plugin vs nginx's stream module, one worker
#          each, both in front of bench/epoll_echo: round trips/s and
#          server CPU per round trip (echo_load, 64 connections, 64-byte
#          messages, 1 in flight), bulk MB/s through one connection
#
# Prints medians and the ratio asockd / reference; raw lines go to
# bench/out/inetd-*.txt.  `make bench-inetd` runs it with this tree.
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=
rounds=3
dur=3
only="exec proxy"
bulk_mb=500
exec_workers=1
port_base=${BENCH_PORT:-27300}

while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--duration) dur=$2; shift ;;
	--only) only=$2; shift ;;
	--bulk) bulk_mb=$2; shift ;;
	--exec-workers) exec_workers=$2; shift ;;
	*) sed -n '3,5p' "$0" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$builddir" ] || { echo "inetd.sh: --builddir DIR" >&2; exit 2; }
builddir=$(cd "$builddir" && pwd)
for t in daemon/asockd bench/conn_rate bench/echo_load bench/epoll_echo \
    bench/spawn_floor \
    plugins/.libs/exec.so plugins/.libs/proxy.so; do
	[ -e "$builddir/$t" ] || {
		echo "inetd.sh: $builddir/$t is missing (make bench-tools)" >&2
		exit 1; }
done

out=$srcdir/bench/out
mkdir -p "$out"
raw=$out/inetd-$(date +%Y%m%d-%H%M%S).txt
work=$(mktemp -d /tmp/asockd-inetd.XXXXXX)
pids_to_kill=
hz=$(getconf CLK_TCK)

cleanup() {
	local p
	for p in $pids_to_kill; do
		kill -TERM "$p" 2>/dev/null || true
	done
	sleep 0.3
	for p in $pids_to_kill; do
		kill -KILL "$p" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() {
	local i
	for i in $(seq 100); do
		if (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	echo "inetd.sh: nothing listens on $1" >&2
	cat "$work"/*.log >&2 2>/dev/null || true
	exit 1
}

. "$srcdir/bench/lib.sh"

server=
nport=0
start() {	# start CMD... (in the background; $server is its pid)
	"$@" >"$work/server.log" 2>&1 &
	server=$!
	pids_to_kill="$pids_to_kill $server"
}

stop() {
	kill -TERM "$server" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$server" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# --- exec vs xinetd -------------------------------------------------------

exec_asockd() {	# PORT COMMAND
	cat >"$work/exec.ini" <<EOF
[exec]
command = $2
EOF
	cat >"$work/asockd.conf" <<EOF
daemon: { workers = $exec_workers; log_level = "notice"; };
plugins: { exec: { path = "exec.so"; config = "$work/exec.ini"; }; };
listeners: ( { name = "exec"; listen = "tcp://127.0.0.1:$1";
    plugin = "exec"; backlog = 1024; } );
EOF
	start "$builddir/daemon/asockd" -f -c "$work/asockd.conf" \
	    -P "$builddir/plugins/.libs"
}

exec_xinetd() {	# PORT COMMAND
	local prog=${2%% *} args=
	[ "$prog" = "$2" ] || args=${2#* }
	cat >"$work/xinetd.conf" <<EOF
defaults
{
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 1000000 1
	log_on_success =
	log_on_failure =
}
service bench
{
	type = UNLISTED
	port = $1
	bind = 127.0.0.1
	socket_type = stream
	protocol = tcp
	wait = no
	user = $(id -un)
	server = $prog
$( [ -z "$args" ] || echo "	server_args = $args" )
}
EOF
	start xinetd -dontfork -filelog "$work/xinetd.log" \
	    -f "$work/xinetd.conf" -pidfile "$work/xinetd.pid"
}

exec_floor() {	# PORT COMMAND
	# shellcheck disable=SC2086
	start "$builddir/bench/spawn_floor" "$1" $2
}

exec_case() {	# NAME COMMAND MSG EXPECT
	local r kind port line a= b= f=
	for r in $(seq "$rounds"); do
		for kind in asockd xinetd floor; do
			nport=$((nport + 1))
			port=$((port_base + nport))
			exec_$kind "$port" "$2"
			wait_port "$port"
			sleep 0.3
			line=$("$builddir/bench/conn_rate" -p "$port" -c 8 \
			    -d "$dur" -m "$3" -e "$4") || true
			stop
			echo "exec $1 $kind $line" >>"$raw"
			v=$(echo "$line" | sed 's/.*conns_per_s=\([0-9]*\).*/\1/')
			case $kind in
			asockd) a="$a $v" ;;
			xinetd) b="$b $v" ;;
			*) f="$f $v" ;;
			esac
		done
	done
	a=$(echo $a | tr ' ' '\n' | median)
	b=$(echo $b | tr ' ' '\n' | median)
	f=$(echo $f | tr ' ' '\n' | median)
	printf "exec %-10s conns/s: asockd %7s  xinetd %7s  ratio %s" "$1" \
	    "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
	printf "  (floor %s: %s of xinetd, asockd %s of floor)\n" "$f" \
	    "$(awk -v a="$f" -v b="$b" 'BEGIN { printf "%.2f", a / b }')" \
	    "$(awk -v a="$a" -v b="$f" 'BEGIN { printf "%.2f", a / b }')"
}

# --- proxy vs nginx stream ------------------------------------------------

proxy_asockd() {	# PORT UPPORT
	cat >"$work/proxy.ini" <<EOF
[upstreams]
echo = tcp://127.0.0.1:$2
EOF
	cat >"$work/asockd.conf" <<EOF
daemon: { workers = 1; log_level = "notice"; };
plugins: { proxy: { path = "proxy.so"; config = "$work/proxy.ini"; }; };
listeners: ( { name = "proxy"; listen = "tcp://127.0.0.1:$1";
    plugin = "proxy"; backlog = 1024; } );
EOF
	start "$builddir/daemon/asockd" -f -c "$work/asockd.conf" \
	    -P "$builddir/plugins/.libs"
}

proxy_nginx() {	# PORT UPPORT
	mkdir -p "$work/nginx"
	cat >"$work/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
daemon off;
master_process on;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 20000; }
stream {
	upstream echo { server 127.0.0.1:$2; }
	server { listen 127.0.0.1:$1; proxy_pass echo; }
}
EOF
	start nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" \
	    -e "$work/nginx/error.log"
}

proxy_cases() {
	local r kind port up uppid line c0 c1 pids rt cpu mb
	local art= brt= acpu= bcpu= amb= bmb=
	up=$((port_base + 600))
	"$builddir/bench/epoll_echo" -p "$up" >"$work/echo.log" 2>&1 &
	uppid=$!
	pids_to_kill="$pids_to_kill $uppid"
	wait_port "$up"
	for r in $(seq "$rounds"); do
		for kind in asockd nginx; do
			nport=$((nport + 1))
			port=$((port_base + nport))
			proxy_$kind "$port" "$up"
			wait_port "$port"
			sleep 0.3
			pids=$(tree_pids "$server")
			c0=$(cpu_ticks $pids)
			line=$("$builddir/bench/echo_load" -p "$port" -c 64 \
			    -P 1 -s 64 -d "$dur" -w 1) || true
			c1=$(cpu_ticks $pids)
			mb=$("$builddir/bench/conn_rate" -p "$port" \
			    -b "$bulk_mb") || true
			stop
			echo "proxy $kind $line cpu_ticks=$((c1 - c0)) $mb" >>"$raw"
			rt=$(echo "$line" | sed 's/.*msgs_per_s=\([0-9]*\).*/\1/')
			cpu=$(echo "$line" | awk -v t=$((c1 - c0)) -v hz="$hz" '{
			    for (i = 1; i <= NF; i++) {
				    split($i, kv, "="); v[kv[1]] = kv[2] }
			    printf "%.0f", t / hz * 1e9 / v["total_msgs"] }')
			mb=$(echo "$mb" | sed 's/.*mb_per_s=\([0-9.]*\).*/\1/')
			if [ $kind = asockd ]; then
				art="$art $rt"; acpu="$acpu $cpu"; amb="$amb $mb"
			else
				brt="$brt $rt"; bcpu="$bcpu $cpu"; bmb="$bmb $mb"
			fi
		done
	done
	kill "$uppid" 2>/dev/null || true
	for m in "round-trips/s:$art:$brt" "cpu-ns/rt:$acpu:$bcpu" \
	    "bulk-MB/s:$amb:$bmb"; do
		IFS=: read -r name a b <<<"$m"
		a=$(echo $a | tr ' ' '\n' | median)
		b=$(echo $b | tr ' ' '\n' | median)
		printf "proxy %-14s asockd %9s  nginx %9s  ratio %s\n" \
		    "$name" "$a" "$b" \
		    "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
	done
}

echo "bench/inetd.sh: $rounds alternating round(s) of ${dur}s;" \
    "machine: $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
for what in $only; do
	case $what in
	exec)
		command -v xinetd >/dev/null || {
			echo "inetd.sh: xinetd not found" >&2; exit 1; }
		exec_case true /bin/true "" 0
		exec_case echo-line "/usr/bin/head -n 1" $'hello\n' 6
		;;
	proxy)
		command -v nginx >/dev/null || {
			echo "inetd.sh: nginx not found" >&2; exit 1; }
		proxy_cases
		;;
	esac
done
echo "raw: $raw"
