"""The top of record.md: the title, the one-sentence story, the header, the summary; and, at the end,
the action items and the status updates. Markdown from :class:`~checks.incident.record_facts.RecordFacts`.

Every time is given in UTC and in the incident's zone (:mod:`checks.incident.record_time`), to the
second. The data-risk statement is stated here once; the rest of the record refers to it.
"""

from __future__ import annotations

from typing import Any

from checks.config.redact import redact
from checks.incident.evidence import STAGES
from checks.incident.record_facts import RecordFacts
from checks.incident.record_text import first_line, fmt, list_item, md
from checks.incident.record_time import RecordZone
from checks.incident.rpo import lost_words
from checks.observe.lsn import human_bytes, human_seconds

STAGE_NAMES = dict(STAGES)


def stage_label(stage: int | None) -> str:
    if stage is None:
        return "-"
    return f"{stage} {STAGE_NAMES[stage]}" if stage in STAGE_NAMES else str(stage)


def _size(n: int | None) -> str:
    return f"{human_bytes(n)} ({n} bytes)" if isinstance(n, int) else "an unknown amount"


def rpo_words(facts: RecordFacts, zone: RecordZone, *, short: bool = False) -> str:
    """The RPO: measured, exact from positions, a lower bound with its unknown window, or unknown."""
    rpo, m = facts.rpo, facts.rpo.get("measurement") or {}
    basis, size, secs = rpo["basis"], rpo["bytes"], rpo["seconds"]
    if basis == "measured":
        return f"{human_bytes(size)} lost, measured on {m['node']}" if short else \
            f"MEASURED on {m['node']} before its rewind: {lost_words(m)}"
    if basis == "positions":
        if size == 0:
            return "nothing lost, known from WAL positions" if short else "0 B: nothing lost, known from WAL positions"
        return f"{human_bytes(size)}, known from WAL positions" if short else \
            f"exactly {_size(size)} of WAL, known from WAL positions"
    if basis == "lower_bound":
        if short:
            return f"at least {human_bytes(size)} plus an unknown window"
        words = f"at least {_size(size)} of WAL"
        if rpo["unknown_after"] is not None:
            who = facts.old_primary or "the old primary"
            words += (f", plus what {who} committed after its last sample at {zone.clock(rpo['unknown_after'])}, "
                      "which no sample saw")
        if secs is not None:
            words += f"; {human_seconds(secs)} of committed work at risk in all"
        return words + (f" (a lower bound: {rpo['reason']})" if rpo.get("reason") else "")
    if basis == "unknown":
        return "unknown" if short else f"unknown: {rpo['reason']}"
    return "not assessed yet"


def rto_words(facts: RecordFacts, zone: RecordZone) -> tuple[str, str]:
    """The RTO line's label and words."""
    rto = facts.rto
    if rto["origin_at"] is None:
        return "RTO so far", "unknown"
    origin = f"from {rto['origin']} at {zone.clock(rto['origin_at'])}"
    end = f"{rto['end']} at {zone.clock(rto['end_at'])}" if rto.get("end_at") else rto.get("end")
    if rto["final"]:
        if rto["seconds"] is None:
            return "RTO", f"unknown: no verification passed before the close ({origin})"
        return "RTO", f"{human_seconds(rto['seconds'])} ({fmt(rto['seconds'])} s), {origin} to {end}"
    if rto.get("end_at"):
        return "RTO", f"{human_seconds(rto['seconds'])}, {origin} to {end}; not closed yet"
    return "RTO so far", f"{human_seconds(rto['seconds'])}, {origin}"


def _approval_words(approval: dict[str, Any], zone: RecordZone) -> str:
    seat = ("from the approver seat" if approval["entered_by"] == approval["by"] and approval["seat"] == "approver"
            else f"entered by {approval['entered_by']} from the {approval['seat']} seat")
    return f"{approval['by']} at {zone.clock(approval['at'])}, {seat}"


def approval_lines(block: dict[str, Any], zone: RecordZone) -> list[str]:
    """A decision's ``Approved by`` words: each approval with when and from which seat, or why none."""
    def later(a: dict[str, Any]) -> str:
        seconds = (a["at"] - block["at"]).total_seconds()
        return f", {human_seconds(seconds)} after the decision" if seconds >= 1 else ""

    found = [_approval_words(a, zone) + later(a) for a in block["approvals"]]
    if block.get("approved_by_named"):
        found.append(f"{block['approved_by_named']} (named in the decision; no approval entry of its own)")
    if found:
        return found
    needed = block.get("approval_needed")
    if needed is True:
        return ["nobody yet: the data risk is above the SLO or unknown, so promotion waits for an approver"]
    if needed is False:
        within = block.get("candidate") and isinstance(block.get("data_risk"), dict)
        return ["no approval needed" + (": the data risk is within the SLO" if within else "")]
    return []


def _decided_line(block: dict[str, Any], facts: RecordFacts, zone: RecordZone) -> str:
    what = facts.risk.without(first_line(block["text"])) or block["kind"]
    when = zone.clock(block["at"])
    if block["kind"] in ("attestation", "approval"):
        return f"{when}: {what} ({block['seat']} seat)"
    who = block.get("proposed_by") or block["entered_by"]
    words = approval_lines(block, zone)
    approved = bool(block["approvals"] or block.get("approved_by_named"))
    tail = f"; approved by {', '.join(words)}" if approved else f"; {words[0]}" if words else ""
    return f"{when}: {who}: {what}{tail}"


def _what_failed(facts: RecordFacts, zone: RecordZone) -> str:
    if facts.planned():
        return f"nothing: a planned switchover from {facts.old_primary} (still writable when the candidate was chosen)"
    if facts.old_primary is None:
        return "not established yet (no candidate chosen, no node fenced or attested down)"
    how = facts.old_primary_how
    words = f"{facts.old_primary}, {how}" if how == "the primary" else f"{facts.old_primary} ({how})"
    seen = facts.old_primary_state()
    if seen is not None and not seen.reachable:
        error = first_line(redact(seen.error or "")) or "no error given"
        words += f": unreachable when the candidate was chosen (sampled {zone.clock(seen.observed_at)}: {error})"
    elif seen is not None and seen.writable:
        words += f": still writable when the candidate was chosen (sampled {zone.clock(seen.observed_at)})"
    return words


def headline(facts: RecordFacts, zone: RecordZone) -> str:
    """The incident in one sentence or three: what failed and when, the promotion, Odoo, RTO, RPO, state."""
    old, signal = facts.old_primary, facts.first_signal
    if facts.planned():
        parts = [f"A planned switchover from {old}"]
    elif old and signal:
        parts = [f"{old} failed (first bad signal at {zone.clock(signal)})"]
    elif old:
        parts = [f"{old} failed (no first bad signal journaled)"]
    elif signal:
        parts = [f"The first bad signal came at {zone.clock(signal)}"]
    else:
        parts = ["No failure is journaled yet"]
    if facts.promoted is not None:
        node = facts.promoted.data.get("node")
        parts.append(f"{node} was promoted at {zone.clock(facts.promoted.at)}")
        parts.append(f"Odoo wrote again at {zone.clock(facts.odoo_wrote.at)}" if facts.odoo_wrote is not None
                     else "Odoo has not written again yet")
    if facts.planned() and len(parts) > 1:
        parts[0] = f"In a planned switchover from {old}"
    sentence = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] + "."
    seconds = facts.rto["seconds"]
    rto = "unknown" if seconds is None else human_seconds(seconds)
    rto = rto if facts.rto["final"] or facts.rto.get("end_at") else f"so far {rto}"
    numbers = f" RTO {rto}; RPO {rpo_words(facts, zone, short=True)}."
    open_items = len(facts.action_items())
    items = f"{open_items} action item{'s' if open_items != 1 else ''} open" if open_items else "no action item open"
    state, at = facts.stage_words()
    if state == "closed":
        end = f" Closed at {zone.clock(at)} by {facts.close.author}; {items}."
    elif state == "passed":
        end = f" Every stage passed; not closed yet; {items}."
    elif state == "open":
        end = f" Open at stage {stage_label(facts.stage.stage)}; {items}."
    else:
        end = " Open, no stage started yet."
    return sentence + numbers + end


def header(facts: RecordFacts, zone: RecordZone) -> list[str]:
    meta = facts.meta
    incident, cluster = md(meta.get("incident_id", "?")), md(meta.get("cluster", "?"))
    if facts.closed:
        status = f"closed at {zone.clock(facts.close.at, with_date=True)} by {md(facts.close.author)}"
    elif facts.reopen is not None:
        status = (f"open: reopened at {zone.clock(facts.reopen.at, with_date=True)} by {md(facts.reopen.author)}, "
                  f"after the close at {zone.clock(facts.close.at)}")
    else:
        status = "open"
    lines = [f"# Incident {incident}: {cluster} PostgreSQL failover", "", md(headline(facts, zone), line_start=True),
             "", f"- Incident: {incident}", f"- Cluster: {cluster}", f"- Status: {status}"]
    if facts.opened:
        lines.append(f"- Opened: {zone.clock(facts.opened, with_date=True)}")
    lines.append(f"- Times: {md(zone.describe())}")
    if meta.get("config"):
        lines.append(f"- Config: {md(meta['config'])}")
    lines.append(f"- Record rendered: {zone.clock(facts.now, with_date=True)}")
    return lines


def summary(facts: RecordFacts, zone: RecordZone) -> list[str]:
    lines = ["## Summary", "", f"- What failed: {md(_what_failed(facts, zone))}"]
    if facts.first_signal is not None:
        words = f": {facts.signal_text}" if facts.signal_text else ""
        lines.append(list_item("- First bad signal: ", f"{zone.clock(facts.first_signal)}{words}"))
    blocks = facts.decisions
    lines.append("- Who decided what:" if blocks else "- Who decided what: nothing decided yet")
    lines += [list_item("  - ", _decided_line(b, facts, zone)) for b in blocks]
    if facts.promoted is not None:
        lines.append(f"- Promoted: {md(facts.promoted.data.get('node'))} at {zone.clock(facts.promoted.at)}")
    if facts.odoo_wrote is not None:
        probe = first_line(facts.odoo_wrote.text).removeprefix("write_probe: pass: ")
        lines.append(list_item("- Odoo wrote again: ", f"{zone.clock(facts.odoo_wrote.at)} (the write probe: {probe})"))
    elif facts.promoted is not None:
        lines.append("- Odoo wrote again: not yet (no write probe has passed since the promotion)")
    label, rto = rto_words(facts, zone)
    lines += [f"- {label}: {md(rto)}", f"- RPO: {md(rpo_words(facts, zone))}"]
    state, at = facts.stage_words()
    stage = {"closed": f"closed at {zone.clock(at)}", "passed": f"every stage passed at {zone.clock(at)}; not closed yet",
             "not_started": "not started"}.get(state) or f"{stage_label(facts.stage.stage)} (open since {zone.clock(at)})"
    lines.append(f"- Stage: {stage}")
    candidate = facts.risk.current.get("candidate") if facts.risk.current else None
    chosen = [b.get("candidate") for b in blocks if b.get("candidate")]
    lines.append(f"- Candidate: {md(fmt(chosen[-1] if chosen else candidate)) if chosen or candidate else 'not chosen yet'}")
    entries = facts.risk.entries
    lines.append(list_item("- Data risk: ", entries[0]["statement"]) if entries else "- Data risk: not assessed yet")
    if len(entries) > 1:
        lines.append("- Data risk stated earlier:")
        lines += [list_item("  - ", f"{x['origin']} at {zone.clock(x['at'])}: {x['statement']}") for x in entries[1:]]
    found, at_close = facts.open_follow_ups()
    todos = sum(1 for i in facts.action_items() if i["kind"] == "todo")
    follow = f"{len(found) or 'no'} open follow-up{'' if len(found) == 1 else 's'}" + (" at the close" if at_close else "")
    lines.append(f"- Action items: {follow}, {todos or 'no'} TODO{'' if todos == 1 else 's'} (listed at the end)")
    return lines


def action_items(facts: RecordFacts, zone: RecordZone) -> list[str]:
    lines = ["## Action items", ""]
    items = facts.action_items()
    for item in items:
        if item["kind"] == "todo":
            origin = f"TODO by {item['by']}, {item['seat']} seat, at {zone.clock(item['at'])}"
        else:
            origin = f"open follow-up at the close, {zone.clock(item['at'])}" if item["at"] else "open follow-up"
        lines.append(list_item("- [ ] ", f"{item['text']} ({origin})"))
    return lines if items else lines + ["None yet." if not facts.closed else "None."]


def status_updates(facts: RecordFacts, zone: RecordZone) -> list[str]:
    lines = ["## Status updates", ""]
    updates = facts.status_updates()
    lines += [list_item(f"- {zone.clock(e.at)} {md(e.author)} ({e.seat} seat): ", facts.risk.refer(e.text, zone.clock))
              for e in updates]
    return lines if updates else lines + ["None yet."]
