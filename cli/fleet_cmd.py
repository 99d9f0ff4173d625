"""``failover-cockpit run --all``: the fleet screen, and from it any cluster's cockpit.

Every cluster of the config is sampled on one background thread (:class:`FleetSampler`) for as long
as the command runs, the fleet screen on it or a cockpit. Enter on a row opens that cluster's
cockpit in the operator seat of a new incident, or of the one this run already opened for it (until
its runbook closes it); Escape in the cockpit goes back to the fleet and keeps that incident's seat
(its lock and journal) open, ``q`` in the cockpit gives the seat up and goes back to the fleet too.
Quitting the fleet gives up every seat it holds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checks.config.model import Cluster
from checks.incident.directory import login_name, new_incident_dir
from cli.console import UNKNOWN, print_error

FIRST_ROUND_WAIT_S = 1.5
"""The longest the fleet screen waits for every cluster's first round before it opens anyway (an
unreachable cluster's round lasts its connect timeout: its row then opens as waiting)."""

# run's options that name one cluster or one incident, which --all does not
_ONE_ONLY = ("cluster", "incident", "reopen", "scribe", "approver", "watch")


def fleet_refusal(args: argparse.Namespace) -> str | None:
    """The line refusing an option that --all cannot take (None when there is none)."""
    for option in _ONE_ONLY:
        if getattr(args, option, None):
            return f"--all and --{option} ask for different things: give one"
    seat = getattr(args, "seat", "operator")
    if seat != "operator":
        return (f"--all opens each cluster's incident in the operator seat: to take the {seat} seat, "
                "run one cluster with --incident DIR")
    return None


def run_fleet_cmd(args: argparse.Namespace) -> int:
    from checks.config.model import ConfigError, load_config
    from cli.main import _refused_name

    refusal = fleet_refusal(args)
    if refusal:
        print_error(refusal)
        return 2
    if _refused_name(args, "name"):
        return 2
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        print_error(str(exc))
        return UNKNOWN
    for warning in loaded.warnings:
        print_error(f"warning: {warning}")
    run = FleetRun(args.config, loaded.clusters, who=args.name or login_name(), interval=args.interval)
    code = run.run()
    for directory in run.incidents.values():
        print(f"incident record: {directory / 'record.md'}")
    return code


class FleetRun:
    """One ``run --all``: the sampler, the incidents it opened (by cluster) and the seats it holds."""

    def __init__(self, config: str, clusters: dict[str, Cluster], *, who: str, interval: float | None = None,
                 incidents: Path = Path("incidents"), sampler=None) -> None:
        from checks.observe.fleet_sampler import FleetSampler

        self.config = str(Path(config).resolve())
        self.clusters = dict(clusters)
        self.who = who
        self.interval = interval
        self.base = Path(incidents)
        self.sampler = sampler or FleetSampler(self.clusters, interval_s=interval)
        self.incidents: dict[str, Path] = {}     # every incident this run opened
        self.sessions: dict = {}                 # the seats it holds open (Escape came back from them)
        self.notices: list[str] = []             # shown on the fleet when it comes back

    def run(self) -> int:
        self.sampler.start()
        self.first_round()
        chosen: str | None = None
        try:
            while True:
                chosen = self.fleet_app(select=chosen).run()
                if chosen is None:
                    return 0
                cockpit = self.cockpit_app(chosen)
                if cockpit is not None:
                    self.after_cockpit(chosen, cockpit.run())
        finally:
            self.sampler.stop()
            self.close()

    def first_round(self) -> None:
        """Say what is being sampled, then open the fleet screen once every cluster's first round is
        back (or after FIRST_ROUND_WAIT_S, the rest still waiting): a screen starting beside 150 first
        connections slows them on the same GIL and cores more than it saves (median first complete
        frame 2.65 s against 2.31 s, interleaved runs on 50 clusters of the fleet bench)."""
        nodes = sum(len(c.nodes) for c in self.clusters.values())
        print(f"sampling {len(self.clusters)} cluster{'s' if len(self.clusters) != 1 else ''} "
              f"({nodes} node{'s' if nodes != 1 else ''}) ...", file=sys.stderr, flush=True)
        self.sampler.wait_complete(FIRST_ROUND_WAIT_S)

    def fleet_app(self, select: str | None = None):
        from tui.fleet_app import FleetApp

        notices, self.notices = self.notices, []
        return FleetApp(self.sampler.snapshot, held={c: s.dir.name for c, s in self.sessions.items()},
                        select=select, notices=notices)

    def cockpit_app(self, name: str):
        """The cluster's cockpit on its incident's session (None, with a notice, when no seat opens)."""
        from checks.observe.sampler import NodeSampler
        from tui.fleet_cockpit import FleetCockpitApp

        session = self.session(name)
        if session is None:
            return None
        cluster = self.clusters[name]
        samplers = {node.name: NodeSampler(node, cluster.sampling) for node in cluster.nodes}
        # the fleet's last round of this cluster is the first frame; the cockpit's workers sample on
        return FleetCockpitApp(name, cluster, samplers=samplers, fixed_samples=self.sampler.latest_samples(name),
                               interval_s=self.interval, session=session)

    def after_cockpit(self, name: str, result: object) -> None:
        """Escape (``BACK``) keeps the seat open; any other end of the cockpit gives it up."""
        from tui.fleet_app import BACK

        if result != BACK:
            session = self.sessions.pop(name, None)
            if session is not None:
                session.close()

    def session(self, name: str):
        """The seat this run holds for the cluster; or its incident opened again, unless its runbook
        closed it; or a new incident. None when the seat cannot be had (the notice says why)."""
        from checks.incident.journal import JournalError
        from checks.incident.seats import SeatError
        from checks.runbook.session import Session

        if name in self.sessions:
            return self.sessions[name]
        directory = self.incidents.get(name)
        if directory is None or is_closed(directory):
            directory = new_incident_dir(name, self.base)
        try:
            session = Session(name, self.clusters[name], directory, seat="operator", name=self.who,
                              config_path=self.config, on_warning=self.notices.append)
        except (JournalError, SeatError) as exc:
            self.notices.append(f"cluster {name}: no cockpit: {exc}")
            return None
        self.incidents[name] = directory
        self.sessions[name] = session
        return session

    def close(self) -> None:
        """Give up every seat still held (each closes its journal and its locks)."""
        while self.sessions:
            _, session = self.sessions.popitem()
            session.close()


def is_closed(directory: Path) -> bool:
    """The incident's runbook closed it (a close that no reopen followed)."""
    from checks.incident.journal import Journal, JournalError
    from checks.runbook.gates import standing_close

    try:
        journal = Journal.open(directory)
    except JournalError:
        return False
    try:
        return standing_close(journal.events(kinds={"close", "system"})) is not None
    finally:
        journal.close()
