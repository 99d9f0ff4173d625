"""The timeline's rows: kinds as they read, the columns a width allows, times, the note prefixes.

Pure text (Rich): :class:`~widgets.timeline_view.TimelineView` draws the rows, the scribe log
says what goes in them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from rich.text import Text

from checks.incident.events import (
    ACTION, ALARM, APPROVAL, CLOSE, DECISION, EVIDENCE, NOTE, OVERRIDE, ROLE, STAGE, STATUS, SYSTEM, TODO
)

KIND_LABELS = {
    NOTE: "note", DECISION: "DECISION", STATUS: "status", TODO: "TODO", ACTION: "action", EVIDENCE: "evidence",
    APPROVAL: "APPROVAL", OVERRIDE: "OVERRIDE", ALARM: "ALARM", ROLE: "role", STAGE: "stage", SYSTEM: "system",
    CLOSE: "CLOSE",
}
"""How a kind reads in the timeline: upper case for what a person decided or must not miss."""

SHORT_KIND_LABELS = {
    NOTE: "note", DECISION: "DECIS", STATUS: "stat", TODO: "TODO", ACTION: "act", EVIDENCE: "evid",
    APPROVAL: "APPRV", OVERRIDE: "OVRD", ALARM: "ALARM", ROLE: "role", STAGE: "stage", SYSTEM: "sys",
    CLOSE: "CLOSE",
}
"""The same in five cells, for a pane about 40 columns wide."""

FILTERS: tuple[tuple[str, frozenset[str] | None], ...] = (
    ("all", None),
    ("notes & decisions", frozenset({NOTE, DECISION, STATUS, TODO, APPROVAL, OVERRIDE})),
    ("actions & evidence", frozenset({ACTION, EVIDENCE, STAGE})),
    ("alarms", frozenset({ALARM})),
)
"""What ``f`` cycles through: a name for the border title, and the kinds shown (None: every kind)."""

NOTE_PREFIXES = {"/d": DECISION, "/s": STATUS, "/t": TODO, "/n": NOTE}
"""Prefixes of the note input; plain text is a note."""

PLACEHOLDER = "note… (/d decision, /s status, /t todo)"

FULL_KINDS_FROM = 48
"""Width of the rows (columns) from which kinds are spelled out in full."""
SEPARATE_COLUMNS_FROM = 64
"""Width of the rows from which seat and author get columns of their own (and a header)."""
TIME_WIDTH = 11
SEAT_WIDTH = 8
AUTHOR_WIDTH = 12
COMPACT_AUTHOR_WIDTH = 10


def time_text(moment: datetime) -> str:
    """``08:00:05.1Z``: UTC to the tenth of a second, the zone spelled out (a naive time is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return f"{moment:%H:%M:%S}.{moment.microsecond // 100_000}Z"


def full_time_text(moment: datetime) -> str:
    """``2026-12-01T08:00:05.123456Z``: the event's time as the journal holds it."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_note(raw: str) -> tuple[str, str] | None:
    """``'/d promote node2'`` -> ``('decision', 'promote node2')``; plain text is a note; None for nothing to journal."""
    text = raw.strip()
    if not text:
        return None
    head, _, rest = text.partition(" ")
    kind = NOTE_PREFIXES.get(head.lower())
    if kind is None:
        return NOTE, text
    rest = rest.strip()
    return (kind, rest) if rest else None


def one_line(text: str) -> str:
    """The text on one line: line breaks shown as ``↵``."""
    return " ↵ ".join(part.strip() for part in text.strip().splitlines()) if "\n" in text else text


@dataclass(frozen=True)
class RowLayout:
    """The timeline's columns for one usable width."""

    full_kinds: bool
    separate: bool
    width: int

    @classmethod
    def for_width(cls, width: int) -> RowLayout:
        return cls(full_kinds=width >= FULL_KINDS_FROM, separate=width >= SEPARATE_COLUMNS_FROM, width=max(1, width))

    @property
    def kind_width(self) -> int:
        """Including the gap before it."""
        return 1 + (8 if self.full_kinds else 5)

    @property
    def text_width(self) -> int:
        fixed = TIME_WIDTH + self.kind_width + ((1 + SEAT_WIDTH) + (1 + AUTHOR_WIDTH) if self.separate else 0)
        return max(0, self.width - fixed)

    def header(self) -> str:
        """The column names, for a pane wide enough to have seat and author columns."""
        if not self.separate:
            return ""
        cells = [("time (UTC)", TIME_WIDTH), (" seat", 1 + SEAT_WIDTH), (" author", 1 + AUTHOR_WIDTH),
                 (" kind", self.kind_width), (" text", self.text_width)]
        return "".join(f"{name:<{width}}"[:width] for name, width in cells)


def fit(text: Text, width: int) -> Text:
    """``text`` cut (with an ellipsis) or padded to exactly ``width`` cells."""
    text = text.copy()
    text.no_wrap = True
    text.truncate(width, overflow="ellipsis", pad=True)
    return text
