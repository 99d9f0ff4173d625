"""ScribeLog: the incident timeline (journal events, newest in view) and the scribe's note input."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Static

from checks.journal_events import (
    ACTION, ALARM, APPROVAL, CLOSE, DECISION, EVIDENCE, NOTE, OVERRIDE, ROLE, STAGE, STATUS, SYSTEM, TODO, Event,
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
"""Usable width (columns) from which kinds are spelled out in full."""
SEPARATE_COLUMNS_FROM = 64
"""Usable width from which seat and author get columns of their own (and a header)."""
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
    text_width: int

    @classmethod
    def for_width(cls, usable: int) -> RowLayout:
        separate = usable >= SEPARATE_COLUMNS_FROM
        full = usable >= FULL_KINDS_FROM
        kind = 1 + (8 if full else 5)
        fixed = TIME_WIDTH + kind + ((1 + SEAT_WIDTH) + (1 + AUTHOR_WIDTH) if separate else 0)
        return cls(full_kinds=full, separate=separate, text_width=max(8, usable - fixed))

    def columns(self) -> list[tuple[str, str, int]]:
        """(key, header, width) per column; widths include the one-space gap before a column."""
        kind = (1 + 8) if self.full_kinds else (1 + 5)
        if self.separate:
            return [("time", "time (UTC)", TIME_WIDTH), ("seat", " seat", 1 + SEAT_WIDTH),
                    ("author", " author", 1 + AUTHOR_WIDTH), ("kind", " kind", kind), ("text", " text", self.text_width)]
        return [("time", "time", TIME_WIDTH), ("kind", " kind", kind), ("text", " who · text", self.text_width)]


class TimelineTable(DataTable):
    """The timeline's rows: a DataTable whose home/end go to the first/newest row (end follows again)."""

    BINDINGS = [
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Newest", show=False),
    ]


class ScribeLog(Widget):
    """The incident timeline, one row per journal event, and the note input under it."""

    HELP = """\
### Timeline and notes

Every journal event of the incident, from every seat, oldest first and the newest in
view (scroll up, or move the row cursor up, and it stops following; **end** follows again).
Each row: UTC time `HH:MM:SS.fZ`, seat, author, kind and text.

- kinds: `note`, `status`, **`DECISION`**, **`TODO`** (a follow-up), `action` (a command
  run), `evidence` (a check result), **`APPROVAL`**, **`OVERRIDE`**, **`ALARM`** (red), `stage`,
  `role`, `system`, **`CLOSE`**. In a narrow pane they read `DECIS`, `stat`, `act`, `evid`,
  `APPRV`, `OVRD`, `sys`.
- **f** cycles the filter: all → notes & decisions → actions & evidence → alarms → all;
  the pane's title names it.
- **enter** on a row shows its full text (time to the microsecond, seat, stage); **escape** hides it.
- the input journals a **note**; start it with `/d ` for a **decision**, `/s ` for a
  **status** update, `/t ` for a **TODO**. **enter** sends it; the label left of it
  says what it will be journaled as. The scribe seat keeps it open; elsewhere **n**
  opens it and **escape** closes it.
- a red line at the top means the journal cannot be written: what you enter is not
  on record until it clears.
"""

    BINDINGS = [
        Binding("f", "cycle_filter", "Filter", tooltip="Cycle the timeline filter"),
        Binding("escape", "close", "Close", show=False),
    ]

    COMPONENT_CLASSES = {
        "scribe-log--time", "scribe-log--seat", "scribe-log--author",
        *(f"scribe-log--{kind}" for kind in KIND_LABELS),
    }

    show_input: reactive[bool] = reactive(False, init=False)
    """Whether the note input is shown (the scribe seat shows it all the time)."""
    filter_index: reactive[int] = reactive(0, init=False)

    class NoteSubmitted(Message):
        """The note input was sent: the app journals it (the widget never writes)."""

        def __init__(self, scribe_log: ScribeLog, kind: str, text: str) -> None:
            super().__init__()
            self.scribe_log = scribe_log
            self.kind = kind
            self.text = text

        @property
        def control(self) -> ScribeLog:
            return self.scribe_log

    def __init__(
        self, *, show_input: bool = False, pin_input: bool = False, title: str = "Timeline",
        id: str | None = None, classes: str | None = None,
    ) -> None:
        """``pin_input``: the input stays open and escape does not hide it (the scribe seat)."""
        super().__init__(id=id, classes=classes)
        self.pin_input = pin_input
        self.title = title
        self._events: dict[int, Event] = {}
        self._order: list[int] = []
        self._layout: RowLayout | None = None
        self._following = True
        self._detail_id: int | None = None
        self.alarm: str | None = None
        self.set_reactive(ScribeLog.show_input, show_input or pin_input)

    def compose(self) -> ComposeResult:
        yield Static("", id="scribe-alarm")
        table = TimelineTable(id="scribe-table", cursor_type="row", cell_padding=0, show_header=False)
        yield table
        yield Static("", id="scribe-detail")
        with Horizontal(id="scribe-input-row"):
            yield Label(self._kind_label(NOTE), id="scribe-kind")
            yield Input(placeholder=PLACEHOLDER, id="scribe-input")

    def on_mount(self) -> None:
        self.query_one("#scribe-input-row").display = self.show_input
        self._show_title()

    # -- public API ---------------------------------------------------------------

    @property
    def filter_name(self) -> str:
        return FILTERS[self.filter_index][0]

    def all_events(self) -> list[Event]:
        """Every event received, in id order."""
        return [self._events[i] for i in self._order]

    def visible_events(self) -> list[Event]:
        """The events the current filter shows, in id order."""
        kinds = FILTERS[self.filter_index][1]
        return [e for e in self.all_events() if kinds is None or e.kind in kinds]

    def add_events(self, events: Iterable[Event]) -> None:
        """Add journal events; one already shown (same id) is ignored. Follows the newest unless scrolled up."""
        new = [e for e in events if e.id not in self._events]
        if not new:
            return
        in_order = not self._order or min(e.id for e in new) > self._order[-1]
        for event in new:
            self._events[event.id] = event
        if in_order:
            new.sort(key=lambda e: e.id)
            self._order.extend(e.id for e in new)
        else:
            self._order = sorted(self._events)
        if self._layout is None:
            self._show_title()
            return
        if not in_order:
            self._rebuild()
            return
        table = self.query_one(DataTable)
        follow = self._follows(table)
        kinds = FILTERS[self.filter_index][1]
        rows = [e for e in new if kinds is None or e.kind in kinds]
        for event in rows:
            table.add_row(*self._cells(event), key=str(event.id))
        if rows and follow:
            self._follow(table)
        self._show_title()

    def set_alarm(self, text: str | None) -> None:
        """Show ``text`` as a red line at the top of the pane; None clears it."""
        self.alarm = text
        alarm = self.query_one("#scribe-alarm", Static)
        alarm.update(f"⚠ {text}" if text else "")
        alarm.set_class(bool(text), "-active")

    def open_input(self) -> None:
        """Show the note input and put the cursor in it."""
        self.show_input = True
        self.focus_input()

    def focus_input(self) -> None:
        """Put the cursor in the note input (showing it first if it is hidden)."""
        if not self.show_input:
            self.show_input = True
        note = self.query_one("#scribe-input", Input)
        self.call_after_refresh(note.focus)

    def close_input(self) -> None:
        """Hide the note input (not when pinned); what was typed stays for next time."""
        if self.pin_input:
            return
        note = self.query_one("#scribe-input", Input)
        if note.has_focus:
            self.query_one(DataTable).focus()
        self.show_input = False

    # -- actions ------------------------------------------------------------------

    def action_cycle_filter(self) -> None:
        """all -> notes & decisions -> actions & evidence -> alarms -> all."""
        self.filter_index = (self.filter_index + 1) % len(FILTERS)

    def action_close(self) -> None:
        """Escape: hide the full text if shown, else close the input (unless pinned)."""
        if self._detail_id is not None:
            self._show_detail(None)
        elif self.show_input and not self.pin_input:
            self.close_input()

    # -- reactive plumbing --------------------------------------------------------

    def watch_show_input(self, shown: bool) -> None:
        self.query_one("#scribe-input-row").display = shown

    def watch_filter_index(self) -> None:
        self._following = True
        self._rebuild()

    def on_resize(self, event: events.Resize) -> None:
        layout = RowLayout.for_width(max(1, self.content_size.width - 1))  # one column for the scrollbar
        if layout != self._layout:
            self._layout = layout
            self._rebuild()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "scribe-input":
            return
        event.stop()
        parsed = parse_note(event.value)
        head = event.value.strip().partition(" ")[0].lower()
        kind = parsed[0] if parsed else NOTE_PREFIXES.get(head, NOTE)
        self.query_one("#scribe-kind", Label).update(self._kind_label(kind))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "scribe-input":
            return
        event.stop()
        parsed = parse_note(event.value)
        if parsed is None:
            return
        kind, text = parsed
        event.input.value = ""
        self.post_message(self.NoteSubmitted(self, kind, text))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        table = event.data_table
        if event.cursor_row == table.cursor_row:  # not a stale message of an earlier move
            self._following = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        if self._detail_id is not None and event.row_key.value is not None:
            self._show_detail(int(event.row_key.value))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is None:
            return
        chosen = int(event.row_key.value)
        self._show_detail(None if self._detail_id == chosen else chosen)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._following = False

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.call_after_refresh(self._check_scrolled_to_end)

    # -- rendering ----------------------------------------------------------------

    def _check_scrolled_to_end(self) -> None:
        table = self.query_one(DataTable)
        if table.is_vertical_scroll_end and table.cursor_row >= table.row_count - 1:
            self._following = True

    def _follows(self, table: DataTable) -> bool:
        return self._following or table.row_count == 0

    def _follow(self, table: DataTable) -> None:
        self._following = True
        table.move_cursor(row=table.row_count - 1, animate=False)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"scribe-log--{name}", partial=True)

    def _kind_label(self, kind: str) -> Text:
        style = self._style(kind) if self.is_mounted else Style()
        return Text(f"{KIND_LABELS.get(kind, kind)} ›", style=style)

    def _show_title(self) -> None:
        shown, total = len(self.visible_events()), len(self._order)
        count = f"{total}" if self.filter_index == 0 else f"{shown}/{total}"
        self.border_title = f"{self.title} · {self.filter_name} ({count})"
        self.border_subtitle = "f filter · enter full text"

    def _cells(self, event: Event) -> list[Text]:
        layout = self._layout
        assert layout is not None
        kind_style = self._style(event.kind)
        labels = KIND_LABELS if layout.full_kinds else SHORT_KIND_LABELS
        kind = Text(f" {labels.get(event.kind, event.kind)}", style=kind_style)
        kind_width = 1 + (8 if layout.full_kinds else 5)
        text_style = kind_style if event.kind == ALARM else Style()
        cells = [Text(time_text(event.at), style=self._style("time"))]
        if layout.separate:
            cells.append(_fit(Text(f" {event.seat}", style=self._style("seat")), 1 + SEAT_WIDTH))
            cells.append(_fit(Text(f" {event.author}", style=self._style("author")), 1 + AUTHOR_WIDTH))
            cells.append(_fit(kind, kind_width))
            cells.append(_fit(Text(f" {one_line(event.text)}", style=text_style), layout.text_width))
        else:
            author = event.author if len(event.author) <= COMPACT_AUTHOR_WIDTH else event.author[: COMPACT_AUTHOR_WIDTH - 1] + "…"
            cells.append(_fit(kind, kind_width))
            line = Text.assemble(" ", (author, self._style("author")), " ", (one_line(event.text), text_style))
            cells.append(_fit(line, layout.text_width))
        return cells

    def _rebuild(self) -> None:
        """Re-render every visible row (after a resize, a filter change or an event out of order)."""
        self._show_title()
        if self._layout is None or not self.is_mounted:
            return
        table = self.query_one(DataTable)
        follow = self._follows(table)
        keep: str | None = None
        if not follow and table.row_count:
            keep = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear(columns=True)
        for key, label, width in self._layout.columns():
            table.add_column(label, width=width, key=key)
        table.show_header = self._layout.separate
        visible = self.visible_events()
        for event in visible:
            table.add_row(*self._cells(event), key=str(event.id))
        if not visible:
            return
        if follow or keep is None or keep not in table.rows:
            self._follow(table)
        else:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        if self._detail_id is not None and self._detail_id not in {e.id for e in visible}:
            self._show_detail(None)

    def _show_detail(self, event_id: int | None) -> None:
        detail = self.query_one("#scribe-detail", Static)
        self._detail_id = event_id
        if event_id is None:
            detail.set_class(False, "-active")
            detail.update("")
            return
        event = self._events[event_id]
        stage = f" · stage {event.stage}" if event.stage is not None else ""
        head = Text.assemble(
            (full_time_text(event.at), self._style("time")), f" · {event.seat} · ",
            (event.author, self._style("author")), " · ",
            (KIND_LABELS.get(event.kind, event.kind), self._style(event.kind)), stage,
        )
        detail.update(Text("\n").join([head, Text(event.text)]))
        detail.set_class(True, "-active")


def _fit(text: Text, width: int) -> Text:
    """``text`` cut (with an ellipsis) or padded to exactly ``width`` cells.

    Every cell of a column then measures the same, which keeps DataTable from re-measuring
    the whole column whenever a shorter cell arrives (fast with thousands of rows)."""
    text = text.copy()
    text.no_wrap = True
    text.truncate(width, overflow="ellipsis", pad=True)
    return text
