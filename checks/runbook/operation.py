"""The runbook's actions: each checks its gate, acts, and journals the evidence before returning.

The cockpit's workers and ``drill`` both drive an :class:`Operation`; the rules live
in :mod:`checks.runbook.gates` (gates), :mod:`checks.stages.fence` (no other writer) and
:mod:`checks.runbook.risk` (data risk), so there is one copy of each. A refused action raises
:class:`GateRefused` with one sentence (which gate, why, what would unlock it), and the
refusal is journaled too: training scores count them.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import Callable

from checks.observe.assess import ClusterView, Watch
from checks.runbook.candidates import rank_candidates
from checks.runbook.commands import CommandResult, run_command
from checks.config.model import Cluster
from checks.stages.fence import judge_others
from checks.incident.journal import Event, Journal
from checks.runbook.risk import DataRisk, data_risk
from checks.runbook.gates import STAGES, RunbookState, approval_problem, evaluate, final_lsn_evidence
from checks.observe.sample import utcnow
from checks.observe.sampler import NodeSampler, sample_all


GATE_KINDS = frozenset({"role", "action", "evidence", "approval", "decision"})


class GateRefused(Exception):
    """An action the gates do not allow; the message is the sentence to show."""


class Operation:
    def __init__(self, journal: Journal, cluster_name: str, cluster: Cluster, *, author: str,
                 seat: str = "operator", on_event: Callable[[Event], None] | None = None) -> None:
        self.journal = journal
        self.cluster_name = cluster_name
        self.cluster = cluster
        self.author = author
        self.seat = seat
        self.on_event = on_event
        self._held: list[Event] | None = None
        self.watch = Watch(cluster_name, cluster)
        self._watch_lock = threading.Lock()       # the cockpit's screen observes while an action thread refreshes
        self.seen_as_standby: set[str] = set()
        self.standby_timelines: dict[str, int | None] = {}   # every node seen in recovery, and on which timeline
        self.on_progress: Callable[[str], None] | None = None   # a long step's progress lines (drill prints them)
        self.view: ClusterView | None = None
        self._samplers = {n.name: NodeSampler(n, cluster.sampling) for n in cluster.nodes}
        for sample in journal.samples():
            self._remember(sample)

    # -- the journal ---------------------------------------------------------------------------
    def log(self, kind: str, text: str, *, stage: int | None = None, data: dict | None = None) -> Event:
        event = self.journal.append(kind, text, seat=self.seat, author=self.author, stage=stage, data=data)
        if self._held is not None:
            self._held.append(event)
        elif self.on_event:
            self.on_event(event)
        if kind in GATE_KINDS:
            self._note_stage_change()
        return event

    @contextmanager
    def one_record_update(self):
        """Within an action, hand only its last event to ``on_event`` (the record re-render, ~4 ms
        each), when the action ends, failed or not. Every event is still journaled (and fsynced) at
        once; inside a switchover's PgBouncer pause a dozen re-renders were time Odoo waited."""
        if self._held is not None:       # nested: the outer action hands it on
            yield
            return
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            if held and self.on_event:
                self.on_event(held[-1])

    def _note_stage_change(self) -> None:
        """Journal a ``stage`` event when the current stage moves (the record's summary reads it)."""
        current = self.state().current
        shown = [e for e in self.journal.events(kinds={"stage"})]
        if shown and shown[-1].data.get("stage") == current:
            return
        title = STAGES[current][1] if current < len(STAGES) else "Close"
        self.log("stage", f"stage {current} {title} is open" if current < len(STAGES) else "every stage passed",
                 stage=current if current < len(STAGES) else None, data={"stage": current, "name": title})

    def state(self) -> RunbookState:
        return evaluate(self.cluster, self.journal.events())

    def refuse(self, action: str, sentence: str, stage: int | None = None, **data) -> GateRefused:
        """Journal the refusal (``data`` says what would unlock it) and return the exception to raise."""
        self.log("system", f"refused: {action}: {sentence}", stage=stage,
                 data={"refused": True, "action": action, **data})
        return GateRefused(sentence)

    def require(self, stage: int, action: str, *, closed_ok: bool = False) -> RunbookState:
        """The state, if ``stage`` is unlocked and the incident is not closed (a closed incident acts no
        more until reopened: a new fault is a new incident); else the journaled refusal."""
        from checks.runbook.gates import closed_sentence, standing_close

        closed = None if closed_ok else standing_close(self.journal.events(kinds={"close", "system"}))
        if closed is not None:
            raise self.refuse(action, f"{action} refused: {closed_sentence(closed, self.journal.incident_id)}", stage)
        state = self.state()
        if state.stage(stage).status == "locked":
            blocker = state.stage(state.current)
            raise self.refuse(action, f"{action} refused: stage {stage} {STAGES[stage][1]} is locked because stage "
                              f"{blocker.number} {blocker.title} has not passed ({blocker.gate}); to unlock: "
                              f"{blocker.next_action or 'meet its gate'}", stage)
        return state

    def reopen(self) -> str | None:
        """Reopen a closed incident (journaled; only what is verified after it counts); None when open."""
        from checks.runbook.gates import reopen_data, standing_close

        standing = standing_close(self.journal.events(kinds={"close", "system"}))
        if standing is None:
            return None
        data = reopen_data(standing)
        self.log("system", f"incident reopened by {self.author}: it was closed at {data['closed_at']} by "
                 f"{data['closed_by']}; everything is verified again", data=data)
        return f"reopened incident {self.journal.incident_id} (closed at {data['closed_at']} by {data['closed_by']})"

    # -- sampling ------------------------------------------------------------------------------
    def _remember(self, *samples) -> ClusterView:
        with self._watch_lock:
            for sample in samples:
                if sample.reachable and sample.in_recovery:
                    self.seen_as_standby.add(sample.name)
                    self.standby_timelines[sample.name] = sample.timeline
                elif sample.writable:
                    self.seen_as_standby.discard(sample.name)
            self.view = self.watch.update(*samples)
            return self.view

    def observe(self, sample) -> None:
        """A sample the cockpit took between actions: the judgement (the last primary LSN seen, when
        it stopped answering) must not depend on the operation sampling at the right moment itself."""
        self._remember(sample)

    async def refresh(self) -> ClusterView:
        """One sampling round over every node, journaled; it never skips a node in its reconnect
        backoff (every gate re-checks on this round)."""
        samples = await sample_all(list(self._samplers.values()), retry_now=True)
        for sample in samples:
            self.journal.record_sample(sample)
        # One update for the whole round, returned as is: a sample the screen observes meanwhile
        # (in its own reconnect backoff it says "unreachable" of a node that is back) cannot
        # replace one of this round in the view the gates judge.
        view = self._remember(*samples)
        if view.config_error:
            raise self.refuse("act", f"refused: {view.config_error}")
        return view

    async def close(self) -> None:
        """Close this operation's connections (it reconnects when used again)."""
        await asyncio.gather(*(s.close() for s in self._samplers.values()))

    async def close_incident(self) -> dict:
        """Journal the close event with the figures (RTO, RPO, time per stage, hardening). Refused
        (journaled) when the incident is closed already, or when this round of samples does not show
        exactly one writer, the authoritative node, with every other node accounted for."""
        from checks.stages.close import closeout
        from checks.runbook.one_writer import authoritative_node, confirm_one_writer
        from checks.runbook.gates import closed_sentence, standing_close

        standing = standing_close(self.journal.events())
        if standing is not None:
            raise self.refuse("close", closed_sentence(standing, self.journal.incident_id))
        problem = await confirm_one_writer(self, authoritative_node(self.state(), self.journal.events()))
        if problem:
            raise self.refuse("close", f"close refused: {problem}")
        events = self.journal.events()
        figures = closeout(self.cluster, events, self.journal.samples(), started_at=events[0].at,
                           first_bad_at=self.first_bad_at())
        verdict = "verified" if figures["verified"] else "closed before verification"
        self.log("close", f"incident {verdict}: RTO {figures['rto_s']} s; {figures['rpo_statement']}", data=figures)
        return figures

    def first_bad_at(self):
        """The first bad signal: journaled by any seat, or seen by this one."""
        from checks.observe.sample import parse_iso

        journaled = [parse_iso(e.data["first_bad_at"]) for e in self.journal.events(kinds={"status", "alarm"})
                     if e.data.get("first_bad_at")]
        seen = [self.view.first_bad_at] if self.view and self.view.first_bad_at else []
        return min(journaled + seen, default=None)

    # -- stage 0 -------------------------------------------------------------------------------
    def set_roles(self, operator: str, scribe: str, approver: str) -> None:
        from checks.config.text import clean_name   # person text is made safe once, where it enters (checks.config.text)
        operator, scribe, approver = (clean_name(name, field, required=False) for name, field in
                                      ((operator, "operator"), (scribe, "scribe"), (approver, "approver")))
        problem = approval_problem(approver, self.cluster, operator)
        if problem:
            raise self.refuse("set roles", f"roles refused: {problem}", 0)
        self.log("role", f"roles: operator {operator}, scribe {scribe}, approver {approver}", stage=0,
                 data={"roles": {"operator": operator, "scribe": scribe, "approver": approver}})

    async def run_freeze(self) -> list[CommandResult]:
        self.require(0, "freeze")
        await self.refresh()             # a config that cannot be acted on refuses this too
        results = []
        for command in self.cluster.freeze:
            result = await run_command(command.name, command.command, command.timeout_s)
            self.log_command(result, stage=0, step="freeze")
            results.append(result)
        return results

    def log_command(self, result: CommandResult, *, stage: int, step: str, **extra) -> Event:
        return self.log("action", result.summary(), stage=stage, data={
            "step": step, "name": result.name, "argv": list(result.argv), "exit_code": result.exit_code,
            "output": result.output, "duration_ms": result.duration_ms, "error": result.error, **extra})

    def skip_freeze(self, reason: str) -> None:
        from checks.config.text import clean_text   # person text is made safe once, where it enters (checks.config.text)
        reason = clean_text(reason, "the reason for skipping the freeze")
        self.require(0, "skip freeze")
        if not reason.strip():
            raise self.refuse("skip freeze", "skipping the freeze needs a reason", 0)
        self.log("decision", f"freeze skipped: {reason}", stage=0,
                 data={"skip_freeze": True, "reason": reason, "proposed_by": self.author})

    # -- another operator ------------------------------------------------------------------------
    def promoted_here(self) -> set[str]:
        """Nodes this incident sent a promotion to (stage 3 evidence, whatever it answered: a candidate
        that hung while pg_promote was on its way comes back writable by this incident's hand), and
        nodes it adopted (:mod:`checks.aftermath.adopt`)."""
        events = self.journal.events(kinds={"evidence", "decision"})
        return ({e.data.get("node") for e in events if e.stage == 3 and e.data.get("check") == "promoted"}
                | {e.data.get("candidate") for e in events if e.kind == "decision" and e.data.get("adopted")})

    def decision(self) -> dict:
        """The data of the last stage 1 decision that chose a candidate ({} before one)."""
        found = [e.data for e in self.journal.events(kinds={"decision"}) if e.stage == 1 and e.data.get("candidate")]
        return found[-1] if found else {}

    def promoted_elsewhere(self, view: ClusterView) -> list[str]:
        """Writers this incident did not make: a node it saw as a standby that is writable now, or a
        writer on a newer timeline than the one the decision was made on. That is another operator's
        (or an automatic) promotion: never to be fenced or replaced as if it were the old primary."""
        ours = self.promoted_here()
        decided = self.decision().get("old_primary_timeline")
        lines = []
        for n in view.nodes:
            s = n.sample
            if not s.writable or n.foreign or n.duplicate_of or n.name in ours:
                continue
            if n.name in self.standby_timelines:
                why = f"this incident saw it as a standby on timeline {self.standby_timelines[n.name]}"
            elif decided and s.timeline and s.timeline > decided:
                why = f"the decision was made when the primary was on timeline {decided}"
            else:
                continue
            lines.append(f"{n.name} is writable on timeline {s.timeline}, but {why} and this incident did not "
                         f"promote it: another operator (or an automatic failover) did")
        return lines

    def refuse_if_promoted_elsewhere(self, action: str, view: ClusterView, stage: int) -> None:
        lines = self.promoted_elsewhere(view)
        if lines:
            raise self.refuse(action, f"{action} refused: {'; '.join(lines)}. Do not fence or replace it from this "
                              "incident: find who promoted it (failover-cockpit status, the other incident) and "
                              "agree on one primary; if it is to stay the primary, adopt it as this incident's "
                              "(key d, or drill --adopt NODE)", stage)

    # -- stage 1 -------------------------------------------------------------------------------
    async def risk_for(self, candidate: str, view: ClusterView, final_lsn: str | None = None) -> DataRisk:
        """The data risk of promoting ``candidate`` now, compared along one timeline history."""
        from checks.observe.lineage import journaled_histories, read_branch

        mark = view.last_primary
        alive = bool(mark and any(n.name == mark.node and n.sample.writable for n in view.nodes))
        sample = view.node(candidate).sample
        samples = {n.name: n.sample for n in view.nodes if not n.foreign and not n.duplicate_of}
        branch = None
        if mark is not None:
            reference = final_lsn or mark.lsn
            branch = await read_branch(self.cluster, sample, mark.node, mark.timeline, reference, samples,
                                       journaled_histories(self.journal.events(kinds={"evidence"})))
        return data_risk(sample, mark, self.cluster.slo, utcnow(), final_lsn=final_lsn,
                         final_node=mark.node if mark else None, primary_alive=alive, branch=branch,
                         others=[s for name, s in samples.items() if name != candidate])

    async def choose(self, candidate: str | None = None) -> DataRisk:
        self.require(1, "choose a candidate")
        view = await self.refresh()
        self.refuse_if_promoted_elsewhere("choose a candidate", view, 1)
        ranked = rank_candidates(view, self.cluster)
        eligible = [c for c in ranked if c.eligible]
        if candidate is None:
            if not eligible:
                why = "; ".join(f"{c.name}: {c.reason}" for c in ranked)
                raise self.refuse("choose a candidate", f"no standby can be promoted: {why}", 1)
            candidate = eligible[0].name
        chosen = next((c for c in ranked if c.name == candidate), None)
        if chosen is None or not chosen.eligible:
            why = chosen.reason if chosen else "it is not a node of this cluster"
            raise self.refuse("choose a candidate", f"{candidate} cannot be the candidate: {why}", 1)
        risk = await self.risk_for(candidate, view)
        mark = view.last_primary
        self.log("decision", f"candidate {candidate}: {risk.statement}", stage=1, data={
            "candidate": candidate, "old_primary": mark.node if mark else None,
            "old_primary_timeline": mark.timeline if mark else None,
            "data_risk": risk.model_dump(mode="json"), "proposed_by": self.author,
            "ranking": [f"{c.name}: {'eligible' if c.eligible else c.reason} (received {c.receive_lsn})" for c in ranked]})
        return risk

    def approve(self, approver: str, note: str = "") -> None:
        from checks.config.text import clean_name, clean_text   # person text is made safe once, where it enters
        approver, note = clean_name(approver, "approver", required=False), clean_text(note, "the approval's note")
        state = self.require(1, "approve the data risk")
        if not state.candidate:
            raise self.refuse("approve", "there is nothing to approve yet: choose a candidate first", 1)
        problem = approval_problem(approver, self.cluster, state.roles.get("operator"))
        if problem:
            raise self.refuse("approve", f"approval refused: {problem}", 1)
        risk = (state.data_risk or {}).get("statement", "")
        measured = self.final_lsn_evidence(state.candidate)
        if measured:                     # after a switchover stopped: the approval covers what it measured
            risk = f"{risk}; measured by the fence sequence: {measured['text']}"
        self.log("approval", f"{approver} approves promoting {state.candidate}: {risk} {note}".strip(), stage=1,
                 data={"candidate": state.candidate, "approved_by": approver, "statement": risk})

    # -- stage 2 -------------------------------------------------------------------------------
    def final_lsn_evidence(self, candidate: str) -> dict | None:
        return final_lsn_evidence(self.journal.events(kinds={"evidence"}), candidate)

    def _fenced_nodes(self) -> set[str]:
        return {e.data.get("node") for e in self.journal.events(kinds={"action"})
                if e.stage == 2 and e.data.get("step") == "fence" and e.data.get("exit_code") == 0}

    def judge(self, state: RunbookState, view: ClusterView) -> dict:
        samples = {n.name: n.sample for n in view.nodes if not n.foreign}
        return judge_others(self.cluster, state.candidate, samples, old_primary=state.old_primary,
                            seen_as_standby=self.seen_as_standby, fenced=self._fenced_nodes())

    async def check_others(self) -> RunbookState:
        state = self.require(2, "check the old primary")
        view = await self.refresh()
        self.refuse_if_promoted_elsewhere("check the old primary", view, 2)
        evidence = self.judge(state, view)
        self.log("evidence", "; ".join(evidence["lines"]) or "no other node", stage=2, data=evidence)
        return self.state()

    def attest(self, node: str, approver: str, statement: str) -> None:
        from checks.config.text import clean_name, clean_text   # person text is made safe once, where it enters
        approver, statement = clean_name(approver, "approver", required=False), clean_text(statement, "the attestation")
        state = self.require(2, "attest")
        problem = approval_problem(approver, self.cluster, state.roles.get("operator"))
        if problem:
            raise self.refuse("attest", f"attestation refused: {problem}", 2)
        if not statement.strip():
            raise self.refuse("attest", "an attestation needs its words (\"host powered off, confirmed by ...\")", 2)
        self.log("approval", f"{approver} attests {node} is down: {statement}", stage=2,
                 data={"node": node, "approved_by": approver, "attestation": statement})
