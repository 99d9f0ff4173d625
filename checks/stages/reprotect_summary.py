"""Re-protect in the close-out's hardening checklist: one line per node, from its last attempt."""

from __future__ import annotations

from typing import Any, Iterable

from checks.incident.evidence import Check, Step
from checks.incident.rpo import CHECK as RPO_CHECK
from checks.incident.rpo import lost_words
from checks.observe.lsn import human_ms


def _attempts(events: Iterable) -> dict[str, list]:
    """The last re-protect attempt's events, per node, in the order nodes were first re-protected
    (an attempt is its ``attempt`` id; journals from before it had one start one at the checkpoint)."""
    attempts: dict[str, list] = {}
    current: dict[str, Any] = {}
    for e in events:
        data = e.data or {}
        if data.get("step") != Step.REPROTECT or e.kind not in ("action", "evidence") or not data.get("node"):
            continue
        node, attempt = data["node"], data.get("attempt")
        new = attempt != current.get(node) if attempt else data.get("phase") == "source_checkpoint"
        if new or node not in attempts:
            attempts[node] = []             # a new attempt replaces the older one, in the node's first place
            current[node] = attempt
        attempts[node].append(e)
    return attempts


def reprotect_lines(events: Iterable) -> list[str]:
    """One hardening checklist line per re-protected node (its last attempt), e.g.
    "node1 re-protected as a standby of node2: dry run ok, rewind ok in 1.2 s, streaming verified"."""
    lines = []
    for node, attempt in _attempts(events).items():
        primary = next((e.data.get("primary") for e in attempt if e.data.get("primary")), "the new primary")
        parts, measured = [], ""
        for e in attempt:
            d = e.data
            phase = d.get("phase")
            if d.get("check") == RPO_CHECK:
                measured = (f"RPO measured before the rewind: {lost_words(d)}" if d.get("measured") else
                            f"RPO NOT measured before the rewind, a lower bound ({d.get('why')})")
                continue
            if e.kind == "action" and phase == "start_read_only":
                if d.get("exit_code") != 0:
                    parts.append(f"read-only start FAILED ({d.get('error') or 'exit ' + str(d.get('exit_code'))})")
                continue
            if e.kind == "action":
                ok = d.get("exit_code") == 0
                label = {"dry_run": "dry run", "rewind": "rewind", "start_as_standby": "start"}.get(phase, phase)
                if not ok:
                    said = [line.strip() for line in (d.get("output") or "").splitlines() if line.strip()]
                    why = d.get("error") or f"exit {d.get('exit_code')}" + (f": {said[-1]}" if said else "")
                    parts.append(f"{label} FAILED ({why})")
                elif phase == "dry_run":
                    parts.append("dry run ok")
                elif phase == "rewind":
                    if d.get("rewind_needed") is False:
                        detail = "no rewind was needed"
                    elif d.get("diverged_at"):
                        detail = f"diverged at {d['diverged_at']} on timeline {d.get('diverged_tli')}"
                        if d.get("copy_mb") is not None:
                            detail += f", {d['copy_mb']} MB copied"
                    else:
                        detail = ""
                    parts.append(f"rewind ok in {human_ms(d.get('duration_ms'))}" + (f" ({detail})" if detail else ""))
                else:
                    parts.append(f"started in {human_ms(d.get('duration_ms'))}")
            elif d.get("check") == Check.REPROTECT_SOURCE and not d.get("passed"):
                parts.append(f"source checkpoint FAILED ({e.text})")
            elif d.get("check") == Check.REPROTECTED and d.get("passed"):
                parts.append(f"streaming verified (timeline {d.get('timeline')}, "
                             f"{human_ms(d.get('streaming_after_ms'))} after start)")
            elif d.get("check") == Check.REPROTECTED and d.get("failed_step") == "verify":
                parts.append(f"streaming NOT verified ({e.text})")
        done = any(e.data.get("check") == Check.REPROTECTED and e.data.get("passed") for e in attempt)
        failed = any(e.data.get("check") == Check.REPROTECTED and not e.data.get("passed") for e in attempt)
        head = (f"{node} re-protected as a standby of {primary}" if done else
                f"{node} NOT re-protected as a standby of {primary}" if failed else
                f"{node} re-protect as a standby of {primary} not finished")
        lines.append(f"{head}: {', '.join(parts) or 'no step ran'}" + (f"; {measured}" if measured else ""))
    return lines
