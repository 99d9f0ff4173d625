"""`failover-cockpit lab ...`: the lab's command line (wired into cli/main.py)."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .errors import LabError
from .load import MAX_LOAD_SECONDS, MAX_LOAD_WORKERS

PROG = "failover-cockpit lab"
DEFAULT_DIR = Path("./.lab")
NODE_VERBS = {
    "crash": ("crash", "stop a node at once (pg_ctl stop -m immediate)"),
    "start": ("start", "start a node that is down"),
    "hang": ("hang", "freeze a node (SIGSTOP the postmaster and its children)"),
    "resume": ("resume", "unfreeze a hung node (SIGCONT)"),
    "partition": ("partition", "cut the cockpit's path to a node (its proxy goes silent)"),
    "heal": ("heal", "restore the cockpit's path to a node"),
    "pause-replay": ("pause_replay", "pg_wal_replay_pause() on a standby"),
    "resume-replay": ("resume_replay", "pg_wal_replay_resume() on a standby"),
}
ODOO_VERBS = {
    "odoo-stop": ("odoo_stop", "stop the Odoo stand-in (its XML-RPC port refuses connections)"),
    "odoo-start": ("odoo_start", "start the Odoo stand-in and wait until common.version answers"),
    "odoo-restart": ("odoo_restart", "restart the Odoo stand-in (what the lab's Odoo restart batch runs)"),
}


def add_lab_parser(subparsers: Any) -> None:
    """Add the `lab` subcommand and its verbs to an argparse subparsers object."""
    lab = subparsers.add_parser("lab", help="a local LAB cluster (PostgreSQL, PgBouncer, proxies, Odoo stand-in)",
                                description="Run a local LAB cluster on 127.0.0.1 for demos, training, "
                                            "drills and tests. It is a lab, never production.")
    verbs = lab.add_subparsers(dest="lab_verb", metavar="VERB", required=True)

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = verbs.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="lab folder (default: ./.lab)")
        return parser

    up = verb("up", "build the lab, or start whatever of it is not running")
    up.add_argument("--base-port", type=int, default=54320,
                    help="node i on BASE+i, its proxy on BASE+100+i, PgBouncer on BASE+200, "
                         "the Odoo stand-in on BASE+201 (default 54320)")
    up.add_argument("--replicas", type=int, default=2, help="number of standbys (default 2)")
    verb("down", "stop every process of the lab (files stay)")
    status = verb("status", "show the lab's nodes, roles and ports")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    for name, (_, help_text) in NODE_VERBS.items():
        verb(name, help_text).add_argument("node", help="node name, e.g. node1")
    for name, (_, help_text) in ODOO_VERBS.items():
        verb(name, help_text)
    rewind = verb("rewind", "pg_rewind a stopped or crashed node from the new primary (it is stopped cleanly "
                            "first); a real rewind leaves it configured as that primary's standby")
    rewind.add_argument("node", help="node name, e.g. node1")
    rewind.add_argument("--source-port", type=int, required=True, help="the new primary's real port")
    rewind.add_argument("--dry-run", action="store_true", help="pg_rewind --dry-run: change no data file")
    standby = verb("start-standby", "write standby.signal and primary_conninfo, then start the node")
    standby.add_argument("node", help="node name, e.g. node1")
    standby.add_argument("--primary-port", type=int, required=True, help="the new primary's real port")
    read_only = verb("start-read-only", "start a stopped node read-only (in recovery, following nobody), "
                                        "its WAL untouched")
    read_only.add_argument("node", help="node name, e.g. node1")
    load = verb("load", "play Odoo workers writing sale orders through PgBouncer; print one JSON line")
    load.add_argument("--seconds", type=float, default=30.0,
                      help=f"how long (default 30, at most {MAX_LOAD_SECONDS:g})")
    load.add_argument("--workers", type=int, default=4, help=f"writers (default 4, at most {MAX_LOAD_WORKERS})")


def run_lab(args: argparse.Namespace) -> int:
    """Run one lab verb; LabError becomes one line on stderr and exit 1."""
    try:
        return _dispatch(args)
    except LabError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. a folder we may not write: still one line
        if isinstance(exc, BrokenPipeError):  # `lab status | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from .lab import Lab  # here, not at the top: every command builds this parser

    lab = Lab(args.dir)
    verb = args.lab_verb
    if verb == "up":
        existing = lab.paths.load()
        started = time.monotonic()
        held = lab.up(base_port=args.base_port, replicas=args.replicas)
        elapsed = time.monotonic() - started
        status = lab.status()
        how = "was already built; all its processes are running" if existing and existing.status == "ready" \
            else "is up"
        print(f"LAB {how} ({elapsed:.1f} s): {len(status['nodes'])} PostgreSQL nodes, PgBouncer and proxies "
              f"on 127.0.0.1. This is a LAB with throwaway passwords, not production.")
        print(f"config: {status['config']}")
        print(f"try:    failover-cockpit run {status['config']}")
        print()
        print(format_status(status, header=False))
        for line in held:
            print(f"\nheld back: {line}")
        return 0
    if verb == "down":
        lab.down()
        print(f"LAB in {lab.dir} is down (files kept; `lab up --dir {args.dir}` starts it again)")
        return 0
    if verb == "status":
        status = lab.status()
        print(json.dumps(status, indent=2) if args.json else format_status(status))
        return 0
    if verb == "load":
        from .load import run_load

        print(json.dumps(run_load(lab.dir, args.seconds, args.workers)), flush=True)
        return 0
    if verb in ("rewind", "start-standby", "start-read-only"):
        echo = functools.partial(print, flush=True)
        if verb == "start-read-only":
            lab.start_read_only(args.node, echo=echo)
            what = "running read-only, following nobody"
        elif verb == "rewind":
            needed = lab.rewind(args.node, args.source_port, dry_run=args.dry_run, echo=echo)
            if args.dry_run:
                what = "dry run ok: " + ("a rewind is needed" if needed else "no rewind is needed") + "; nothing rewound"
            else:
                what = ("rewound" if needed else "no rewind was needed") + "; configured as a standby, not started"
        else:
            lab.start_standby(args.node, args.primary_port, echo=echo)
            what = f"running as a standby of port {args.primary_port}"
        print(f"LAB {verb} {args.node}: done ({what})")
        return 0
    if verb in ODOO_VERBS:
        method, _ = ODOO_VERBS[verb]
        getattr(lab, method)()
        print(f"LAB {verb}: done ({lab.status()['odoo']['url']})")
        return 0
    method, _ = NODE_VERBS[verb]
    getattr(lab, method)(args.node)
    print(f"LAB {verb} {args.node}: done")
    return 0


def format_status(status: dict[str, Any], header: bool = True) -> str:
    """A readable table of `Lab.status()`."""
    rows = [("NODE", "ROLE", "PORT", "PROXY", "PID", "DATA DIR")]
    for node in status["nodes"]:
        rows.append((node["name"], node["role"], str(node["port"]), str(node["proxy_port"]),
                     "-" if node["pid"] is None else str(node["pid"]), node["data_dir"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [f"LAB in {status['dir']} (not production)", f"config     {status['config']}", ""] if header else []
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1])
    lines.append("")
    lines.append(f"pgbouncer  port {status['pgbouncer']['port']}  admin {status['pgbouncer']['admin_dsn']}")
    lines.append(f"odoo       {status['odoo']['url'] or 'none (stand-in not built yet)'}  (LAB stand-in)")
    return "\n".join(lines)
