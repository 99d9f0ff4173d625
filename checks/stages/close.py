"""Close: RTO, RPO, time per stage and the hardening checklist, computed from the journal alone.

No figure is ever negative: the RTO ends at the write probe (or the last check) of the last
verification run that passed, and starts at the first bad signal at or before that end (else
at the incident start); a resumed incident's later fault cannot start a clock after it ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from checks.config.model import Cluster
from checks.incident.evidence import Check, Step
from checks.incident.followups import follow_ups
from checks.incident.rpo import close_figures, measured_rpo
from checks.observe.lsn import human_bytes, human_seconds
from checks.observe.sample import NodeSample, iso_utc, parse_iso
from checks.runbook.gate_events import GATE_KINDS, GateEvents
from checks.runbook.gates import STAGES, closed_sentence, evaluate, judge, last_passed_run
from checks.runbook.one_writer import authoritative_node, confirm_one_writer
from checks.runbook.operation import Operation
from checks.stages.reprotect_summary import reprotect_lines


def stage_passed_at(cluster: Cluster, events: list) -> dict[int, datetime]:
    """When each stage first passed: the time of the event after which its gate held. One walk
    over the journal (the gates judged after each gate event on what they read so far, not on
    the whole prefix again): linear in the incident's length."""
    passed: dict[int, datetime] = {}
    gates = GateEvents()
    for event in events:
        gates.add(event)
        if event.kind not in GATE_KINDS:
            continue
        state = judge(cluster, gates)
        for stage in state.stages:
            if stage.status in ("passed", "overridden") and stage.number not in passed:
                passed[stage.number] = event.at
    return passed


def _seconds(later: datetime, earlier: datetime) -> float:
    return round(max(0.0, (later - earlier).total_seconds()), 3)


def _fence_run(data: dict) -> str:
    """One fence command of the incident: "node1: exit 0 in 31.2 ms", or why it has no exit code."""
    took = f" in {data['duration_ms']:g} ms" if isinstance(data.get("duration_ms"), (int, float)) else ""
    if data.get("exit_code") is None:
        return f"{data.get('node')}: no exit code ({data.get('error') or 'it did not finish'}){took}"
    return f"{data.get('node')}: exit {data['exit_code']}{took}"


def _promotion(ms) -> str:
    return (f"promotion {ms:g} ms" if isinstance(ms, (int, float)) else
            "no promotion timed (the node was promoted outside this incident, or not yet)")


def closeout(cluster: Cluster, events: list, standbys: Iterable[NodeSample], latest: Iterable[NodeSample], *,
             started_at: datetime, first_bad_at: datetime | None) -> dict:
    """The close event's data: figures in numbers and the hardening checklist in words.
    ``standbys``: the journaled samples of nodes in recovery that hold the peaks (or all of them: their
    maxima are figures, ``Journal.standby_peaks``); ``latest``:
    the newest sample of each node (the follow-ups read the new primary's); ``first_bad_at``: the
    first bad signal; one after the RTO's end is a later fault and is ignored."""
    open_follow_ups = follow_ups(events, list(latest))
    passed = stage_passed_at(cluster, events)
    state = evaluate(cluster, events)
    run = last_passed_run(cluster, events)
    end = run.ended_at if run else None
    if first_bad_at is not None and end is not None and first_bad_at > end:
        first_bad_at = None                      # after the end: a later fault, not this RTO's origin
    origin = first_bad_at or started_at          # the first bad signal, or the incident start
    rto = _seconds(end, origin) if end else None
    if end is not None:
        passed[5] = end                          # stage 5 passed when the run the RTO ends at did
    # Time per stage counts from the first bad signal; when the work began before any (a planned
    # switchover, whose first bad signal is its own fence), from the incident start.
    first_pass = min(passed.values(), default=None)
    stage_s, previous = {}, (started_at if first_pass is not None and first_pass < origin else origin)
    for number, _title in STAGES:
        if number in passed:
            stage_s[str(number)] = _seconds(passed[number], previous)
            previous = max(previous, passed[number])
    risk = state.data_risk or {}
    finals = [e.data for e in events if e.kind == "evidence" and e.data.get("check") == Check.PRE_PROMOTE]
    measured = (finals[-1].get("data_risk") or {}) if finals else risk
    standby = [s for s in standbys if s.in_recovery]
    max_delay = max((s.replay_delay_s or 0.0 for s in standby), default=None)
    max_backlog = max((s.bytes_not_replayed or 0 for s in standby), default=None)
    promote_ms = next((e.data.get("promote_to_writable_ms") for e in reversed(events)
                       if e.kind == "evidence" and e.data.get("check") == Check.PROMOTED), None)
    fence_runs = [e for e in events if e.kind == "action" and e.data.get("step") == Step.FENCE]
    approvals = [e.data.get("approved_by") for e in events if e.kind == "approval"]
    targets = len([e for e in events if e.kind == "action" and e.stage == 4])
    slo = cluster.slo
    hardening = [
        f"Failover SLOs: max replay delay {human_seconds(slo.max_replay_delay_s)}, max data risk "
        f"{human_bytes(slo.max_data_risk_bytes)} / {human_seconds(slo.max_data_risk_s)}; this incident saw a max replay "
        f"delay of {human_seconds(max_delay)} and at most {human_bytes(max_backlog)} not replayed.",
        f"Alert on replica lag: replay delay reached {human_seconds(max_delay)}; alert well below the "
        f"{human_seconds(slo.max_replay_delay_s)} SLO.",
        "Fencing procedure: " + ("; ".join(_fence_run(e.data) for e in fence_runs)
                                 if fence_runs else "no fence command ran in this incident: test one per environment."),
        f"Drill timing: RTO {human_seconds(rto)}, {_promotion(promote_ms)}; time per stage "
        + ", ".join(f"{n}: {human_seconds(s)}" for n, s in stage_s.items()) + ".",
        f"Endpoint indirection: {targets} cutover step(s) were needed; fewer targets mean fewer cutover errors.",
        "PgBouncer: after a primary dies, a pool waits server_login_retry (15 s by default) before it tries "
        "the new host, even after RELOAD; set it to 1-2 s so Odoo's first login after cutover is not delayed.",
        f"Approvers: {', '.join(cluster.approvers) or 'none configured'}; approvals given by "
        f"{', '.join(a for a in approvals if a) or 'nobody'}.",
        *(reprotect_lines(events) or ["Re-protect: no node was brought back as a standby of the new primary yet: "
                                      "until then the new primary has fewer standbys (operator key h, or "
                                      "checks.aftermath.reprotect); re-point every other standby at it (operator key j, "
                                      "checks.aftermath.repoint): they still follow the old primary."]),
        *(f"Open follow-up: {line}" for line in open_follow_ups),
    ]
    rpo = {"rpo_bytes": measured.get("bytes"), "rpo_s": measured.get("seconds"),
           "rpo_statement": measured.get("statement") or risk.get("statement")}
    rpo.update(close_figures(measured_rpo(events), rpo))   # re-protect measured it on the old primary
    return {
        "rto_s": rto,
        "rto_from": "first bad signal" if first_bad_at else "incident start",
        "rto_to": ("the Odoo write probe passing" if run and "write_probe" in run.checks else
                   "verification" if run else "no verification passed"),
        "rto_origin_at": iso_utc(origin),
        "rto_end_at": iso_utc(end) if end else None,
        **rpo,
        "stage_seconds": stage_s,
        "promote_to_writable_ms": promote_ms,
        "max_replay_delay_s": max_delay,
        "hardening": hardening,
        "verified": state.current == 6,
        "follow_ups": open_follow_ups,
    }


async def close_incident(op: Operation) -> dict:
    """Journal the close event with the figures (RTO, RPO, time per stage, hardening). Refused
    (journaled) when the incident is closed already, or when this round of samples does not show
    exactly one writer, the authoritative node, with every other node accounted for."""
    standing = op.standing_close()
    if standing is not None:
        raise op.refuse("close", closed_sentence(standing, op.journal.incident_id))
    problem = await confirm_one_writer(op, authoritative_node(op.state(), op.journal.events()))
    if problem:
        raise op.refuse("close", f"close refused: {problem}")
    events, journal = op.journal.events(), op.journal
    figures = closeout(op.cluster, events, journal.standby_peaks(), journal.latest_samples().values(),
                       started_at=events[0].at, first_bad_at=first_bad_at(op))
    verdict = "verified" if figures["verified"] else "closed before verification"
    rto = f"RTO {human_seconds(figures['rto_s'])}" if figures.get("rto_s") is not None else \
        "no verification passed, so there is no RTO"
    op.log("close", f"incident {verdict}: {rto}; {figures['rpo_statement']}", data=figures)
    return figures

def first_bad_at(op: Operation):
    """The first bad signal: journaled by any seat, or seen by this one."""

    journaled = [parse_iso(e.data["first_bad_at"]) for e in op.journal.events(kinds={"status", "alarm"})
                 if e.data.get("first_bad_at")]
    seen = [op.view.first_bad_at] if op.view and op.view.first_bad_at else []
    return min(journaled + seen, default=None)
