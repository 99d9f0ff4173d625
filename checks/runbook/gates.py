"""The runbook as a pure stage machine (docs/design.md section 1): journaled evidence in, gate state out.

Nothing here performs I/O. ``evaluate`` reads the incident's events (roles, command
results, evidence, decisions, approvals) and says, for every stage, whether it is
locked, open, passed, overridden or failed, what its gate still needs, and the next
action. The same function runs in the cockpit, in ``drill`` and on restart, so a
resumed incident lands on the same stage with the same evidence.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from checks.config.model import Cluster
from checks.incident.evaluation import Evaluation, standing_evaluation
from checks.incident.evidence import STAGES, VERIFY_CHECKS, Check, Step
from checks.observe.sample import iso_utc
from checks.runbook.gate_events import GateEvents
from checks.runbook.others import latest_check

Status = Literal["locked", "open", "passed", "overridden", "failed"]


class EventLike(Protocol):
    at: datetime
    kind: str
    author: str
    seat: str
    stage: int | None
    text: str
    data: dict[str, Any] | None


class StageState(BaseModel):
    model_config = ConfigDict(frozen=True)

    number: int
    title: str
    status: Status
    gate: str                       # what leaving the stage needs, or how it was met
    next_action: str = ""
    evidence: tuple[str, ...] = ()


class RunbookState(BaseModel):
    model_config = ConfigDict(frozen=True)

    stages: tuple[StageState, ...]
    roles: dict[str, str]
    candidate: str | None = None
    old_primary: str | None = None
    data_risk: dict | None = None
    closed: bool = False
    evaluation: Evaluation | None = None    # the evaluation that stands (None: none journaled yet)

    @property
    def current(self) -> int:
        """The first stage not yet passed (6 when every stage passed)."""
        for stage in self.stages:
            if stage.status not in ("passed", "overridden"):
                return stage.number
        return 6

    def stage(self, number: int) -> StageState:
        return self.stages[number]


def _data(event: EventLike) -> dict:
    return event.data or {}


def roles_of(events: Iterable[EventLike]) -> dict[str, str]:
    """The roles the incident's ``role`` events name (the latest of each)."""
    return GateEvents(events).roles


def approval_problem(approver: str | None, cluster: Cluster, operator: str | None) -> str:
    """Why ``approver`` cannot approve (empty when they can): listed, and never the operator."""
    if not approver:
        return "an approval needs an approver's name"
    if approver not in cluster.approvers:
        listed = ", ".join(cluster.approvers) or "nobody (the config lists no approvers)"
        return f"'{approver}' is not an approver of this cluster (approvers: {listed})"
    if operator and approver == operator:
        return f"'{approver}' is the operator: the operator can never approve their own action"
    return ""


def locked_sentence(state: RunbookState, stage: int, action: str) -> str:
    """Why ``action`` (of ``stage``) cannot run yet: which stage blocks it and what unlocks it."""
    blocker = state.stage(state.current)
    return (f"{action} refused: stage {stage} {STAGES[stage][1]} is locked because stage {blocker.number} "
            f"{blocker.title} has not passed ({blocker.gate}); to unlock: {blocker.next_action or 'meet its gate'}")


def scribe_problem(scribe: str | None, operator: str | None) -> str:
    """Why ``scribe`` cannot keep the record (empty when they can): the runbook wants two people, so
    the scribe is never the operator. (A headless ``drill`` has one person and says so in its roles.)"""
    if not scribe:
        return "the scribe's name is needed"
    if operator and scribe == operator:
        return (f"'{scribe}' is the operator: the runbook wants two people, one acting and one keeping the record; "
                "name someone else as the scribe")
    return ""


def attestations(cluster: Cluster, events: Iterable[EventLike], operator: str | None) -> dict[str, dict]:
    """Stage 2 attestations that count (by a listed approver who is not the operator), by node."""
    return {_data(e).get("node"): _data(e) for e in events
            if e.kind == "approval" and e.stage == 2
            and not approval_problem(_data(e).get("approved_by"), cluster, operator)}


def final_lsn_evidence(events: Iterable[EventLike], candidate: str | None) -> dict | None:
    """The last final LSN the fence sequence read for ``candidate``'s promotion (its evidence data,
    with its sentence as ``text``), or None."""
    found = [e for e in events if e.kind == "evidence" and e.stage == 2
             and _data(e).get("check") == Check.FINAL_LSN and _data(e).get("candidate") == candidate]
    return {**_data(found[-1]), "text": found[-1].text} if found else None


def evaluate(cluster: Cluster, events: Iterable[EventLike]) -> RunbookState:
    """Every stage judged from the incident's events (in journal order)."""
    return judge(cluster, GateEvents(events))


def judge(cluster: Cluster, gates: GateEvents) -> RunbookState:
    """Every stage judged from the indexed events: what :func:`evaluate` gives for the same events,
    at the cost of what the gates read (an incremental caller feeds ``gates`` as the journal grows)."""
    roles = dict(gates.roles)
    operator = roles.get("operator")
    states: list[StageState] = []
    ctx: dict[str, Any] = {"roles": roles, "operator": operator}
    judges = (_stage0, _stage1, _stage2, _stage3, _stage4, _stage5)
    unlocked = True
    for (number, title), judge_stage in zip(STAGES, judges):
        if not unlocked:
            states.append(StageState(number=number, title=title, status="locked",
                                     gate=f"locked until stage {number - 1} passes"))
            continue
        status, gate, action, evidence = judge_stage(cluster, gates, ctx)
        states.append(StageState(number=number, title=title, status=status, gate=gate,
                                 next_action=action, evidence=tuple(evidence)))
        unlocked = status in ("passed", "overridden")
    return RunbookState(stages=tuple(states), roles=roles, candidate=ctx.get("candidate"),
                        old_primary=ctx.get("old_primary"), data_risk=ctx.get("data_risk"),
                        closed=gates.standing_close is not None, evaluation=ctx.get("evaluation"))


# -- closed, reopened --------------------------------------------------------------------------------
def reopen_data(closed: EventLike) -> dict:
    """The data of the reopen event for the close it reopens."""
    return {"reopen": True, "closed_at": iso_utc(closed.at), "closed_by": closed.author}


def standing_close(events: Iterable[EventLike]) -> EventLike | None:
    """The close that stands: the last close with no reopen after it (None: the incident is open)."""
    return GateEvents(events).standing_close


def closed_sentence(close: EventLike, incident_id: str) -> str:
    return (f"incident {incident_id} was closed at {iso_utc(close.at)} by {close.author}: a new fault is a new "
            "incident (pass a new --incident), or reopen this one with --reopen")


# -- verification runs -------------------------------------------------------------------------------
def required_checks(cluster: Cluster) -> list[str]:
    """The stage 5 checks a verification run must pass for this cluster."""
    return [c for c in VERIFY_CHECKS if _required(c, cluster)]


class VerifyRun(BaseModel):
    """One verification run: its checks (the last event of each), in the order they ended."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    run: str | None
    checks: dict[str, Any]              # check name -> its evidence event
    wanted: tuple[str, ...]
    last_at: datetime | None = None

    @property
    def failing(self) -> list[str]:
        return [c for c in self.wanted if c in self.checks and not _data(self.checks[c]).get("passed")]

    @property
    def missing(self) -> list[str]:
        return [c for c in self.wanted if c not in self.checks]

    @property
    def passed(self) -> bool:
        return not self.failing and not self.missing

    @property
    def ended_at(self) -> datetime | None:
        """When it proved Odoo writes: its write probe, or else its last check."""
        probe = self.checks.get("write_probe")
        return probe.at if probe is not None else self.last_at


def verification_runs(cluster: Cluster, events: Iterable[EventLike]) -> list[VerifyRun]:
    """Stage 5's verification runs, in order (each journals its checks with its ``verify_run``)."""
    runs: dict[str | None, dict[str, Any]] = {}
    last: dict[str | None, datetime | None] = {}
    for e in events:
        if e.kind == "evidence" and e.stage == 5:
            run = _data(e).get("verify_run")
            runs.setdefault(run, {})[_data(e).get("check")] = e
            last[run] = getattr(e, "at", None)
    out = []
    for run, checks in runs.items():
        wanted = tuple(c for c in VERIFY_CHECKS if c in checks or _required(c, cluster))
        out.append(VerifyRun(run=run, checks=checks, wanted=wanted, last_at=last[run]))
    return out


def last_passed_run(cluster: Cluster, events: Iterable[EventLike]) -> VerifyRun | None:
    """The last verification run that passed every check (None when none did)."""
    return next((r for r in reversed(verification_runs(cluster, events)) if r.passed), None)


def _clock(at: datetime) -> str:
    return f"{at.astimezone(timezone.utc):%H:%M:%S} UTC"


def evaluation_line(evaluation: Evaluation | None) -> str:
    """The evaluation as stage 0's evidence names it."""
    if evaluation is None:
        return "evaluation: none journaled yet (key g): the runbook measures the standbys' lag before deciding"
    verb = "fail over" if evaluation.fail_over else "not to fail over yet"
    return (f"evaluation: {evaluation.author} decided to {verb} at {_clock(evaluation.at)} "
            f"({len(evaluation.signals)} signal{'s' if len(evaluation.signals) != 1 else ''} firing)")


def _stage0(cluster: Cluster, gates: GateEvents, ctx):
    roles = ctx["roles"]
    ctx["evaluation"] = evaluation = standing_evaluation(gates.of(0, "decision"))
    evidence = [evaluation_line(evaluation)] + [f"{r}: {n}" for r, n in sorted(roles.items())]
    missing = [r for r in ("operator", "scribe", "approver") if r not in roles]
    if missing:
        return "open", f"roles not set: {', '.join(missing)}", "set the roles", evidence
    problem = approval_problem(roles["approver"], cluster, roles["operator"])
    if problem:
        return "failed", problem, "name a listed approver who is not the operator", evidence
    if evaluation is not None and not evaluation.fail_over:
        return ("open", f"{evaluation.author} decided at {_clock(evaluation.at)} not to fail over yet: nothing past "
                "stage 0 runs on that decision", "evaluate again (key g) to decide to fail over", evidence)
    skip = [e for e in gates.of(0, "decision") if _data(e).get("skip_freeze")]
    done = {}
    for e in gates.of(0, "action"):
        if _data(e).get("step") == Step.FREEZE:
            done[_data(e).get("name")] = _data(e).get("exit_code")
    for name, code in done.items():
        evidence.append(f"freeze '{name}': exit {code}")
    if skip:
        evidence.append(f"freeze skipped by {skip[-1].author}: {_data(skip[-1]).get('reason')}")
        return "overridden", "freeze explicitly skipped with a reason", "", evidence
    pending = [c.name for c in cluster.freeze if done.get(c.name) != 0]
    if not pending:
        return "passed", "roles set; freeze done" if cluster.freeze else "roles set; no freeze commands configured", "", evidence
    failed = [c.name for c in cluster.freeze if c.name in done and done[c.name] != 0]
    status = "failed" if failed else "open"
    gate = f"freeze commands not done: {', '.join(pending)}"
    return status, gate, "run the freeze commands, or skip them with a reason", evidence


def _stage1(cluster: Cluster, gates: GateEvents, ctx):
    decisions = [e for e in gates.of(1, "decision") if _data(e).get("candidate")]
    if not decisions:
        return "open", "no candidate chosen", "sample the standbys and choose a candidate", []
    decision = decisions[-1]
    candidate = _data(decision)["candidate"]
    risk = _data(decision).get("data_risk") or {}
    ctx.update(candidate=candidate, data_risk=risk, old_primary=_data(decision).get("old_primary"))
    evidence = [f"candidate {candidate} chosen by {decision.author}", risk.get("statement", "data risk not stated")]
    if risk.get("within_slo"):
        return "passed", "candidate chosen; data risk known and within the SLO", "", evidence
    approvals = [e for e in gates.after(decision, gates.of(1, "approval"))
                 if _data(e).get("candidate") == candidate
                 and not approval_problem(_data(e).get("approved_by"), cluster, ctx["operator"])]
    if approvals:
        evidence.append(f"approved by {_data(approvals[-1])['approved_by']}")
        return "overridden", f"data risk above the SLO or unknown, approved by {_data(approvals[-1])['approved_by']}", "", evidence
    return ("open", "the data risk is above the SLO or unknown: an approver (not the operator) must approve it",
            "ask an approver to approve the data risk", evidence)


def _stage2(cluster: Cluster, gates: GateEvents, ctx):
    candidate = ctx.get("candidate")
    latest = latest_check(gates.of(2, "evidence"))
    if latest is None:
        return "open", "the old primary has not been checked yet", "check the old primary", []
    if latest.get("candidate") != candidate:
        return "open", "the last check was for another candidate: check again", "check the old primary", []
    evidence = list(latest.get("lines", []))
    attested = attestations(cluster, gates.of(2, "approval"), ctx["operator"])
    blockers = []
    for node, fact in sorted((latest.get("nodes") or {}).items()):
        if fact.get("writable"):
            blockers.append(f"{node} is writable: fence it")
        elif fact.get("app_writable") and not fact.get("fenced"):
            blockers.append(f"{node} is unreachable from the bastion but Odoo writes to it through PgBouncer: fence it "
                            "(an attestation cannot prove down a node that takes writes)")
        elif fact.get("needs_proof") and not fact.get("fenced") and node not in attested:
            blockers.append(f"{node} is unreachable, which is not dead: fence it or have an approver attest it is down")
    if blockers:
        return "failed", "; ".join(blockers), "fence the old primary (or attest it is down)", evidence
    if any(n in attested for n, f in (latest.get("nodes") or {}).items() if f.get("needs_proof") and not f.get("fenced")):
        who = ", ".join(f"{n} by {a['approved_by']}: {a.get('attestation', '')}" for n, a in attested.items())
        evidence.append(f"attested: {who}")
        return "overridden", "old primary attested down by an approver", "", evidence
    return "passed", "no other node is writable or reachable for writes", "", evidence


def _stage3(cluster: Cluster, gates: GateEvents, ctx):
    done = [e for e in gates.of(3, "evidence") if _data(e).get("check") == Check.PROMOTED]
    if done and _data(done[-1]).get("passed"):
        d = _data(done[-1])
        ms = d.get("promote_to_writable_ms")
        how = (f"writable after {ms:g} ms" if isinstance(ms, (int, float)) else
               "already promoted: nothing was sent" if d.get("already") else "writable")
        return "passed", f"{d.get('node')} is the new primary ({how})", "", [done[-1].text]
    if done:
        return "failed", done[-1].text, "promote the candidate again", [done[-1].text]
    return "open", f"promote {ctx.get('candidate')}: type its name to confirm", f"promote {ctx.get('candidate')}", []


def _stage4(cluster: Cluster, gates: GateEvents, ctx):
    results = [e for e in gates.of(4, "evidence") if _data(e).get("check") == Check.TARGETS]
    steps = [f"{_data(e).get('target')}: {'ok' if _data(e).get('exit_code') == 0 else 'FAILED'}"
             for e in gates.of(4, "action")]
    if results and _data(results[-1]).get("passed"):
        return "passed", "every configured target points at the new primary", "", steps
    if results:
        return "failed", results[-1].text, "cut over again", steps
    return "open", "Odoo's targets still point at the old primary", "cut over (poolers first, then Odoo)", steps


def _stage5(cluster: Cluster, gates: GateEvents, ctx):
    # Only the last verification run counts (each journals its checks as they end, with its
    # ``verify_run``): a check still running is "not verified yet", never an older run's pass.
    # After a reopen, only a run since the reopen counts: an old verification is not the present.
    evidence = gates.last_verification()          # the last run since the last reopen
    run = verification_runs(cluster, evidence)[0] if evidence else None
    if run is None:
        missing = ", ".join(required_checks(cluster))
        return "open", f"not verified yet: {missing}", "verify", []
    latest = run.checks
    lines = [f"{c}: {'pass' if _data(latest[c]).get('passed') else 'FAIL'} ({latest[c].text})"
             for c in run.wanted if c in latest]
    if run.failing:
        return "failed", f"failing: {', '.join(run.failing)}", "fix and verify again", lines
    if run.missing:
        return "open", f"not verified yet: {', '.join(run.missing)}", "verify", lines
    return "passed", "every verification check passed", "", lines


def _required(check: str, cluster: Cluster) -> bool:
    if check in ("odoo_login", "write_probe", "cron_progress"):
        return cluster.odoo is not None
    return True
