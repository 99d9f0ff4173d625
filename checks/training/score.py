"""A training run's score card, in words, and the training record it goes into.

The card scores the run against a stated target: an RTO goal (the scenario's ``rto_goal_s``, else
:data:`~checks.training.scenario.RTO_GOAL_PER_STEP_S` for each step of its safe path) and zero
unsafe attempts (none blocked by a gate, none the gates could not see). Time the trainee skipped
(``.``, a click ahead on the replay bar) is not counted in the RTO or the time per stage.

:func:`render_score_card` is pure (the card from :meth:`checks.training.run.TrainingRun.score_card`
in, markdown out); :func:`write_training_record` writes ``training/<UTC date>-<scenario>-<n>/``
(mode 0700, like an incident): ``score.md`` and ``score.json`` (the card), ``record.md`` (the
run as an incident record, from the training journal) and ``events.json`` (that journal).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from checks.incident.events import Event
from checks.incident.record import render_record
from checks.observe.lsn import human_seconds
from checks.observe.sample import parse_iso, utcnow
from checks.runbook.gates import STAGES, evaluate
from checks.stages.close import stage_passed_at
from checks.training.scenario import RTO_GOAL_PER_STEP_S, Scenario

TRAINING_BASE = Path("training")
REFUSED = "refused"                 # an attempt's outcome when a gate refused it (result_outcome gives the others)
OUTCOME_WORDS = {REFUSED: "REFUSED", "did not pass": "DID NOT PASS", "done": "done", "passed": "passed"}


def rto_goal(scenario: Scenario) -> tuple[float, str]:
    """The RTO goal the card scores against, and where it comes from."""
    if scenario.rto_goal_s is not None:
        return float(scenario.rto_goal_s), "the scenario's own goal"
    steps = len(scenario.safe_path) or 8
    return steps * RTO_GOAL_PER_STEP_S, f"{RTO_GOAL_PER_STEP_S:g} s for each of the {steps} steps of the safe path"


def blocked_text(n: int) -> str:
    """``1 unsafe attempt blocked``, ``3 unsafe attempts blocked``."""
    return f"{n} unsafe attempt{'' if n == 1 else 's'} blocked"


def clock(t: float | None) -> str:
    """``t+01:05``: simulated time into the recording."""
    if t is None:
        return "-"
    minutes, seconds = divmod(int(round(t)), 60)
    return f"t+{minutes:02d}:{seconds:02d}"


def split_brain_text(card: dict[str, Any]) -> str:
    if card["split_brain"]:
        return "SPLIT BRAIN: two nodes accepted writes at once"
    return "never: one writer at every moment"


def headline(card: dict[str, Any]) -> list[str]:
    """The few lines that say how it went (the score card's top, and the CLI's last words)."""
    rto = ""
    if card["rto_s"] is not None:
        skipped = card["rto_skipped_s"]
        rto = f", RTO {human_seconds(card['rto_s'])} simulated" + (
            f" ({human_seconds(skipped)} skipped, not counted)" if skipped else "")
    return [
        f"verdict: {card['verdict']}{rto}",
        blocked_text(card["unsafe_attempts_blocked"]),
        f"split brain: {split_brain_text(card)}",
        target_text(card),
    ]


def target_text(card: dict[str, Any]) -> str:
    """``target met: RTO 42s within the 2m15s goal, zero unsafe attempts`` (or what missed it)."""
    goal = human_seconds(card["target"]["rto_goal_s"])
    if not card["verified"]:
        rto = f"not verified, so no RTO to hold against the {goal} goal"
    else:
        rto = f"RTO {human_seconds(card['rto_s'])} {'within' if card['rto_goal_met'] else 'over'} the {goal} goal"
    return f"target {'met' if card['target_met'] else 'not met'}: {rto}; {unsafe_text(card)}"


def unsafe_text(card: dict[str, Any]) -> str:
    blocked, unseen = card["unsafe_attempts_blocked"], len(card["warnings"])
    if not blocked and not unseen:
        return "zero unsafe attempts"
    parts = [blocked_text(blocked)] if blocked else []
    if unseen:
        parts.append(f"{unseen} unsafe action{'' if unseen == 1 else 's'} the gates could not see (the warnings)")
    return " and ".join(parts)


def target_lines(card: dict[str, Any]) -> list[str]:
    """The target, each part with whether it was met."""
    target = card["target"]
    goal = f"RTO {human_seconds(target['rto_goal_s'])} or less ({target['rto_goal_basis']})"
    if not card["verified"]:
        rto = "not met: the run was not verified, so there is no RTO"
    elif card["rto_goal_met"]:
        rto = f"met: RTO {human_seconds(card['rto_s'])}"
    else:
        rto = f"not met: RTO {human_seconds(card['rto_s'])}, {human_seconds(card['rto_s'] - target['rto_goal_s'])} over"
    safe = "met" if card["no_unsafe_met"] else f"not met: {unsafe_text(card)}"
    return [f"{goal}: {rto}", f"zero unsafe attempts: {safe}"]


def attempt_line(attempt: dict[str, Any]) -> str:
    """``t+00:40 verify: DID NOT PASS: stage 5 Verify: failing: stragglers``: the outcome in one word,
    then what happened (the action's own sentence, without repeating the action or the word)."""
    word, text = attempt["outcome"], attempt["text"]
    detail = text.removeprefix(f"{attempt['action']}: ")
    if detail == word:
        detail = ""
    elif detail.startswith(f"{word}: "):
        detail = detail[len(word) + 2:]
    line = f"{clock(attempt['t'])} {attempt['action']}: {OUTCOME_WORDS.get(word, word)}"
    return f"{line}: {detail}" if detail else line


def render_score_card(card: dict[str, Any]) -> str:
    """The card as markdown."""
    skipped = f"; {human_seconds(card['skipped_s'])} of it skipped, not counted below" if card["skipped_s"] else ""
    lines = [
        f"# Training score card: {card['title']}",
        "",
        f"Scenario `{card['scenario']}`, trainee **{card['trainee']}**, {human_seconds(card['simulated_seconds'])} of "
        f"simulated time ({clock(card['started_t'])} to {clock(card['ended_t'])}{skipped}). Every action was "
        "simulated; the cockpit's own gates judged it.",
        "",
        "## Verdict",
        "",
        *(f"- {line}" for line in headline(card)[:3]),
    ]
    if card["candidate"]:
        old = f" (old primary {card['old_primary']})" if card["old_primary"] else ""
        lines.append(f"- promoted: {card['candidate']}{old}")
    if card["data_risk"]:
        lines.append(f"- data risk: {card['data_risk']}")
    if card["approved_by"]:
        lines.append(f"- approved by: {', '.join(card['approved_by'])}")
    for warning in card["warnings"]:
        lines.append(f"- **warning**: {warning}")
    lines += ["", f"## Target: {'met' if card['target_met'] else 'not met'}", ""]
    lines += [f"- {line}" for line in target_lines(card)]
    lines.append(f"- the RTO runs from {card['rto_from']} to verification; time you skipped is not counted")
    lines += ["", f"## {blocked_text(card['unsafe_attempts_blocked']).capitalize()}", ""]
    if card["blocked"]:
        lines += [f"{i}. {clock(b['t'])} {b['action']}: {b['sentence']}" for i, b in enumerate(card["blocked"], 1)]
    else:
        lines.append("None: no action was tried before its gate allowed it.")
    lines += ["", "## Time per stage (simulated, skipped time not counted)", "", "| stage | status | seconds |",
              "| --- | --- | --- |"]
    for stage in card["stages"]:
        seconds = "-" if stage["seconds"] is None else f"{stage['seconds']:g}"
        lines.append(f"| {stage['number']} {stage['title']} | {stage['status']} | {seconds} |")
    if card["first_bad_t"] is not None:
        lines += ["", f"First bad signal at {clock(card['first_bad_t'])}"
                  + (f"; verified at {clock(card['verified_t'])}." if card["verified_t"] is not None else ".")]
    lines += ["", "## What you did", ""]
    lines += [f"- {attempt_line(a)}" for a in card["your_path"]] or ["- nothing"]
    lines += ["", "## What a safe run does", ""]
    lines += [f"{i}. {line}" for i, line in enumerate(card["safe_path"], 1)] or ["(not recorded)"]
    if card.get("record_dir"):
        lines += ["", f"Training record: `{card['record_dir']}`"]
    return "\n".join(lines) + "\n"


def new_training_dir(scenario: str, base: Path = TRAINING_BASE) -> Path:
    """``training/<UTC date>-<scenario>-<n>/``, with the first free n."""
    day = utcnow().strftime("%Y-%m-%d")
    n = 1
    while (Path(base) / f"{day}-{scenario}-{n}").exists():
        n += 1
    return Path(base) / f"{day}-{scenario}-{n}"


def write_training_record(run, base: Path = TRAINING_BASE) -> tuple[Path, dict[str, Any]]:
    """Write the run's training record into a new directory under ``base``; returns it and the card."""
    directory = new_training_dir(run.scenario.name, base)
    directory.mkdir(mode=0o700, parents=True)
    os.chmod(directory, 0o700)
    card = run.score_card()
    card["record_dir"] = str(directory)
    card["trained_at"] = utcnow().isoformat().replace("+00:00", "Z")
    _write(directory / "score.json", json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    _write(directory / "score.md", render_score_card(card))
    _write(directory / "record.md", render_record(run.journal, now=run.clock()))
    events = [e.model_dump(mode="json") for e in run.journal.events()]
    _write(directory / "events.json", json.dumps(events, indent=1, ensure_ascii=False) + "\n")
    return directory, card


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def score_card(run) -> dict[str, Any]:
    """What the run comes to: unsafe attempts blocked (with the gates' sentences), time per
    stage in simulated seconds (skipped time left out), the verdict, the RTO (from the first bad
    signal, else the start of the run, to verification; skipped time left out), the target and
    whether it was met, split brain (never), what a safe run does."""
    events = run.journal.events()
    state = evaluate(run.cluster, events)
    sc = run.scenario
    blocked = []
    for e in events:
        if e.kind == "system" and e.data.get("refused"):
            action = e.data.get("action", "")
            blocked.append({"t": round(sc.offset(e.at), 1), "action": action,
                            "sentence": e.text.removeprefix(f"refused: {action}: ")})
    passed = stage_passed_at(run.cluster, events)
    stages, previous = [], run.started_t
    for number, title in STAGES:
        status = state.stage(number).status
        seconds = None
        if number in passed:
            at = sc.offset(passed[number])
            seconds = round(max(0.0, at - previous - run.skipped_between(previous, at)), 1)
            previous = max(previous, at)
        stages.append({"number": number, "title": title, "status": status, "seconds": seconds})
    first_bad = [parse_iso(e.data["first_bad_at"]) for e in events
                 if e.kind in ("status", "alarm") and e.data.get("first_bad_at")]
    first_bad_t = round(sc.offset(min(first_bad)), 1) if first_bad else None
    verified = state.current == 6
    verified_t = round(sc.offset(passed[5]), 1) if 5 in passed else None
    origin = first_bad_t if first_bad_t is not None else run.started_t
    rto = rto_skipped = None
    if verified_t is not None:
        rto_skipped = round(run.skipped_between(origin, verified_t), 1)
        rto = round(max(0.0, verified_t - origin - rto_skipped), 1)
    goal, basis = rto_goal(sc)
    warnings = attestation_warnings(run, events)
    rto_met = verified and rto is not None and rto <= goal
    safe_met = not blocked and not warnings
    approvals = [e for e in events if e.kind == "approval"]
    return {
        "scenario": sc.name,
        "title": sc.title,
        "trainee": run.trainee,
        "started_t": round(run.started_t, 1),
        "ended_t": round(run.t, 1),
        "simulated_seconds": round(run.t - run.started_t, 1),
        "skipped_s": round(run.skipped_between(run.started_t, run.t), 1),
        "skipped": [[round(a, 1), round(b, 1)] for a, b in run.skipped],
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
        "rto_skipped_s": rto_skipped,
        "rto_from": "the first bad signal" if first_bad_t is not None else "the start of the run",
        "target": {"rto_goal_s": goal, "rto_goal_basis": basis, "unsafe_attempts": 0},
        "rto_goal_met": rto_met,
        "no_unsafe_met": safe_met,
        "target_met": rto_met and safe_met,
        "candidate": state.candidate,
        "old_primary": state.old_primary,
        "data_risk": (state.data_risk or {}).get("statement"),
        "approved_by": sorted({e.data.get("approved_by") for e in approvals if e.data.get("approved_by")}),
        "split_brain": run.split_brain_seen,
        "warnings": warnings,
        "your_path": list(run.attempts),
        "safe_path": list(sc.safe_path),
    }

def attestation_warnings(run, events: Iterable[Event]) -> list[str]:
    """What the gates could not see: an attestation of a node the lab had only cut off or frozen."""
    found = []
    fenced = set(run._fenced)
    promoted = run._promoted[0] if run._promoted else None
    for e in events:
        if e.kind == "approval" and e.stage == 2 and e.data.get("node"):
            node, t = e.data["node"], run.scenario.offset(e.at)
            condition = run.scenario.node_condition(node, t)
            if condition in ("partitioned", "hung") and node not in fenced:
                alive = "cut off from the bastion" if condition == "partitioned" else "frozen"
                found.append(f"{node} was attested down by {e.data.get('approved_by')}, "
                             f"but it was alive ({alive}); "
                             + (f"after {promoted} was promoted, two nodes could accept writes: fence, do not "
                                "attest, a node you cannot prove is down" if promoted else
                                "an attestation must be a fact: fence a node you cannot prove is down"))
    return found
