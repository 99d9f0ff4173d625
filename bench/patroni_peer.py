"""Patroni as a peer, measured here: ``patroni_manual_failover_s`` and ``patroni_auto_failover_s``.

A three-node Patroni cluster of PostgreSQL 15 with one etcd on loopback (bench/patroni_cluster.py),
with Patroni's default ttl 30 s, loop_wait 10 s and retry_timeout 10 s (none of them written).

* Manual: ``patronictl -c node1.yml failover --candidate X --force`` (Patroni 3.0.2 on Debian 12;
  without ``--leader`` it is a failover to X, the current leader demoted) from the moment the
  command is started to the first INSERT committed on X, tried every 20 ms on a connection to X
  (a replica refuses it as read-only until it is promoted). X is the next replica each run.
* Automatic: a crash of the leader's host. Everything of that node is frozen with SIGSTOP and then
  killed with SIGKILL at one instant: runuser, its patroni process, the postmaster and every
  postgres child of the postmaster (backends, walsenders, checkpointer). A postmaster killed
  alone would leave patroni to restart it, and a patroni killed alone would leave PostgreSQL
  running as a leader without a lock; a dead host is both. From the kill to the first INSERT
  committed on whichever survivor becomes leader (both tried every 20 ms). Nothing renews the
  leader key, so it expires at most ttl after its last renewal. Between runs the crashed node is
  rebuilt as a fresh replica (data directory wiped, Patroni cloning the new leader).

Run alone: ``.venv/bin/python -m bench.patroni_peer [--quick]``. When Debian's patroni or
etcd-server cannot be installed, both figures are None and ``patroni_note`` says which and why.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.patroni_cluster import (
    INSERT, NAMES, PATRONICTL, PatroniBenchError, PatroniLab, ensure_packages, patroni_defaults, versions
)

POLL_S = 0.02
WAIT_S = 120.0  # ttl 30 s + loop_wait 10 s + promotion, with room


def first_write(lab: PatroniLab, names: list[str], started: float, timeout: float = WAIT_S) -> tuple[str, float]:
    """Try an INSERT on each named node every POLL_S until one commits: (its name, seconds since started)."""
    import psycopg

    conns: dict[str, psycopg.Connection | None] = dict.fromkeys(names)
    try:
        while time.monotonic() - started < timeout:
            for name in names:
                try:
                    if conns[name] is None:
                        conns[name] = psycopg.connect(host="127.0.0.1", port=lab.pg_ports[name], user="postgres",
                                                      dbname="postgres", connect_timeout=1, autocommit=True)
                    conns[name].execute(INSERT)
                    return name, time.monotonic() - started
                except psycopg.Error as exc:
                    if getattr(exc, "sqlstate", None) != "25006":  # not just "read-only": reconnect
                        conn, conns[name] = conns[name], None
                        if conn is not None:
                            conn.close()
            time.sleep(POLL_S)
    finally:
        for conn in conns.values():
            if conn is not None:
                conn.close()
    raise PatroniBenchError(f"no write succeeded on {' or '.join(names)} within {timeout:g} s.")


def manual_run(lab: PatroniLab, candidate: str) -> float:
    """patronictl failover to candidate, to the first write committed on it, in seconds."""
    from lab.processes import child_env

    argv = [PATRONICTL, "-c", str(lab.config(NAMES[0])), "failover", "--candidate", candidate, "--force"]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=child_env(), cwd=lab.dir)
    try:
        _, seconds = first_write(lab, [candidate], started)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.decode(errors="replace")
    if proc.returncode != 0 or "Successfully failed over" not in text:
        raise PatroniBenchError(f"patronictl failover to {candidate} did not succeed: {_said(text)}.")
    return seconds


def auto_run(lab: PatroniLab, leader: str) -> float:
    """Crash the leader's host; seconds to the first write committed on a survivor."""
    survivors = [name for name in NAMES if name != leader]
    started = time.monotonic()
    lab.crash_host(leader)
    _, seconds = first_write(lab, survivors, started)
    return seconds


def _said(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(("+", "|"))]
    return (lines[-1] if lines else "no output").rstrip(".")


def measure(folder: Path, runs: int) -> tuple[list[float], list[float]]:
    """runs manual failovers, then runs host crashes, on one cluster under folder (always stopped)."""
    lab = PatroniLab(folder)
    manual: list[float] = []
    auto: list[float] = []
    try:
        leader = lab.up()
        for _ in range(runs):
            candidate = next(name for name in NAMES[NAMES.index(leader) + 1:] + NAMES if name != leader)
            manual.append(manual_run(lab, candidate))
            leader = lab.wait_healthy()
        for run in range(runs):
            auto.append(auto_run(lab, leader))
            if run < runs - 1:
                lab.rebuild(leader)
                leader = lab.wait_healthy()
    except Exception as exc:  # noqa: BLE001 (said as one sentence with each node's last error)
        tails = "; ".join(f'{name} last logged "{lab.log_tail(name).rstrip(".")}"' for name in lab.nodes)
        what = str(exc).rstrip(".") if isinstance(exc, PatroniBenchError) else f"{type(exc).__name__}: {exc}"
        raise PatroniBenchError(f"{what} ({tails})." if tails else f"{what}.") from exc
    finally:
        lab.stop()
    return manual, auto


def patroni_figures(root: Path, quick: bool) -> dict:
    """The two Patroni figures (medians, seconds) and a one-sentence note; None and why when it cannot run."""
    runs = 3 if quick else 5
    none = {"patroni_manual_failover_s": None, "patroni_auto_failover_s": None}
    why = ensure_packages()
    if why is not None:
        return {**none, "patroni_note": why}
    patroni, etcd = versions()
    defaults = patroni_defaults()
    try:
        manual, auto = measure(Path(root) / "patroni", runs)
    except PatroniBenchError as exc:
        return {**none, "patroni_note": f"Patroni {patroni} with etcd {etcd} could not be measured: "
                                        f"{str(exc).rstrip('.')}."}
    return {
        "patroni_manual_failover_s": round(statistics.median(manual), 2),
        "patroni_auto_failover_s": round(statistics.median(auto), 2),
        "patroni_note": (
            f"Patroni {patroni} with etcd {etcd}, three PostgreSQL 15 nodes, median of {runs} runs each: "
            f"patronictl failover --candidate --force to the first write on the candidate, and a crash of "
            f"the leader's host (patroni, the postmaster and all its children killed with SIGKILL at once) "
            f"to the first write on the new leader, with Patroni's default ttl {defaults['ttl']} s, "
            f"loop_wait {defaults['loop_wait']} s and retry_timeout {defaults['retry_timeout']} s."),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.patroni_peer", description="Patroni failover times, as a peer.")
    parser.add_argument("--quick", action="store_true", help="3 runs of each instead of 5")
    parser.add_argument("--json", action="store_true", help="one JSON object")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="patroni-bench-") as tmp:
        Path(tmp).chmod(0o755)
        figures = patroni_figures(Path(tmp), args.quick)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
