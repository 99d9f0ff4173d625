"""Training (docs/design.md section 10): a real lab run replayed, the trainee's actions simulated, the real gates judging.

A :class:`Scenario` is one recorded lab run: the node samples taken at 1 Hz while a
script drove its faults, the cluster's config (node names only: nothing here ever
connects), when each fault happened, and what a safe run does. A :class:`TrainingRun`
plays it on a simulated clock (an offset in seconds into the recording) and runs every
trainee action through the cockpit's own :class:`~checks.runbook.operation.Operation`, on an
in-memory journal whose clock is the simulated one. So every gate, every refusal
sentence and every data-risk statement is the one the live cockpit gives: the rules
stay in :mod:`checks.runbook.gates`, :mod:`checks.stages.fence`, :mod:`checks.runbook.risk` and
:mod:`checks.stages.old_primary`, and nothing here decides what is allowed.

Only effects are simulated, as overlays on the recorded samples (shown by
:class:`~checks.training.timeline.ReplayTimeline`, the half of a run that moves time):

- a fenced node reads unreachable from then on; once the node that was the primary is
  fenced, the standbys that streamed from it stop receiving (their last sample stays);
- after the fence sequence drained a writable primary, the candidate holds its final LSN;
- the promoted candidate reads writable, out of recovery, on the next timeline;
- commands (freeze, fence), the cutover and the verification succeed, but only once the
  gates let them run. Pure: no connection, no command, no file (training_score writes the record).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checks.incident.events import Event
from checks.incident.evidence import Check, Step
from checks.observe.assess import ClusterView
from checks.observe.lsn import human_seconds
from checks.observe.sample import parse_iso
from checks.runbook.commands import CommandResult
from checks.runbook.gates import RunbookState
from checks.runbook.operation import GateRefused
from checks.runbook.others import needs_fencing
from checks.runbook.result_text import result_outcome, result_sentence
from checks.stages.close import close_incident
from checks.stages.evaluate import evaluate_failover
from checks.stages.freshness import approve, choose
from checks.stages.old_primary import attest, check_others, fence_old_primary
from checks.stages.promote import PromotionResult, promote_candidate
from checks.stages.stabilize import set_roles, skip_freeze
from checks.training.scenario import SIM_COMMAND_MS, SIM_PROMOTE_MS, SIMULATED, Scenario, TrainingRefused
from checks.training.score import REFUSED, score_card
from checks.training.sim import RechecksPassed, TrainingJournal, TrainingOperation, drive, simulate_drain
from checks.training.timeline import ReplayTimeline


class TrainingRun(ReplayTimeline):
    """One trainee working one scenario. Time moves only through :meth:`advance` (lived) and
    :meth:`skip` (skipped, not counted on the score card), see :class:`ReplayTimeline`. It is a
    :class:`~checks.stages.seat.Runbook`: the cockpit's keys act on it as on a live seat."""

    simulated = True

    def __init__(self, scenario: Scenario, trainee: str = "trainee", *, start_at: float = 0.0) -> None:
        super().__init__(scenario, start_at=start_at)
        self.trainee = trainee
        self.journal = TrainingJournal(self.clock, incident_id=f"training-{scenario.name}",
                                       cluster=scenario.cluster_name)
        self.attempts: list[dict[str, Any]] = []
        self.finished_at: float | None = None
        self.op = self._operation(trainee, "operator")
        self._seats: dict[str, TrainingOperation] = {}
        self.op.log("role", f"{trainee} joined as operator (training)", data={"joined": True})
        self.op.log("system", f"training: {scenario.title}. {scenario.description} Every action is simulated "
                    "(no database); the cockpit's own gates judge it.",
                    data={"training": {"scenario": scenario.name, "trainee": trainee, "start_at": self.t}})
        self._update_view()

    # -- the runbook, as the trainee drives it ----------------------------------------------------
    def state(self) -> RunbookState:
        return self.op.state()

    @property
    def events(self) -> list[Event]:
        return self.journal.events()

    def _attempt(self, action: str, work: Callable[[], Any]) -> Any:
        """Run one trainee action; a refusal is journaled (by the gate), counted and re-raised. Each
        attempt keeps its outcome in one word (refused, done, passed, did not pass) and its sentence;
        ``ok`` only says no gate refused it (an action that ran and did not pass is ``ok`` too: read
        ``outcome``, never ``ok``, for how it went)."""
        try:
            result = work()
        except GateRefused as exc:
            self.attempts.append({"t": round(self.t, 1), "action": action, "ok": False, "outcome": REFUSED,
                                  "text": str(exc)})
            self._update_view()
            raise TrainingRefused(str(exc)) from None
        self._update_view()
        self.attempts.append({"t": round(self.t, 1), "action": action, "ok": True, "outcome": result_outcome(result),
                              "text": result_sentence(action, result, self.state())})
        return result

    def _operation(self, author: str, seat: str) -> TrainingOperation:
        return TrainingOperation(self.journal, self.scenario.cluster_name, self.cluster, clock=self.clock,
                                 feed=self.feed, author=author, seat=seat)

    def _seat(self, approver: str) -> TrainingOperation:
        """The approver's own seat (the trainee plays it): approvals are journaled by the approver."""
        if approver not in self._seats:
            self._seats[approver] = self._operation(approver or "?", "approver")
        return self._seats[approver]

    def evaluate(self, decision: str, signals: list[dict], reason: str = "") -> str:
        """Before stage 0: the decision, with the replayed standbys' freshness (the real code)."""
        return self._attempt("evaluate", lambda: drive(evaluate_failover(self.op, decision, signals, reason)))

    def set_roles(self, scribe: str, approver: str) -> None:
        """Stage 0: the trainee is the operator."""
        return self._attempt("set roles", lambda: set_roles(self.op, self.trainee, scribe, approver))

    def freeze(self) -> list[CommandResult]:
        """Stage 0: the configured freeze commands, simulated (exit 0)."""

        def work() -> list[CommandResult]:
            self.op.require(0, "freeze")
            results = []
            for command in self.cluster.freeze:
                result = CommandResult(name=command.name, argv=tuple(command.command), exit_code=0,
                                       output=SIMULATED, duration_ms=SIM_COMMAND_MS)
                self.op.log_command(result, stage=0, step=Step.FREEZE)
                results.append(result)
            return results

        return self._attempt("freeze", work)

    def skip_freeze(self, reason: str) -> None:
        return self._attempt("skip freeze", lambda: skip_freeze(self.op, reason))

    def choose(self, candidate: str | None = None):
        """Stage 1: rank the standbys and state the data risk on the replayed samples (the real code)."""
        return self._attempt("choose a candidate", lambda: drive(choose(self.op, candidate)))

    def approve(self, approver: str, note: str = "") -> None:
        """Stage 1: the approver (never the operator) approves the data risk, from their own seat."""
        return self._attempt("approve", lambda: approve(self._seat(approver), approver, note))

    def check_others(self) -> RunbookState:
        """Stage 2: every other node judged (checks.runbook.others.judge_others)."""
        return self._attempt("check the old primary", lambda: drive(check_others(self.op)))

    def attest(self, node: str, approver: str, statement: str) -> None:
        """Stage 2: an approver attests an unreachable node is down."""
        return self._attempt("attest", lambda: attest(self._seat(approver), node, approver, statement))

    def fence(self, typed: str | None = None) -> str:
        """Stage 2: fence every node the last check says needs it (``typed``: the names as the
        trainee typed them, ``None`` when not asked). Simulated as checks.stages.old_primary does it:
        a writable primary is paused in PgBouncer and drained to the candidate first."""

        def work() -> str:
            state = self.op.state()
            targets, view = [], None
            if state.stage(2).status != "locked":
                view = drive(self.op.refresh())
                targets = needs_fencing(self.op.judge(state, view))
            if not targets:
                # The real action refuses before it would act (locked stage, or nothing to fence):
                # its own sentence.
                drive(fence_old_primary(self.op, allowed=True))
                raise RuntimeError("fence_old_primary did not refuse with nothing to fence")
            confirm = ", ".join(targets)
            if typed is not None and typed != confirm:
                raise self.op.refuse("fence", f"fence not confirmed: type the node's name exactly ('{confirm}')", 2)
            self._simulate_fence(state, view, targets)
            return f"fenced {confirm}; " + self.state().stage(2).gate

        return self._attempt("fence", work)

    def _simulate_fence(self, state: RunbookState, view: ClusterView, targets: list[str]) -> list[str]:
        op, candidate = self.op, state.candidate
        evidence = op.judge(state, view)
        primary = view.last_primary.node if view.last_primary else None
        for name in targets:
            final = received = None
            caught, paused = False, []
            if evidence["nodes"][name]["writable"]:
                final, received, caught, paused = simulate_drain(op, self.cluster, view, name, candidate)
            result = CommandResult(name=f"fence {name}", argv=tuple(self.cluster.node(name).fence or ()),
                                   exit_code=0, output=SIMULATED, duration_ms=SIM_COMMAND_MS)
            op.log_command(result, stage=2, step=Step.FENCE, node=name)
            if final:
                op.log("evidence", f"{name} final LSN {final}; {candidate} received {received}", stage=2,
                       data={"check": Check.FINAL_LSN, "node": name, "final_lsn": final, "candidate": candidate,
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
        drive(check_others(op))
        return targets

    def promote(self, typed: str) -> PromotionResult:
        """Stage 3: the real promotion re-checks (checks.stages.promote.promote_candidate) judge the
        typed name and the replayed samples; once they all pass, pg_promote is simulated."""

        def work() -> PromotionResult:
            self.op.stop_before_promote = True
            try:
                return drive(promote_candidate(self.op, typed))     # already promoted: nothing sent
            except RechecksPassed:
                pass
            finally:
                self.op.stop_before_promote = False
            return self._simulate_promotion()

        return self._attempt("promote", work)

    def _simulate_promotion(self) -> PromotionResult:
        candidate = self.state().candidate
        result = PromotionResult(node=candidate, promoted=True, promote_to_writable_ms=SIM_PROMOTE_MS)
        self.op.log("evidence", result.sentence(), stage=3, data={
            "check": Check.PROMOTED, "passed": True, "node": candidate, "already": False,
            "promote_to_writable_ms": SIM_PROMOTE_MS, "error": None, "simulated": True})
        base = self.op.view.node(candidate).sample
        self._promoted = (candidate, self.t, base)
        drive(self.op.refresh())
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
                        data={"check": Check.TARGETS, "passed": True, "host": new.host, "port": new.port,
                              "node": new.name, "targets": targets, "simulated": True})
            return True

        return self._attempt("cut over", work)

    def verify(self) -> bool:
        """Stage 5: the new primary writable (read from the replay), Odoo's checks (simulated), stragglers."""

        def work() -> bool:
            state = self.op.require(5, "verify")
            view = drive(self.op.refresh())
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
        """Close: the cockpit's own close-out figures (RTO, RPO, time per stage), in simulated time.
        Time the trainee skipped inside that RTO is said beside it (the score card leaves it out)."""
        figures = self._attempt("close", lambda: drive(close_incident(self.op)))
        self.finished_at = self.t
        origin, end = (figures.get(k) for k in ("rto_origin_at", "rto_end_at"))
        skipped = self.skipped_between(*(self.scenario.offset(parse_iso(v)) if v else None for v in (origin, end)))
        if skipped:
            said = (f"{human_seconds(skipped)} of this RTO was skipped (. or a click ahead on the replay bar): the "
                    "score card does not count it")
            self.op.log("system", f"training: {said}", data={"training": {"rto_skipped_s": round(skipped, 1)}})
            self.attempts[-1]["text"] += f"; {said}"
        return figures

    def note(self, kind: str, text: str) -> Event:
        """A note, decision, status or TODO from the trainee (the scribe's input)."""
        data = {"proposed_by": self.trainee} if kind == "decision" else None
        return self.op.log(kind if kind in ("note", "decision", "status", "todo") else "note", text, data=data)

    # -- the score card ------------------------------------------------------------------------------
    def score_card(self) -> dict[str, Any]:
        """What the run comes to (see :func:`checks.training.score.score_card`)."""
        return score_card(self)
