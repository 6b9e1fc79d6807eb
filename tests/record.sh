#!/bin/sh
# record.sh - the listener option record = "DIR" and asockd-replay: the
# real daemon records one file per connection of a recorded listener
# (none for a listener without the option), and asockd-replay plays the
# file into a plugin under libasockd-test: into echo.so it gives back the
# bytes and the close of the recording (exit 0), into a plugin that
# breaks the contract it reports the violations (exit 1), and a file that
# is not a recording is refused (exit 2).  asockd -t rejects a record
# directory that does not exist and a recorded datagram listener.
#
# Needs ASOCKD_BIN, ASOCKD_BUILDDIR, ASOCKD_PLUGIN_DIR and
# ASOCKD_TEST_PLUGIN_DIR (set by `make check`).
set -eu

: "${ASOCKD_BIN:?}" "${ASOCKD_BUILDDIR:?}" "${ASOCKD_PLUGIN_DIR:?}"
: "${ASOCKD_TEST_PLUGIN_DIR:?}"
replay=$ASOCKD_BUILDDIR/testkit/asockd-replay

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asockd-rec.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*" >&2
	for f in "$tmp/log" "$tmp/out"; do
		[ -f "$f" ] && { echo "-- $f:" >&2; cat "$f" >&2; }
	done
	exit 1
}

# wait_log PATTERN: until the daemon's log has it (at most 10 s)
wait_log() {
	i=0
	until grep -q "$1" "$tmp/log"; do
		kill -0 "$pid" 2>/dev/null || fail "asockd exited"
		i=$((i + 1))
		[ "$i" -le 100 ] || fail "no '$1' in the log after 10 s"
		sleep 0.1
	done
}

port_of() {
	p=$(sed -n "s|.*listener $1: listening on tcp://[^ ]*:\([0-9]*\).*|\1|p" \
	    "$tmp/log" | head -n 1)
	[ -n "$p" ] || fail "no port for $1"
	echo "$p"
}

# 1. asockd -t: the directory must exist; datagram listeners are refused.
mkdir "$tmp/rec"
cat > "$tmp/bad.conf" <<CONF
plugins: { echo: { path = "$ASOCKD_PLUGIN_DIR/echo.so"; }; };
listeners: (
  { name = "a"; listen = "tcp://127.0.0.1:0"; plugin = "echo";
    record = "$tmp/missing"; },
  { name = "u"; listen = "udp://127.0.0.1:0"; plugin = "echo";
    record = "$tmp/rec"; }
);
CONF
if "$ASOCKD_BIN" -t -c "$tmp/bad.conf" > "$tmp/out" 2>&1; then
	fail "asockd -t accepted a missing record directory"
fi
grep -q "bad.conf:4: listener 'a': record: $tmp/missing: No such file" \
    "$tmp/out" || fail "no FILE:LINE error for the missing directory"
grep -q "bad.conf:6: listener 'u': record: only stream listeners" \
    "$tmp/out" || fail "no FILE:LINE error for the datagram listener"
echo "ok - asockd -t checks record"

# 2. The daemon records the connections of "rec", not those of "plain".
cat > "$tmp/asockd.conf" <<CONF
plugins: {
  echo: { path = "$ASOCKD_PLUGIN_DIR/echo.so"; };
  chargen: { path = "$ASOCKD_PLUGIN_DIR/chargen.so"; };
  probe: { path = "$ASOCKD_TEST_PLUGIN_DIR/probe.so"; };
};
listeners: (
  { name = "rec"; listen = "tcp://127.0.0.1:0"; plugin = "echo";
    record = "rec"; },
  { name = "gen"; listen = "tcp://127.0.0.1:0"; plugin = "chargen";
    record = "rec"; sndq_high = 4096; sndq_low = 1024; },
  { name = "plain"; listen = "tcp://127.0.0.1:0"; plugin = "echo"; },
  { name = "oob"; listen = "tcp://127.0.0.1:0"; plugin = "probe";
    record = "rec"; }
);
daemon: { workers = 1; };
CONF
"$ASOCKD_BIN" -f -l debug -c "$tmp/asockd.conf" > "$tmp/log" 2>&1 &
pid=$!
wait_log ' ready'
# talk PORT LINE: send LINE, read one line back, close
talk() {
	PORT=$1 LINE=$2 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
		printf "%s\n" "$LINE" >&3
		IFS= read -r -t 5 line <&3 || exit 1
		printf "%s" "$line"'
}
reply=$(talk "$(port_of plain)" "not recorded") || fail "no reply (plain)"
[ "$reply" = "not recorded" ] || fail "plain replied '$reply'"
wait_log "listener plain conn [0-9]* .*closed (peer)"
[ -z "$(ls "$tmp/rec")" ] || fail "a listener without record recorded"
reply=$(talk "$(port_of rec)" "hello, recorder") || fail "no reply (rec)"
[ "$reply" = "hello, recorder" ] || fail "rec replied '$reply'"
wait_log "listener rec conn [0-9]* .*closed (peer)"
# a chargen peer that does not read: the recording gets the backpressure
# it caused, and is complete up to its last event while the connection
# lives (a replay of the open recording shows it)
PORT=$(port_of gen) bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$PORT" &&
    exec sleep 30' &
slow=$!
i=0
until set -- "$tmp"/rec/gen.*.rec && [ -f "$1" ] &&
    "$replay" --plugin "$ASOCKD_PLUGIN_DIR/chargen.so" "$1" 2>&1 |
    grep -q 'backpressure on'; do
	i=$((i + 1))
	[ "$i" -le 100 ] || fail "no backpressure in the recording after 10 s"
	sleep 0.1
done
kill "$slow"
wait "$slow" 2>/dev/null || :
wait_log "listener gen conn [0-9]* .*closed ("
# urgent data and a reset (python3: MSG_OOB, SO_LINGER 0)
if command -v python3 >/dev/null; then
	PORT=$(port_of oob) python3 -c '
import os, socket, struct
s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])))
s.sendall(b"echo one\n")
assert s.recv(64) == b"one\n"
s.send(b"!", socket.MSG_OOB)
got = b""
while not got.endswith(b"\n"):
    b = s.recv(64)
    assert b, got
    got += b
assert got == b"oob !\n", got
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' || fail "the oob client failed"
	wait_log "listener oob conn [0-9]* .*closed (reset)"
fi
kill "$pid"
wait "$pid" || fail "asockd exited with $? on SIGTERM"
pid=
set -- "$tmp"/rec/rec.*.rec
[ $# -eq 1 ] && [ -f "$1" ] || fail "not one recording of rec: $*"
recfile=$1
set -- "$tmp"/rec/gen.*.rec
[ $# -eq 1 ] && [ -f "$1" ] || fail "not one recording of gen: $*"
genfile=$1
[ "$(stat -c %a "$recfile")" = 600 ] || fail "recording not mode 0600"
head -c 11 "$recfile" | grep -q '^ASOCKDREC1$' || fail "no magic"
echo "ok - one file per connection of a recorded listener, none else"

# 3. Replayed into echo.so: the same bytes back, the same close.
"$replay" --plugin "$ASOCKD_PLUGIN_DIR/echo.so" "$recfile" > "$tmp/out" ||
    fail "asockd-replay into echo.so exited $?"
grep -q 'accept from 127.0.0.1:[0-9]* on listener rec' "$tmp/out" ||
    fail "no accept line"
grep -q 'read 16 bytes' "$tmp/out" || fail "no read line"
grep -q 'sent 16 bytes: "hello, recorder\\n"' "$tmp/out" ||
    fail "the echo is not in the replay"
grep -q '^end: the recording closed (peer), the replay closed peer$' \
    "$tmp/out" || fail "close differs"
grep -q '^contract violations: none$' "$tmp/out" || fail "violations"
# deterministic: a second run prints the same
"$replay" --plugin "$ASOCKD_PLUGIN_DIR/echo.so" "$recfile" > "$tmp/out2"
cmp -s "$tmp/out" "$tmp/out2" || fail "two replays differ"
echo "ok - asockd-replay plays the recording into echo.so"

# chargen's recording has the backpressure it caused, and the bytes
# printed per event are capped
"$replay" --plugin "$ASOCKD_PLUGIN_DIR/chargen.so" "$genfile" \
    > "$tmp/out" || fail "asockd-replay into chargen.so exited $?"
grep -q 'backpressure on' "$tmp/out" || fail "no backpressure event"
grep -q '\.\.\. ([0-9]* more bytes)$' "$tmp/out" || fail "output not capped"
echo "ok - a backpressured connection replays with its backpressure"

# urgent data and the reset replay as recorded
if command -v python3 >/dev/null; then
	set -- "$tmp"/rec/oob.*.rec
	"$replay" --plugin "$ASOCKD_TEST_PLUGIN_DIR/probe.so" "$1" \
	    > "$tmp/out" || fail "asockd-replay into probe.so exited $?"
	grep -q 'sent 4 bytes: "one\\n"' "$tmp/out" || fail "no reply"
	grep -q ' oob 0x21$' "$tmp/out" || fail "no oob event"
	grep -q 'sent 6 bytes: "oob !\\n"' "$tmp/out" || fail "no oob reply"
	grep -q '^end: the recording closed (reset), the replay closed reset$' \
	    "$tmp/out" || fail "the reset did not replay"
	echo "ok - urgent data and a reset replay as recorded"
fi

# 4. Into a plugin that breaks the contract: violations, exit 1.
if "$replay" --plugin "$ASOCKD_TEST_PLUGIN_DIR/kitbad.so" "$recfile" \
    > "$tmp/out"; then
	fail "asockd-replay passed a plugin that breaks the contract"
fi
grep -q 'timer_stop on a timer already freed' "$tmp/out" ||
    fail "the violation is not printed"
echo "ok - asockd-replay reports contract violations"

# 5. Not a recording; bad usage.
printf 'garbage\n' > "$tmp/garbage"
set +e
"$replay" --plugin "$ASOCKD_PLUGIN_DIR/echo.so" "$tmp/garbage" \
    > "$tmp/out" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "a garbage file gave exit $rc, not 2"
grep -q "$tmp/garbage: not an asockd recording" "$tmp/out" ||
    fail "no message naming the file"
set +e
"$replay" "$recfile" > "$tmp/out" 2>&1
rc=$?
set -e
[ "$rc" -eq 2 ] || fail "no --plugin gave exit $rc"
echo "ok - asockd-replay refuses what is not a recording"
exit 0
