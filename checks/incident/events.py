"""Journal event kinds, the Event model, and how event data is made safe to store.

Every string inside event data is redacted (:func:`checks.config.redact.redact`), and the
values of secret-looking keys (``password``, ``api_key``, ``token``...) are masked whole.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer

from checks.config.redact import MASK, redact
from checks.observe.sample import iso_utc

NOTE = "note"
DECISION = "decision"
STATUS = "status"
TODO = "todo"
ACTION = "action"
EVIDENCE = "evidence"
APPROVAL = "approval"
OVERRIDE = "override"
ALARM = "alarm"
ROLE = "role"
STAGE = "stage"
SYSTEM = "system"
CLOSE = "close"
KINDS = frozenset({NOTE, DECISION, STATUS, TODO, ACTION, EVIDENCE, APPROVAL, OVERRIDE, ALARM, ROLE, STAGE, SYSTEM, CLOSE})

_SECRET_KEY = re.compile(r"(?i)(^|_)(password|passwd|pwd|secret|token|api_?key|apikey)$")


class PendingEvent(BaseModel):
    """An entry not yet on disk (redacted): kept in memory until the journal takes it."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    seat: str
    author: str
    kind: str
    stage: int | None = None
    text: str
    data: dict[str, Any] = {}

    @field_serializer("at")
    def _ser_at(self, value: datetime) -> str:
        return iso_utc(value)


class Event(PendingEvent):
    """One journal entry as stored (redacted): a pending one with the id the journal gave it."""

    id: int


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"journal data cannot hold a {type(value).__name__}")


def redact_data(value: Any, key: str | None = None) -> Any:
    """A JSON-compatible copy of ``value`` with every string redacted, and the values of
    secret-looking keys (``password``, ``api_key``, ``token``...) masked whole."""
    if isinstance(value, dict):
        return {redact(str(k)): redact_data(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    if isinstance(value, str):
        if key is not None and value and _SECRET_KEY.search(key):
            return MASK
        return redact(value)
    return value


def to_json(data: Any) -> str:
    """Compact, key-sorted, redacted JSON; TypeError for what JSON cannot hold."""
    plain = json.loads(json.dumps(data, default=_json_default, allow_nan=False))
    return json.dumps(redact_data(plain), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
