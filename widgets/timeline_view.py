"""The timeline of the scribe log: rows drawn only when on screen, from a cache of strips, so thousands of events append, filter and resize in milliseconds."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from checks.incident.events import (
    ACTION, ALARM, APPROVAL, CLOSE, DECISION, EVIDENCE, NOTE, OVERRIDE, ROLE, STAGE, STATUS, SYSTEM, TODO, Event
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


class TimelineView(ScrollView, can_focus=True):
    """Rows of events with a row cursor, rendered line by line (only what is on screen).

    ``render_row(event, width)`` turns an event into one line of text; strips are cached by
    event, width, cursor and focus. It follows the newest row while the cursor is on the
    last row and that row is in view."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "newest", "Newest", show=False),
        Binding("enter", "select", "Full text", show=False),
    ]
    COMPONENT_CLASSES = {"timeline-view--cursor"}

    class Highlighted(Message):
        """The row cursor moved to ``event``."""

        def __init__(self, view: TimelineView, event: Event) -> None:
            super().__init__()
            self.view = view
            self.event = event

    class Selected(Message):
        """Enter (or a click) on the cursor's row."""

        def __init__(self, view: TimelineView, event: Event) -> None:
            super().__init__()
            self.view = view
            self.event = event

    def __init__(self, render_row: Callable[[Event, int], Text], *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.render_row = render_row
        self.rows: list[Event] = []
        self.cursor = -1
        self._strips: LRUCache[tuple[int, int, bool, bool], Strip] = LRUCache(2048)

    # -- rows ---------------------------------------------------------------------

    @property
    def cursor_event(self) -> Event | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    @property
    def following(self) -> bool:
        """True while new rows should move the cursor and the view to the newest."""
        if not self.rows:
            return True
        if self.cursor != len(self.rows) - 1:
            return False
        if self.__dict__.get("_pinned", True):
            # at the newest by following (or `end`): the scroll to it may not be laid out yet
            return True
        height = self.scrollable_content_region.height
        return height == 0 or self.scroll_offset.y <= self.cursor < self.scroll_offset.y + height

    def set_rows(self, rows: Iterable[Event], *, keep: int | None = None) -> None:
        """Replace the rows; the cursor goes to the event with id ``keep`` if shown, else to the newest."""
        self.rows = list(rows)
        self._resize_virtual()
        index = next((i for i, e in enumerate(self.rows) if e.id == keep), len(self.rows) - 1)
        self.move_cursor(index, announce=False)
        self.refresh()

    def append_rows(self, rows: list[Event]) -> None:
        """Add rows at the end; follows them if the newest row was in view under the cursor."""
        if not rows:
            return
        follow = self.following
        self.rows.extend(rows)
        self._resize_virtual()
        if follow:
            self.move_cursor(len(self.rows) - 1, announce=False)
            self._pinned = True
        self.refresh()

    def row_text(self, index: int) -> str:
        """Row ``index`` as plain text, as it shows at the current width."""
        return self.render_row(self.rows[index], self._width()).plain

    def move_cursor(self, index: int, *, announce: bool = True) -> None:
        """Put the cursor on row ``index`` (clamped) and scroll it into view."""
        index = max(0, min(index, len(self.rows) - 1)) if self.rows else -1
        moved = index != self.cursor
        self.cursor = index
        self._scroll_to_cursor()
        self.refresh()
        if moved and announce and self.cursor_event is not None:
            self.post_message(self.Highlighted(self, self.cursor_event))

    def clear_cache(self) -> None:
        self._strips.clear()
        self.refresh()

    # -- actions ------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        self._pinned = False
        self.move_cursor(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self._pinned = False
        self.move_cursor(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self._pinned = False
        self.move_cursor(0)

    def action_newest(self) -> None:
        self._pinned = True
        self.move_cursor(len(self.rows) - 1)

    def on_mouse_scroll_up(self) -> None:
        self._pinned = False             # reading older rows: new ones must not pull the view away

    def action_select(self) -> None:
        if self.cursor_event is not None:
            self.post_message(self.Selected(self, self.cursor_event))

    # -- plumbing -----------------------------------------------------------------

    def _width(self) -> int:
        return self.scrollable_content_region.width

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self._width(), len(self.rows))

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height
        if self.cursor < 0:
            return
        if height == 0:
            self.call_after_refresh(self._scroll_to_cursor)
            return
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        self._resize_virtual()
        self._scroll_to_cursor()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        index = self.scroll_offset.y + offset.y
        if index >= len(self.rows):
            return
        if index == self.cursor:
            self.action_select()
        else:
            self.move_cursor(index)

    def render_line(self, y: int) -> Strip:
        width = self._width()
        base = self.rich_style
        index = self.scroll_offset.y + y
        if not 0 <= index < len(self.rows):
            return Strip.blank(width, base)
        event = self.rows[index]
        is_cursor = index == self.cursor
        key = (event.id, width, is_cursor, self.has_focus)
        strip = self._strips.get(key)
        if strip is None:
            text = self.render_row(event, width)
            style = base + self.get_component_rich_style("timeline-view--cursor") if is_cursor else base
            strip = Strip(text.render(self.app.console), text.cell_len).adjust_cell_length(width, style)
            strip = strip.apply_style(style)
            self._strips[key] = strip
        return strip
