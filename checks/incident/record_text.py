"""Plain-text helpers for the markdown record: values as people write them, list items, code fences.

Text from people (and from servers) is escaped where the record renders it, with the one helper
:func:`checks.config.text.md` (re-exported here): a note cannot add markup, close a ``<details>`` or
open a code fence; :func:`list_item` escapes its text itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from checks.config.redact import redact
from checks.config.text import md, visible

__all__ = ["fmt", "key_label", "risk_text", "parse_time", "first_line", "list_item", "fence_for", "short_output", "md"]

MAX_OUTPUT_LINES = 20
MAX_OUTPUT_CHARS = 2000


def fmt(value: Any) -> str:
    """A value as a person writes it: no Python reprs."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {fmt(v)}" for k, v in sorted(value.items())) or "-"
    return str(value)


_UNIT_SUFFIXES = {"_s": "s", "_ms": "ms", "_bytes": "bytes", "_pct": "%"}
_WORDS = {"rto": "RTO", "rpo": "RPO", "lsn": "LSN", "slo": "SLO", "odoo": "Odoo", "wal": "WAL"}


def key_label(key: str) -> str:
    """``max_replay_delay_s`` -> ``Max replay delay (s)``; ``rpo_statement`` -> ``RPO statement``."""
    unit = ""
    for suffix, name in _UNIT_SUFFIXES.items():
        if key.endswith(suffix) and len(key) > len(suffix):
            key, unit = key[:-len(suffix)], f" ({name})"
            break
    words = [_WORDS.get(w.lower(), w) for w in key.split("_") if w]
    if words and words[0] == words[0].lower():
        words[0] = words[0].capitalize()
    return " ".join(words) + unit


def risk_text(value: Any) -> str:
    """A data-risk sentence: given as text, or as a DataRisk dump with a ``statement``."""
    if isinstance(value, dict) and value.get("statement"):
        return str(value["statement"])
    return fmt(value)


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else None
    return None


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def list_item(prefix: str, text: str) -> str:
    """A list item of ``text`` (escaped with :func:`md`) whose continuation lines stay inside the item."""
    lines = md(text.strip()).split("\n")
    return "\n".join([f"{prefix}{lines[0]}".rstrip()] + [f"  {line}".rstrip() for line in lines[1:]])


def fence_for(text: str) -> str:
    run = longest = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def short_output(output: Any) -> str:
    text = visible(redact(output if isinstance(output, str) else fmt(output))).rstrip()
    lines = text.splitlines()
    cut = lines[:MAX_OUTPUT_LINES]
    body = "\n".join(cut)
    if len(body) > MAX_OUTPUT_CHARS:
        body = body[:MAX_OUTPUT_CHARS].rstrip()
    if len(cut) < len(lines) or len(body) < len("\n".join(cut)):
        body += f"\n[... output cut: {len(lines)} lines, {len(text)} characters in all]"
    return body
