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

# the live postmaster of the data directory: the first line of postmaster.pid, a process whose
# command line names this directory and that is not a zombie
pid=
if [ -r "$data_dir/postmaster.pid" ]; then
    read -r pid < "$data_dir/postmaster.pid" || pid=
fi
state() {   # the one-letter state of $1 (R, S, T, Z, ...), empty when it is gone
    line=
    read -r line < "/proc/$1/stat" 2>/dev/null || return 0
    line=${line##*) }
    echo "${line%% *}"
}
alive() {
    s=$(state "$1")
    [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}
case $pid in
    ''|*[!0-9]*) pid= ;;
esac
if [ -z "$pid" ] || ! alive "$pid" || ! tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -qxF -e "$data_dir" -e "-D$data_dir"; then
    echo "no postmaster running for $data_dir: already down"
    exit 0
fi

# thaw: a SIGQUIT to a stopped process waits for a SIGCONT (PostgreSQL's children are the
# postmaster's own; none of theirs matter to the fence)
for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
    kill -CONT "$child" 2>/dev/null
done
kill -CONT "$pid" 2>/dev/null
if ! kill -QUIT "$pid" 2>/dev/null; then
    alive "$pid" || { echo "no postmaster running for $data_dir: already down"; exit 0; }
    echo "fence: cannot signal postmaster $pid of $data_dir" >&2
    exit 1
fi
steps=0
while alive "$pid"; do
    steps=$((steps + 1))
    if [ $steps -gt 5000 ]; then     # at least 10 s of 2 ms steps
        echo "fence: postmaster $pid did not stop within 10s of SIGQUIT" >&2
        exit 1
    fi
    sleep 0.002
done
echo "postmaster $pid of $data_dir stopped (SIGQUIT, immediate shutdown)"
