"""``failover-cockpit train record NAME``: a training scenario recorded from the lab.

The recorder samples every lab node at 1 Hz with the cockpit's own
:class:`~checks.observe.sampler.NodeSampler` (one loop per node, so a partitioned node costs only
its own timeouts) while a script drives the lab's faults on a schedule (``at 10 s crash
node1``), then writes the samples, the faults, the cluster's config (node names only) and
the safe path into one JSON file. The safe path is not written by hand: the recording is
played through :func:`checks.training.path.play_safe_path` on the real gates, and a recording
that cannot be trained to a verified end is refused.

A name the scripts do not know records whatever the lab does for ``--seconds`` while you
drive faults from another terminal (``failover-cockpit lab crash node1 --dir ...``).

Samples are kept when something other than their time, latency or raw replay delay
changed (and the last one before each change, so a transition is exact), plus one every
5 s per node: a recording of 30-40 s stays well under 300 kB.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from checks.config.model import Cluster, load_config
from checks.observe.sample import NodeSample, utcnow
from checks.observe.sampler import NodeSampler
from checks.observe.ticker import sample_forever
from checks.training.path import play_safe_path
from checks.training.run import TrainingRun
from checks.training.scenario import SCENARIO_DIR, Fault, Scenario, scenario_json
from lab import Lab, LabError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
FULL_EVERY_S = 5.0
DEFAULT_CUSTOM_SECONDS = 30.0
LOAD_WORKERS = 2
BYTES_PER_ROW = 160          # WAL per row of the bulk write below, measured on PostgreSQL 15


class RecordError(Exception):
    """One line: why the scenario was not recorded."""


@dataclass(frozen=True)
class Step:
    """At ``t`` seconds: ``do`` (a lab fault verb, ``load`` for Odoo-like writers through
    PgBouncer for ``seconds``, or ``write`` of about ``mb`` MB of WAL straight on ``node``)."""

    t: float
    do: str
    node: str | None = None
    seconds: float = 0.0
    mb: int = 0

    def describe(self) -> str:
        if self.do == "load":
            return f"Odoo-like load through PgBouncer for {self.seconds:g} s ({LOAD_WORKERS} writers)"
        if self.do == "write":
            return f"about {self.mb} MB of WAL written on {self.node}"
        return f"lab {self.do} {self.node}"


@dataclass(frozen=True)
class Script:
    title: str
    description: str
    seconds: float
    steps: tuple[Step, ...] = ()
    slo: dict = field(default_factory=dict)
    cleanup: tuple[Step, ...] = ()        # after the recording, so the lab is usable again
    settle_s: float | None = None         # when the safe path applies (default: 4 s after the last fault)


SCRIPTS: dict[str, Script] = {
    "clean-crash": Script(
        title="Clean crash: the primary dies",
        description="node1, the primary, crashes about 10 s in while Odoo writes through PgBouncer; "
                    "both standbys were streaming.",
        seconds=36,
        steps=(Step(1, "load", seconds=14), Step(10, "crash", "node1")),
    ),
    "lagging-standbys": Script(
        title="Lagging standbys: the risk needs an approval",
        description="Both standbys go down; node1 writes about 20 MB they never receive, then crashes, and the "
                    "standbys come back. Whichever you promote lacks that WAL: above the 1 MiB SLO of this "
                    "scenario, an approver (not you) must approve it.",
        seconds=40,
        slo={"max_data_risk_bytes": 1024 * 1024},
        steps=(Step(4, "crash", "node2"), Step(4, "crash", "node3"), Step(7, "write", "node1", mb=20),
               Step(14, "crash", "node1"), Step(17, "start", "node2"), Step(17, "start", "node3")),
        settle_s=27,            # the sampler's reconnect backoff (up to 5 s) finds the restarted standbys
    ),
    "old-primary-writable": Script(
        title="Switchover: the old primary is still writable",
        description="Nothing crashes: you are asked to move the primary off node1 (its host needs maintenance) "
                    "while Odoo writes. node1 accepts writes until you fence it.",
        seconds=32,
        steps=(Step(1, "load", seconds=30),),
    ),
    "old-primary-partitioned": Script(
        title="Partitioned: the old primary is cut off, not dead",
        description="About 10 s in, node1 is cut off from the bastion, but it is alive and Odoo keeps writing "
                    "to it through PgBouncer. Unreachable is not dead.",
        seconds=38,
        steps=(Step(1, "load", seconds=36), Step(10, "partition", "node1")),
        cleanup=(Step(0, "heal", "node1"),),
    ),
}


def _portable(argv: list[str], lab_dir: Path) -> list[str]:
    """The lab's ``python -m cli lab VERB NODE --dir DIR`` as ``failover-cockpit lab VERB NODE``."""
    out = list(argv)
    if out[:3] == [sys.executable, "-m", "cli"]:
        out = ["failover-cockpit", *out[3:]]
    if "--dir" in out:
        i = out.index("--dir")
        del out[i:i + 2]
    return [a.replace(str(lab_dir), "LAB") for a in out]


def training_config(cluster_name: str, cluster: Cluster, lab_dir: Path, slo: dict) -> dict:
    """The scenario's cluster config: names, priorities, SLO, approvers, freeze, poolers; no DSN."""
    config = {
        "cluster": cluster_name,
        "nodes": [{"name": n.name, "priority": n.priority,
                   **({"fence": _portable(n.fence, lab_dir)} if n.fence else {})} for n in cluster.nodes],
        "approvers": list(cluster.approvers),
        "slo": {**cluster.slo.model_dump(), **slo},
        "sampling": {"interval_s": cluster.sampling.interval_s},
        "freeze": [{"name": c.name, "command": _portable(c.command, lab_dir)} for c in cluster.freeze],
        "pgbouncers": [{"name": p.name, "databases": list(p.databases)} for p in cluster.pgbouncers],
    }
    if cluster.odoo:
        config["odoo"] = {"db": cluster.odoo.db, "login": cluster.odoo.login}
    return config


def _signature(sample: NodeSample) -> tuple:
    """What makes a sample worth keeping: all but its time, latency and raw replay delay."""
    data = sample.model_dump(mode="json", exclude={"observed_at", "latency_ms", "raw_replay_delay_s", "replication"})
    peers = tuple((p.application_name, p.state, p.sync_state, p.sent_lsn, p.write_lsn, p.flush_lsn, p.replay_lsn)
                  for p in sample.replication)
    return (tuple(sorted((k, str(v)) for k, v in data.items())), peers)


def thin(samples: list[NodeSample], full_every_s: float = FULL_EVERY_S) -> list[NodeSample]:
    """Changes (and the sample just before each), one every ``full_every_s`` per node, each node's last."""
    by_node: dict[str, list[NodeSample]] = {}
    for sample in sorted(samples, key=lambda s: s.observed_at):
        by_node.setdefault(sample.name, []).append(sample)
    kept: list[NodeSample] = []
    for series in by_node.values():
        last = None
        keep = set()
        for i, sample in enumerate(series):
            if last is None or _signature(sample) != _signature(series[last]) \
                    or (sample.observed_at - series[last].observed_at).total_seconds() >= full_every_s:
                if i > 0:
                    keep.add(i - 1)
                keep.add(i)
                last = i
        keep.add(len(series) - 1)
        kept.extend(series[i] for i in sorted(keep))
    return sorted(kept, key=lambda s: (s.observed_at, s.name))


def _write_wal(lab: Lab, node: str, mb: int) -> None:
    from lab import postgres

    port = next(n["port"] for n in lab.status()["nodes"] if n["name"] == node)
    rows = max(1, mb * 1024 * 1024 // BYTES_PER_ROW)
    postgres.psql(port, "CREATE TABLE IF NOT EXISTS training_bulk (id int, pad text);\n"
                        f"INSERT INTO training_bulk SELECT g, repeat('x', 100) FROM generate_series(1, {rows}) g;\n",
                  what=f"writing {mb} MB on {node}", timeout=120)


def _run_step(lab: Lab, step: Step) -> threading.Thread | None:
    """Do one step; a load runs in a thread of its own (returned), everything else is done on return."""
    if step.do == "load":
        from lab.load import run_load

        thread = threading.Thread(target=run_load, args=(lab.dir, step.seconds, LOAD_WORKERS),
                                  name="scenario-load", daemon=True)
        thread.start()
        return thread
    if step.do == "write":
        _write_wal(lab, step.node, step.mb)
        return None
    getattr(lab, step.do)(step.node)
    return None


async def _record(lab: Lab, cluster: Cluster, steps: tuple[Step, ...], seconds: float,
                  echo: Callable[[str], None]) -> tuple[list[NodeSample], list[tuple[float, Step]]]:
    samplers = [NodeSampler(node, cluster.sampling) for node in cluster.nodes]
    got: list[NodeSample] = []
    tasks = [asyncio.create_task(sample_forever(s, cluster.sampling.interval_s, got.append)) for s in samplers]
    loop = asyncio.get_running_loop()
    started = loop.time()
    started_at = utcnow()
    done: list[tuple[float, Step]] = []
    loads: list[threading.Thread] = []
    try:
        for step in sorted(steps, key=lambda s: s.t):
            await asyncio.sleep(max(0.0, started + step.t - loop.time()))
            at = utcnow()
            thread = await asyncio.to_thread(_run_step, lab, step)
            if thread is not None:
                loads.append(thread)
            done.append(((at - started_at).total_seconds(), step))
            echo(f"t+{(at - started_at).total_seconds():5.1f}s  {step.describe()}")
        await asyncio.sleep(max(0.0, started + seconds - loop.time()))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(s.close() for s in samplers), return_exceptions=True)
    for thread in loads:
        await asyncio.to_thread(thread.join, 10.0)
    if not got:
        return [], []
    t0 = min(s.observed_at for s in got)
    shift = (started_at - t0).total_seconds()
    return got, [(t + shift, step) for t, step in done]


def _check_healthy(lab: Lab, name: str) -> None:
    status = lab.status()
    roles = {n["name"]: n["role"] for n in status["nodes"]}
    standbys_ok = all(r == "standby" for n, r in roles.items() if n != "node1")
    if len(roles) < 3 or roles.get("node1") != "primary" or not standbys_ok:
        listed = ", ".join(f"{n} {r}" for n, r in roles.items())
        raise RecordError(f"scenario {name} needs a healthy lab of 3 nodes (node1 primary, the others standbys); "
                          f"this one has {listed}: use a fresh --dir")


def record_scenario(name: str, *, lab_dir: Path, seconds: float | None = None, out: Path | None = None,
                    base_port: int = 54320, echo: Callable[[str], None] = lambda _line: None) -> tuple[Path, Scenario]:
    """Record scenario ``name`` from the lab in ``lab_dir`` (built when missing); write its JSON
    to ``out`` (a file, or a folder for ``NAME.json``; default checks/training/scenarios/). Returns both."""
    if not NAME_RE.match(name):
        raise RecordError(f"scenario name {name!r}: use lowercase letters, digits and dashes (e.g. my-drill)")
    script = SCRIPTS.get(name)
    if script is None:
        length = seconds or DEFAULT_CUSTOM_SECONDS
        script = Script(title=f"{name} (recorded)", description=f"A lab run recorded for {length:g} s while faults "
                        "were driven from another terminal.", seconds=length)
    elif seconds:
        script = Script(script.title, script.description, seconds, script.steps, script.slo, script.cleanup,
                        script.settle_s)
    if not 1 <= script.seconds <= 600:
        raise RecordError(f"--seconds must be between 1 and 600, not {script.seconds:g}")
    lab = Lab(lab_dir)
    state = lab.paths.load()
    try:
        if state is not None and state.status == "ready":
            for line in lab.up(base_port=state.base_port, replicas=state.replicas):
                echo(f"held back: {line}")
        else:
            echo(f"bringing a lab up in {lab.dir} ...")
            lab.up(base_port=base_port)
        if name in SCRIPTS:
            for node in lab.status()["nodes"]:
                lab.heal(node["name"])
            _check_healthy(lab, name)
        cluster_name, cluster = load_config(lab.status()["config"]).cluster(None)
        echo(f"recording {name} for {script.seconds:g} s from the lab in {lab.dir} (1 Hz per node)")
        try:
            samples, done = asyncio.run(_record(lab, cluster, script.steps, script.seconds, echo))
        finally:
            for step in script.cleanup:
                _run_step(lab, step)
    except LabError as exc:
        raise RecordError(f"lab: {exc}") from None
    if not samples:
        raise RecordError(f"no node of the lab in {lab.dir} answered in {script.seconds:g} s")
    kept = thin(samples)
    faults = tuple(Fault(t=round(t, 2), do=step.do, node=step.node, detail=step.describe()) for t, step in done)
    moments = [t for t, step in done if step.do not in ("load",)]
    settle = round(max(moments) + 4, 1) if moments else (5.0 if name in SCRIPTS else script.seconds)
    if script.settle_s is not None:
        settle = script.settle_s
    scenario = Scenario(
        name=name, title=script.title, description=script.description,
        recorded_at=min(s.observed_at for s in kept), seconds=round(script.seconds, 1),
        settle_s=min(settle, script.seconds),
        recorded_with=(f"failover-cockpit train record {name}: a {len(cluster.nodes)}-node lab "
                       f"(PostgreSQL {_server_version(kept)}), {len(samples)} samples at 1 Hz per node, "
                       f"{len(kept)} kept"),
        config=training_config(cluster_name, cluster, lab.dir, script.slo), faults=faults, samples=tuple(kept),
    )
    run = TrainingRun(scenario, "trainee", start_at=scenario.settle_s)
    try:
        lines = play_safe_path(run)
    except Exception as exc:  # noqa: BLE001 - any stop on the safe path means the recording is not trainable
        raise RecordError(f"the recording cannot be trained to a verified end: {exc}") from None
    if not run.score_card()["verified"]:
        state = run.state()
        raise RecordError(f"the recording cannot be trained to a verified end: {state.stage(state.current).gate}")
    scenario = scenario.model_copy(update={"safe_path": tuple(lines)})
    path = _out_path(out, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(scenario_json(scenario), encoding="utf-8")
    return path, scenario


def _server_version(samples: list[NodeSample]) -> str:
    return next((s.server_version for s in samples if s.server_version), "?")


def _out_path(out: Path | None, name: str) -> Path:
    if out is None:
        return SCENARIO_DIR / f"{name}.json"
    out = Path(out)
    return out / f"{name}.json" if out.is_dir() or not out.suffix else out
