"""``failover-cockpit record DIR --json``: the record as one JSON document (docs/design.md section 6.3).

The same content as record.md, from the same facts (:mod:`checks.incident.record_facts`,
:mod:`checks.incident.record_sections`): top-level keys :data:`TOP_KEYS`. Times are UTC strings
(``2026-12-01T08:12:21.123456Z``) and ``timezone`` names the incident's local zone. Texts are the
journal's (redacted when journaled, redacted again here, control characters as visible escapes),
never markdown-escaped; the data risk is stated in full wherever it applies. Keys are only ever added.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from checks.config.text import visible_data
from checks.incident.events import Event, redact_data
from checks.incident.journal import Journal
from checks.incident.record import decision_samples
from checks.incident.record_facts import RecordFacts
from checks.incident.record_sections import close_out, commands, evaluation, roles, timeline, verification
from checks.incident.record_summary import headline, rpo_words, rto_words, stage_label
from checks.incident.record_text import risk_text
from checks.incident.record_time import UTC_ZONE, RecordZone, zone_for
from checks.observe.sample import NodeSample, iso_utc, utcnow

VERSION = 1
TOP_KEYS = ("record_version", "incident", "timezone", "summary", "roles", "status_updates", "timeline", "decisions",
            "commands", "verification", "close_out", "action_items", "evaluation")


def node_state(s: NodeSample) -> dict[str, Any]:
    return {"node": s.name, "sampled_at": s.observed_at, "reachable": s.reachable, "in_recovery": s.in_recovery,
            "writable": s.writable if s.reachable else None, "current_lsn": s.current_lsn,
            "receive_lsn": s.receive_lsn, "replay_delay_s": s.replay_delay_s, "replay_paused": s.replay_paused,
            "error": s.error}


def _risk(value: Any) -> dict[str, Any] | None:
    if not value:
        return None
    return dict(value) if isinstance(value, dict) else {"statement": risk_text(value)}


def _incident(facts: RecordFacts) -> dict[str, Any]:
    meta = facts.meta
    return {"id": meta.get("incident_id"), "cluster": meta.get("cluster"), "config": meta.get("config"),
            "opened_at": facts.opened, "status": "closed" if facts.closed else "open",
            "closed_at": facts.close.at if facts.closed else None,
            "closed_by": facts.close.author if facts.closed else None,
            "reopened_at": facts.reopen.at if facts.reopen is not None else None, "rendered_at": facts.now}


def _summary(facts: RecordFacts, zone: RecordZone) -> dict[str, Any]:
    state, at = facts.stage_words()
    number = facts.stage.stage if facts.stage is not None and state == "open" else None
    seen = facts.old_primary_state()
    label, rto = rto_words(facts, zone)
    found, at_close = facts.open_follow_ups()
    chosen = [b["candidate"] for b in facts.decisions if b.get("candidate")]
    return {
        "headline": headline(facts, zone),
        "what_failed": {"node": facts.old_primary, "how": facts.old_primary_how or None, "planned": facts.planned(),
                        "state": node_state(seen) if seen is not None else None},
        "first_bad_signal": ({"at": facts.first_signal, "text": facts.signal_text}
                             if facts.first_signal is not None else None),
        "promoted": ({"node": facts.promoted.data.get("node"), "at": facts.promoted.at}
                     if facts.promoted is not None else None),
        "odoo_wrote_again_at": facts.odoo_wrote.at if facts.odoo_wrote is not None else None,
        "rto": {"seconds": facts.rto["seconds"], "final": facts.rto["final"], "from": facts.rto["origin"],
                "from_at": facts.rto["origin_at"], "to": facts.rto.get("end"), "to_at": facts.rto.get("end_at"),
                "words": f"{label}: {rto}"},
        "rpo": {**facts.rpo, "words": rpo_words(facts, zone)},
        "stage": {"state": state, "at": at, "number": number, "name": stage_label(number) if number is not None else None},
        "candidate": chosen[-1] if chosen else None,
        "data_risk": facts.risk.entries,
        "open_follow_ups": found, "follow_ups_at_close": at_close,
    }


def _decision(block: dict[str, Any]) -> dict[str, Any]:
    return {**{k: v for k, v in block.items() if k not in ("node_states", "data_risk")},
            "data_risk": _risk(block.get("data_risk")),
            "node_states": [node_state(s) for s in block["node_states"]]}


def _close_out(facts: RecordFacts) -> dict[str, Any] | None:
    found = close_out(facts.close)
    if found is None:
        return None
    found["stage_seconds"] = dict(found["stage_seconds"])
    found["rpo"] = facts.rpo
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def record_document(meta: Mapping[str, str], events: Sequence[Event], samples: Sequence[NodeSample],
                    now: datetime, zone: RecordZone = UTC_ZONE) -> dict[str, Any]:
    """The record as one JSON-ready dict (keys :data:`TOP_KEYS`). Pure."""
    ordered = sorted(events, key=lambda e: (e.at, e.id))
    facts = RecordFacts(meta, ordered, samples, now)
    zone = zone.on(facts.opened.astimezone(timezone.utc).date() if facts.opened else None)
    document = {
        "record_version": VERSION, "incident": _incident(facts), "timezone": zone.as_json(),
        "summary": _summary(facts, zone), "roles": roles(ordered),
        "status_updates": [{"at": e.at, "by": e.author, "seat": e.seat, "text": e.text}
                           for e in facts.status_updates()],
        "timeline": timeline(ordered), "decisions": [_decision(b) for b in facts.decisions],
        "commands": commands(ordered), "verification": verification(ordered), "close_out": _close_out(facts),
        "action_items": facts.action_items(), "evaluation": evaluation(ordered),
    }
    return visible_data(redact_data(_plain(document)))


def record_json(journal: Journal, now: datetime | None = None, zone: RecordZone | None = None) -> str:
    """The journal's record as one JSON document (indented, UTF-8 text)."""
    events = journal.events()
    document = record_document(journal.meta, events, decision_samples(journal, events), now or utcnow(),
                               zone or zone_for(journal.meta))
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
