#!/bin/sh
# The lab's fence: stop the postmaster of DATA_DIR at once, as `pg_ctl stop -m immediate` does
# (SIGQUIT), thawing it and its children first so that a hung (SIGSTOPped) node stops too; wait
# until it is gone, in 2 ms steps. A node already down is a success.
#
#     sh lab/fence.sh DATA_DIR
#
# A planned switchover runs the fence while PgBouncer holds Odoo's requests, so its start-up is
# time every request waits (`cutover_stall_ms` in bench/run): dash starts in about a millisecond,
# where even `python -I -S` took 17 ms idle and 30-40 ms on a loaded machine. A production fence
# is the operator's own command (STONITH, a cloud API, `systemctl stop`), and its time adds to
# the stall the same way. Exit 0 when stopped or already down; 1 when it would not stop; 2 on
# bad arguments.

if [ $# -ne 1 ]; then
    echo "usage: fence.sh DATA_DIR" >&2
    exit 2
fi
if [ ! -d "$1" ]; then
    echo "fence: $1 is not a data directory" >&2
    exit 2
fi
data_dir=$(cd "$1" && pwd)

# the live postmaster of the data directory: the first line of postmaster.pid, a live process (not
# a zombie) with this directory as one argument of its command line (world-readable, unlike its
# working directory; a pid reused by another program after a crash has other arguments). Shell
# builtins from here on but for that check and `sleep`: each program started is a millisecond of
# the pause.
pid=
if [ -r "$data_dir/postmaster.pid" ]; then
    read -r pid < "$data_dir/postmaster.pid" || pid=
fi
case $pid in
    ''|*[!0-9]*) pid= ;;
esac
alive=
check_alive() {   # sets alive=yes when $1 is a live process (any state but zombie or dead)
    alive=
    line=
    { read -r line < "/proc/$1/stat"; } 2>/dev/null || return 0
    line=${line##*) }
    case ${line%% *} in
        Z|X|x|'') ;;
        *) alive=yes ;;
    esac
}
if [ -n "$pid" ]; then
    check_alive "$pid"
fi
if [ -z "$alive" ] || ! tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -e "$data_dir"; then
    echo "no postmaster running for $data_dir: already down"
    exit 0
fi

# thaw: a SIGQUIT to a stopped process waits for a SIGCONT (PostgreSQL's children are the
# postmaster's own; none of theirs matter to the fence)
children=
if [ -r "/proc/$pid/task/$pid/children" ]; then
    { read -r children < "/proc/$pid/task/$pid/children"; } 2>/dev/null
else                 # a kernel without CONFIG_PROC_CHILDREN: every process whose parent it is
    for stat in /proc/[0-9]*/stat; do
        { read -r line < "$stat"; } 2>/dev/null || continue
        set -- ${line##*) }
        [ "${2:-}" = "$pid" ] && { child=${stat#/proc/}; children="$children ${child%/stat}"; }
    done
fi
for child in $children; do
    kill -CONT "$child" 2>/dev/null
done
kill -CONT "$pid" 2>/dev/null
if ! kill -QUIT "$pid" 2>/dev/null; then
    check_alive "$pid"
    [ -z "$alive" ] && { echo "no postmaster running for $data_dir: already down"; exit 0; }
    echo "fence: cannot signal postmaster $pid of $data_dir" >&2
    exit 1
fi
steps=0
check_alive "$pid"
while [ -n "$alive" ]; do
    steps=$((steps + 1))
    if [ $steps -gt 5000 ]; then     # at least 10 s of 2 ms steps
        echo "fence: postmaster $pid did not stop within 10s of SIGQUIT" >&2
        exit 1
    fi
    sleep 0.002
    check_alive "$pid"
done
echo "postmaster $pid of $data_dir stopped (SIGQUIT, immediate shutdown)"
