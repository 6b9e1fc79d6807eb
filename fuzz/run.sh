#!/bin/sh
# fuzz/run.sh - run the libFuzzer targets of a build made with
# `configure --enable-fuzzing CC=clang`.
#
# For each target (line, length, archive, http, proxy): first replay every input in
# fuzz/regressions/<target>/ (crashes found once, fixed since), then fuzz
# for $FUZZ_SECONDS seconds (default 30) starting from fuzz/corpus/<target>/.
# New corpus entries go to a temporary directory, never into the source
# tree.  Exits non-zero as soon as a target crashes; the crashing input is
# left in $FUZZ_ARTIFACTS (default ./fuzz-artifacts) - copy it into
# fuzz/regressions/<target>/ once the bug is fixed.
#
# Usage: fuzz/run.sh [BUILDDIR] [TARGET...]
#   env: FUZZ_SECONDS, FUZZ_BUILDDIR, FUZZ_ARTIFACTS, FUZZ_JOBS (forks)
set -u

srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${FUZZ_BUILDDIR:-.}
if [ $# -gt 0 ] && [ -d "$1" ]; then
	builddir=$1
	shift
fi
targets=${*:-line length archive http proxy}
seconds=${FUZZ_SECONDS:-30}
artifacts=${FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}
mkdir -p "$artifacts" || exit 2
work=$(mktemp -d "${TMPDIR:-/tmp}/asockd-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM

status=0
for t in $targets; do
	bin=$builddir/fuzz/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "run.sh: $bin not found (configure --enable-fuzzing CC=clang)" >&2
		exit 2
	fi
	reg=$srcdir/fuzz/regressions/$t
	set -- 
	if [ -d "$reg" ]; then
		for f in "$reg"/*; do
			[ -f "$f" ] && set -- "$@" "$f"
		done
	fi
	if [ $# -gt 0 ]; then
		echo "== $t: $# regression input(s)"
		if ! "$bin" -artifact_prefix="$artifacts/$t-" "$@" \
		    >"$work/$t.reg.log" 2>&1; then
			cat "$work/$t.reg.log" >&2
			echo "FAIL: $t regression input crashed" >&2
			status=1
			continue
		fi
	fi
	echo "== $t: fuzzing for ${seconds}s"
	mkdir -p "$work/$t"
	if ! "$bin" -max_total_time="$seconds" -timeout=10 -max_len=8192 \
	    -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
	    "$work/$t" "$srcdir/fuzz/corpus/$t" >"$work/$t.log" 2>&1; then
		tail -n 60 "$work/$t.log" >&2
		echo "FAIL: $t crashed; input saved under $artifacts" >&2
		status=1
		continue
	fi
	grep -E '^stat::number_of_executed_units|^Done' "$work/$t.log" |
	    sed "s/^/   $t: /"
done
[ $status -eq 0 ] && echo "fuzz: all targets passed"
exit $status
