#!/bin/bash
# bench/tls_bench.sh - asockd's http plugin over TLS vs nginx, one worker
# each, the same ECDSA P-256 certificate, TLS 1.3 (nginx is told
# `ssl_protocols TLSv1.2 TLSv1.3;`), loopback only.
#
#   bench/tls_bench.sh [--builddir DIR] [--rounds N] [--handshakes N]
#                      [--requests N]
#
# Cases, alternating asockd (A) and nginx (B), A B A B ...:
#   handshakes  h2load --h1, N connections of one request each, 100 at a
#               time (new full TLS 1.3 handshakes per second)
#   keepalive   h2load --h1, 64 keep-alive connections, N requests
#   bulk        curl downloads a 64 MiB file 4 times over one connection
#               (the http plugin's document root vs nginx's root): MB/s
#   echo        bench/tls_bulk sends 256 MiB through one TLS connection
#               and checks every byte that comes back: asockd's echo
#               plugin over TLS vs bench/tls_echo_ref (B is not nginx
#               here), an OpenSSL s_server-style echo server (OpenSSL's
#               own socket BIO, epoll, nothing else): MB/s, both on
#               TLS 1.3 with TLS_AES_128_GCM_SHA256
# and for each the server's CPU time (user + system of all its processes,
# from /proc) per request (bulk: per MiB).  Prints medians and the ratio A / B.  With 2 or
# more CPUs the server is pinned to CPU 1 and h2load to CPU 0.
set -eu

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=$srcdir
rounds=3
hs_n=3000
ka_n=100000
port_base=${BENCH_PORT:-27300}

while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=$2; shift ;;
	--rounds) rounds=$2; shift ;;
	--handshakes) hs_n=$2; shift ;;
	--requests) ka_n=$2; shift ;;
	*) sed -n '7,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
	esac
	shift
done
[ -x "$builddir/bench/tls_echo_ref" ] && [ -x "$builddir/bench/tls_bulk" ] ||
    { echo "no bench/tls_echo_ref or tls_bulk: make bench-tls" >&2; exit 1; }
for t in h2load nginx openssl; do
	command -v $t >/dev/null 2>&1 || { echo "no $t" >&2; exit 77; }
done

dir=$(mktemp -d /tmp/asockd-tlsbench.XXXXXX)
chmod 700 "$dir"
trap 'kill $apid $fpid $npid $epid $rpid 2>/dev/null; wait 2>/dev/null
    rm -rf "$dir"' EXIT
apid= fpid= npid= epid= rpid=
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 365 \
    -subj /CN=localhost 2>/dev/null
chmod 600 "$dir/key.pem"

srv="" gen=""
if [ "$(nproc)" -ge 2 ]; then
	srv="taskset -c 1"
	gen="taskset -c 0"
fi

aport=$port_base
nport=$((port_base + 1))
fport=$((port_base + 2))	# asockd serving files, for bulk
eport=$((port_base + 3))	# asockd's echo plugin over TLS
rport=$((port_base + 4))	# bench/tls_echo_ref
cat > "$dir/asockd.conf" <<EOF
daemon = { workers = 1; log_level = "warning"; };
plugins = { http = { path = "http.so"; }; };
listeners = ( { name = "https"; listen = "tcp://127.0.0.1:$aport";
  plugin = "http"; backlog = 4096;
  tls = { certificate = "cert.pem"; key = "key.pem"; }; } );
EOF
# bulk: a second asockd whose http plugin serves a document root (nginx
# serves both from one server: return 200 at /, the file at /big.bin)
sed -e "s/:$aport\"/:$fport\"/" \
    -e 's/path = "http.so"; }/path = "http.so"; config = "http.ini"; }/' \
    "$dir/asockd.conf" > "$dir/files.conf"
cat > "$dir/echo.conf" <<EOF
daemon = { workers = 1; log_level = "warning"; };
plugins = { echo = { path = "echo.so"; }; };
listeners = ( { name = "tls-echo"; listen = "tcp://127.0.0.1:$eport";
  plugin = "echo";
  tls = { certificate = "cert.pem"; key = "key.pem"; }; } );
EOF
mkdir -p "$dir/tmp" "$dir/www"
printf '[http]\nroot = %s/www\nmax_file_size = 134217728\n' "$dir" > "$dir/http.ini"
echo hello > "$dir/www/index.html"
head -c $((64 * 1024 * 1024)) /dev/urandom > "$dir/www/big.bin"
# nginx's worker runs as nobody: it must reach the document root
chmod 711 "$dir"
chmod 755 "$dir/www"
chmod 644 "$dir/www/big.bin"
cat > "$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 20000; }
http {
	access_log off;
	keepalive_requests 100000000;
	client_body_temp_path $dir/tmp;
	proxy_temp_path $dir/tmp;
	fastcgi_temp_path $dir/tmp;
	uwsgi_temp_path $dir/tmp;
	scgi_temp_path $dir/tmp;
	server {
		listen 127.0.0.1:$nport ssl backlog=4096;
		ssl_certificate $dir/cert.pem;
		ssl_certificate_key $dir/key.pem;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / {
			default_type text/plain;
			return 200 "hello\n";
		}
		location /big.bin {
			root $dir/www;
		}
	}
}
EOF

$srv "$builddir/daemon/asockd" -f -c "$dir/asockd.conf" \
    -P "$builddir/plugins/.libs" 2>"$dir/asockd.log" &
apid=$!
$srv "$builddir/daemon/asockd" -f -c "$dir/files.conf" \
    -P "$builddir/plugins/.libs" 2>"$dir/files.log" &
fpid=$!
$srv nginx -c "$dir/nginx.conf" -p "$dir" 2>"$dir/nginx.out" &
npid=$!
$srv "$builddir/daemon/asockd" -f -c "$dir/echo.conf" \
    -P "$builddir/plugins/.libs" 2>"$dir/echo.log" &
epid=$!
$srv "$builddir/bench/tls_echo_ref" $rport "$dir/cert.pem" "$dir/key.pem" \
    2>"$dir/ref.log" &
rpid=$!
sleep 1
kill -0 $apid 2>/dev/null || { cat "$dir/asockd.log" >&2; exit 1; }
kill -0 $fpid 2>/dev/null || { cat "$dir/files.log" >&2; exit 1; }
kill -0 $npid 2>/dev/null || { cat "$dir/nginx.out" "$dir/nginx-error.log" >&2; exit 1; }
kill -0 $epid 2>/dev/null || { cat "$dir/echo.log" >&2; exit 1; }
kill -0 $rpid 2>/dev/null || { cat "$dir/ref.log" >&2; exit 1; }

. "$srcdir/bench/lib.sh"
# CPU ticks (user + system) of a server and its workers
ticks() { cpu_ticks $(tree_pids "$1"); }

# run PID PORT ARGS...: prints "req/s cpu-us-per-request"
run() {
	local pid=$1 port=$2 t0 t1 out rps n
	shift 2
	t0=$(ticks "$pid")
	out=$($gen h2load --h1 "$@" "https://127.0.0.1:$port/" 2>&1)
	t1=$(ticks "$pid")
	echo "$out" | grep -q "TLS Protocol: TLSv1.3" ||
	    { echo "not TLS 1.3: $out" >&2; exit 1; }
	rps=$(echo "$out" | sed -n 's/.*finished in .*, \([0-9.]*\) req\/s.*/\1/p')
	n=$(echo "$out" | sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p')
	[ "$n" -gt 0 ] || { echo "no request succeeded: $out" >&2; exit 1; }
	echo "$rps $(echo "($t1 - $t0) * 1000000 / $(getconf CLK_TCK) / $n" |
	    bc -l)"
}

# bulk PID PORT: prints "MB/s cpu-us-per-MiB" for 4 downloads of big.bin
bulk() {
	local pid=$1 port=$2 t0 t1 s e url
	url="https://127.0.0.1:$port/big.bin"
	t0=$(ticks "$pid")
	s=$(date +%s.%N)
	$gen curl -fsS -k --tlsv1.3 -o /dev/null -o /dev/null -o /dev/null \
	    -o /dev/null "$url" "$url" "$url" "$url"
	e=$(date +%s.%N)
	t1=$(ticks "$pid")
	echo "$(echo "256 / ($e - $s)" | bc -l) $(echo "($t1 - $t0) * \
	    1000000 / $(getconf CLK_TCK) / 256" | bc -l)"
}

# echo_bulk PID PORT: prints "MB/s cpu-us-per-MiB" for 256 MiB echoed
echo_bulk() {
	local pid=$1 port=$2 t0 t1 out
	t0=$(ticks "$pid")
	out=$($gen "$builddir/bench/tls_bulk" "$port" 256) ||
	    { echo "tls_bulk failed: $out" >&2; exit 1; }
	t1=$(ticks "$pid")
	case $out in
	*"TLSv1.3 TLS_AES_128_GCM_SHA256") ;;
	*) echo "unexpected protocol or suite: $out" >&2; exit 1 ;;
	esac
	echo "${out%% *} $(echo "($t1 - $t0) * 1000000 / $(getconf CLK_TCK) \
	    / 256" | bc -l)"
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

for case in handshakes keepalive bulk echo; do
	: > "$dir/A" ; : > "$dir/B"
	for r in $(seq "$rounds"); do
		if [ $case = bulk ]; then
			bulk $fpid $fport >> "$dir/A"
			bulk $npid $nport >> "$dir/B"
			continue
		elif [ $case = echo ]; then
			echo_bulk $epid $eport >> "$dir/A"
			echo_bulk $rpid $rport >> "$dir/B"
			continue
		elif [ $case = handshakes ]; then
			args="-n $hs_n -c 100 -m 1 -H Connection:close"
		else
			args="-n $ka_n -c 64 -m 1"
		fi
		# shellcheck disable=SC2086
		run $apid $aport $args >> "$dir/A"
		# shellcheck disable=SC2086
		run $npid $nport $args >> "$dir/B"
	done
	ar=$(awk '{print $1}' "$dir/A" | median)
	br=$(awk '{print $1}' "$dir/B" | median)
	ac=$(awk '{print $2}' "$dir/A" | median)
	bc_=$(awk '{print $2}' "$dir/B" | median)
	unit="req/s" ref=nginx
	case $case in bulk|echo) unit="MiB/s" ;; esac
	[ $case = echo ] && ref="ref  "
	printf '%-10s asockd %9.1f %s %7.1f us CPU | %s %9.1f %s %7.1f us CPU | ratio %.2f CPU %.2f\n' \
	    $case "$ar" "$unit" "$ac" "$ref" "$br" "$unit" "$bc_" \
	    "$(echo "$ar / $br" | bc -l)" "$(echo "$ac / $bc_" | bc -l)"
	echo "  raw asockd: $(tr '\n' ';' < "$dir/A")"
	echo "  raw $ref:  $(tr '\n' ';' < "$dir/B")"
done
