# bench/lib.sh - what the bench scripts share: CPU accounting from /proc.
# Sourced by bench/run.sh, bench/inetd.sh and bench/tls_bench.sh.

# PID and its descendants (the daemon's workers, nginx's workers).
tree_pids() {
	local all=" $1 " p ppid changed=1
	while [ $changed = 1 ]; do
		changed=0
		for p in /proc/[0-9]*; do
			p=${p#/proc/}
			case $all in *" $p "*) continue ;; esac
			ppid=$(awk '{ sub(/^.*\) /, ""); print $2 }' \
			    /proc/$p/stat 2>/dev/null) || continue
			case $all in *" $ppid "*) all="$all$p "; changed=1 ;; esac
		done
	done
	echo $all
}

# utime + stime of the given processes, in clock ticks.  Field 14 and 15
# of /proc/PID/stat, counted after the ")" that ends the command name.
cpu_ticks() {
	local p t=0 v
	for p in "$@"; do
		v=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' \
		    /proc/$p/stat 2>/dev/null) || v=0
		t=$((t + ${v:-0}))
	done
	echo $t
}
