"""Training (DESIGN section 5): a real lab run replayed, the trainee's actions simulated, the real gates judging.

A :class:`Scenario` is one recorded lab run: the node samples taken at 1 Hz while a
script drove its faults, the cluster's config (node names only: nothing here ever
connects), when each fault happened, and what a safe run does. A :class:`TrainingRun`
plays it on a simulated clock (an offset in seconds into the recording) and runs every
trainee action through the cockpit's own :class:`~checks.operation.Operation`, on an
in-memory journal whose clock is the simulated one. So every gate, every refusal
sentence and every data-risk statement is the one the live cockpit gives: the rules
stay in :mod:`checks.runbook`, :mod:`checks.fence`, :mod:`checks.risk` and
:mod:`checks.stage_actions`, and nothing here decides what is allowed.

Only effects are simulated, as overlays on the recorded samples:

- a fenced node reads unreachable from then on; once the node that was the primary is
  fenced, the standbys that streamed from it stop receiving (their last sample stays);
- after the fence sequence drained a writable primary, the candidate holds its final LSN;
- the promoted candidate reads writable, out of recovery, on the next timeline;
- commands (freeze, fence), the cutover and the verification succeed, but only once the
  gates let them run.

Pure: no connection, no command, no file (:mod:`checks.training_score` writes the record).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Coroutine, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer

from checks.assess import ClusterView, Watch
from checks.closeout import stage_passed_at
from checks.commands import CommandResult
from checks.config import Cluster
from checks.fence import needs_fencing
from checks.journal_events import KINDS, Event, to_json
from checks.lsn import lsn_diff
from checks.operation import GateRefused, Operation
from checks.promote import PromotionResult
from checks.redact import redact
from checks.runbook import STAGES, RunbookState, evaluate
from checks.sample import NodeSample, iso_utc, parse_iso
from checks.sample_policy import SampleRecorder
from checks.seats import SEATS
from checks.stage_actions import fence_old_primary, promote_candidate

SCENARIO_VERSION = 1
TRAINING_HOST = "training.invalid"      # RFC 2606: a name that never resolves; nothing connects anyway
SIMULATED = "training: simulated, nothing was run"
SIM_COMMAND_MS = 150.0                 # what a simulated command "took"
SIM_PROMOTE_MS = 40.0                  # writable ~40 ms after pg_promote (DESIGN section 8)
SIM_DRAIN_MS = 20.0                    # a streaming candidate receives the final LSN within ms on a LAN
CONDITIONS = {"crash": "down", "start": "up", "partition": "partitioned", "heal": "up", "hang": "hung",
              "resume": "up"}


class ScenarioError(Exception):
    """One line: which scenario file, and what is wrong with it."""


class TrainingRefused(GateRefused):
    """A trainee action the gates refused; the message is the cockpit's own sentence."""


class Fault(BaseModel):
    """What the recorder did to the lab, ``t`` seconds into the recording."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    t: float
    do: str                 # crash | start | partition | heal | hang | resume | load | write
    node: str | None = None
    detail: str = ""


class Scenario(BaseModel):
    """A recorded lab run to train on (shipped as JSON, see ``tui/scenarios``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = SCENARIO_VERSION
    name: str
    title: str
    description: str
    recorded_at: datetime           # t = 0: the first sample
    seconds: float                  # how long the recording runs
    settle_s: float = 0.0           # the faults are over: the safe path applies from here
    recorded_with: str = ""         # how it was recorded (the script, the lab)
    config: dict[str, Any]          # cluster name, nodes (names only), approvers, SLO, freeze, poolers
    faults: tuple[Fault, ...] = ()
    safe_path: tuple[str, ...] = ()
    samples: tuple[NodeSample, ...]

    @field_serializer("recorded_at")
    def _ser_time(self, value: datetime) -> str:
        return iso_utc(value)

    @property
    def cluster_name(self) -> str:
        return str(self.config.get("cluster") or "training")

    def cluster(self) -> Cluster:
        return training_cluster(self.config)

    def offset(self, moment: datetime) -> float:
        """Seconds from the start of the recording to ``moment``."""
        return (moment - self.recorded_at).total_seconds()

    def moment(self, t: float) -> datetime:
        return self.recorded_at + timedelta(seconds=t)

    def node_condition(self, node: str, t: float) -> str:
        """What the lab really did to ``node`` by ``t``: up, down, partitioned (alive, cut off from
        the bastion) or hung (alive, frozen). The cockpit only sees reachable or not."""
        condition = "up"
        for fault in sorted(self.faults, key=lambda f: f.t):
            if fault.t > t:
                break
            if fault.node == node and fault.do in CONDITIONS:
                condition = CONDITIONS[fault.do]
        return condition


def training_cluster(config: dict[str, Any]) -> Cluster:
    """The :class:`Cluster` a scenario's config describes. DSNs are filled with names under
    ``training.invalid``: the gates read names, SLOs and approvers; nothing ever connects."""
    try:
        nodes = [{"name": n["name"], "priority": n.get("priority", 100),
                  "dsn": f"postgresql://training@{n['name']}.{TRAINING_HOST}:5432/postgres",
                  "fence": n.get("fence") or ["fence", n["name"]]} for n in config["nodes"]]
        data: dict[str, Any] = {
            "nodes": nodes,
            "approvers": list(config.get("approvers", [])),
            "slo": dict(config.get("slo", {})),
            "sampling": dict(config.get("sampling", {})),
            "freeze": [{"name": f["name"], "command": f.get("command") or [f["name"]]}
                       for f in config.get("freeze", [])],
            "pgbouncers": [{"name": p["name"], "databases": p["databases"],
                            "admin_dsn": f"postgresql://training@{p['name']}.{TRAINING_HOST}:6432/pgbouncer"}
                           for p in config.get("pgbouncers", [])],
        }
        odoo = config.get("odoo")
        if odoo:
            data["odoo"] = {"url": f"http://odoo.{TRAINING_HOST}:8069", "db": odoo.get("db", "odoo"),
                            "login": odoo.get("login", "probe"), "password_env": "TRAINING_NEVER_USED"}
        return Cluster.model_validate(data)
    except (KeyError, TypeError, ValidationError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScenarioError(f"the scenario's cluster config is not valid: {first}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file; every problem is one ScenarioError line naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(raw, dict) and isinstance(raw.get("version"), int) and raw["version"] > SCENARIO_VERSION:
        raise ScenarioError(f"{path}: scenario version {raw['version']} is newer than this cockpit reads "
                            f"({SCENARIO_VERSION}): upgrade failover-cockpit")
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top)"
        raise ScenarioError(f"{path}: {where}: {error['msg']}") from None
    if not scenario.samples:
        raise ScenarioError(f"{path}: the scenario holds no samples")
    try:
        cluster = scenario.cluster()
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    unknown = sorted({s.name for s in scenario.samples} - {n.name for n in cluster.nodes})
    if unknown:
        raise ScenarioError(f"{path}: samples of nodes the config does not name: {', '.join(unknown)}")
    return scenario


def scenario_json(scenario: Scenario) -> str:
    """The file text: the header indented, one sample per line (small, and readable in a diff)."""
    doc = scenario.model_dump(mode="json", exclude={"samples"})
    head = json.dumps(doc, indent=2, ensure_ascii=False)
    rows = ",\n".join("    " + json.dumps(s.model_dump(mode="json", exclude_defaults=True), separators=(",", ":"),
                                           ensure_ascii=False) for s in scenario.samples)
    return head[:-2] + ',\n  "samples": [\n' + rows + "\n  ]\n}\n"


class TrainingJournal:
    """A training run's journal: in memory, on the simulated clock, with the API an
    :class:`~checks.operation.Operation` and :func:`checks.record.render_record` use.
    Texts and data are redacted exactly as the incident journal redacts them."""

    def __init__(self, clock: Callable[[], datetime], *, incident_id: str, cluster: str) -> None:
        self.clock = clock
        self.meta = {"incident_id": incident_id, "cluster": cluster, "created_at": iso_utc(clock())}
        self.pending: list = []
        self.recorder = SampleRecorder(full_every_s=5.0)
        self._events: list[Event] = []
        self._samples: list[NodeSample] = []

    @property
    def incident_id(self) -> str:
        return self.meta["incident_id"]

    @property
    def cluster(self) -> str:
        return self.meta["cluster"]

    def append(self, kind: str, text: str, *, seat: str, author: str, stage: int | None = None,
               data: dict[str, Any] | None = None) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r} (kinds: {', '.join(sorted(KINDS))})")
        if seat not in SEATS:
            raise ValueError(f"unknown seat {seat!r} (seats: {', '.join(SEATS)})")
        event = Event(id=len(self._events) + 1, at=self.clock(), seat=seat, author=redact(author), kind=kind,
                      stage=stage, text=redact(text), data=json.loads(to_json(data or {})))
        self._events.append(event)
        return event

    def events(self, after_id: int = 0, kinds: set[str] | None = None) -> list[Event]:
        return [e for e in self._events[after_id:] if kinds is None or e.kind in kinds]

    def last_event_id(self) -> int:
        return len(self._events)

    def record_sample(self, sample: NodeSample, *, force: bool = False) -> bool:
        if not force and self.recorder.reason(sample) is None:
            return False
        self.recorder.kept(sample)
        self._samples.append(sample)
        return True

    def samples(self, node: str | None = None, since: datetime | None = None,
                until: datetime | None = None) -> list[NodeSample]:
        return sorted((s for s in self._samples if (node is None or s.name == node)
                       and (since is None or s.observed_at >= since) and (until is None or s.observed_at <= until)),
                      key=lambda s: s.observed_at)

    def samples_at(self, moment: datetime) -> dict[str, NodeSample]:
        found: dict[str, NodeSample] = {}
        for sample in self.samples(until=moment):
            found[sample.name] = sample
        return found


class _RechecksPassed(Exception):
    """Promotion's own re-checks all passed: from here the training run simulates pg_promote."""


class _ClockedWatch(Watch):
    """A Watch that judges at the simulated time, not the wall clock."""

    def __init__(self, cluster_name: str, cluster: Cluster, clock: Callable[[], datetime]) -> None:
        super().__init__(cluster_name, cluster)
        self.clock = clock

    def update(self, *samples: NodeSample, now: datetime | None = None) -> ClusterView:
        return super().update(*samples, now=now or self.clock())


class TrainingOperation(Operation):
    """The cockpit's Operation, sampling the replay instead of the nodes.

    ``refresh`` hands it every replayed sample since its last refresh (the cockpit journals
    what it samples and the operation judges from it), with the training overlays applied.
    With ``stop_before_promote`` set, journaling promotion's ``pre_promote`` evidence (the
    last thing :func:`~checks.stage_actions.promote_candidate` does once every re-check
    passed) stops it before it would connect: the training run simulates the rest."""

    def __init__(self, run: TrainingRun, *, author: str, seat: str) -> None:
        super().__init__(run.journal, run.scenario.cluster_name, run.cluster, author=author, seat=seat)
        self.run = run
        self.watch = _ClockedWatch(run.scenario.cluster_name, run.cluster, run.clock)
        self.seen_as_standby = set()
        self.view = None
        self._samplers = {}
        self._fed: float | None = None
        self.stop_before_promote = False

    async def refresh(self) -> ClusterView:
        samples, self._fed = self.run.feed(self._fed)
        for sample in samples:
            self.journal.record_sample(sample)
            self._remember(sample)
        if self.view is None:
            self.view = self.watch.update()
        return self.view

    async def close(self) -> None:
        return None

    def log(self, kind: str, text: str, *, stage: int | None = None, data: dict | None = None) -> Event:
        event = super().log(kind, text, stage=stage, data=data)
        if self.stop_before_promote and kind == "evidence" and (data or {}).get("check") == "pre_promote":
            raise _RechecksPassed()
        return event


def _drive(coro: Coroutine) -> Any:
    """Run an Operation coroutine to its end. Training never waits on I/O (refresh reads the
    replay), so it ends on its first step; one that would wait is stopped and is a bug."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a training action tried to wait on I/O: training never connects to anything")


def describe_result(result: Any) -> str:
    """One line for what a trainee action returned (shown, and kept on the score card)."""
    if result is None:
        return "done"
    if isinstance(result, bool):
        return "passed" if result else "did not pass"
    if isinstance(result, dict) and "rto_s" in result:
        return f"closed: RTO {result['rto_s']} s"
    statement = getattr(result, "statement", None)
    if statement:
        return statement
    sentence = getattr(result, "sentence", None)
    if callable(sentence):
        return sentence()
    if isinstance(result, RunbookState):
        if result.current >= len(STAGES):
            return "every stage passed"
        stage = result.stage(result.current)
        return f"stage {stage.number} {stage.title}: {stage.status}: {stage.gate}"
    if isinstance(result, list):
        return "; ".join(r.summary() if hasattr(r, "summary") else str(r) for r in result) or "done"
    return str(result)


class TrainingRun:
    """One trainee working one scenario. Time moves only through :meth:`advance`."""

    def __init__(self, scenario: Scenario, trainee: str = "trainee", *, start_at: float = 0.0) -> None:
        self.scenario = scenario
        self.trainee = trainee
        self.cluster = scenario.cluster()
        self.t = float(start_at)
        self.started_t = self.t
        self.journal = TrainingJournal(self.clock, incident_id=f"training-{scenario.name}",
                                       cluster=scenario.cluster_name)
        ordered = sorted(scenario.samples, key=lambda s: s.observed_at)
        self._samples = ordered
        self._offsets = [scenario.offset(s.observed_at) for s in ordered]
        self._fenced: dict[str, float] = {}
        self._frozen: dict[str, tuple[float, NodeSample]] = {}
        self._drained: tuple[str, str] | None = None
        self._promoted: tuple[str, float, NodeSample] | None = None
        self._watch = _ClockedWatch(scenario.cluster_name, self.cluster, self.clock)
        self._display_fed: float | None = None
        self.view: ClusterView = self._watch.update()
        self.split_brain_seen = False
        self._alarmed: set[str] = set()
        self.attempts: list[dict[str, Any]] = []
        self.finished_at: float | None = None
        self.op = TrainingOperation(self, author=trainee, seat="operator")
        self._seats: dict[str, TrainingOperation] = {}
        self.op.log("role", f"{trainee} joined as operator (training)", data={"joined": True})
        self.op.log("system", f"training: {scenario.title}. {scenario.description} Every action is simulated "
                    "(no database); the cockpit's own gates judge it.",
                    data={"training": {"scenario": scenario.name, "trainee": trainee, "start_at": self.t}})
        self._update_view()

    # -- time ------------------------------------------------------------------------------------
    def clock(self) -> datetime:
        """The simulated time: the recording's start plus the offset."""
        return self.scenario.moment(self.t)

    @property
    def ended(self) -> bool:
        """The recording has no more samples: the cluster stays as it last was."""
        return self.t >= self.scenario.seconds

    def advance(self, seconds: float) -> ClusterView:
        """Let ``seconds`` of simulated time pass; the screen's view is judged at least once per
        sampling interval on the way, as the live cockpit judges every sample when it arrives."""
        if seconds < 0:
            raise ValueError("training time only moves forward")
        end = self.t + seconds
        step = self.cluster.sampling.interval_s
        while self.t + step < end:
            self.t += step
            self._update_view()
        self.t = end
        return self._update_view()

    def advance_to(self, t: float) -> ClusterView:
        return self.advance(max(0.0, t - self.t))

    # -- the replay, with the overlays -----------------------------------------------------------
    def feed(self, since: float | None) -> tuple[list[NodeSample], float]:
        """The samples a consumer has not seen yet: recorded ones after ``since`` up to now, in
        order, as the overlays change them, then the simulated ones at now. Returns the new cursor."""
        start = 0 if since is None else bisect.bisect_right(self._offsets, since)
        end = bisect.bisect_right(self._offsets, self.t)
        out = [shown for off, sample in zip(self._offsets[start:end], self._samples[start:end])
               if (shown := self._overlay(sample, off)) is not None]
        out.extend(self._simulated())
        return out, self.t

    def _overlay(self, sample: NodeSample, off: float) -> NodeSample | None:
        name = sample.name
        if name in self._fenced and off >= self._fenced[name]:
            return None
        if self._promoted and name == self._promoted[0] and off >= self._promoted[1]:
            return None
        if name in self._frozen and off >= self._frozen[name][0]:
            return None
        return self._drain(sample)

    def _drain(self, sample: NodeSample) -> NodeSample:
        if not self._drained or sample.name != self._drained[0] or not sample.in_recovery:
            return sample
        final = self._drained[1]
        if (lsn_diff(final, sample.held_lsn) or 0) <= 0:
            return sample
        not_replayed = lsn_diff(final, sample.replay_lsn) if sample.replay_lsn else None
        return sample.model_copy(update={"receive_lsn": final, "bytes_not_replayed": not_replayed})

    def _simulated(self) -> list[NodeSample]:
        now = self.clock()
        out = []
        for name, since in self._fenced.items():
            if since <= self.t:
                out.append(NodeSample(name=name, observed_at=now, reachable=False,
                                      error=f"connection refused: fenced at {self.scenario.moment(since):%H:%M:%S}Z "
                                            "(simulated)"))
        for name, (since, base) in self._frozen.items():
            if since <= self.t and name not in self._fenced and not (self._promoted and self._promoted[0] == name):
                out.append(self._drain(base).model_copy(update={"observed_at": now, "wal_receiver": None}))
        if self._promoted and self._promoted[1] <= self.t:
            name, _, base = self._promoted
            out.append(base.model_copy(update={
                "observed_at": now, "in_recovery": False, "tx_read_only": "off", "current_lsn": base.held_lsn,
                "flush_lsn": base.held_lsn, "receive_lsn": None, "replay_lsn": None, "bytes_not_replayed": None,
                "raw_replay_delay_s": None, "replay_paused": None, "wal_receiver": None, "replication": (),
                "timeline": (base.timeline or 1) + 1}))
        return out

    def _update_view(self) -> ClusterView:
        samples, self._display_fed = self.feed(self._display_fed)
        now = self.clock()
        for sample in samples:           # each judged when it arrived, as the live cockpit judges it
            self._watch.update(sample, now=min(sample.observed_at, now))
        view = self.view = self._watch.update(now=now)
        if view.first_bad_at and "first_bad" not in self._alarmed:
            self._alarmed.add("first_bad")
            self.op.log("status", f"first bad signal: {view.problems[0] if view.problems else view.verdict}",
                        data={"first_bad_at": iso_utc(view.first_bad_at)})
        if view.split_brain:
            self.split_brain_seen = True
            if "split" not in self._alarmed:
                self._alarmed.add("split")
                self.op.log("alarm", view.problems[0], data={"writable": list(view.writable),
                                                             "first_bad_at": iso_utc(view.observed_at)})
        else:
            self._alarmed.discard("split")
        return view

    # -- the runbook, as the trainee drives it ----------------------------------------------------
    def state(self) -> RunbookState:
        return self.op.state()

    @property
    def events(self) -> list[Event]:
        return self.journal.events()

    def _attempt(self, action: str, work: Callable[[], Any]) -> Any:
        """Run one trainee action; a refusal is journaled (by the gate), counted and re-raised."""
        try:
            result = work()
        except GateRefused as exc:
            self.attempts.append({"t": round(self.t, 1), "action": action, "ok": False, "text": str(exc)})
            self._update_view()
            raise TrainingRefused(str(exc)) from None
        self.attempts.append({"t": round(self.t, 1), "action": action, "ok": True, "text": describe_result(result)})
        self._update_view()
        return result

    def _seat(self, approver: str) -> TrainingOperation:
        """The approver's own seat (the trainee plays it): approvals are journaled by the approver."""
        if approver not in self._seats:
            self._seats[approver] = TrainingOperation(self, author=approver or "?", seat="approver")
        return self._seats[approver]

    def set_roles(self, scribe: str, approver: str) -> None:
        """Stage 0: the trainee is the operator."""
        return self._attempt("set roles", lambda: self.op.set_roles(self.trainee, scribe, approver))

    def freeze(self) -> list[CommandResult]:
        """Stage 0: the configured freeze commands, simulated (exit 0)."""

        def work() -> list[CommandResult]:
            self.op.require(0, "freeze")
            results = []
            for command in self.cluster.freeze:
                result = CommandResult(name=command.name, argv=tuple(command.command), exit_code=0,
                                       output=SIMULATED, duration_ms=SIM_COMMAND_MS)
                self.op.log_command(result, stage=0, step="freeze")
                results.append(result)
            return results

        return self._attempt("freeze", work)

    def skip_freeze(self, reason: str) -> None:
        return self._attempt("skip freeze", lambda: self.op.skip_freeze(reason))

    def choose(self, candidate: str | None = None):
        """Stage 1: rank the standbys and state the data risk on the replayed samples (the real code)."""
        return self._attempt("choose a candidate", lambda: _drive(self.op.choose(candidate)))

    def approve(self, approver: str, note: str = "") -> None:
        """Stage 1: the approver (never the operator) approves the data risk, from their own seat."""
        return self._attempt("approve", lambda: self._seat(approver).approve(approver, note))

    def check_others(self) -> RunbookState:
        """Stage 2: every other node judged (checks.fence.judge_others)."""
        return self._attempt("check the old primary", lambda: _drive(self.op.check_others()))

    def attest(self, node: str, approver: str, statement: str) -> None:
        """Stage 2: an approver attests an unreachable node is down."""
        return self._attempt("attest", lambda: self._seat(approver).attest(node, approver, statement))

    def fence(self, typed: str | None = None) -> str:
        """Stage 2: fence every node the last check says needs it (``typed``: the names as the
        trainee typed them, ``None`` when not asked). Simulated like checks.stage_actions does it:
        a writable primary is paused in PgBouncer and drained to the candidate first."""

        def work() -> str:
            state = self.op.state()
            targets, view = [], None
            if state.stage(2).status != "locked":
                view = _drive(self.op.refresh())
                targets = needs_fencing(self.op.judge(state, view))
            if not targets:
                # The real action refuses before it would act (locked stage, or nothing to fence):
                # its own sentence.
                _drive(fence_old_primary(self.op, allowed=True))
                raise RuntimeError("fence_old_primary did not refuse with nothing to fence")
            confirm = ", ".join(targets)
            if typed is not None and typed != confirm:
                raise self.op.refuse("fence", f"fence not confirmed: type the node's name exactly ({confirm!r})", 2)
            self._simulate_fence(state, view, targets)
            return f"fenced {confirm}; " + self.state().stage(2).gate

        return self._attempt("fence", work)

    def _simulate_fence(self, state: RunbookState, view: ClusterView, targets: list[str]) -> list[str]:
        op, candidate = self.op, state.candidate
        evidence = op.judge(state, view)
        primary = view.last_primary.node if view.last_primary else None
        for name in targets:
            final = received = None
            caught = False
            paused: list[str] = []
            if evidence["nodes"][name]["writable"]:
                for pgb in self.cluster.pgbouncers:
                    for db in pgb.databases:
                        op.log("action", f"PgBouncer {pgb.name}: PAUSE {db}", stage=2,
                               data={"step": f"pause {pgb.name}/{db}", "node": name, "exit_code": 0, "simulated": True})
                        paused.append(f"{pgb.name}:{db}")
                old = view.node(name).sample
                final = old.flush_lsn or old.current_lsn
                op.log("action", f"{name} final LSN {final}", stage=2,
                       data={"step": "final lsn", "node": name, "exit_code": 0, "lsn": final, "simulated": True})
                cand = view.node(candidate).sample
                held = cand.held_lsn
                streaming = bool(cand.wal_receiver and cand.wal_receiver.status == "streaming")
                caught = (lsn_diff(held, final) or 0) >= 0 if held else False
                if not caught and streaming:
                    caught, held = True, final       # PgBouncer holds Odoo's writes: the stream catches up
                received = held
                text = (f"{candidate} received {received} (>= {final}) after {SIM_DRAIN_MS:g} ms" if caught else
                        f"{candidate} received only {received} of {final} within 10s")
                op.log("action", text, stage=2, data={
                    "step": "catch up", "node": name, "exit_code": 0 if caught else 1, "received": received,
                    "waited_ms": SIM_DRAIN_MS, "simulated": True})
            result = CommandResult(name=f"fence {name}", argv=tuple(self.cluster.node(name).fence or ()),
                                   exit_code=0, output=SIMULATED, duration_ms=SIM_COMMAND_MS)
            op.log_command(result, stage=2, step="fence", node=name)
            if final:
                op.log("evidence", f"{name} final LSN {final}; {candidate} received {received}", stage=2,
                       data={"check": "final_lsn", "node": name, "final_lsn": final, "candidate": candidate,
                             "candidate_received": received, "paused": paused})
            if final and caught:
                self._drained = (candidate, final)
            self._fenced[name] = self.t
            if name == primary:
                # WAL stops flowing from it: the standbys that streamed from it keep their last state.
                for node_view in view.nodes:
                    s = node_view.sample
                    if (node_view.name not in self._frozen and node_view.role == "standby" and s.wal_receiver
                            and s.wal_receiver.status == "streaming"):
                        self._frozen[node_view.name] = (self.t, s)
        _drive(op.check_others())
        return targets

    def promote(self, typed: str) -> PromotionResult:
        """Stage 3: the real promotion re-checks (checks.stage_actions.promote_candidate) judge the
        typed name and the replayed samples; once they all pass, pg_promote is simulated."""

        def work() -> PromotionResult:
            self.op.stop_before_promote = True
            try:
                return _drive(promote_candidate(self.op, typed))     # already promoted: nothing sent
            except _RechecksPassed:
                pass
            finally:
                self.op.stop_before_promote = False
            return self._simulate_promotion()

        return self._attempt("promote", work)

    def _simulate_promotion(self) -> PromotionResult:
        candidate = self.state().candidate
        result = PromotionResult(node=candidate, promoted=True, promote_to_writable_ms=SIM_PROMOTE_MS)
        self.op.log("evidence", result.sentence(), stage=3, data={
            "check": "promoted", "passed": True, "node": candidate, "already": False,
            "promote_to_writable_ms": SIM_PROMOTE_MS, "error": None, "simulated": True})
        base = self.op.view.node(candidate).sample
        self._promoted = (candidate, self.t, base)
        _drive(self.op.refresh())
        return result

    def cut_over(self) -> bool:
        """Stage 4: PgBouncer re-pointed at the new primary (simulated), once the gate is open."""

        def work() -> bool:
            state = self.op.require(4, "cut over")
            new = self.cluster.node(state.candidate)
            targets: dict[str, str] = {}
            for pgb in self.cluster.pgbouncers:
                dbs = ", ".join(pgb.databases)
                lines = ([f"PAUSE {db}" for db in pgb.databases] + [f"rewrote {dbs} in {pgb.name}'s ini", "RELOAD",
                         f"SHOW DATABASES: {dbs} -> {new.host}:{new.port}"] + [f"RESUME {db}" for db in pgb.databases])
                self.op.log("action", f"pgbouncer:{pgb.name}: " + "; ".join(lines), stage=4,
                            data={"target": f"pgbouncer:{pgb.name}", "exit_code": 0, "steps": lines, "simulated": True})
                targets[f"pgbouncer:{pgb.name}"] = "ok"
            self.op.log("evidence", f"every target points at {new.name} ({new.host}:{new.port})", stage=4,
                        data={"check": "targets", "passed": True, "host": new.host, "port": new.port,
                              "node": new.name, "targets": targets, "simulated": True})
            return True

        return self._attempt("cut over", work)

    def verify(self) -> bool:
        """Stage 5: the new primary writable (read from the replay), Odoo's checks (simulated), stragglers."""

        def work() -> bool:
            state = self.op.require(5, "verify")
            view = _drive(self.op.refresh())
            new = state.candidate
            s = view.node(new).sample
            writable = s.reachable and s.in_recovery is False and s.tx_read_only == "off"
            recovery = "f" if s.in_recovery is False else "t"
            results = {"new_primary_writable": (writable, f"{new}: in_recovery = {recovery}, "
                                                          f"transaction_read_only = {s.tx_read_only}")}
            odoo = self.cluster.odoo
            if odoo:
                results["odoo_login"] = (True, f"common.authenticate as {odoo.login!r}: uid 2 (simulated)")
                results["write_probe"] = (True, f"draft sale.order labelled incident {self.journal.incident_id} "
                                                "created, updated and removed (simulated)")
                results["cron_progress"] = (True, "ir_cron.lastcall is after promotion; no failed queue_job "
                                                  "(simulated)")
            others = [n for n in view.nodes if n.name != new]
            writers = [n.name for n in others if n.sample.writable]
            lines = [f"{n.name} unreachable: no sessions can reach it through this path" if not n.sample.reachable
                     else f"{n.name}: no Odoo sessions" for n in others if n.name not in writers]
            results["stragglers"] = ((False, "; ".join(f"{w} still accepts writes" for w in writers)) if writers else
                                     (True, "; ".join(lines) or "no other node"))
            for check, (passed, text) in results.items():
                self.op.log("evidence", f"{check}: {'pass' if passed else 'FAIL'}: {text}", stage=5,
                            data={"check": check, "passed": passed, "node": new, "simulated": True})
            return all(passed for passed, _ in results.values())

        return self._attempt("verify", work)

    def close(self) -> dict:
        """Close: the cockpit's own close-out figures (RTO, RPO, time per stage), in simulated time."""
        figures = self._attempt("close", self.op.close_incident)
        self.finished_at = self.t
        return figures

    def note(self, kind: str, text: str) -> Event:
        """A note, decision, status or TODO from the trainee (the scribe's input)."""
        data = {"proposed_by": self.trainee} if kind == "decision" else None
        return self.op.log(kind if kind in ("note", "decision", "status", "todo") else "note", text, data=data)

    # -- the score card ------------------------------------------------------------------------------
    def score_card(self) -> dict[str, Any]:
        """What the run comes to: unsafe attempts blocked (with the gates' sentences), time per
        stage in simulated seconds, the verdict, split brain (never), what a safe run does."""
        events = self.journal.events()
        state = evaluate(self.cluster, events)
        sc = self.scenario
        blocked = []
        for e in events:
            if e.kind == "system" and e.data.get("refused"):
                action = e.data.get("action", "")
                blocked.append({"t": round(sc.offset(e.at), 1), "action": action,
                                "sentence": e.text.removeprefix(f"refused: {action}: ")})
        passed = stage_passed_at(self.cluster, events)
        stages, previous = [], events[0].at
        for number, title in STAGES:
            status = state.stage(number).status
            seconds = None
            if number in passed:
                seconds = round((passed[number] - previous).total_seconds(), 1)
                previous = passed[number]
            stages.append({"number": number, "title": title, "status": status, "seconds": seconds})
        first_bad = [parse_iso(e.data["first_bad_at"]) for e in events
                     if e.kind in ("status", "alarm") and e.data.get("first_bad_at")]
        first_bad_t = round(sc.offset(min(first_bad)), 1) if first_bad else None
        verified = state.current == 6
        verified_t = round(sc.offset(passed[5]), 1) if 5 in passed else None
        rto = round(verified_t - first_bad_t, 1) if verified_t is not None and first_bad_t is not None else None
        approvals = [e for e in events if e.kind == "approval"]
        return {
            "scenario": sc.name,
            "title": sc.title,
            "trainee": self.trainee,
            "started_t": round(self.started_t, 1),
            "ended_t": round(self.t, 1),
            "simulated_seconds": round(self.t - self.started_t, 1),
            "verdict": "verified" if verified else "not verified",
            "verified": verified,
            "closed": state.closed,
            "current_stage": state.current,
            "unsafe_attempts_blocked": len(blocked),
            "blocked": blocked,
            "stages": stages,
            "stage_seconds": {str(s["number"]): s["seconds"] for s in stages if s["seconds"] is not None},
            "first_bad_t": first_bad_t,
            "verified_t": verified_t,
            "rto_s": rto,
            "candidate": state.candidate,
            "old_primary": state.old_primary,
            "data_risk": (state.data_risk or {}).get("statement"),
            "approved_by": sorted({e.data.get("approved_by") for e in approvals if e.data.get("approved_by")}),
            "split_brain": self.split_brain_seen,
            "warnings": self._warnings(events),
            "your_path": list(self.attempts),
            "safe_path": list(sc.safe_path),
        }

    def _warnings(self, events: Iterable[Event]) -> list[str]:
        """What the gates could not see: an attestation of a node the lab had only cut off or frozen."""
        found = []
        fenced = set(self._fenced)
        promoted = self._promoted[0] if self._promoted else None
        for e in events:
            if e.kind == "approval" and e.stage == 2 and e.data.get("node"):
                node, t = e.data["node"], self.scenario.offset(e.at)
                condition = self.scenario.node_condition(node, t)
                if condition in ("partitioned", "hung") and node not in fenced:
                    alive = "cut off from the bastion" if condition == "partitioned" else "frozen"
                    found.append(f"{node} was attested down by {e.data.get('approved_by')}, "
                                 f"but it was alive ({alive}); "
                                 + (f"after {promoted} was promoted, two nodes could accept writes: fence, do not "
                                    "attest, a node you cannot prove is down" if promoted else
                                    "an attestation must be a fact: fence a node you cannot prove is down"))
        return found


def _fence_targets(state: RunbookState, events: list[Event]) -> tuple[list[str], dict | None]:
    checks = [e for e in events
              if e.kind == "evidence" and e.stage == 2 and e.data.get("check") == "others_not_writable"]
    if not checks or checks[-1].data.get("candidate") != state.candidate:
        return [], None
    return needs_fencing(checks[-1].data), checks[-1].data


def play_safe_path(run: TrainingRun, *, scribe: str = "sam", approver: str | None = None,
                   max_steps: int = 24) -> list[str]:
    """Drive ``run`` the safe way from where it stands, stage by stage as the gates ask (choose
    the freshest standby, an approver for a risk above the SLO, fence rather than attest),
    until closed. Returns one line per step, with the key the cockpit uses for it."""
    cluster = run.cluster
    approver = approver or next((a for a in cluster.approvers if a != run.trainee), "")
    lines: list[str] = []
    for _ in range(max_steps):
        state = run.state()
        current = state.current
        if state.closed:
            return lines
        if current == 0:
            if any(r not in state.roles for r in ("operator", "scribe", "approver")):
                run.set_roles(scribe, approver)
                lines.append(f"s: set the roles: you operate, {scribe} scribes, {approver} approves "
                             "(an approver from the config, never the operator)")
            elif cluster.freeze:
                run.freeze()
                lines.append("w: run the freeze commands (" + ", ".join(c.name for c in cluster.freeze)
                             + ") so nothing keeps writing while you decide")
            else:
                run.skip_freeze("no freeze commands configured")
                lines.append("k: skip the freeze, with the reason (none is configured)")
        elif current == 1:
            if state.candidate and state.stage(1).status == "open" and state.data_risk:
                run.approve(approver)
                lines.append(f"a: {approver} (an approver, not you) approves that risk: it is above the SLO or "
                             "unknown, so the gate will not let promotion happen without it")
            else:
                risk = run.choose()
                lines.append(f"c: choose {risk.candidate}, the freshest standby: {risk.statement}")
        elif current == 2:
            targets, evidence = _fence_targets(state, run.events)
            if evidence is None:
                run.check_others()
                latest = _fence_targets(run.state(), run.events)[1] or {}
                lines.append("o: check the old primary and every other node: " + "; ".join(latest.get("lines", [])))
            elif targets:
                writable = [n for n in targets if evidence["nodes"][n]["writable"]]
                run.fence(", ".join(targets))
                why = ("it still accepts writes: PgBouncer is paused, the candidate receives its final LSN, then "
                       "the fence command stops it" if writable else
                       "unreachable is not dead: the fence command makes sure it can never write again")
                lines.append(f"x: fence {', '.join(targets)} (type the name): {why}; not p yet, "
                             "promotion is locked until this stage passes")
            else:
                raise RuntimeError(f"the safe path is stuck at stage 2: {state.stage(2).gate}")
        elif current == 3:
            run.promote(state.candidate)
            lines.append(f"p: promote {state.candidate} (type its name): the re-checks pass, it is writable "
                         "~40 ms later")
        elif current == 4:
            run.cut_over()
            lines.append(f"u: cut PgBouncer over to {state.candidate} (PAUSE, rewrite, RELOAD, verify, RESUME)")
        elif current == 5:
            run.verify()
            lines.append(f"v: verify: {state.candidate} writable, Odoo login, a write probe, cron, no stragglers")
        else:
            run.close()
            lines.append("z: close: RTO, RPO, time per stage and the hardening checklist go into the record")
    raise RuntimeError(f"the safe path did not end within {max_steps} steps (stage {run.state().current})")
