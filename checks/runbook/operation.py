"""The operation: the thin context every runbook action runs in.

It journals (:meth:`Operation.log`), refuses with a journaled sentence (:meth:`Operation.refuse`),
holds the gate (:meth:`Operation.require`), samples every node afresh (:meth:`Operation.refresh`)
and remembers what this incident saw (who was a standby, on which timeline, whose promotion
was ours). The actions themselves are functions in their stage's module, ``checks.stages.*``
(and ``checks.aftermath.*``), each taking an Operation first: the cockpit, ``drill`` and
training call the same ones. The rules live once: :mod:`checks.runbook.gates` (gates),
:mod:`checks.runbook.others` (no other writer), :mod:`checks.runbook.risk` (data risk). A refused
action raises :class:`GateRefused` with one sentence (which gate, why, what would unlock it),
journaled too: training scores count them.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from typing import Any, Callable

from checks.config.model import Cluster
from checks.errors import CockpitError
from checks.incident.evidence import Check
from checks.incident.fences import fences_of
from checks.incident.journal import Event, Journal
from checks.observe.assess import ClusterView, Watch
from checks.observe.connect import connection_opening
from checks.observe.sampler import NodeSampler, sample_all
from checks.runbook.commands import CommandResult
from checks.runbook.gate_events import GATE_KINDS, GateEvents
from checks.runbook.gates import STAGES, RunbookState, final_lsn_evidence, judge, locked_sentence
from checks.runbook.others import judge_others


class GateRefused(CockpitError):
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
        self._gates = GateEvents()            # the journal's gate events, read once each (every seat's)
        self._gates_read = 0                  # the id of the last event fed to it
        self._gates_lock = threading.Lock()
        self.watch = Watch(cluster_name, cluster)
        self._watch_lock = threading.Lock()       # the cockpit's screen observes while an action thread refreshes
        self.seen_as_standby: set[str] = set()
        self.standby_timelines: dict[str, int | None] = {}   # every node seen in recovery, and on which timeline
        self.on_progress: Callable[[str], None] | None = None   # a long step's progress lines (drill prints them)
        self.on_logged: Callable[[Event], None] | None = None   # every entry, at once (the notify hook's queue)
        self.view: ClusterView | None = None
        self.app_writers: dict[str, str] = {}   # unreachable nodes Odoo writes to through a pooler (last probe)
        self._samplers = {n.name: NodeSampler(n, cluster.sampling) for n in cluster.nodes}
        # PgBouncer console sessions a planned switchover opened before its PAUSE, by PgBouncer name,
        # for the cutover's RESUME (checks.stages.pgbouncer.AdminConsole); closed with the others
        self.consoles: dict[str, Any] = {}
        # a resumed incident: what the journal's samples show (its turning points, not every sample)
        for sample in journal.turning_samples(slo_replay_delay_s=cluster.slo.max_replay_delay_s):
            self._remember(sample)

    # -- the journal ---------------------------------------------------------------------------
    def log(self, kind: str, text: str, *, stage: int | None = None, data: dict | None = None) -> Event:
        event = self.journal.append(kind, text, seat=self.seat, author=self.author, stage=stage, data=data)
        if self.on_logged is not None:
            self.on_logged(event)
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
        with self._gates_lock:
            current = judge(self.cluster, self._caught_up()).current
            shown = self._gates.last_stage_note
        if shown is not None and shown.data.get("stage") == current:
            return
        title = STAGES[current][1] if current < len(STAGES) else "Close"
        self.log("stage", f"stage {current} {title} is open" if current < len(STAGES) else "every stage passed",
                 stage=current if current < len(STAGES) else None, data={"stage": current, "name": title})

    def _caught_up(self) -> GateEvents:
        """The gate events with every entry journaled since the last read (any seat's); under _gates_lock."""
        for event in self.journal.events(after_id=self._gates_read):
            self._gates.add(event)
            self._gates_read = event.id
        return self._gates

    def state(self) -> RunbookState:
        with self._gates_lock:
            return judge(self.cluster, self._caught_up())

    def standing_close(self) -> Event | None:
        """The close that stands (None: the incident is open)."""
        with self._gates_lock:
            return self._caught_up().standing_close

    def refuse(self, action: str, sentence: str, stage: int | None = None, **data) -> GateRefused:
        """Journal the refusal (``data`` says what would unlock it) and return the exception to raise."""
        self.log("system", f"refused: {action}: {sentence}", stage=stage,
                 data={"refused": True, "action": action, **data})
        return GateRefused(sentence)

    def require(self, stage: int, action: str, *, closed_ok: bool = False) -> RunbookState:
        """The state, if ``stage`` is unlocked and the incident is not closed (a closed incident acts no
        more until reopened: a new fault is a new incident); else the journaled refusal."""
        from checks.runbook.gates import closed_sentence

        closed = None if closed_ok else self.standing_close()
        if closed is not None:
            raise self.refuse(action, f"{action} refused: {closed_sentence(closed, self.journal.incident_id)}", stage)
        state = self.state()
        if state.stage(stage).status == "locked":
            raise self.refuse(action, locked_sentence(state, stage, action), stage)
        return state

    def reopen(self) -> str | None:
        """Reopen a closed incident (journaled; only what is verified after it counts); None when open."""
        from checks.runbook.gates import reopen_data

        standing = self.standing_close()
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

    async def probe_app_path(self, view: ClusterView) -> dict[str, str]:
        """Ask every PgBouncer where a new client lands, when some node does not answer the bastion:
        a node Odoo still writes to is alive, whatever the bastion sees. Journaled as evidence when
        it finds one; kept in :attr:`app_writers` for the judgement."""
        from checks.observe.headline import hidden_writers
        from checks.observe.pooler import probe_app_path

        fenced = self._fenced_nodes()       # a fence that succeeded is the proof the gates accept anyway
        if not self.cluster.pgbouncers or all(n.sample.reachable or n.name in fenced
                                              for n in view.nodes if not n.foreign):
            self.app_writers = {}
            return self.app_writers
        probes = await probe_app_path(self.cluster, {n.name: n.sample for n in view.nodes})
        self.app_writers = hidden_writers(view, probes)
        for node, sentence in self.app_writers.items():
            self.log("evidence", f"{node} does not answer the bastion, but {sentence}", data={
                "check": Check.APP_PATH, "node": node,
                "probes": [p.model_dump(mode="json") for p in probes if p.reaches == node]})
        return self.app_writers

    def connection_opening(self, name: str, *, purpose: str):
        """A connection to node ``name`` that starts opening now, in the background
        (:func:`checks.observe.connect.connection_opening`): an action opens it while it re-checks."""
        return connection_opening(self.cluster.node(name), self.cluster.sampling, purpose=purpose)

    async def close(self) -> None:
        """Close this operation's connections (it reconnects when used again)."""
        consoles, self.consoles = list(self.consoles.values()), {}
        await asyncio.gather(*(s.close() for s in self._samplers.values()), *(c.close() for c in consoles))

    # -- the journal, for actions ----------------------------------------------------------------
    def log_command(self, result: CommandResult, *, stage: int, step: str, **extra) -> Event:
        return self.log("action", result.summary(), stage=stage, data={
            "step": step, "name": result.name, "argv": list(result.argv), "exit_code": result.exit_code,
            "output": result.output, "duration_ms": result.duration_ms, "error": result.error, **extra})

    # -- another operator ------------------------------------------------------------------------
    def promoted_here(self) -> set[str]:
        """Nodes this incident sent a promotion to (stage 3 evidence, whatever it answered: a candidate
        that hung while pg_promote was on its way comes back writable by this incident's hand), and
        nodes it adopted (:mod:`checks.aftermath.adopt`)."""
        events = self.journal.events(kinds={"evidence", "decision"})
        return ({e.data.get("node") for e in events if e.stage == 3 and e.data.get("check") == Check.PROMOTED}
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

    # -- stage 2 -------------------------------------------------------------------------------
    def final_lsn_evidence(self, candidate: str) -> dict | None:
        return final_lsn_evidence(self.journal.events(kinds={"evidence"}), candidate)

    def _fenced_nodes(self) -> set[str]:
        return set(fences_of(self.journal.events(kinds={"action"})))

    def judge(self, state: RunbookState, view: ClusterView) -> dict:
        samples = {n.name: n.sample for n in view.nodes if not n.foreign}
        return judge_others(self.cluster, state.candidate, samples, old_primary=state.old_primary,
                            seen_as_standby=self.seen_as_standby, fenced=self._fenced_nodes(),
                            app_writers=self.app_writers)
