"""``failover-cockpit divergence``: did the old primary write after the new one took over?

Exit codes: 0 no divergence, 1 diverged, 2 the question could not be answered (one line on
stderr: an unreachable node, a missing privilege, a node that was never promoted), 3 a bad
config or an unknown node.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import textwrap
from typing import TYPE_CHECKING

from checks.observe.lsn import human_bytes

if TYPE_CHECKING:
    from checks.observe.divergence import Divergence

NOT_DIVERGED, DIVERGED, CANNOT_TELL, UNKNOWN = 0, 1, 2, 3
DEFAULT_CONFIG = "clusters.toml"


def add_divergence_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "divergence", help="did the old primary write after the new one took over? exit 0 no, 1 yes, 2 cannot tell",
        description="Compare the old primary's WAL position with the new primary's timeline history: "
                    "writes past the switch point exist only on the old node.")
    p.add_argument("config", nargs="?", default=DEFAULT_CONFIG, metavar="CONFIG",
                   help=f"cluster config (default ./{DEFAULT_CONFIG})")
    p.add_argument("--cluster", metavar="NAME", help="which cluster of the file (optional when it holds one)")
    p.add_argument("--old", required=True, metavar="NODE", help="the old primary")
    p.add_argument("--new", required=True, metavar="NODE", help="the new primary (the promoted node)")
    p.add_argument("--json", action="store_true", help="print one JSON object: " + ", ".join(
        ("diverged", "switch_timeline", "switch_lsn", "old_timeline", "old_end_lsn", "bytes_after_fork")))
    return p


def _error(message: str) -> None:
    print(f"failover-cockpit: {message}", file=sys.stderr)


def run_divergence(args: argparse.Namespace) -> int:
    from checks.config.model import ConfigError, load_config
    from checks.observe.divergence import DivergenceError, gather_divergence

    try:
        loaded = load_config(args.config)
        for warning in loaded.warnings:
            _error(f"warning: {warning}")
        name, cluster = loaded.cluster(args.cluster)
        names = [n.name for n in cluster.nodes]
        for flag, node in (("--old", args.old), ("--new", args.new)):
            if node not in names:
                raise ConfigError(f"{flag} {node}: no such node in cluster {name} (nodes: {', '.join(names)})")
        if args.old == args.new:
            raise ConfigError(f"--old and --new both name {args.old}: give the old and the new primary")
    except ConfigError as exc:
        _error(str(exc))
        return UNKNOWN
    try:
        result = asyncio.run(gather_divergence(cluster, args.old, args.new))
    except DivergenceError as exc:
        _error(str(exc))
        return CANNOT_TELL
    print(json.dumps(result.json_summary()) if args.json else readable(result))
    return DIVERGED if result.diverged else NOT_DIVERGED


def readable(d: Divergence) -> str:
    """A short block for a terminal, ending with the explanation."""
    old_role = "writable" if d.old_writable else "read-only, in recovery"
    verdict = "DIVERGED" if d.diverged else "not diverged"
    lines = [
        f"divergence: {verdict} (old {d.old_node}, new {d.new_node})",
        f"  {d.new_node}: timeline {d.new_timeline}, took over from timeline {d.switch_timeline} at {d.switch_lsn}",
        f"  {d.old_node}: timeline {d.old_timeline}, WAL ends at {d.old_end_lsn} ({old_role})",
        f"  WAL only on {d.old_node}: {human_bytes(d.bytes_after_fork)} ({d.bytes_after_fork} bytes)",
        "",
    ]
    lines += textwrap.wrap(d.explanation, width=100)
    return "\n".join(lines)
