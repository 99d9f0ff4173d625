"""``failover-cockpit status``: one sampling round as a table, JSON, a monitoring-plugin line with
perfdata (Nagios, Icinga) or Prometheus metrics; the exit code of a monitoring plugin."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING

from cli.console import UNKNOWN, print_error

if TYPE_CHECKING:
    from checks.config.model import Cluster

# The parser is built for every command (the lab verbs among them, which start fast): the drivers and
# pydantic are imported where a round runs.

FORMATS = ("table", "json", "nagios", "prometheus")

THRESHOLDS_HELP = """\
-w and -c (with --format nagios) apply to every standby's replay delay and data at risk (the WAL it
never received). Each takes a time, a size, or both, comma-separated: -w 30s,16MB. A time is
s, ms, min or h (a bare number is seconds); a size is B, kB, MB, GB or TB (powers of 1024, as in
postgresql.conf). -w replaces the config's SLO for this check: a standby over it is a WARNING, as
the cockpit says. -c sets a critical level: a standby over it makes the check CRITICAL. Without -c
replay alone never makes it CRITICAL (that is for no writer, several, or one on an older timeline).
The perfdata carries, per node, replay delay (s), unreplayed WAL (B), data at risk (B) and sample
latency (ms), with these levels as warn and crit.

--format prometheus exits 0 once it printed the metrics (the verdict is one of them), so that a
textfile collector job's "&& mv" keeps the bad rounds; every other format exits 0 ok, 1 warning,
2 critical, 3 unknown. A bad -w or -c is UNKNOWN (3)."""


def add_status_parser(sub) -> None:
    from cli.main import _config_args

    status = sub.add_parser("status", help="one sampling round; exit 0 ok, 1 warning, 2 critical, 3 unknown",
                            epilog=THRESHOLDS_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    _config_args(status)
    status.add_argument("--all", action="store_true",
                        help="every cluster of the config in one round, worst first (table or JSON); the exit "
                             "code is the worst cluster's")
    status.add_argument("--json", action="store_true", help="print one JSON object (the same as --format json)")
    status.add_argument("--format", choices=FORMATS, metavar="FORMAT",
                        help="table (default), json, nagios (one plugin line with perfdata) or prometheus "
                             "(the text exposition format, for node_exporter's textfile collector)")
    status.add_argument("-w", "--warning", metavar="LEVELS",
                        help="nagios: the warning levels in place of the SLO, such as 30s,16MB (see below)")
    status.add_argument("-c", "--critical", metavar="LEVELS",
                        help="nagios: the critical levels, such as 2min,64MB (see below)")


def chosen_format(args: argparse.Namespace) -> str | None:
    """The format the flags ask for (None: they contradict each other, the line printed)."""
    if args.json and args.format not in (None, "json"):
        print_error(f"--json and --format {args.format} ask for two formats: give one")
        return None
    fmt = "json" if args.json else (args.format or "table")
    if fmt != "nagios" and (args.warning is not None or args.critical is not None):
        print_error("-w and -c set the levels of --format nagios: add --format nagios, or leave them out")
        return None
    return fmt


def cmd_status(args: argparse.Namespace) -> int:
    from checks.config.model import ConfigError
    from cli.main import _load_cluster

    fmt = chosen_format(args)
    if fmt is None:
        return 2
    if args.all:
        if args.cluster:
            print_error("--all and --cluster ask for different things: give one")
            return 2
        from cli.status_all import run_status_all

        return run_status_all(args.config, fmt)
    try:
        name, cluster = _load_cluster(args.config, args.cluster)
    except ConfigError as exc:
        if fmt == "nagios":
            from checks.observe.nagios import unknown_line

            print(unknown_line(str(exc)))
        else:
            print_error(str(exc))
        return UNKNOWN
    from checks.errors import CockpitError

    try:
        if fmt == "nagios":
            return run_nagios(name, cluster, args.warning, args.critical)
        if fmt == "prometheus":
            from checks.observe.metrics import exposition
            from checks.observe.signal_round import signal_round

            view, _board = asyncio.run(signal_round(name, cluster))
            print(exposition(view, cluster.slo), end="")
            return 0
        return run_status(name, cluster, fmt == "json")
    except CockpitError as exc:          # a round that cannot run (a password_env not set): one line, never a traceback
        if fmt == "nagios":
            from checks.observe.nagios import unknown_line

            print(unknown_line(str(exc)))
        else:
            print_error(str(exc))
        return UNKNOWN


def run_nagios(name: str, cluster: Cluster, warning: str | None, critical: str | None) -> int:
    from checks.observe.nagios import ThresholdError, checked_cluster, parse_thresholds, plugin_line, unknown_line
    from checks.observe.signal_round import signal_round
    from checks.observe.status import headline_text

    try:
        crit = parse_thresholds(critical, "-c")
        checked = checked_cluster(cluster, parse_thresholds(warning, "-w"), crit)
    except ThresholdError as exc:
        print(unknown_line(str(exc)))
        return UNKNOWN
    view, board = asyncio.run(signal_round(name, checked))
    line, code = plugin_line(view, headline_text(view, board), checked.slo, crit)
    print(line)
    return code


def run_status(cluster_name: str, cluster: Cluster, as_json: bool) -> int:
    from checks.observe.signal_round import signal_round
    from checks.observe.status import exit_code, status_json, status_table

    view, board = asyncio.run(signal_round(cluster_name, cluster))
    if as_json:
        print(json.dumps(status_json(view, board), indent=2))
    else:
        print(status_table(view, board))
    return exit_code(view)
