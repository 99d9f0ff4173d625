"""Split brain, resolved from where it is seen: keep one writer, fence the others.

Two writable nodes (or an old primary back on an older timeline beside a new one) is the
alarm every seat shows. This is the way out, at any stage, with an incident open or closed
(it is the incident's aftermath, like a rollback): the operator chooses which writer stays.

* :func:`propose` samples every node (``Operation.refresh``), reads where PgBouncer sends Odoo
  (``SHOW DATABASES``) and each writer's timeline, proposes the writer Odoo reaches (else the
  newest timeline), and says what each choice discards: the other writers' divergence, measured
  by :func:`checks.observe.divergence.gather_divergence` (bytes after the fork, or only a restart
  checkpoint).
* :func:`keep_one_writer` re-measures all of it, refuses what its gates do not allow (no split
  brain, a node to keep that is not writable, a writer another operator promoted, the typed name
  wrong, transactions discarded without an approver's approval), journals the alarm and the
  decision, runs each other writer's configured fence command (``run_with_progress``, its
  ``fence_timeout_s``), then confirms exactly the kept node is writable
  (:func:`checks.runbook.one_writer.confirm_one_writer`).
* An approval is needed when a fenced writer holds transactions the kept one lacks: headless,
  ``--approver`` names them; in the cockpit the approver seat approves the request the refusal
  journaled (:func:`approve_keep`). A listed approver who is not the operator, as everywhere.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict

from checks.config.text import clean_name
from checks.incident.evidence import Check, Step
from checks.observe.divergence import DivergenceError, gather_divergence
from checks.observe.lsn import human_bytes
from checks.observe.sample import iso_utc
from checks.runbook.gates import approval_problem
from checks.runbook.one_writer import confirm_one_writer
from checks.runbook.operation import Operation
from checks.stages.fence import run_with_progress
from checks.stages.pgbouncer import PgBouncerError, admin_show, entry_target

ACTION = "keep one writer"


def _names(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class Discard(BaseModel):
    """What fencing ``node`` (and keeping ``kept``) discards: the WAL only ``node`` holds."""

    model_config = ConfigDict(frozen=True)

    node: str
    kept: str
    holds_transactions: bool          # or it cannot be told: then it is treated as holding some
    bytes_after_fork: int | None = None
    restart_checkpoint_only: bool = False
    text: str


class Choice(BaseModel):
    """Keeping ``keep``: the writers fenced, what that discards, and whether an approver must approve."""

    model_config = ConfigDict(frozen=True)

    keep: str
    fence: tuple[str, ...]
    discards: tuple[Discard, ...]

    @property
    def needs_approval(self) -> bool:
        return any(d.holds_transactions for d in self.discards)

    @property
    def lost_bytes(self) -> int | None:
        """WAL after the fork on the fenced writers (None when some cannot be measured)."""
        sizes = [d.bytes_after_fork for d in self.discards]
        return None if any(s is None for s in sizes) else sum(sizes)

    @property
    def statement(self) -> str:
        return f"keeping {self.keep} fences {_names(self.fence)}: " + "; ".join(d.text for d in self.discards)


class Proposal(BaseModel):
    model_config = ConfigDict(frozen=True)

    problem: str                      # the split-brain sentence of this round
    writers: tuple[str, ...]
    timelines: dict[str, int | None]
    odoo_on: tuple[str, ...]          # writers PgBouncer sends Odoo to
    proposed: str | None
    why: str
    choices: tuple[Choice, ...]

    def choice(self, keep: str) -> Choice:
        return next(c for c in self.choices if c.keep == keep)

    def sentence(self) -> str:
        """The proposal in one sentence: "proposed: keep node2 (Odoo reaches node2 through PgBouncer ...)"."""
        return f"proposed: keep {self.proposed} ({self.why})" if self.proposed else f"no proposal: {self.why}"

    def lines(self) -> list[str]:
        return [self.problem, self.sentence(), *(c.statement for c in self.choices)]


# ---- reading -----------------------------------------------------------------------------------

async def odoo_targets(cluster) -> tuple[dict[str, list[str]], list[str]]:
    """Where PgBouncer sends each database now (SHOW DATABASES): {node: ["pgb1/odoo", ...]}, and
    a sentence per PgBouncer that could not be read or points at no configured node."""
    by_node: dict[str, list[str]] = {}
    problems: list[str] = []
    for pgb in cluster.pgbouncers:
        try:
            shown = await admin_show(pgb, "databases")
        except PgBouncerError as exc:
            problems.append(f"where PgBouncer sends Odoo is unknown ({exc})")
            continue
        for db in pgb.databases:
            host, port = entry_target(shown, db)
            node = next((n.name for n in cluster.nodes if (n.host, n.port) == (host, port)), None)
            if node is None:
                problems.append(f"PgBouncer {pgb.name} sends {db} to {host}:{port}, which is no configured node")
            else:
                by_node.setdefault(node, []).append(f"{pgb.name}/{db}")
    return by_node, problems


async def measure_discard(cluster, fenced: str, kept: str, timelines: dict[str, int | None]) -> Discard:
    """What only ``fenced`` holds, compared with ``kept`` (gather_divergence is the judge)."""
    tf, tk = timelines.get(fenced), timelines.get(kept)
    if tf is not None and tk is not None and tf > tk:
        # the writer to fence is the newer timeline: everything written through it since it took over
        try:
            d = await gather_divergence(cluster, kept, fenced)
            since = f" since it took over at {d.switch_lsn} on timeline {d.switch_timeline}"
        except DivergenceError:
            since = " since it was promoted"
        return Discard(node=fenced, kept=kept, holds_transactions=True,
                       text=f"{fenced} is on timeline {tf}, newer than {kept}'s timeline {tk}: everything written "
                            f"through {fenced}{since} (Odoo's writes, when Odoo was on it) exists only on {fenced}")
    try:
        d = await gather_divergence(cluster, fenced, kept)
    except DivergenceError as exc:
        return Discard(node=fenced, kept=kept, holds_transactions=True,
                       text=f"what {fenced} holds that {kept} lacks cannot be measured ({exc}), so it is treated "
                            f"as transactions {kept} lacks")
    where = f"after {kept} took over at {d.switch_lsn} on timeline {d.switch_timeline}"
    if not d.diverged:
        return Discard(node=fenced, kept=kept, holds_transactions=False, bytes_after_fork=0,
                       text=f"{fenced} holds nothing {kept} lacks (no WAL {where})")
    if d.restart_checkpoint_only:
        return Discard(node=fenced, kept=kept, holds_transactions=False, bytes_after_fork=d.bytes_after_fork,
                       restart_checkpoint_only=True,
                       text=f"{fenced} holds only its own restart checkpoint ({human_bytes(d.bytes_after_fork)} of "
                            f"WAL {where}, no transaction): no committed row is lost")
    return Discard(node=fenced, kept=kept, holds_transactions=True, bytes_after_fork=d.bytes_after_fork,
                   text=f"{fenced} holds {human_bytes(d.bytes_after_fork)} of WAL written {where}: transactions "
                        f"{kept} lacks, which leave service with {fenced} (they stay in its data directory: dump "
                        f"them before rewinding it; failover-cockpit divergence --old {fenced} --new {kept})")


async def propose(op: Operation) -> Proposal:
    """One sampling round (journaled), then the proposal; refused (journaled) when there is no split
    brain to resolve."""
    view = await op.refresh()
    writers = tuple(view.writable)
    if not view.split_brain or len(writers) < 2:
        if len(writers) == 1 and view.split_brain:
            why = (f"only {writers[0]} accepts writes ({view.problems[0]}); there is no second writer to keep, so "
                   f"fence {writers[0]} (stage 2, x) or bring the new primary back first")
        elif len(writers) == 1:
            why = f"{writers[0]} is the one writer, so there is nothing to fence"
        else:
            why = "no node accepts writes"
        raise op.refuse(ACTION, f"{ACTION} refused: there is no split brain: {why}")
    timelines = {w: view.node(w).sample.timeline for w in writers}
    (targets, problems) = await odoo_targets(op.cluster)
    odoo_on = tuple(w for w in writers if w in targets)
    pairs = [(k, f) for k in writers for f in writers if f != k]
    measured = await asyncio.gather(*(measure_discard(op.cluster, f, k, timelines) for k, f in pairs))
    found = dict(zip(pairs, measured))
    choices = tuple(Choice(keep=k, fence=tuple(f for f in writers if f != k),
                           discards=tuple(found[(k, f)] for f in writers if f != k)) for k in writers)
    newest = max(timelines.values(), key=lambda t: t or 0)
    on_newest = [w for w in writers if timelines[w] == newest]
    reasons, proposed = [], None
    if len(odoo_on) == 1:
        proposed = odoo_on[0]
        reasons.append(f"Odoo reaches {proposed} through PgBouncer ({', '.join(targets[proposed])})")
    if len(on_newest) == 1:
        proposed = proposed or on_newest[0]
        reasons.append(f"{on_newest[0]} is on the newest timeline, {newest}")
    if proposed is None:
        reasons.append("neither PgBouncer nor the timelines single out one writer" +
                       (f" ({'; '.join(problems)})" if problems else ""))
    return Proposal(problem=view.problems[0] if view.problems else "split brain", writers=writers,
                    timelines=timelines, odoo_on=odoo_on, proposed=proposed, why="; ".join(reasons),
                    choices=choices)


# ---- approvals ---------------------------------------------------------------------------------

def _since_last_resolution(events) -> list:
    events = list(events)
    done = [i for i, e in enumerate(events) if e.kind == "decision" and (e.data or {}).get("keep_one_writer")]
    return events[done[-1] + 1:] if done else events


def pending_keep(events) -> dict | None:
    """The resolution waiting for an approver: the last refusal that asked for one, unless an approval
    for it, or a resolution, came later."""
    for event in reversed(_since_last_resolution(events)):
        data = event.data or {}
        if event.kind == "approval" and data.get("keep_one_writer"):
            return None
        if event.kind == "system" and data.get("action") == ACTION and data.get("needs_approval"):
            return data
    return None


def _covers(data: dict, choice: Choice, lost: int | None, slo_bytes: int) -> bool:
    if data.get("keep") != choice.keep or sorted(data.get("fence") or []) != sorted(choice.fence):
        return False
    named = data.get("lost_bytes", -1)
    return named is None or (lost is not None and lost <= named + slo_bytes)


def seat_approval(op: Operation, choice: Choice, operator: set[str]) -> str | None:
    """Who approved this choice from the approver seat since the last resolution: an approval covers
    the amount it named plus the SLO; one of an unknown amount covers any."""
    for event in reversed(_since_last_resolution(op.journal.events(kinds={"approval", "decision"}))):
        data = event.data or {}
        if event.kind != "approval" or not data.get("keep_one_writer") or event.seat != "approver":
            continue
        who = data.get("approved_by")
        if any(approval_problem(who, op.cluster, o) for o in operator or {None}):
            continue
        if _covers(data, choice, choice.lost_bytes, op.cluster.slo.max_data_risk_bytes):
            return who
    return None


def approve_keep(op: Operation, approver: str) -> str:
    """The approver seat approves the resolution that waits for it; returns the sentence journaled."""
    approver = clean_name(approver, "approver", required=False)
    pending = pending_keep(op.journal.events())
    if pending is None:
        raise op.refuse("approve", "there is no split-brain resolution waiting for an approval: the operator "
                        "chooses the writer to keep first (K)")
    for operator in {op.state().roles.get("operator"), pending.get("operator")}:
        problem = approval_problem(approver, op.cluster, operator)
        if problem:
            raise op.refuse("approve", f"approval refused: {problem}")
    sentence = f"{approver} approves keeping {pending['keep']} and fencing {_names(pending['fence'])}: " \
               f"{pending['statement']}"
    op.log("approval", sentence, data={"keep_one_writer": True, "keep": pending["keep"], "fence": pending["fence"],
                                       "approved_by": approver, "lost_bytes": pending.get("lost_bytes"),
                                       "statement": pending["statement"]})
    return sentence


# ---- the action --------------------------------------------------------------------------------

class KeepResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    keep: str
    fenced: tuple[str, ...]
    statement: str

    def sentence(self) -> str:
        return f"one writer remains, {self.keep}: {_names(self.fenced)} fenced; {self.statement}"


async def keep_one_writer(op: Operation, keep: str, *, confirm: str, approver: str | None = None) -> KeepResult:
    """Keep ``keep``, fence every other writer (``confirm``: their names, typed, comma-separated)."""
    with op.one_record_update():
        return await _keep_one_writer(op, keep, confirm=confirm, approver=approver)


async def _keep_one_writer(op: Operation, keep: str, *, confirm: str, approver: str | None) -> KeepResult:
    approver = None if approver is None else clean_name(approver, "approver", required=False)
    names = [n.name for n in op.cluster.nodes]
    if keep not in names:
        raise op.refuse(ACTION, f"{ACTION} refused: '{keep}' is not a node of this cluster (nodes: {', '.join(names)})")
    proposal = await propose(op)
    if keep not in proposal.writers:
        sample = next((n.sample for n in (op.view.nodes if op.view else ()) if n.name == keep), None)
        state = ("unreachable" if sample is None or not sample.reachable else
                 f"read-only ({sample.read_only_words()})")
        raise op.refuse(ACTION, f"{ACTION} refused: {keep} is {state}, not one of the writers; keep one of "
                        f"{_names(proposal.writers)}")
    choice = proposal.choice(keep)
    elsewhere = op.promoted_elsewhere(op.view.model_copy(update={
        "nodes": tuple(n for n in op.view.nodes if n.name in choice.fence)}))
    if elsewhere:
        raise op.refuse(ACTION, f"{ACTION} refused: {'; '.join(elsewhere)}. Do not fence it from this incident: "
                        "find who promoted it and agree on one primary")
    typed = ", ".join(choice.fence)
    if confirm.strip() != typed:
        raise op.refuse(ACTION, f"{ACTION} not confirmed: type the name of the node to fence exactly ('{typed}')")
    operators = {o for o in (op.state().roles.get("operator"), op.author) if o}
    approved_by = None
    if choice.needs_approval:
        if approver:
            for operator in operators:
                problem = approval_problem(approver, op.cluster, operator)
                if problem:
                    raise op.refuse(ACTION, f"{ACTION} refused: --approver refused: {problem}")
            op.log("approval", f"{approver} approves keeping {keep} and fencing {typed}: {choice.statement}",
                   data={"keep_one_writer": True, "keep": keep, "fence": list(choice.fence), "approved_by": approver,
                         "lost_bytes": choice.lost_bytes, "statement": choice.statement})
            approved_by = approver
        else:
            approved_by = seat_approval(op, choice, operators)
        if approved_by is None:
            listed = ", ".join(a for a in op.cluster.approvers if a not in operators) or "none listed"
            raise op.refuse(ACTION, f"{ACTION} refused: {choice.statement}. Discarding transactions needs an "
                            f"approver who is not the operator ({listed}): pass --approver WHO, or have the approver "
                            "approve it from the approver seat (key K) and press K again",
                            needs_approval=True, keep=keep, fence=list(choice.fence), lost_bytes=choice.lost_bytes,
                            statement=choice.statement, operator=op.author)
    op.log("alarm", f"{proposal.problem}; " + "; ".join(proposal.lines()[1:]), data={
        "writable": list(proposal.writers), "first_bad_at": iso_utc(op.view.observed_at), "keep_one_writer": True,
        "proposed": proposal.proposed, "timelines": proposal.timelines, "odoo_on": list(proposal.odoo_on)})
    op.log("decision", f"keep {keep} as the one writer, fence {typed}: {choice.statement}"
           + (f"; approved by {approved_by}" if approved_by else ""), data={
               "keep_one_writer": True, "keep": keep, "fence": list(choice.fence), "proposed": proposal.proposed,
               "proposed_by": op.author, "approved_by": approved_by, "lost_bytes": choice.lost_bytes,
               "discards": [d.model_dump(mode="json") for d in choice.discards]})
    failed = None
    for name in choice.fence:
        node = op.cluster.node(name)
        if not node.fence:
            failed = f"{name} has no fence command configured"
            op.log("action", f"fence {name}: {failed}", stage=2,
                   data={"step": Step.FENCE, "node": name, "exit_code": None, "keep_one_writer": True})
            break
        result = await run_with_progress(f"fence {name}", node.fence, node.fence_timeout_s, op.on_progress)
        op.log_command(result, stage=2, step=Step.FENCE, node=name, keep_one_writer=True)
        if not result.ok:
            failed = f"fencing {name} failed ({result.summary()})"
            break
    problem = await confirm_one_writer(op, keep)
    op.log("evidence", f"one writer after the fence: {problem or f'exactly {keep} accepts writes'}",
           data={"check": Check.ONE_WRITER, "keep_one_writer": True, "keep": keep, "passed": not problem and not failed})
    if failed or problem:
        raise op.refuse(ACTION, f"{ACTION} failed: {failed or problem}" + (f"; {problem}" if failed and problem else ""),
                        keep=keep, fence=list(choice.fence))
    return KeepResult(keep=keep, fenced=choice.fence, statement=choice.statement)
