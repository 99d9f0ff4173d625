"""The markdown incident record, rendered from the journal (docs/design.md section 5.3).

:func:`render_record_from` is the pure core (meta, events, samples, "now" and the zone in, a
string out); :func:`render_record` feeds it from a :class:`~checks.incident.journal.Journal`;
:func:`write_record` writes ``record.md`` atomically and is meant to be called after
every event. The order is a postmortem's: the title and the incident in one sentence, the header,
the summary (what failed and when, who decided what, when Odoo wrote again, RTO, RPO, the stage,
the data risk stated once) after the evaluation (the first decision: fail over or not yet, with the
signals and each standby's freshness), roles, status updates, the timeline, decisions (each with its
approvals), commands run, verification, close-out, action items (TODOs and open follow-ups).
Times are UTC and the incident's local zone (:mod:`checks.incident.record_time`).

What each section takes from the journal: :mod:`checks.incident.record_facts` (the story),
:mod:`checks.incident.record_decisions` (decisions and approvals), :mod:`checks.incident.record_risk`
(the data risk and the RPO), :mod:`checks.incident.record_sections` (roles, timeline, commands,
verification, close-out); ``record --json`` renders the same (:mod:`checks.incident.record_json`).
``data_risk`` may be a sentence or a :class:`checks.runbook.risk.DataRisk` dump (its ``statement``).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from checks.config.files import write_atomic
from checks.config.redact import redact
from checks.incident.directory import RECORD_FILE
from checks.incident.directory import RECORD_LOCK_FILE as LOCK_FILE
from checks.incident.journal import APPROVAL, DECISION, OVERRIDE, Event, Journal, JournalWriteError
from checks.incident.record_facts import RecordFacts
from checks.incident.record_sections import NAMED_ROLES, close_out, commands, evaluation, roles, timeline, verification
from checks.incident.record_summary import (
    action_items, approval_lines, header, rpo_words, rto_words, stage_label, status_updates, summary
)
from checks.incident.record_text import fence_for, first_line, fmt, key_label, list_item, md, risk_text
from checks.incident.record_time import UTC_ZONE, RecordZone, zone_for
from checks.observe.lsn import human_seconds
from checks.observe.sample import NodeSample, utcnow

__all__ = ["RECORD_FILE", "render_record_from", "render_record", "write_record", "node_line", "stage_label"]

DECISION_KINDS = (DECISION, APPROVAL, OVERRIDE)


def node_line(sample: NodeSample, zone: RecordZone = UTC_ZONE) -> str:
    """One node at one moment: role, writable, WAL position, replay delay, sample time."""
    when = f" (sampled {zone.clock(sample.observed_at)})"
    if not sample.reachable:
        return f"{sample.name}: unreachable, writable ?, error: {md(redact(sample.error)) or '-'}{when}"
    if sample.in_recovery is False:
        return f"{sample.name}: primary, writable yes, current {sample.current_lsn or '?'}, replay delay -{when}"
    if sample.in_recovery is True:
        delay = human_seconds(sample.replay_delay_s)
        paused = ", replay paused" if sample.replay_paused else ""
        return (f"{sample.name}: standby, writable no, receive {sample.receive_lsn or '?'}, "
                f"replay delay {delay}{paused}{when}")
    return f"{sample.name}: unknown role, writable ?{when}"


def _evaluation(events: Sequence[Event], zone: RecordZone) -> list[str]:
    """The first decision, fail over or not yet, with what it was made on (the record opens with it)."""
    lines = ["## Evaluation", ""]
    found = evaluation(events)
    if not found:
        return lines + ["No evaluation was journaled: nobody recorded the decision to fail over, with the signals "
                        "and the standbys' lag, before the runbook started."]
    for e in found:
        why = f": {e['reason']}" if e["reason"] else ""
        stands = "" if e["stands"] else " (replaced by a later evaluation)"
        lines.append(f"- {zone.clock(e['at'])} {md(e['by'])} decided: **{e['words']}**{md(why)}{stands}")
        lines.append("  - Signals firing:" + (" none" if not e["signals"] else ""))
        lines += [list_item("    - ", f"{s.get('name')}: {s.get('text')}") for s in e["signals"]]
        lines.append("  - Standbys, measured first:" + (" none sampled" if not e["standbys"] else ""))
        lines += [list_item("    - ", str(s.get("text", ""))) for s in e["standbys"]]
    return lines


def _roles(events: Sequence[Event], zone: RecordZone) -> list[str]:
    found = roles(events)
    lines = ["## Roles", ""]
    for role in NAMED_ROLES:
        person = found[role]
        if person is None:
            lines.append(f"- {role.capitalize()}: not named yet")
            continue
        seats = "; ".join(f"{s['seat']} seat since {zone.clock(s['since'])}" for s in person["seats"]) or "not seated"
        lines.append(f"- {role.capitalize()}: {md(person['name'])} ({seats})")
    if found["observers"]:
        lines.append("- Observers: " + ", ".join(f"{md(o['name'])} (since {zone.clock(o['since'])})"
                                                 for o in found["observers"]))
    return lines


def _timeline(facts: RecordFacts, zone: RecordZone) -> list[str]:
    lines = ["## Timeline (UTC)", ""]
    lines += [list_item(f"- {zone.stamp(e['at'])} [{e['seat']} {md(e['author'])}] {e['kind']}: ",
                        facts.risk.refer(e["text"], zone.clock)) for e in timeline(facts.events)]
    return lines if facts.events else lines + ["No events yet."]


def _decisions(facts: RecordFacts, zone: RecordZone) -> list[str]:
    lines = ["## Decisions"]
    refer = facts.risk.refer
    for b in facts.decisions:
        lines += ["", f"### {zone.clock(b['at'])} {b['kind']}: {md(refer(first_line(b['text']), zone.clock))}", ""]
        if b["proposed_by"]:
            lines.append(f"- Proposed by: {md(fmt(b['proposed_by']))}")
        words = approval_lines(b, zone)
        label = "Attested by" if b["kind"] == "attestation" else "Approved by"
        for i, line in enumerate(words):
            lines.append(f"- {label}: {md(line)}")
            if i < len(b["approvals"]) and b["kind"] not in ("attestation", "approval"):
                lines.append(list_item("  - ", refer(b["approvals"][i]["text"], zone.clock)))
        lines.append(f"- Entered by: {md(b['entered_by'])} ({b['seat']} seat)")
        if b["stage"] is not None:
            lines.append(f"- Stage: {stage_label(b['stage'])}")
        if b["candidate"]:
            lines.append(f"- Candidate: {md(fmt(b['candidate']))}")
        if b["data_risk"]:
            lines.append(f"- Data risk: {md(refer(risk_text(b['data_risk']), zone.clock))}")
        if b["node_states"]:
            lines.append("- Node states at the decision:")
            lines += [f"  - {node_line(s, zone)}" for s in b["node_states"]]
        else:
            lines.append("- Node states at the decision: no sample journaled before it")
    return lines if facts.decisions else lines + ["", "None yet."]


def _commands(facts: RecordFacts, zone: RecordZone) -> list[str]:
    lines = ["## Commands run"]
    found = commands(facts.events)
    for c in found:
        took = f" in {c['duration_ms']:.0f} ms" if c["duration_ms"] is not None else ""
        error = md(c["error"]) if c["error"] else ""
        if c["exit_code"] is None:
            result = f"no exit code ({error or 'did not finish'})"
        else:
            result = f"exit code {c['exit_code']}" + (f" ({error})" if error else "")
        stage = f", stage {stage_label(c['stage'])}" if c["stage"] is not None else ""
        lines += ["", f"### {zone.clock(c['at'])} {md(c['title'])}", "",
                  f"- Run by {md(c['by'])} ({c['seat']} seat){stage}: {result}{took}"]
        output = c["output"] or ""
        if c["command"]:
            body, lang = f"$ {c['command']}" + (f"\n{output}" if output else ""), "console"
        else:
            body, lang = output, "text"
        if body:
            fence = fence_for(body)
            lines += ["", f"{fence}{lang}", body, fence]
    return lines if found else lines + ["", "None yet."]


def _verification(facts: RecordFacts, zone: RecordZone) -> list[str]:
    lines = ["## Verification", ""]
    found = verification(facts.events)
    for v in found:
        label = f"{md(v['check'])}: {v['verdict']}" if v["check"] else v["verdict"]
        lines.append(list_item(f"- {zone.clock(v['at'])} {label}: ", v["detail"]))
    return lines if found else lines + ["None yet."]


def _close_out(facts: RecordFacts, zone: RecordZone) -> list[str]:
    lines = ["## Close-out", ""]
    c = close_out(facts.close)
    if c is None:
        return lines + ["The incident is still open."]
    refer = facts.risk.refer
    lines.append(f"- Closed at {zone.clock(c['closed_at'])} by {md(c['by'])} ({c['seat']} seat): "
                 f"{md(refer(first_line(c['text']), zone.clock))}")
    if facts.reopen is not None:
        lines.append(f"- Reopened at {zone.clock(facts.reopen.at)} by {md(facts.reopen.author)}: only what is "
                     "verified since counts")
    label, rto = rto_words(facts, zone)
    lines.append(f"- {label}: {md(rto)}")
    if c["has_rpo"] or facts.rpo["measurement"] is not None:
        lines.append(f"- RPO: {md(rpo_words(facts, zone))}")
    if c["stage_seconds"]:
        lines.append("- Time per stage:")
        for key, value in c["stage_seconds"]:
            label = stage_label(int(key)) if key.isdigit() else md(key)
            lines.append(f"  - {label}: {human_seconds(value) if isinstance(value, (int, float)) else md(fmt(value))}")
    stated = {x["statement"] for x in facts.risk.entries}
    for key, value in c["figures"].items():
        if key == "rpo_statement" and isinstance(value, str) and value.strip() in stated:
            continue                                   # the summary states it
        if isinstance(value, list):
            lines.append(f"- {md(key_label(key))}:")
            lines += [list_item("  - ", refer(fmt(v), zone.clock)) for v in value]
        else:
            lines.append(f"- {md(key_label(key))}: {md(refer(fmt(value), zone.clock))}")
    return lines


def render_record_from(meta: Mapping[str, str], events: Sequence[Event], samples: Sequence[NodeSample],
                       now: datetime, zone: RecordZone = UTC_ZONE) -> str:
    """The whole record as markdown. Pure: the same inputs give the same bytes. ``zone``: the local
    zone shown beside UTC (the journal's, :func:`checks.incident.record_time.zone_for`); UTC only by default."""
    ordered = sorted(events, key=lambda e: (e.at, e.id))
    facts = RecordFacts(meta, ordered, samples, now)
    zone = zone.on(facts.opened.astimezone(timezone.utc).date() if facts.opened else None)
    parts = [header(facts, zone), _evaluation(ordered, zone), summary(facts, zone), _roles(ordered, zone), status_updates(facts, zone),
             _timeline(facts, zone), _decisions(facts, zone), _commands(facts, zone), _verification(facts, zone),
             _close_out(facts, zone), action_items(facts, zone)]
    return "\n\n".join("\n".join(p) for p in parts) + "\n"


def decision_samples(journal: Journal, events: Sequence[Event]) -> list[NodeSample]:
    """The node states journaled at each decision (what the record shows of the samples)."""
    samples: dict[tuple[str, datetime], NodeSample] = {}
    for e in events:
        if e.kind in DECISION_KINDS:
            for s in journal.samples_at(e.at).values():
                samples[(s.name, s.observed_at)] = s
    return list(samples.values())


def render_record(journal: Journal, now: datetime | None = None, zone: RecordZone | None = None) -> str:
    """The record of the journal's incident, in its zone (:func:`zone_for`, unless given)."""
    events = journal.events()
    return render_record_from(journal.meta, events, decision_samples(journal, events), now or utcnow(),
                              zone or zone_for(journal.meta))


def write_record(dir: Path, journal: Journal, now: datetime | None = None) -> Path:
    """Render and write ``dir/record.md`` atomically (temp file in ``dir``, fsync, rename).

    Seats writing at once take turns on ``dir/.record.lock`` and each renders after taking
    it, so the file on disk never goes back to an older state."""
    dir = Path(dir)
    path = dir / RECORD_FILE
    try:
        with os.fdopen(os.open(dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600), "r+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            write_atomic(path, render_record(journal, now), sync_dir=True)
    except OSError as exc:
        raise JournalWriteError(f"record {path} is not writable: {redact(exc.strerror or str(exc))}") from None
    return path
