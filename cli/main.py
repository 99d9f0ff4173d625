"""The command line (docs/design.md section 6). Every error is one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.console import UNKNOWN, print_error

# checks.config.model and the commands load pydantic and drivers: imported where used, so that the
# lab verbs (the lab's fence command among them) start fast.

DEFAULT_CONFIG = "clusters.toml"


def build_parser() -> argparse.ArgumentParser:
    from cli.about_cmd import VersionAction, add_sample_parser
    from cli.divergence_cmd import add_divergence_parser
    from cli.watch_cmd import add_watch_parser
    from lab.cli import add_lab_parser

    parser = argparse.ArgumentParser(
        prog="failover-cockpit",
        description="Promote a PostgreSQL replica safely during an Odoo incident: one writer, known data risk.",
    )
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="the live cockpit")
    _config_args(run)
    run.add_argument("--interval", type=_positive_float, metavar="S", help="sampling interval in seconds")
    run.add_argument("--incident", metavar="DIR",
                     help="incident directory (default for the operator: a new incidents/<UTC date>-<cluster>-<n>/)")
    run.add_argument("--seat", choices=("operator", "scribe", "approver", "observer"), default="operator",
                     help="your seat (default operator; only the operator runs actions)")
    run.add_argument("--name", metavar="WHO", help="your name in the journal (default: the login name)")
    run.add_argument("--reopen", action="store_true",
                     help="operator: reopen a closed incident (a closed one runs no action until reopened)")
    run.add_argument("--scribe", metavar="WHO", help="operator: the scribe, named up front (stage 0 asks no more)")
    run.add_argument("--approver", metavar="WHO",
                     help="operator: the approver on call, one of the config's approvers (stage 0 asks no more)")
    run.add_argument("--watch", action="store_true", help="a watch-only seat: no incident directory, no runbook keys")
    run.add_argument("--all", action="store_true",
                     help="the fleet: every cluster of the config, worst first; enter opens one's cockpit")
    add_watch_parser(sub)

    tmux = sub.add_parser("tmux", help="a tmux session with an operator window and a scribe window")
    _config_args(tmux)
    tmux.add_argument("--incident", required=True, metavar="DIR", help="incident directory")
    tmux.add_argument("--operator", metavar="WHO", help="the operator's name (default: the login name)")
    tmux.add_argument("--scribe", metavar="WHO", default="scribe", help="the scribe's name (default: scribe)")
    tmux.add_argument("--no-attach", action="store_true", help="create the session but do not attach")

    from cli.exporter_cmd import add_exporter_parser
    from cli.status_cmd import add_status_parser

    add_status_parser(sub)
    add_exporter_parser(sub)

    drill = sub.add_parser("drill", help="the same runbook, headless; exit 0 when stage 5 verified")
    _config_args(drill)
    drill.add_argument("--incident", required=True, metavar="DIR", help="incident directory (created if new)")
    drill.add_argument("--candidate", metavar="NODE", help="the standby to promote (default: the freshest)")
    drill.add_argument("--operator", metavar="WHO", help="operator name (default: the login name)")
    drill.add_argument("--approver", metavar="WHO", help="an approver from the config's list, not the operator")
    drill.add_argument("--fence", action="store_true", help="allow running fence commands")
    drill.add_argument("--yes", action="store_true", help="confirm the promotion without typing the node's name")
    drill.add_argument("--adopt", metavar="NODE",
                       help="a node promoted outside this incident becomes its new primary (risk measured)")
    drill.add_argument("--reopen", action="store_true",
                       help="reopen a closed incident (journaled) and verify it again; without it a closed one is refused")
    drill.add_argument("--rollback", metavar="NODE", dest="rollback_to",
                       help="roll back (from stage 3 on): make NODE the authoritative node, re-point, verify")

    record = sub.add_parser("record", help="print an incident's record (markdown, or one JSON document)")
    record.add_argument("incident", metavar="DIR", help="incident directory")
    record.add_argument("--json", action="store_true",
                        help="print the record as one JSON document (summary, roles, timeline, decisions, ...)")

    demo = sub.add_parser("demo", help="bring the local lab up, then run the cockpit on it")
    demo.add_argument("--dir", default=".lab", help="lab folder (default ./.lab)")
    demo.add_argument("--base-port", type=int, default=54320, help="first port of the lab (default 54320)")

    add_divergence_parser(sub)
    from cli.split_brain_cmd import add_split_brain_parser

    add_split_brain_parser(sub)
    add_lab_parser(sub)
    _add_replay_parser(sub)
    from cli.train_cmd import add_train_parser

    add_train_parser(sub)
    add_sample_parser(sub)
    return parser


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", nargs="?", default=DEFAULT_CONFIG, metavar="CONFIG",
                   help=f"cluster config (default ./{DEFAULT_CONFIG})")
    p.add_argument("--cluster", metavar="NAME", help="which cluster of the file (optional when it holds one)")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0.05:
        raise argparse.ArgumentTypeError("must be more than 0.05 seconds")
    return value


def _refused_name(args: argparse.Namespace, *options: str) -> bool:
    """Clean the name options in place (checks.config.text.clean_name); print the one line and return
    True when one is refused (empty, more than one line, too long): exit 2, like argparse."""
    from checks.config.text import TextRefused, clean_name

    for option in options:
        value = getattr(args, option, None)
        if value is None:
            continue
        try:
            setattr(args, option, clean_name(value, f"--{option}"))
        except TextRefused as exc:
            print_error(str(exc))
            return True
    return False


def _load_cluster(config: str, cluster: str | None):
    from checks.config.model import load_config

    loaded = load_config(config)
    for warning in loaded.warnings:
        print(f"failover-cockpit: warning: {warning}", file=sys.stderr)
    return loaded.cluster(cluster)


def cmd_run(args: argparse.Namespace) -> int:
    from checks.config.model import ConfigError

    if getattr(args, "all", False):
        from cli.fleet_cmd import run_fleet_cmd

        return run_fleet_cmd(args)
    if getattr(args, "watch", False):
        from cli.watch_cmd import run_watch_cmd

        return run_watch_cmd(args)
    if _refused_name(args, "name", "scribe", "approver"):
        return 2
    try:
        name, cluster = _load_cluster(args.config, args.cluster)
    except ConfigError as exc:
        print_error(str(exc))
        return UNKNOWN
    roles = _roles_up_front(args, cluster)
    if roles is None:
        return 2
    from cli.run_cmd import run_cockpit

    return run_cockpit(name, cluster, config=args.config, incident=args.incident, seat=args.seat,
                       who=args.name, interval=args.interval, reopen=getattr(args, "reopen", False), roles=roles)


def _roles_up_front(args: argparse.Namespace, cluster) -> dict[str, str] | None:
    """``run --scribe/--approver``, checked as stage 0 checks them (None: refused, the line printed)."""
    from checks.incident.directory import login_name
    from checks.runbook.gates import approval_problem, scribe_problem

    operator = args.name or login_name()
    roles = {role: getattr(args, role) for role in ("scribe", "approver") if getattr(args, role, None)}
    if roles and args.seat != "operator":
        print_error("--scribe and --approver name the roles for the operator seat: pass them to the operator's run")
        return None
    problems = (("scribe", scribe_problem(roles["scribe"], operator) if "scribe" in roles else ""),
                ("approver", approval_problem(roles["approver"], cluster, operator) if "approver" in roles else ""))
    for option, problem in problems:
        if problem:
            print_error(f"--{option} refused: {problem}")
            return None
    return roles


def cmd_tmux(args: argparse.Namespace) -> int:
    from checks.config.model import ConfigError
    from checks.incident.directory import login_name
    from cli.tmux_cmd import run_tmux

    if _refused_name(args, "operator", "scribe"):
        return 2
    try:
        _load_cluster(args.config, args.cluster)
    except ConfigError as exc:
        print_error(str(exc))
        return UNKNOWN
    return run_tmux(Path(args.config), args.cluster, Path(args.incident), operator=args.operator or login_name(),
                    scribe=args.scribe, attach=not args.no_attach)


def cmd_drill(args: argparse.Namespace) -> int:
    from checks.config.model import ConfigError
    from checks.incident.directory import login_name
    from checks.incident.journal import JournalError
    from checks.incident.seats import SeatError
    from cli.drill_cmd import run_drill

    if _refused_name(args, "operator", "approver"):
        return 2
    try:
        name, cluster = _load_cluster(args.config, args.cluster)
    except ConfigError as exc:
        print_error(str(exc))
        return UNKNOWN
    for flag, node in (("--candidate", args.candidate), ("--adopt", args.adopt)):
        if node and node not in {n.name for n in cluster.nodes}:
            print_error(f"{flag} {node}: no such node in cluster {name}")
            return UNKNOWN
    try:
        if args.rollback_to:
            from cli.drill_cmd import run_rollback

            return run_rollback(name, cluster, Path(args.incident), to=args.rollback_to,
                                operator=args.operator or login_name(), approver=args.approver)
        return run_drill(name, cluster, Path(args.incident), candidate=args.candidate,
                         operator=args.operator or login_name(), approver=args.approver,
                         fence=args.fence, yes=args.yes, reopen=args.reopen, adopt=args.adopt)
    except (JournalError, SeatError) as exc:
        print_error(str(exc))
        return 1


def cmd_record(args: argparse.Namespace) -> int:
    from checks.incident.journal import Journal, JournalError
    from checks.incident.record import render_record
    from checks.incident.record_json import record_json

    try:
        journal = Journal.open(Path(args.incident))
    except JournalError as exc:
        print_error(str(exc))
        return 1
    try:
        if getattr(args, "json", False):
            print(record_json(journal))
        else:
            print(render_record(journal), end="")
    except JournalError as exc:
        print_error(str(exc))
        return 1
    finally:
        journal.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from lab import Lab, LabError

    lab = Lab(Path(args.dir).resolve())
    try:
        held = lab.up(base_port=args.base_port)
    except LabError as exc:
        print_error(f"lab: {exc}")
        return 1
    for line in held:
        print(f"failover-cockpit: lab: {line}")
    config = lab.status()["config"]
    print(f"failover-cockpit: LAB is up in {lab.dir}; cockpit on {config} (stop it with: failover-cockpit lab down --dir {args.dir})")
    args.config, args.cluster, args.interval = config, None, None
    args.incident, args.seat, args.name = None, "operator", None
    return cmd_run(args)


# -- replay ------------------------------------------------------------------------------------


def _add_replay_parser(sub) -> None:
    replay = sub.add_parser("replay", help="replay an incident from its journal (never connects to a database)")
    replay.add_argument("incident", metavar="DIR", help="incident directory")
    replay.add_argument("--speed", type=_replay_speed, default=1.0, metavar="X",
                        help="playback speed, from 0.5 to 60 (default 1)")


def _replay_speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.5 <= value <= 60:
        raise argparse.ArgumentTypeError("must be from 0.5 to 60")
    return value


def cmd_replay(args: argparse.Namespace) -> int:
    from checks.training.replay import Recording, ReplayError

    try:
        recording = Recording.load(Path(args.incident))
    except ReplayError as exc:
        print_error(str(exc))
        return 1
    from tui.replay_app import ReplayApp

    ReplayApp(recording, speed=args.speed).run()
    return 0


# -- train -------------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from cli.train_cmd import run_train

    if _refused_name(args, "trainee"):
        return 2

    return run_train(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "lab":
        from lab.cli import run_lab

        return run_lab(args)
    from cli.about_cmd import run_sample_config
    from cli.divergence_cmd import run_divergence
    from cli.exporter_cmd import run_exporter
    from cli.split_brain_cmd import run_split_brain
    from cli.status_cmd import cmd_status
    from cli.watch_cmd import run_watch_cmd

    handler = {"divergence": run_divergence, "status": cmd_status, "run": cmd_run, "drill": cmd_drill, "demo": cmd_demo,
               "tmux": cmd_tmux, "record": cmd_record, "replay": cmd_replay, "exporter": run_exporter,
               "train": cmd_train, "split-brain": run_split_brain, "watch": run_watch_cmd,
               "sample-config": run_sample_config}[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
