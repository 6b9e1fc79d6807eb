#!/bin/sh
# out-of-tree.sh - a plugin written from docs/plugins.md alone builds out of
# the source tree with the flags asockd-plugin.pc gives, loads, and works.
# Also compiles include/asockd/plugin.h and client.h alone as C and C++.
#
# Needs ASOCKD_SRCDIR, ASOCKD_BUILDDIR and ASOCKD_BIN (set by `make check`).
# The .pc file is used as generated, with its includedir pointed at the
# source tree's include/: that is where `make install` would copy
# asockd/plugin.h from, without the cost of a full install in a test.
set -eu

: "${ASOCKD_SRCDIR:?}" "${ASOCKD_BUILDDIR:?}" "${ASOCKD_BIN:?}"
CC=${CC:-cc}
CXX=${CXX:-c++}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/asockd-oot.XXXXXX")
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
	if [ -f "$tmp/log" ]; then
		echo "-- daemon log:" >&2
		cat "$tmp/log" >&2
	fi
	exit 1
}

# 1. The public header stands alone, in C and in C++.
printf '#include <asockd/plugin.h>\n' > "$tmp/h.c"
$CC -std=c99 -Wall -Wextra -Werror -fsyntax-only \
    -I"$ASOCKD_SRCDIR/include" "$tmp/h.c" || fail "plugin.h alone as C"
cp "$tmp/h.c" "$tmp/h.cc"
$CXX -Wall -Wextra -Werror -fsyntax-only \
    -I"$ASOCKD_SRCDIR/include" "$tmp/h.cc" || fail "plugin.h alone as C++"
echo "ok - plugin.h compiles alone as C and C++"
# and so does the client library's header (it needs msgpack's)
mp=$(pkg-config --cflags msgpack-c 2>/dev/null ||
    pkg-config --cflags msgpack 2>/dev/null)
printf '#include <asockd/client.h>\n' > "$tmp/c.c"
cp "$tmp/c.c" "$tmp/c.cc"
# shellcheck disable=SC2086
$CC -std=c99 -Wall -Wextra -Werror -fsyntax-only $mp \
    -I"$ASOCKD_SRCDIR/include" "$tmp/c.c" || fail "client.h alone as C"
# shellcheck disable=SC2086
$CXX -Wall -Wextra -Werror -fsyntax-only $mp \
    -I"$ASOCKD_SRCDIR/include" "$tmp/c.cc" || fail "client.h alone as C++"
echo "ok - client.h compiles alone as C and C++"

# 2. The flags come from the generated asockd-plugin.pc.
pc="$ASOCKD_BUILDDIR/include/asockd-plugin.pc"
[ -f "$pc" ] || fail "$pc was not generated"
command -v pkg-config >/dev/null || fail "pkg-config is not installed"
cflags=$(PKG_CONFIG_PATH="$ASOCKD_BUILDDIR/include" pkg-config \
    --define-variable=includedir="$ASOCKD_SRCDIR/include" \
    --cflags asockd-plugin) || fail "pkg-config --cflags asockd-plugin"
echo "ok - pkg-config --cflags asockd-plugin: $cflags"

# 3. The minimal plugin of docs/plugins.md, exactly as printed there.
awk '/<!-- out-of-tree.sh: minimal plugin -->/ { mark = 1; next }
    mark && /^```c$/ { code = 1; next }
    code && /^```$/ { exit }
    code { print }' "$ASOCKD_SRCDIR/docs/plugins.md" > "$tmp/upper.c"
grep -q ASOCKD_PLUGIN_DEFINE "$tmp/upper.c" ||
    fail "no minimal plugin found in docs/plugins.md"
# shellcheck disable=SC2086
(cd "$tmp" && $CC -shared -fPIC -Wall -Wextra -Werror $cflags upper.c \
    -o upper.so) || fail "the documented plugin does not build"
echo "ok - the documented plugin builds out of tree"

# 4. The daemon loads it and it answers.
cat > "$tmp/asockd.conf" <<CONF
plugins: {
  upper: { path = "$tmp/upper.so"; };
};
listeners: (
  { name = "upper"; listen = "tcp://127.0.0.1:0"; plugin = "upper"; }
);
CONF
"$ASOCKD_BIN" -f -l debug -c "$tmp/asockd.conf" > "$tmp/log" 2>&1 &
pid=$!
i=0
until grep -q ' ready' "$tmp/log"; do
	kill -0 "$pid" 2>/dev/null || fail "asockd exited"
	i=$((i + 1))
	[ "$i" -le 100 ] || fail "asockd not ready after 10 s"
	sleep 0.1
done
port=$(sed -n 's|.*listener upper: listening on tcp://[^ ]*:\([0-9]*\).*|\1|p' \
    "$tmp/log" | head -n 1)
[ -n "$port" ] || fail "no port in the log"

reply=$(PORT=$port bash -c '
	exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
	printf "hello, plugin\n" >&3
	IFS= read -r -t 5 line <&3 || exit 1
	printf "%s" "$line"') || fail "no reply from the plugin"
[ "$reply" = "HELLO, PLUGIN" ] || fail "reply was '$reply'"
echo "ok - asockd runs the documented plugin: $reply"

kill "$pid"
wait "$pid" || fail "asockd exited with $? on SIGTERM"
pid=
exit 0
