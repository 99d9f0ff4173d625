"""The safe path through a scenario, played on a TrainingRun: the recorder checks every scenario reaches verified with it, and the score card shows it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from checks.incident.events import Event
from checks.runbook.gates import RunbookState
from checks.runbook.others import fence_targets, latest_check

if TYPE_CHECKING:
    from checks.training.run import TrainingRun


def _fence_targets(state: RunbookState, events: list[Event]) -> tuple[list[str], dict | None]:
    check = latest_check(events)
    if check is None or check.get("candidate") != state.candidate:
        return [], None
    return fence_targets(events, state.candidate), check


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
            if state.evaluation is None or not state.evaluation.fail_over:
                run.evaluate("fail_over", [], "the safe path: the standbys measured first")
                lines.append("g: evaluate first: read the signals and what each standby holds (a failover is a "
                             "data-risk decision: measure the lag first), then decide to fail over")
            elif any(r not in state.roles for r in ("operator", "scribe", "approver")):
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
