#!/bin/sh
# deb-install.sh - install the packages scripts/build-debs made (DEBDIR)
# on this machine and check what an operator and a plugin author get:
# the conffiles in /etc/asockd, the system user, asockd -t on the shipped
# configuration, a plugin built out of tree against the installed
# asockd-dev (from the installed docs/plugins.md) that the installed
# daemon loads and that the installed asockd-cat talks to, the test
# kit's example (from the installed docs/testing-plugins.md) built with
# pkg-config asockd-test and passing, and a client program built against
# libasockd-client-dev.  Everything is purged again at the end.
#
#   ASOCKD_DEB_INSTALL=1 tests/deb-install.sh DEBDIR
#
# It changes the system (packages, the asockd user), so it runs only as
# root and only when ASOCKD_DEB_INSTALL=1 says so (CI does); it refuses
# to touch an asockd that was installed before.  Exits 77 (skipped)
# otherwise.
set -eu

[ $# -eq 1 ] || { echo "usage: deb-install.sh DEBDIR" >&2; exit 2; }
debdir=$(cd "$1" && pwd)
if [ "$(id -u)" -ne 0 ] || [ "${ASOCKD_DEB_INSTALL:-}" != 1 ]; then
	echo "SKIP: needs root and ASOCKD_DEB_INSTALL=1 (installs packages)"
	exit 77
fi
pkgs="asockd asockd-dev libasockd-client1 libasockd-client-dev"
for p in $pkgs; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'ok installed'; then
		echo "FAIL: $p is already installed: not touching it" >&2
		exit 1
	fi
done
CC=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/asockd-debtest.XXXXXX")
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || :
		wait "$pid" 2>/dev/null || :
	fi
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq $pkgs \
	    >/dev/null 2>&1 || :
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
	echo "FAIL: $*" >&2
	[ -f "$tmp/log" ] && { echo "-- daemon log:" >&2; cat "$tmp/log" >&2; }
	exit 1
}

debs=""
for p in $pkgs; do
	set -- "$debdir/${p}_"*.deb
	[ -f "$1" ] || fail "no $p package in $debdir"
	debs="$debs $1"
done
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $debs \
    > "$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; fail "apt-get install"; }
echo "ok - the four packages install"

# 1. The operator's side.
for f in asockd.conf chargen.ini chat.ini http.ini; do
	grep -qx "/etc/asockd/$f" /var/lib/dpkg/info/asockd.conffiles ||
	    fail "/etc/asockd/$f is not a conffile"
done
getent passwd asockd >/dev/null || fail "no asockd system user"
[ -f /lib/systemd/system/asockd.service ] || fail "no asockd.service"
/usr/sbin/asockd -t -c /etc/asockd/asockd.conf > "$tmp/t.log" 2>&1 ||
    { cat "$tmp/t.log" >&2; fail "asockd -t -c /etc/asockd/asockd.conf"; }
echo "ok - conffiles, the asockd user, asockd -t on the shipped config"

# 2. A plugin out of tree against the installed asockd-dev, from the
# installed docs.
plugindir=$(pkg-config --variable=plugindir asockd-plugin) ||
    fail "pkg-config asockd-plugin"
[ -f "$plugindir/echo.so" ] || fail "plugindir $plugindir has no echo.so"
zcat /usr/share/doc/asockd/plugins.md.gz |
    awk '/<!-- out-of-tree.sh: minimal plugin -->/ { mark = 1; next }
	mark && /^```c$/ { code = 1; next }
	code && /^```$/ { exit }
	code { print }' > "$tmp/upper.c"
# shellcheck disable=SC2046
$CC -shared -fPIC -Wall -Wextra -Werror $(pkg-config --cflags \
    asockd-plugin) "$tmp/upper.c" -o "$tmp/upper.so" ||
    fail "the documented plugin does not build against asockd-dev"
zcat /usr/share/doc/asockd/testing-plugins.md.gz |
    awk '/<!-- out-of-tree.sh: kit example -->/ { mark = 1; next }
	mark && /^```c$/ { code = 1; next }
	code && /^```$/ { exit }
	code { print }' > "$tmp/test_upper.c"
# shellcheck disable=SC2046
$CC -Wall -Wextra -Werror "$tmp/test_upper.c" $(pkg-config --cflags \
    --libs asockd-test) -o "$tmp/test_upper" ||
    fail "the kit example does not build against asockd-dev"
out=$("$tmp/test_upper" "$tmp/upper.so") || fail "the kit example fails"
[ "$out" = "upper: all passed" ] || fail "kit example said '$out'"
echo "ok - a plugin and its kit test build against the installed asockd-dev"

# 3. The installed daemon loads it; the installed asockd-cat and asockctl
# talk to it.
chmod 755 "$tmp"
cat > "$tmp/asockd.conf" <<CONF
plugins: {
  upper: { path = "$tmp/upper.so"; };
  echo: { path = "$plugindir/echo.so"; };
};
listeners: (
  { name = "upper"; listen = "tcp://127.0.0.1:0"; plugin = "upper"; },
  { name = "echo"; listen = "tcp://127.0.0.1:0"; plugin = "echo";
    framing = "archive"; }
);
daemon: { workers = 1; control = "$tmp/control.sock"; };
CONF
/usr/sbin/asockd -f -c "$tmp/asockd.conf" > "$tmp/log" 2>&1 &
pid=$!
i=0
until grep -q ' ready' "$tmp/log"; do
	kill -0 "$pid" 2>/dev/null || fail "asockd exited"
	i=$((i + 1))
	[ "$i" -le 100 ] || fail "asockd not ready after 10 s"
	sleep 0.1
done
port_of() {
	sed -n "s|.*listener $1: listening on tcp://[^ ]*:\([0-9]*\).*|\1|p" \
	    "$tmp/log" | head -n 1
}
reply=$(printf 'from the package\n' |
    /usr/bin/asockd-cat "tcp://127.0.0.1:$(port_of upper)") ||
    fail "asockd-cat to the upper plugin"
[ "$reply" = "FROM THE PACKAGE" ] || fail "upper replied '$reply'"
reply=$(printf '["hi", 1]\n' |
    /usr/bin/asockd-cat --archive "tcp://127.0.0.1:$(port_of echo)") ||
    fail "asockd-cat --archive to echo"
[ "$reply" = '["hi",1]' ] || fail "archive echo replied '$reply'"
echo "ok - the installed daemon runs it; the installed asockd-cat talks"
out=$(/usr/sbin/asockctl -s "$tmp/control.sock" show listeners) ||
    fail "asockctl show listeners"
printf '%s\n' "$out" | grep -q '^upper ' ||
    fail "asockctl show listeners lists no 'upper': $out"
echo "ok - the installed asockctl reads the daemon's control socket"

# 4. A client program against libasockd-client-dev.
cat > "$tmp/cl.c" <<'PROG'
#include <asockd/client.h>
int
main(void)
{
	struct asockd_client *cl;

	/* a malformed address: the call fails, cleanly */
	return asockd_client_connect("nonsense", 100, &cl) == 0;
}
PROG
# shellcheck disable=SC2046
$CC -Wall -Werror "$tmp/cl.c" $(pkg-config --cflags --libs asockd-client) \
    -o "$tmp/cl" || fail "a client does not build against the -dev"
"$tmp/cl" || fail "the client program"
echo "ok - a client builds and runs against libasockd-client-dev"

kill "$pid"
wait "$pid" || fail "asockd exited with $? on SIGTERM"
pid=
exit 0
