"""The watch-only seat from the command line: ``run --watch CONFIG``, and ``watch CONFIG`` its alias.

A seat that watches the cluster (nodes, signals, verdict) and creates no incident directory: for a
second screen, a wall display, or a look before anyone opens an incident.
"""

from __future__ import annotations

import argparse

from cli.console import UNKNOWN, print_error

# run's options that belong to a seat in an incident, and why a watch-only seat refuses each.
_INCIDENT_ONLY = {
    "incident": "--incident joins an incident",
    "reopen": "--reopen reopens an incident",
    "scribe": "--scribe names a role of an incident",
    "approver": "--approver names a role of an incident",
}


def add_watch_parser(sub) -> None:
    from cli.main import _config_args, _positive_float

    watch = sub.add_parser("watch", help="the live cockpit in a watch-only seat: no incident, no runbook keys "
                                         "(the same as run --watch)")
    _config_args(watch)
    watch.add_argument("--interval", type=_positive_float, metavar="S", help="sampling interval in seconds")


def watch_refusal(args: argparse.Namespace) -> str | None:
    """The line refusing run's incident options given with --watch (None when there are none)."""
    for option, what in _INCIDENT_ONLY.items():
        if getattr(args, option, None):
            return f"{what}, and --watch keeps none: drop --watch to take a seat in one"
    seat = getattr(args, "seat", "operator")
    if seat != "operator":
        return f"--seat {seat} is a seat in an incident, and --watch keeps none: drop --watch to take it"
    return None


def run_watch_cmd(args: argparse.Namespace) -> int:
    """``watch`` and ``run --watch``: load the cluster, then the watch-only cockpit."""
    from checks.config.model import ConfigError
    from cli.main import _load_cluster

    refusal = watch_refusal(args)
    if refusal:
        print_error(refusal)
        return 2
    try:
        name, cluster = _load_cluster(args.config, args.cluster)
    except ConfigError as exc:
        print_error(str(exc))
        return UNKNOWN
    from cli.run_cmd import run_watch

    return run_watch(name, cluster, interval=args.interval)
