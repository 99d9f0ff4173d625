"""Stage 3, Promote: every gate re-checked just before it acts, then ``pg_promote(wait => false)`` and fast polling.

Promotion re-checks everything first: the candidate still in recovery, no other node
writable or unproven, the data risk no worse than the one decided.

``pg_promote(wait => true)`` and ``pg_ctl promote`` poll at 100 ms, so they never
return sooner; the server is writable ~20-40 ms after the call, so we poll every
``poll_s`` ourselves (3 ms: each poll is one round trip, and a switchover's pause waits
on it). Promoting a node that is already out of recovery is harmless: it is reported as
already promoted, and nothing is sent.
"""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel, ConfigDict

from checks.config.redact import redact
from checks.errors import error_line
from checks.incident.evidence import Check
from checks.observe.connect import NodeUnreachable
from checks.observe.divergence import DivergenceError, read_node
from checks.observe.queries import IN_RECOVERY, PROMOTE_NO_WAIT, WRITABLE_CHECK
from checks.runbook.gates import attestations
from checks.runbook.operation import Operation
from checks.runbook.risk import DataRisk
from checks.stages.freshness import risk_for
from checks.stages.old_primary import measured_loss_approved

_RISK_RANK = {"zero": 0, "known": 1, "at_least": 2, "unknown": 3}


class PromotionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    node: str
    promoted: bool              # out of recovery and read-write at the end
    already: bool = False       # it was out of recovery before we sent anything
    promote_to_writable_ms: float | None = None
    error: str | None = None

    def sentence(self) -> str:
        if self.error:
            return f"promoting {self.node} failed: {self.error}"
        if self.already:
            return f"{self.node} was already promoted: nothing sent"
        return f"{self.node} promoted: writable {self.promote_to_writable_ms:.0f} ms after pg_promote"


async def promote_on(conn, name: str, statement_timeout_s: float, *, poll_s: float = 0.003,
                     timeout_s: float = 60.0) -> PromotionResult:
    """Promote over an open connection: nothing is sent to a node already out of recovery."""
    t = statement_timeout_s
    try:
        if not await conn.fetchval(IN_RECOVERY, timeout=t):
            return PromotionResult(node=name, promoted=True, already=True)
        started = time.monotonic()
        accepted = await conn.fetchval(PROMOTE_NO_WAIT, timeout=t)
        if accepted is False:
            return PromotionResult(node=name, promoted=False, error="pg_promote() returned false")
        deadline = started + timeout_s
        while True:
            row = await conn.fetchrow(WRITABLE_CHECK, timeout=t)
            if not row["in_recovery"] and row["tx_read_only"] == "off":
                ms = round((time.monotonic() - started) * 1000, 1)
                return PromotionResult(node=name, promoted=True, promote_to_writable_ms=ms)
            if time.monotonic() > deadline:
                return PromotionResult(node=name, promoted=False, error=f"still in recovery {timeout_s:g}s after pg_promote")
            await asyncio.sleep(poll_s)
    except (asyncio.TimeoutError, TimeoutError):
        return PromotionResult(node=name, promoted=False,
                               error=f"{name} stopped answering ({t:g}s statement timeout) during promotion")
    except Exception as exc:  # noqa: BLE001 - a server error is a result to journal, not a crash
        return PromotionResult(node=name, promoted=False, error=redact(error_line(exc)))


def _worse(new: DataRisk, decided: dict) -> bool:
    if new.other_branch and not decided.get("other_branch"):
        return True
    if _RISK_RANK[new.kind] > _RISK_RANK.get(decided.get("kind", "unknown"), 3):
        return True
    return (new.bytes or 0) > (decided.get("bytes") or 0)


async def promote_candidate(op: Operation, confirm: str) -> PromotionResult:
    """Re-check every gate, promote, journal the timeline switch (one record re-render, at the end)."""
    with op.one_record_update():
        return await _promote_candidate(op, confirm)


async def _promote_candidate(op: Operation, confirm: str) -> PromotionResult:
    state = op.require(3, "promote", closed_ok=True)
    candidate = state.candidate
    if state.stage(3).status == "passed":   # harmless even on a closed incident: nothing is sent
        op.log("note", f"promote pressed again: {candidate} is already promoted; nothing sent", stage=3)
        return PromotionResult(node=candidate, promoted=True, already=True)
    op.require(3, "promote")                 # anything that would act: refused on a closed incident
    if confirm != candidate:
        raise op.refuse("promote", f"promotion not confirmed: type the candidate's name exactly ('{candidate}')", 3)
    # the promotion's connection opens while the gates' round runs: inside a switchover's pause each
    # connection opened in turn is ~10 ms that every Odoo request waits
    async with op.connection_opening(candidate, purpose="promote") as opening:
        result, timeline = await _recheck_and_promote(op, state, candidate, opening)
    op.log("evidence", result.sentence(), stage=3, data={
        "check": Check.PROMOTED, "passed": result.promoted, "node": candidate, "already": result.already,
        "promote_to_writable_ms": result.promote_to_writable_ms, "error": result.error})
    if timeline is not None:
        journal_timeline_switch(op, candidate, timeline)
    if not op.consoles:    # a switchover holding Odoo paused cuts over first; verify takes the next round
        await op.refresh()
    return result


async def _recheck_and_promote(op: Operation, state, candidate: str, opening) -> tuple[PromotionResult, object]:
    """Every gate on a fresh round, then the promotion on the connection ``opening`` gives."""
    view = await op.refresh()
    op.refuse_if_promoted_elsewhere("promote", view, 3)
    sample = view.node(candidate).sample
    if not sample.reachable:
        raise op.refuse("promote", f"{candidate} is unreachable now ({sample.error}): choose again at stage 1", 3)
    evidence = op.judge(state, view)
    for name, fact in sorted(evidence["nodes"].items()):
        attested = name in attestations(op.cluster, op.journal.events(kinds={"approval"}), state.roles.get("operator"))
        if fact["writable"]:
            raise op.refuse("promote", f"promotion refused: {name} is writable again; fence it (stage 2) first", 3)
        if fact["needs_proof"] and not fact["fenced"] and not attested:
            raise op.refuse("promote", f"promotion refused: {name} is unreachable but not proven down; "
                            "fence it or have an approver attest it", 3)
    if sample.in_recovery:
        final = op.final_lsn_evidence(candidate)
        risk = await risk_for(op, candidate, view, final_lsn=final["final_lsn"] if final else None)
        decided = state.data_risk or {}
        if decided.get("pending_fence") and risk.kind != "zero" and not (
                final and measured_loss_approved(op, candidate, final["node"])):
            raise op.refuse("promote", f"promotion refused: a planned switchover promotes only with its proof of "
                            f"zero loss, and the fence sequence did not prove it ({risk.statement}); an approver "
                            "must approve this measured risk at stage 1 first", 3)
        if not decided.get("pending_fence") and _worse(risk, decided):
            raise op.refuse("promote", f"promotion refused: the data risk changed since it was decided "
                            f"(now: {risk.statement}); decide again at stage 1", 3)
        op.log("evidence", f"re-check before promotion: {risk.statement}", stage=3,
               data={"check": Check.PRE_PROMOTE, "data_risk": risk.model_dump(mode="json")})
    node = op.cluster.node(candidate)
    timeline: tuple | DivergenceError | None = None
    try:
        conn = await opening
        result = await promote_on(conn, candidate, op.cluster.sampling.statement_timeout_s)
        # on the promotion's connection (a new one is ~12 ms); not while a switchover holds Odoo paused:
        # there the cutover reads it after its RESUME (journal_timeline_if_missing), off the pause
        if result.promoted and not result.already and not op.consoles:
            try:
                timeline = await read_node(node, op.cluster, conn)
            except DivergenceError as exc:
                timeline = exc
    except NodeUnreachable as exc:
        result = PromotionResult(node=candidate, promoted=False, error=str(exc))
    return result, timeline


async def journal_timeline_if_missing(op: Operation, node: str) -> None:
    """The promoted node's timeline switch, read on a connection of its own, when this incident
    promoted ``node`` and has not journaled it since (a switchover's promotion leaves it to the
    cutover, once Odoo is resumed; a cockpit that stopped in between has it read at the next cutover)."""
    promoted = switched = None
    for e in op.journal.events(kinds={"evidence"}):
        if e.data.get("node") == node and e.data.get("check") == Check.PROMOTED and e.data.get("passed"):
            promoted = e.id
        elif e.data.get("node") == node and e.data.get("check") == Check.TIMELINE_SWITCH:
            switched = e.id
    if promoted is None or (switched is not None and switched > promoted):
        return
    try:
        read: tuple | DivergenceError = await read_node(op.cluster.node(node), op.cluster)
    except DivergenceError as exc:
        read = exc
    journal_timeline_switch(op, node, read)


def journal_timeline_switch(op: Operation, node: str, read: tuple | DivergenceError) -> None:
    """Journal the promoted node's position and timeline history: a later rollback can judge
    divergence from it even once this node is fenced and cannot be read."""
    if isinstance(read, DivergenceError):
        op.log("note", f"timeline history of {node} not journaled: {read}", stage=3)
        return
    position, history = read
    switch = history[-1] if history else None
    text = (f"{node} is on timeline {position.timeline}, switched from timeline {switch.parent_tli} at "
            f"{switch.switch_lsn}" if switch else f"{node} is on timeline {position.timeline}")
    op.log("evidence", text, stage=3, data={"check": Check.TIMELINE_SWITCH, "node": node,
                                            "position": position.model_dump(mode="json"),
                                            "history": [h.model_dump(mode="json") for h in history]})
