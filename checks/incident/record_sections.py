"""The record's sections below the summary, as data: roles, timeline, commands, verification, close-out. Pure.

record.md (:mod:`checks.incident.record`) and ``record --json`` (:mod:`checks.incident.record_json`)
render the same dictionaries, so the two never say different things. Times stay datetimes here.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from checks.config.redact import redact
from checks.incident.events import ACTION, EVIDENCE, ROLE, Event
from checks.incident.record_text import first_line, fmt, parse_time, short_output

NAMED_ROLES = ("operator", "scribe", "approver")
# close figures the close-out states in its own lines (or under action items), never again as a figure
CLOSE_OWN_KEYS = frozenset({"rto_s", "rto_from", "rto_to", "rto_origin_at", "rto_end_at", "rpo_bytes", "rpo_s",
                            "rpo_measured", "rpo_transactions", "stage_s", "stage_seconds", "follow_ups"})
VERDICT_PREFIXES = ("pass: ", "FAIL: ")


def _data(e: Event) -> dict:
    return e.data or {}


def roles(events: Sequence[Event]) -> dict[str, Any]:
    """Names from ``roles`` data; seats from where each person first sat (a ``joined`` role event, or
    the first entry they made from that seat)."""
    names: dict[str, str] = {}
    seated: dict[tuple[str, str], datetime] = {}
    for e in events:
        named = _data(e).get("roles") if e.kind == ROLE else None
        if isinstance(named, dict):
            names.update({k: str(v) for k, v in named.items() if k in NAMED_ROLES and v})
        seated.setdefault((e.seat, e.author), e.at)
    found: dict[str, Any] = {}
    for role in NAMED_ROLES:
        name = names.get(role) or next((a for (s, a) in seated if s == role), None)
        found[role] = None if name is None else {
            "name": name, "seats": [{"seat": s, "since": t} for (s, a), t in seated.items() if a == name]}
    found["observers"] = [{"name": a, "since": t} for (s, a), t in seated.items() if s == "observer"]
    return found


def timeline(events: Sequence[Event]) -> list[dict[str, Any]]:
    return [{"id": e.id, "at": e.at, "seat": e.seat, "author": e.author, "kind": e.kind, "stage": e.stage,
             "text": e.text} for e in events]


def commands(events: Sequence[Event]) -> list[dict[str, Any]]:
    """Every action: what ran, who ran it, its exit code, time and redacted output (cut to 20 lines)."""
    found = []
    for e in events:
        if e.kind != ACTION:
            continue
        d = _data(e)
        argv = d.get("argv")
        ms = d.get("duration_ms")
        found.append({
            "at": e.at, "title": first_line(e.text), "by": e.author, "seat": e.seat, "stage": e.stage,
            "step": d.get("step"), "argv": [str(a) for a in argv] if isinstance(argv, list) else None,
            "command": shlex.join(str(a) for a in argv) if isinstance(argv, list) else (fmt(argv) if argv else None),
            "exit_code": d.get("exit_code"), "duration_ms": ms if isinstance(ms, (int, float)) else None,
            "error": first_line(redact(fmt(d["error"]))) if d.get("error") else None,
            "output": short_output(d.get("output") or "") or None})
    return found


def _detail(text: str, check: str | None) -> str:
    """A check's words without its label and verdict (the verification line says them once)."""
    text = text.strip()
    if check and text.startswith(f"{check}: "):
        text = text[len(check) + 2:]
    for prefix in VERDICT_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def verification(events: Sequence[Event]) -> list[dict[str, Any]]:
    found = []
    for e in events:
        d = _data(e)
        if e.kind != EVIDENCE or not (e.stage == 5 or d.get("stage") == 5):
            continue
        passed = d.get("passed")
        check = str(d["check"]) if d.get("check") else None
        found.append({"at": e.at, "check": check, "passed": passed if isinstance(passed, bool) else None,
                      "verdict": "pass" if passed is True else "FAIL" if passed is False else "noted",
                      "detail": _detail(e.text, check), "node": d.get("node"), "run": d.get("verify_run")})
    return found


def stage_seconds(close: Event) -> list[tuple[str, Any]]:
    """The close's time per stage as (stage key, seconds), in stage order."""
    stages = _data(close).get("stage_s", _data(close).get("stage_seconds"))
    if not isinstance(stages, dict):
        return []
    order = sorted(stages, key=lambda k: (not str(k).isdigit(), int(k) if str(k).isdigit() else 0, str(k)))
    return [(str(k), stages[k]) for k in order]


def close_out(close: Event | None) -> dict[str, Any] | None:
    """The close event's figures, with the ones the close-out states in lines of their own apart."""
    if close is None:
        return None
    d = _data(close)
    return {"closed_at": close.at, "by": close.author, "seat": close.seat, "text": close.text,
            "rto_s": d.get("rto_s") if isinstance(d.get("rto_s"), (int, float)) else None,
            "rto_known": "rto_s" not in d or isinstance(d.get("rto_s"), (int, float)),
            "rto_origin_at": parse_time(d.get("rto_origin_at")), "rto_end_at": parse_time(d.get("rto_end_at")),
            "rto_from": d.get("rto_from"), "rto_to": d.get("rto_to"),
            "has_rpo": "rpo_bytes" in d or "rpo_s" in d,
            "rpo_bytes": d.get("rpo_bytes") if isinstance(d.get("rpo_bytes"), int) else None,
            "rpo_s": d.get("rpo_s") if isinstance(d.get("rpo_s"), (int, float)) else None,
            "stage_seconds": stage_seconds(close),
            "figures": {k: d[k] for k in sorted(d) if k not in CLOSE_OWN_KEYS}}


def evaluation(events: Sequence[Event]) -> list[dict[str, Any]]:
    """Every evaluation (fail over or not yet), in order, each with the signals and standbys it was
    made on; the last one ``stands``."""
    from checks.incident.evaluation import WORDS, evaluations

    found = evaluations(events)
    return [{"at": ev.at, "by": ev.author, "decision": ev.decision, "words": WORDS[ev.decision], "reason": ev.reason,
             "signals": [dict(s) for s in ev.signals], "standbys": [dict(s) for s in ev.standbys],
             "stands": i == len(found) - 1} for i, ev in enumerate(found)]
