"""The markdown incident record, rendered from the journal (docs/design.md section 5.3).

:func:`render_record_from` is the pure core (meta, events, samples and "now" in, a
string out); :func:`render_record` feeds it from a :class:`~checks.incident.journal.Journal`;
:func:`write_record` writes ``record.md`` atomically and is meant to be called after
every event. The order follows incident practice: header and summary, roles, the UTC
timeline, decisions, commands run, verification, close-out, open follow-ups.

The event ``data`` keys the record reads (all optional):

- ``role`` events: ``roles`` ({"operator": NAME, "scribe": NAME, "approver": NAME}) sets
  names; ``joined: true`` says the author sat down in the event's seat.
- ``decision`` / ``approval`` / ``override``: ``proposed_by``, ``approved_by``; with
  ``evidence`` also ``candidate`` and ``data_risk`` (a sentence) for the summary.
- ``action``: ``argv``, ``exit_code``, ``output``, ``duration_ms``.
- ``evidence``: ``stage`` (5 lists it under verification, as does the event's stage 5), ``passed``.
- any event: ``first_bad_at`` (UTC time of the first bad signal) for the RTO; the first
  ``alarm`` event counts as a bad signal too.
- ``close``: ``rto_s``, ``rpo_bytes``, ``rpo_s``, ``stage_s`` or ``stage_seconds`` ({"0": seconds, ...}),
  and any other figures (lists such as a hardening checklist too), listed by key.
- ``data_risk`` may be a sentence or a :class:`checks.runbook.risk.DataRisk` dump (its ``statement`` is shown).
"""

from __future__ import annotations

import fcntl
import os
import shlex
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from checks.config.files import write_atomic
from checks.config.redact import redact
from checks.incident.directory import RECORD_FILE
from checks.incident.directory import RECORD_LOCK_FILE as LOCK_FILE
from checks.incident.evidence import STAGES, Check
from checks.incident.followups import follow_ups, new_primary
from checks.incident.journal import (
    ACTION, ALARM, APPROVAL, CLOSE, DECISION, EVIDENCE, OVERRIDE, ROLE, STAGE, Event, Journal, JournalWriteError
)
from checks.incident.record_text import (
    fence_for, first_line, fmt, key_label, list_item, md, parse_time, risk_text, short_output
)
from checks.incident.rpo import measured_rpo
from checks.incident.rpo import record_line as rpo_record_line
from checks.observe.lsn import human_bytes, human_seconds
from checks.observe.sample import NodeSample, iso_utc, utcnow

STAGE_NAMES = dict(STAGES)
DECISION_KINDS = (DECISION, APPROVAL, OVERRIDE)
NAMED_ROLES = ("operator", "scribe", "approver")


def stage_label(stage: int | None) -> str:
    if stage is None:
        return "-"
    return f"{stage} {STAGE_NAMES[stage]}" if stage in STAGE_NAMES else str(stage)


def node_line(sample: NodeSample) -> str:
    """One node at one moment: role, writable, WAL position, replay delay, sample time."""
    when = f" (sampled {iso_utc(sample.observed_at)})"
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


def _states_at(samples: Sequence[NodeSample], moment: datetime) -> list[NodeSample]:
    latest: dict[str, NodeSample] = {}
    for s in sorted(samples, key=lambda s: s.observed_at):
        if s.observed_at <= moment:
            latest[s.name] = s
    return [latest[name] for name in sorted(latest)]


class _Facts:
    """What the summary needs, gathered from the events in order."""

    def __init__(self, meta: Mapping[str, str], events: Sequence[Event]) -> None:
        self.stage: Event | None = None
        self.candidate: str | None = None
        self.data_risk: str | None = None
        self.close: Event | None = None
        signals: list[datetime] = []
        for e in events:
            if e.kind == STAGE:
                self.stage = e
            if e.kind == CLOSE:
                self.close = e
            if e.kind == ALARM:
                signals.append(e.at)
            if (bad := parse_time(e.data.get("first_bad_at"))) is not None:
                signals.append(bad)
            if e.kind in (DECISION, EVIDENCE):
                if e.data.get("candidate"):
                    self.candidate = md(fmt(e.data["candidate"]))
                if e.data.get("data_risk"):
                    self.data_risk = md(risk_text(e.data["data_risk"]))
        self.first_signal = min(signals) if signals else None
        self.opened = parse_time(meta.get("created_at")) or (events[0].at if events else None)


def _header(meta: Mapping[str, str], facts: _Facts, now: datetime) -> list[str]:
    incident, cluster = md(meta.get("incident_id", "?")), md(meta.get("cluster", "?"))
    status = f"closed at {iso_utc(facts.close.at)}" if facts.close else "open"
    lines = [f"# Incident {incident}: {cluster} PostgreSQL failover", "",
             f"- Incident: {incident}", f"- Cluster: {cluster}", f"- Status: {status}"]
    if facts.opened:
        lines.append(f"- Opened: {iso_utc(facts.opened)}")
    if meta.get("config"):
        lines.append(f"- Config: {md(meta['config'])}")
    lines.append(f"- Record rendered: {iso_utc(now)}")
    lines += ["", "## Summary", ""]
    if facts.stage is not None:
        name = facts.stage.data.get("name")
        label = stage_label(facts.stage.stage) if facts.stage.stage is not None else md(fmt(name or "-"))
        lines.append(f"- Stage: {label} (since {iso_utc(facts.stage.at)})")
    else:
        lines.append("- Stage: not started")
    lines.append(f"- Candidate: {facts.candidate or 'not chosen yet'}")
    lines.append(f"- Data risk: {facts.data_risk or 'not assessed yet'}")
    start = facts.first_signal or facts.opened
    origin = "the first bad signal" if facts.first_signal else "the incident start"
    if start is None:
        lines.append("- RTO so far: unknown")
    elif facts.close is not None:
        rto = facts.close.data.get("rto_s")
        seconds = float(rto) if isinstance(rto, (int, float)) else (facts.close.at - start).total_seconds()
        lines.append(f"- RTO: {human_seconds(seconds)} (from {origin} at {iso_utc(start)} to {facts.close.data.get('rto_to', 'the close')})")
    else:
        seconds = max(0.0, (now - start).total_seconds())
        lines.append(f"- RTO so far: {human_seconds(seconds)} (from {origin} at {iso_utc(start)})")
    return lines


def _roles(events: Sequence[Event]) -> list[str]:
    """Names from ``roles`` data; seats from where each person first sat (a ``joined`` role
    event, or the first entry they made from that seat)."""
    names: dict[str, str] = {}
    seated: dict[tuple[str, str], datetime] = {}
    for e in events:
        roles = e.data.get("roles") if e.kind == ROLE else None
        if isinstance(roles, dict):
            names.update({k: str(v) for k, v in roles.items() if k in NAMED_ROLES and v})
        seated.setdefault((e.seat, e.author), e.at)
    lines = ["## Roles", ""]
    for role in NAMED_ROLES:
        name = names.get(role) or next((a for (s, a) in seated if s == role), None)
        if name is None:
            lines.append(f"- {role.capitalize()}: not named yet")
            continue
        seats = [f"{s} seat since {iso_utc(t)}" for (s, a), t in seated.items() if a == name]
        lines.append(f"- {role.capitalize()}: {md(name)} ({'; '.join(seats) if seats else 'not seated'})")
    observers = [(a, t) for (s, a), t in seated.items() if s == "observer"]
    if observers:
        lines.append("- Observers: " + ", ".join(f"{md(a)} (since {iso_utc(t)})" for a, t in observers))
    return lines


def _timeline(events: Sequence[Event]) -> list[str]:
    lines = ["## Timeline (UTC)", ""]
    lines += [list_item(f"- {iso_utc(e.at)} [{e.seat} {md(e.author)}] {e.kind}: ", e.text) for e in events]
    return lines if events else lines + ["No events yet."]


def _decisions(events: Sequence[Event], samples: Sequence[NodeSample]) -> list[str]:
    lines = ["## Decisions"]
    chosen = [e for e in events if e.kind in DECISION_KINDS]
    for e in chosen:
        proposer = e.data.get("proposed_by") or (None if e.kind == APPROVAL else e.author)
        approver = e.data.get("approved_by") or (e.author if e.kind == APPROVAL else None)
        lines += ["", f"### {iso_utc(e.at)} {e.kind}: {md(first_line(e.text))}", ""]
        if proposer:
            lines.append(f"- Proposed by: {md(fmt(proposer))}")
        lines.append(f"- Approved by: {md(fmt(approver)) if approver else 'not approved'}")
        lines.append(f"- Entered by: {md(e.author)} ({e.seat} seat)")
        if e.stage is not None:
            lines.append(f"- Stage: {stage_label(e.stage)}")
        if e.data.get("candidate"):
            lines.append(f"- Candidate: {md(fmt(e.data['candidate']))}")
        if e.data.get("data_risk"):
            lines.append(f"- Data risk: {md(risk_text(e.data['data_risk']))}")
        states = _states_at(samples, e.at)
        if states:
            lines.append("- Node states at the decision:")
            lines += [f"  - {node_line(s)}" for s in states]
        else:
            lines.append("- Node states at the decision: no sample journaled before it")
    return lines if chosen else lines + ["", "None yet."]


def _commands(events: Sequence[Event]) -> list[str]:
    lines = ["## Commands run"]
    actions = [e for e in events if e.kind == ACTION]
    for e in actions:
        argv = e.data.get("argv")
        command = shlex.join(str(a) for a in argv) if isinstance(argv, list) else fmt(argv)
        code = e.data.get("exit_code")
        ms = e.data.get("duration_ms")
        took = f" in {ms:.0f} ms" if isinstance(ms, (int, float)) else ""
        error = md(first_line(redact(fmt(e.data["error"])))) if e.data.get("error") else ""
        if code is None:
            result = f"no exit code ({error or 'did not finish'})"
        else:
            result = f"exit code {code}" + (f" ({error})" if error else "")
        stage = f", stage {stage_label(e.stage)}" if e.stage is not None else ""
        lines += ["", f"### {iso_utc(e.at)} {md(first_line(e.text))}", "",
                  f"- Run by {md(e.author)} ({e.seat} seat){stage}: {result}{took}"]
        output = short_output(e.data.get("output") or "")
        if argv:
            body, lang = f"$ {command}" + (f"\n{output}" if output else ""), "console"
        else:
            body, lang = output, "text"
        if body:
            fence = fence_for(body)
            lines += ["", f"{fence}{lang}", body, fence]
    return lines if actions else lines + ["", "None yet."]


def _verification(events: Sequence[Event]) -> list[str]:
    lines = ["## Verification", ""]
    checks = [e for e in events if e.kind == EVIDENCE and (e.stage == 5 or e.data.get("stage") == 5)]
    for e in checks:
        passed = e.data.get("passed")
        verdict = "pass" if passed is True else "FAIL" if passed is False else "noted"
        check = f" ({md(fmt(e.data['check']))})" if e.data.get("check") else ""
        lines.append(list_item(f"- {iso_utc(e.at)} {verdict}{check}: ", e.text))
    return lines if checks else lines + ["None yet."]


def _close_out(close: Event | None, events: Sequence[Event] = ()) -> list[str]:
    lines = ["## Close-out", ""]
    if close is None:
        return lines + ["The incident is still open."]
    d = close.data
    lines.append(f"- Closed at {iso_utc(close.at)} by {md(close.author)} ({close.seat} seat): "
                 f"{md(first_line(close.text))}")
    if isinstance(d.get("rto_s"), (int, float)):
        lines.append(f"- RTO: {human_seconds(d['rto_s'])} ({fmt(float(d['rto_s']))} s)")
    elif "rto_s" in d:
        lines.append("- RTO: unknown (not verified)")
    if "rpo_bytes" in d or "rpo_s" in d:
        size = d.get("rpo_bytes")
        size_text = f"{human_bytes(size)} ({size} bytes)" if isinstance(size, int) else "unknown bytes"
        secs = d.get("rpo_s")
        secs_text = human_seconds(secs) if isinstance(secs, (int, float)) else "unknown time"
        lines.append(rpo_record_line(measured_rpo(events), size_text, secs_text))
    stages = d.get("stage_s", d.get("stage_seconds"))
    if isinstance(stages, dict) and stages:
        lines.append("- Time per stage:")
        for key in sorted(stages, key=lambda k: (not str(k).isdigit(), int(k) if str(k).isdigit() else 0, str(k))):
            label = stage_label(int(key)) if str(key).isdigit() else str(key)
            value = stages[key]
            lines.append(f"  - {label}: {human_seconds(value) if isinstance(value, (int, float)) else md(fmt(value))}")
    for key in sorted(k for k in d if k not in ("rto_s", "rpo_bytes", "rpo_s", "stage_s", "stage_seconds",
                                                "follow_ups")):
        value = d[key]
        if isinstance(value, list):
            lines.append(f"- {md(key_label(key))}:")
            lines += [list_item("  - ", fmt(v)) for v in value]
        else:
            lines.append(f"- {md(key_label(key))}: {md(fmt(value))}")
    return lines


def _follow_ups(events: Sequence[Event], close: Event | None) -> list[str]:
    """What the promotion left to do (the section is shown once a node was promoted, or closed): as
    the close found it (its ``follow_ups``), or, while open, what the journal says (an old primary
    not re-protected yet; a standby whose last re-point failed)."""
    lines = ["## Open follow-ups", ""]
    if close is not None and isinstance(close.data.get("follow_ups"), list):
        found = [fmt(v) for v in close.data["follow_ups"]]
        when = f" at the close ({iso_utc(close.at)})"
    else:
        found = follow_ups(events)
        found += [f"{e.data.get('node')} was not re-pointed at {e.data.get('primary')}: {first_line(e.text)}"
                  for e in _last_repoints(events) if not e.data.get("passed")]
        when = ""
    if not found:
        return lines + [f"Nothing left open{when}." if close is not None else "Nothing open so far."]
    return lines + [list_item("- ", line) for line in found]


def _last_repoints(events: Sequence[Event]) -> list[Event]:
    last: dict[str, Event] = {}
    for e in events:
        if e.kind == EVIDENCE and e.data.get("check") == Check.REPOINTED and e.data.get("node"):
            last[e.data["node"]] = e
    return list(last.values())


def render_record_from(meta: Mapping[str, str], events: Sequence[Event], samples: Sequence[NodeSample],
                       now: datetime) -> str:
    """The whole record as markdown. Pure: the same inputs give the same bytes."""
    ordered = sorted(events, key=lambda e: (e.at, e.id))
    facts = _Facts(meta, ordered)
    parts = [_header(meta, facts, now), _roles(ordered), _timeline(ordered), _decisions(ordered, samples),
             _commands(ordered), _verification(ordered), _close_out(facts.close, ordered),
             *([_follow_ups(ordered, facts.close)] if facts.close is not None or new_primary(ordered) else [])]
    return "\n\n".join("\n".join(p) for p in parts) + "\n"


def render_record(journal: Journal, now: datetime | None = None) -> str:
    """The record of the journal's incident, with the node states journaled at each decision."""
    events = journal.events()
    samples: dict[tuple[str, datetime], NodeSample] = {}
    for e in events:
        if e.kind in DECISION_KINDS:
            for s in journal.samples_at(e.at).values():
                samples[(s.name, s.observed_at)] = s
    return render_record_from(journal.meta, events, list(samples.values()), now or utcnow())


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
