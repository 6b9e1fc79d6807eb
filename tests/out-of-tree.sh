#!/bin/sh
# out-of-tree.sh - `make install` as a normal user into a staging
# directory (DESTDIR; as nobody when run as root) stays under the prefix;
# a plugin written from docs/plugins.md alone builds out of the source
# tree against the installed header with the flags the installed
# asockd-plugin.pc gives, loads, and works, and so does the echo.so found
# in its plugindir; the test-kit example of docs/testing-plugins.md
# builds against the installed libasockd-test and passes.  Also compiles
# include/asockd/plugin.h, client.h and test.h alone as C and C++.
#
# Needs ASOCKD_SRCDIR, ASOCKD_BUILDDIR and ASOCKD_BIN (set by `make check`).
# Exits 77 (skipped) when run as root without a way to become nobody.
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
printf '#include <asockd/test.h>\n' > "$tmp/t.c"
$CC -std=c99 -Wall -Wextra -Werror -fsyntax-only \
    -I"$ASOCKD_SRCDIR/include" "$tmp/t.c" || fail "test.h alone as C"
cp "$tmp/t.c" "$tmp/t.cc"
$CXX -Wall -Wextra -Werror -fsyntax-only \
    -I"$ASOCKD_SRCDIR/include" "$tmp/t.cc" || fail "test.h alone as C++"
echo "ok - test.h compiles alone as C and C++"
# and so does the client library's header, without msgpack-c's: a
# msgpack.h that stops the compiler stands first in the include path.
mkdir "$tmp/poison"
printf '#error "client.h must not need msgpack-c"\n' > "$tmp/poison/msgpack.h"
cp "$tmp/poison/msgpack.h" "$tmp/poison/msgpack-c.h"
printf '#include <asockd/client.h>\nint f(void);\nint f(void) {\n' \
    > "$tmp/c.c"
printf '\treturn (int)ASOCKD_CLIENT_T_EXT;\n}\n' >> "$tmp/c.c"
cp "$tmp/c.c" "$tmp/c.cc"
$CC -std=c99 -Wall -Wextra -Werror -fsyntax-only -I"$tmp/poison" \
    -I"$ASOCKD_SRCDIR/include" "$tmp/c.c" || fail "client.h alone as C"
$CXX -Wall -Wextra -Werror -fsyntax-only -I"$tmp/poison" \
    -I"$ASOCKD_SRCDIR/include" "$tmp/c.cc" || fail "client.h alone as C++"
# The .pc names msgpack only for static links.
cpc="$ASOCKD_BUILDDIR/client/asockd-client.pc"
grep -q '^Requires:' "$cpc" && fail "asockd-client.pc: Requires: $(grep \
    '^Requires:' "$cpc")"
grep -q '^Requires.private: msgpack' "$cpc" ||
    fail "asockd-client.pc: no Requires.private: msgpack"
echo "ok - client.h compiles alone as C and C++"

# 2. `make install` as a normal user (nobody, when we are root) into a
# staging directory: nothing lands outside the prefix (the systemd,
# sysusers.d and tmpfiles.d directories included), and the installed
# asockd-plugin.pc names the directory the plugins went to.
command -v pkg-config >/dev/null || fail "pkg-config is not installed"
pc="$ASOCKD_BUILDDIR/include/asockd-plugin.pc"
[ -f "$pc" ] || fail "$pc was not generated"
prefix=$(PKG_CONFIG_PATH="$ASOCKD_BUILDDIR/include" pkg-config \
    --variable=prefix asockd-plugin)
dest="$tmp/dest"
mkdir "$dest"
asuser=
if [ "$(id -u)" -eq 0 ]; then
	if ! command -v setpriv >/dev/null ||
	    ! setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    test -r "$ASOCKD_BUILDDIR/Makefile"; then
		echo "SKIP: cannot run make install as nobody" >&2
		exit 77
	fi
	chown nobody:nogroup "$dest"
	chmod 755 "$tmp"
	asuser="setpriv --reuid=nobody --regid=nogroup --clear-groups"
fi
# shellcheck disable=SC2086
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $asuser \
    make -C "$ASOCKD_BUILDDIR" install DESTDIR="$dest" \
    >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log" >&2
	fail "make install DESTDIR=$dest as a normal user"
fi
outside=$(cd "$dest" && find . -type f | sed 's|^\.||' |
    grep -v "^$prefix/" || :)
[ -z "$outside" ] || fail "installed outside $prefix: $outside"
echo "ok - make install as a normal user stays under $prefix"
# The daemon (root, here) refuses plugin files another user owns
# (StrictModes, docs/config.md): hand the staged files to root, as a
# packager's install would be.
[ -n "$asuser" ] && chown -R 0:0 "$dest"

ipc="$dest$prefix/lib/pkgconfig"
[ -f "$ipc/asockd-plugin.pc" ] || fail "asockd-plugin.pc not installed"
plugindir=$(PKG_CONFIG_PATH="$ipc" pkg-config \
    --define-variable=prefix="$dest$prefix" \
    --variable=plugindir asockd-plugin) || fail "pkg-config plugindir"
[ "$plugindir" = "$dest$prefix/lib/asockd" ] ||
    fail "plugindir is '$plugindir', not $dest$prefix/lib/asockd"
[ -f "$plugindir/echo.so" ] || fail "no echo.so in $plugindir"
cflags=$(PKG_CONFIG_PATH="$ipc" pkg-config \
    --define-variable=prefix="$dest$prefix" \
    --cflags asockd-plugin) || fail "pkg-config --cflags asockd-plugin"
[ -f "$dest$prefix/include/asockd/plugin.h" ] ||
    fail "plugin.h not installed"
echo "ok - installed asockd-plugin.pc: plugindir $plugindir, $cflags"

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
# the descriptor is declared before the macro defines it
if command -v clang >/dev/null; then
	# shellcheck disable=SC2086
	clang -fsyntax-only -Wmissing-variable-declarations -Werror $cflags \
	    "$tmp/upper.c" || fail "clang -Wmissing-variable-declarations"
	echo "ok - clang -Wmissing-variable-declarations is quiet"
fi

# 3b. The worked example of docs/testing-plugins.md, exactly as printed
# there, builds against the installed test kit (<asockd/test.h>,
# asockd-test.pc) and passes on the plugin just built: libasockd-test is
# installed with the plugin SDK.
awk '/<!-- out-of-tree.sh: kit example -->/ { mark = 1; next }
    mark && /^```c$/ { code = 1; next }
    code && /^```$/ { exit }
    code { print }' "$ASOCKD_SRCDIR/docs/testing-plugins.md" \
    > "$tmp/test_upper.c"
grep -q asockd_test_contract "$tmp/test_upper.c" ||
    fail "no kit example found in docs/testing-plugins.md"
[ -f "$dest$prefix/include/asockd/test.h" ] || fail "test.h not installed"
kitflags=$(PKG_CONFIG_PATH="$ipc" pkg-config \
    --define-variable=prefix="$dest$prefix" \
    --cflags --libs asockd-test) || fail "pkg-config asockd-test"
# shellcheck disable=SC2086
(cd "$tmp" && $CC -Wall -Wextra -Werror test_upper.c $kitflags \
    ${ASOCKD_SAN_LDFLAGS:-} -o test_upper) ||
    fail "the documented kit example does not build"
kitout=$(LD_LIBRARY_PATH="$dest$prefix/lib" "$tmp/test_upper" \
    "$tmp/upper.so") || fail "the documented kit example fails"
[ "$kitout" = "upper: all passed" ] || fail "kit example said '$kitout'"
echo "ok - the kit example of docs/testing-plugins.md builds and passes"

# 4. The daemon loads it and it answers; the installed echo.so too.
cat > "$tmp/asockd.conf" <<CONF
plugins: {
  upper: { path = "$tmp/upper.so"; };
  echo: { path = "$plugindir/echo.so"; };
};
listeners: (
  { name = "upper"; listen = "tcp://127.0.0.1:0"; plugin = "upper"; },
  { name = "echo"; listen = "tcp://127.0.0.1:0"; plugin = "echo"; },
  { name = "aecho"; listen = "tcp://127.0.0.1:0"; plugin = "echo";
    framing = "archive"; }
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
# ask LISTENER LINE: the first line of the answer to LINE
ask() {
	re="s|.*listener $1: listening on tcp://[^ ]*:\([0-9]*\).*|\1|p"
	port=$(sed -n "$re" "$tmp/log" | head -n 1)
	[ -n "$port" ] || fail "no port for $1 in the log"
	PORT=$port LINE=$2 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
		printf "%s\n" "$LINE" >&3
		IFS= read -r -t 5 line <&3 || exit 1
		printf "%s" "$line"' || fail "no reply from $1"
}
reply=$(ask upper "hello, plugin")
[ "$reply" = "HELLO, PLUGIN" ] || fail "reply was '$reply'"
echo "ok - asockd runs the documented plugin: $reply"
reply=$(ask echo "installed")
[ "$reply" = "installed" ] || fail "echo reply was '$reply'"
echo "ok - asockd runs the installed echo.so"

# 5. A client program builds from asockd-client.pc alone (msgpack.h
# still poisoned), links, and reads an archive echo.
cat > "$tmp/cl.c" <<'PROG'
#include <stdio.h>
#include <asockd/client.h>

int
main(int argc, char *argv[])
{
	struct asockd_client *cl;
	const char *s;
	size_t len;
	uint32_t n;

	if (argc != 2 || asockd_client_connect(argv[1], 5000, &cl) != 0 ||
	    asockd_client_send_strings(cl, "say", "hi", NULL) != 0 ||
	    asockd_client_recv(cl, 5000) != 0 ||
	    asockd_client_rd_array(cl, &n) != 0 || n != 2 ||
	    asockd_client_rd_skip(cl) != 0 ||
	    asockd_client_rd_str(cl, &s, &len) != 0)
		return 1;
	printf("%.*s\n", (int)len, s);
	asockd_client_close(cl);
	return 0;
}
PROG
clflags=$(PKG_CONFIG_PATH="$ASOCKD_BUILDDIR/client" pkg-config \
    --define-variable=includedir="$ASOCKD_SRCDIR/include" \
    --define-variable=libdir="$ASOCKD_BUILDDIR/client/.libs" \
    --cflags --libs asockd-client) || fail "pkg-config asockd-client"
# (a sanitizer build's library needs the sanitizer's run time first)
# shellcheck disable=SC2086
$CC -Wall -Wextra -Werror -I"$tmp/poison" "$tmp/cl.c" $clflags \
    ${ASOCKD_SAN_LDFLAGS:-} -o "$tmp/cl" ||
    fail "a client does not build from asockd-client.pc"
aport=$(sed -n \
    's|.*listener aecho: listening on tcp://[^ ]*:\([0-9]*\).*|\1|p' \
    "$tmp/log" | head -n 1)
[ -n "$aport" ] || fail "no archive port in the log"
areply=$(LD_LIBRARY_PATH="$ASOCKD_BUILDDIR/client/.libs" "$tmp/cl" \
    "tcp://:$aport") || fail "the client program failed"
[ "$areply" = "hi" ] || fail "client reply was '$areply'"
echo "ok - a client built from asockd-client.pc reads an archive echo"

kill "$pid"
wait "$pid" || fail "asockd exited with $? on SIGTERM"
pid=
exit 0
