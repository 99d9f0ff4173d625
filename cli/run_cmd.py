"""``failover-cockpit run``: open (or join) the incident in a seat, then run the cockpit."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from checks.config.model import Cluster
from checks.incident.directory import login_name, new_incident_dir
from checks.incident.journal import JournalError
from checks.incident.seats import SeatError, SeatTaken
from cli.console import print_error

FIRST_ROUND_S = 0.3


async def first_round(samplers) -> list:
    """Sample before the screen starts (its first layout would hold the event loop), so the first
    frame shows live data. Bounded: a node that has not answered within FIRST_ROUND_S is simply
    sampled by its worker; these connections are closed, the workers open their own."""
    tasks = [asyncio.create_task(s.sample()) for s in samplers]
    done, pending = await asyncio.wait(tasks, timeout=FIRST_ROUND_S)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    await asyncio.gather(*(s.close() for s in samplers), return_exceptions=True)
    return [t.result() for t in done if not t.cancelled() and t.exception() is None]


def start_sampling(cluster: Cluster):
    """The cluster's samplers and their first round, started in a thread: it overlaps importing the
    screen (it waits on the network, imports on the CPU). ``first.result()`` is the round's samples."""
    import concurrent.futures

    from checks.observe.sampler import NodeSampler

    samplers = {node.name: NodeSampler(node, cluster.sampling) for node in cluster.nodes}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    first = pool.submit(asyncio.run, first_round(list(samplers.values())))
    pool.shutdown(wait=False)
    return samplers, first


def run_watch(cluster_name: str, cluster: Cluster, *, interval: float | None) -> int:
    """The watch-only seat (``run --watch``, ``watch``): the live cockpit, no incident directory, no journal."""
    samplers, first = start_sampling(cluster)
    from tui.watch_app import WatchCockpitApp

    WatchCockpitApp(cluster_name, cluster, samplers=samplers, fixed_samples=first.result(), interval_s=interval).run()
    return 0


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def run_cockpit(cluster_name: str, cluster: Cluster, *, config: str, incident: str | None, seat: str,
                who: str | None, interval: float | None, reopen: bool = False,
                roles: dict[str, str] | None = None) -> int:
    samplers, first = start_sampling(cluster)
    from checks.runbook.session import Session
    from tui.app import CockpitApp

    who = who or login_name()
    if incident is None:
        if seat != "operator":
            print_error(f"a {seat} joins an existing incident: pass --incident DIR (the operator's)")
            return 2
        directory = new_incident_dir(cluster_name)
    else:
        directory = Path(incident)
        if seat != "operator" and not (directory / "journal.sqlite3").exists():
            print_error(f"{directory} is not an incident directory (no journal.sqlite3): "
                        "the operator opens it first")
            return 2
    try:
        session = Session(cluster_name, cluster, directory, seat=seat, name=who, config_path=str(Path(config).resolve()),
                          on_warning=lambda text: print_error(f"warning: {text}"))
    except SeatTaken as exc:
        print_error(str(exc))
        if not _ask("Join as observer instead?"):
            return 1
        seat = "observer"
        session = Session(cluster_name, cluster, directory, seat=seat, name=who, config_path=str(Path(config).resolve()))
    except (JournalError, SeatError) as exc:
        print_error(str(exc))
        return 1
    session.roles = dict(roles or {})     # named up front: stage 0 does not ask them again
    if reopen and session.is_operator:
        print(session.operation.reopen() or f"incident {directory.name} is open: there is nothing to reopen")
    try:
        CockpitApp(cluster_name, cluster, samplers=samplers, fixed_samples=first.result(), interval_s=interval,
                   session=session).run()
    finally:
        session.close()
    print(f"incident record: {directory / 'record.md'}")
    return 0
