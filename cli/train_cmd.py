"""``failover-cockpit train --list | SCENARIO | record NAME``: training on recorded lab runs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from checks.training import SCENARIO_DIR
from cli.console import print_error

UNKNOWN_SCENARIO = 2


def add_train_parser(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="training: work a recorded lab incident in the cockpit, scored",
        description="Work a bundled scenario (a real lab run, replayed) in the cockpit: every action is simulated "
                    "and judged by the same gates, and a score card goes into training/<date>-<scenario>-<n>/. "
                    "`train record NAME` records a scenario from the lab.")
    train.add_argument("scenario", nargs="?", metavar="SCENARIO",
                       help="a bundled scenario (see --list), a scenario .json file, or `record`")
    train.add_argument("name", nargs="?", metavar="NAME", help="with `record`: the scenario to record")
    train.add_argument("--list", action="store_true", help="list the bundled scenarios")
    train.add_argument("--trainee", metavar="WHO", help="your name on the score card (default: the login name)")
    train.add_argument("--training-dir", metavar="DIR", default="training",
                       help="where training records go (default ./training)")
    rec = train.add_argument_group("record NAME")
    rec.add_argument("--dir", metavar="LABDIR", default=".lab", help="the lab to record from (default ./.lab; "
                     "built when missing)")
    rec.add_argument("--seconds", type=float, metavar="S",
                     help="how long to record (default: the script's length, 30 for a custom NAME)")
    rec.add_argument("--out", metavar="PATH", help="a .json file or a folder (default: the bundled scenarios folder)")
    rec.add_argument("--base-port", type=int, default=54320, help="first port of a new lab (default 54320)")


def bundled() -> dict[str, Path]:
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.json"))}


def run_train(args: argparse.Namespace) -> int:
    if args.list:
        try:
            return _list()
        except BrokenPipeError:                  # `train --list | head`: the reader left
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141
    if not args.scenario:
        print_error("train: name a scenario (train --list shows them), or `train record NAME`")
        return UNKNOWN_SCENARIO
    if args.scenario == "record":
        return _record(args)
    if args.name:
        print_error(f"train {args.scenario}: unexpected argument {args.name!r}")
        return UNKNOWN_SCENARIO
    return _play(args)


def _list() -> int:
    from checks.training.scenario import ScenarioError, load_scenario

    found = bundled()
    if not found:
        print_error(f"no scenarios in {SCENARIO_DIR}")
        return 1
    width = max(len(n) for n in found)
    for name, path in found.items():
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            print(f"{name:<{width}}  (unreadable: {exc})")
            continue
        first = scenario.description.split(". ")[0].rstrip(".") + "."
        print(f"{name:<{width}}  {scenario.title} — {first}")
    return 0


def _play(args: argparse.Namespace) -> int:
    from checks.incident.directory import login_name
    from checks.training.run import TrainingRun
    from checks.training.scenario import ScenarioError, load_scenario
    from checks.training.score import headline

    found = bundled()
    given = Path(args.scenario)
    if args.scenario in found:
        path = found[args.scenario]
    elif given.suffix == ".json" and given.is_file():
        path = given
    else:
        print_error(f"no training scenario {args.scenario!r} (scenarios: {', '.join(found) or 'none'})")
        return UNKNOWN_SCENARIO
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        print_error(str(exc))
        return 1
    from tui.train_app import TrainingApp

    app = TrainingApp(TrainingRun(scenario, args.trainee or login_name()), record_base=Path(args.training_dir))
    app.run()
    if app.card is None:
        print("training stopped before a score card was written")
        return 1
    for line in headline(app.card):
        print(line)
    print(f"training record: {app.record_dir / 'score.md'}")
    return 0 if app.card["verified"] else 1


def _record(args: argparse.Namespace) -> int:
    from cli.scenario_recorder import RecordError, record_scenario

    if not args.name:
        print_error("train record: name the scenario to record (train --list shows the scripted ones)")
        return 2
    try:
        path, scenario = record_scenario(args.name, lab_dir=Path(args.dir), seconds=args.seconds,
                                         out=Path(args.out) if args.out else None, base_port=args.base_port,
                                         echo=lambda line: print(line, flush=True))
    except RecordError as exc:
        print_error(f"train record: {exc}")
        return 1
    size = path.stat().st_size
    print(f"recorded {scenario.name}: {len(scenario.samples)} samples, {size // 1024} kB in {path}")
    print(f"train it: failover-cockpit train {path if args.out else scenario.name}")
    from cli.scenario_recorder import SCRIPTS

    driven = [f.detail for f in scenario.faults if f.do != "load"]
    undone = [step.describe() for step in SCRIPTS[args.name].cleanup] if args.name in SCRIPTS else []
    if driven:
        print(f"the lab in {args.dir} keeps what the scenario did to it ({', '.join(driven)}"
              + (f"; undone since: {', '.join(undone)}" if undone else "")
              + f"); a fresh lab for the next recording: failover-cockpit lab down --dir {args.dir}, "
              "then remove the folder", file=sys.stderr)
    return 0
