"""``failover-cockpit split-brain``: keep one writer, fence the others, headless.

It takes the operator seat as ``drill`` does (the cluster's lock and the incident's), prints the
proposal and what each choice discards, asks for the typed name of the node to fence (``--yes``
skips that), and runs :func:`checks.aftermath.split_brain.keep_one_writer`. Exit 0 when exactly the kept
node is writable afterwards; 1 when refused or failed (the sentence on the last line); 3 for a bad
config or an unknown node.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from cli.console import UNKNOWN, print_error


def add_split_brain_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("split-brain", help="keep one writer and fence the others; exit 0 when one writer remains",
                       description="Resolve a split brain: keep NODE as the one writer, fence every other writer "
                                   "with its configured fence command, then verify exactly one writer remains.")
    p.add_argument("config", nargs="?", default="clusters.toml", metavar="CONFIG",
                   help="cluster config (default ./clusters.toml)")
    p.add_argument("--cluster", metavar="NAME", help="which cluster of the file (optional when it holds one)")
    p.add_argument("--incident", required=True, metavar="DIR", help="incident directory (created if new)")
    p.add_argument("--keep", required=True, metavar="NODE", help="the writer to keep")
    p.add_argument("--operator", metavar="WHO", help="operator name (default: the login name)")
    p.add_argument("--approver", metavar="WHO",
                   help="an approver from the config's list, not the operator: needed when a fenced writer holds "
                        "transactions the kept one lacks")
    p.add_argument("--yes", action="store_true", help="confirm the fence without typing the node's name")
    return p


def say(line: str) -> None:
    print(line, flush=True)


def run_split_brain(args: argparse.Namespace) -> int:
    from checks.config.model import ConfigError, load_config
    from checks.config.text import TextRefused, clean_name
    from checks.incident.directory import login_name
    from checks.incident.journal import JournalError
    from checks.incident.seats import SeatError

    try:
        operator = clean_name(args.operator or login_name(), "--operator")
        approver = clean_name(args.approver, "--approver") if args.approver else None
    except TextRefused as exc:
        print_error(str(exc))
        return 2
    try:
        loaded = load_config(args.config)
        for warning in loaded.warnings:
            print_error(f"warning: {warning}")
        name, cluster = loaded.cluster(args.cluster)
    except ConfigError as exc:
        print_error(str(exc))
        return UNKNOWN
    names = [n.name for n in cluster.nodes]
    if args.keep not in names:
        print_error(f"--keep {args.keep}: no such node in cluster {name} (nodes: {', '.join(names)})")
        return UNKNOWN
    try:
        return _run(name, cluster, Path(args.incident), keep=args.keep, operator=operator, approver=approver,
                    yes=args.yes, config_path=str(Path(args.config).resolve()))
    except (JournalError, SeatError) as exc:
        say(f"{args.keep}: split brain not resolved: {exc}")
        return 1


def _run(cluster_name: str, cluster, incident: Path, *, keep: str, operator: str, approver: str | None,
         yes: bool, config_path: str) -> int:
    from checks.aftermath.split_brain import keep_one_writer, propose
    from checks.runbook.operation import GateRefused
    from cli.drill_cmd import close_session, operator_session

    session = operator_session(cluster_name, cluster, incident, operator, config_path=config_path)
    op = session.operation
    op.on_progress = lambda text: say(f"    {text}")        # a long fence says it is still running
    op.log("system", f"split-brain started by {operator} on cluster {cluster_name}: keep {keep}")

    async def go():
        try:
            proposal = await propose(op)
            for line in proposal.lines():
                say(line)
            fence = ", ".join(proposal.choice(keep).fence) if keep in proposal.writers else ""
            typed = fence if yes or not fence else await asyncio.to_thread(
                input, f"type {fence!r} to fence it and keep {keep}: ")
            return await keep_one_writer(op, keep, confirm=typed.strip(), approver=approver)
        finally:
            await op.close()

    try:
        result = asyncio.run(go())
        say(result.sentence())
        return 0
    except GateRefused as exc:
        say(str(exc))
        return 1
    except EOFError:
        say(f"split brain not resolved: no confirmation typed (use --yes to confirm non-interactively); "
            f"nothing was fenced")
        op.log("system", "split brain not resolved: no confirmation typed; nothing was fenced",
               data={"refused": True, "action": "keep one writer"})
        return 1
    finally:
        close_session(session)
