"""ScribeLog: the incident timeline (journal events, newest in view) and the scribe's note input.

The timeline is a line-API view (:class:`TimelineView`): it renders only the rows on screen,
from a cache of strips, so thousands of events append, filter and resize in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input, Label, Static

from checks.config.text import TextRefused, clean_text
from checks.incident.events import ALARM, NOTE, Event
from widgets.checklist import component_style
from widgets.lines_input import LinesInput, lines_of
from widgets.timeline_view import (  # noqa: F401 - moved there, still importable from here
    AUTHOR_WIDTH, COMPACT_AUTHOR_WIDTH, FILTERS, KIND_LABELS, NOTE_PREFIXES, PLACEHOLDER, SEAT_WIDTH, SHORT_KIND_LABELS,
    RowLayout, TimelineView, fit, full_time_text, one_line, parse_note, time_text
)

ENTRY_NAMES = {"status": "status update", "todo": "TODO"}
"""How a refusal names the entry (``the note: 4001 characters, ...``), when not by its kind."""


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
  `APPRV`, `OVRD`, `sys`, and the seat column is left out.
- **f** cycles the filter: all → notes & decisions → actions & evidence → alarms → all;
  the pane's title names it.
- **enter** (or a click) on a row shows its full text (time to the microsecond, seat,
  stage); **escape** hides it; **up**/**down**, **page up**/**page down**, **home**/**end** move.
- the input journals a **note**; start it with `/d ` for a **decision**, `/s ` for a
  **status** update, `/t ` for a **TODO**. **enter** sends it; the label left of it
  says what it will be journaled as. A pasted text keeps all its lines (each break shows
  as `↵`) and control characters show as escapes (`\\x1b`). The scribe seat keeps it
  open (**escape** leaves it for the keys, **n** comes back); elsewhere **n** opens it and **escape**
  closes it.
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
        """``pin_input``: the input is always shown and escape does not hide it (the scribe seat)."""
        super().__init__(id=id, classes=classes)
        self.pin_input = pin_input
        self.title = title
        self._events: dict[int, Event] = {}
        self._order: list[int] = []
        self._visible = 0
        self._detail_id: int | None = None
        self._styles: dict[str, Style] = {}
        self._focus_before: Widget | None = None
        self.alarm: str | None = None
        self.set_reactive(ScribeLog.show_input, show_input or pin_input)

    def compose(self) -> ComposeResult:
        yield Static("", id="scribe-alarm")
        yield Static("", id="scribe-header")
        yield TimelineView(self._row_text, id="scribe-timeline")
        yield Static("", id="scribe-detail")
        with Horizontal(id="scribe-input-row"):
            yield Label(self._kind_label(NOTE), id="scribe-kind")
            yield LinesInput(placeholder=PLACEHOLDER, id="scribe-input")

    def on_mount(self) -> None:
        self.query_one("#scribe-input-row").display = self.show_input
        self._show_alarm()
        self._rebuild()

    # -- public API ---------------------------------------------------------------

    @property
    def filter_name(self) -> str:
        return FILTERS[self.filter_index][0]

    @property
    def timeline(self) -> TimelineView:
        return self.query_one(TimelineView)

    def all_events(self) -> list[Event]:
        """Every event received, in id order."""
        return [self._events[i] for i in self._order]

    def visible_events(self) -> list[Event]:
        """The events the current filter shows, in id order."""
        return [e for e in self.all_events() if self._shown(e)]

    def add_events(self, events: Iterable[Event]) -> None:
        """Add journal events; one already received (same id) is ignored. The newest stays
        in view unless the user scrolled up or moved the cursor off the last row."""
        new = {e.id: e for e in events if e.id not in self._events}
        if not new:
            return
        batch = sorted(new.values(), key=lambda e: e.id)
        in_order = not self._order or batch[0].id > self._order[-1]
        self._events.update(new)
        if in_order:
            self._order.extend(e.id for e in batch)
        else:
            self._order = sorted(self._events)
        if not self.is_mounted:
            return
        if in_order:
            rows = [e for e in batch if self._shown(e)]
            self._visible += len(rows)
            self.timeline.append_rows(rows)
            self._show_title()
        else:
            self._rebuild(keep_cursor=True)

    def replace_events(self, events: Iterable[Event]) -> None:
        """Hold exactly ``events`` (a replay seeking backward drops the later ones) and redraw."""
        self._events = {e.id: e for e in events}
        self._order = sorted(self._events)
        if self.is_mounted:
            self._rebuild()

    def set_alarm(self, text: str | None) -> None:
        """Show ``text`` as a red line at the top of the pane; None clears it."""
        self.alarm = text
        if self.is_mounted:
            self._show_alarm()

    def open_input(self) -> None:
        """Show the note input and put the cursor in it."""
        self.show_input = True
        self.focus_input()

    def focus_input(self) -> None:
        """Put the cursor in the note input (showing it first if it is hidden)."""
        note = self.query_one("#scribe-input", Input)
        focused = self.screen.focused if self.is_attached else None
        if focused is not None and focused is not note:
            self._focus_before = focused
        self.show_input = True
        note.focus()

    def close_input(self) -> None:
        """Hide the note input (not when pinned); the focus goes back where it was before the
        input took it (so the app's keys work again), and what was typed stays for next time."""
        if self.pin_input:
            return
        if self.query_one("#scribe-input", Input).has_focus:
            before = self._focus_before
            if before is not None and before.is_attached and before.focusable:
                before.focus()
            else:
                self.timeline.focus()
        self._focus_before = None
        self.show_input = False

    # -- actions ------------------------------------------------------------------

    def action_cycle_filter(self) -> None:
        """all -> notes & decisions -> actions & evidence -> alarms -> all."""
        self.filter_index = (self.filter_index + 1) % len(FILTERS)

    def _escape_does(self) -> str | None:
        """What Escape does here now: hide the full text if shown, else leave the input: closed, or
        (pinned, in the scribe seat) still shown with the focus on the timeline, so the next key is a
        key again; None when there is nothing to close, and Escape goes on to the screen's own
        binding (the fleet cockpit's: back to the fleet) in the same press."""
        if self._detail_id is not None:
            return "detail"
        if self.show_input and not self.pin_input:
            return "input"
        field = self.query("#scribe-input")      # asked by the footer too, also while the log is removed
        if field and field.first().has_focus:
            return "focus"
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "close":
            return self._escape_does() is not None
        return True

    def action_close(self) -> None:
        """Escape (see :meth:`_escape_does`)."""
        does = self._escape_does()
        if does == "detail":
            self._show_detail(None)
        elif does == "input":
            self.close_input()
        elif does == "focus":
            self.timeline.focus()

    # -- reactive plumbing --------------------------------------------------------

    def watch_show_input(self, shown: bool) -> None:
        self.query_one("#scribe-input-row").display = shown

    def watch_filter_index(self) -> None:
        self._rebuild()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self._show_header)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        if self.is_mounted:
            self.timeline.clear_cache()

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
        parsed = parse_note(lines_of(event.value))
        if parsed is None:
            return
        kind, text = parsed
        try:
            text = clean_text(text, f"the {ENTRY_NAMES.get(kind, kind)}")
        except TextRefused as exc:           # too long: said, and the text stays in the input
            self.notify(str(exc), title="not journaled", severity="error", timeout=20)
            return
        event.input.value = ""
        self.post_message(self.NoteSubmitted(self, kind, text))

    def on_timeline_view_highlighted(self, message: TimelineView.Highlighted) -> None:
        message.stop()
        if self._detail_id is not None:
            self._show_detail(message.event.id)

    def on_timeline_view_selected(self, message: TimelineView.Selected) -> None:
        message.stop()
        self._show_detail(None if self._detail_id == message.event.id else message.event.id)

    # -- rendering ----------------------------------------------------------------

    def _shown(self, event: Event) -> bool:
        kinds = FILTERS[self.filter_index][1]
        return kinds is None or event.kind in kinds

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = component_style(self, f"scribe-log--{name}")
        return style

    def _kind_label(self, kind: str) -> Text:
        style = self._style(kind) if self.is_mounted else Style()
        return Text(f"{KIND_LABELS.get(kind, kind)} ›", style=style)

    def _rebuild(self, *, keep_cursor: bool = False) -> None:
        """Show the rows of the current filter (the newest under the cursor, or the same event as before)."""
        visible = self.visible_events()
        self._visible = len(visible)
        timeline = self.timeline
        keep = None
        if keep_cursor and not timeline.following and timeline.cursor_event is not None:
            keep = timeline.cursor_event.id
        timeline.set_rows(visible, keep=keep)
        if self._detail_id is not None and not any(e.id == self._detail_id for e in visible):
            self._show_detail(None)
        self._show_title()
        self._show_header()

    def _show_alarm(self) -> None:
        alarm = self.query_one("#scribe-alarm", Static)
        alarm.update(Text(f"⚠ {self.alarm}" if self.alarm else ""))
        alarm.set_class(bool(self.alarm), "-active")

    def _show_title(self) -> None:
        total = len(self._order)
        count = f"{total}" if self.filter_index == 0 else f"{self._visible}/{total}"
        self.border_title = f"{self.title} · {self.filter_name} ({count})"
        self.border_subtitle = "f filter · enter full text"

    def _show_header(self) -> None:
        layout = RowLayout.for_width(self.content_size.width - 1)  # the timeline's scrollbar is always there
        header = self.query_one("#scribe-header", Static)
        header.update(Text(layout.header()))
        header.display = layout.separate

    def _row_text(self, event: Event, width: int) -> Text:
        """One event as one line of exactly ``width`` cells, in the columns the width allows."""
        layout = RowLayout.for_width(width)
        kind_style = self._style(event.kind)
        labels = KIND_LABELS if layout.full_kinds else SHORT_KIND_LABELS
        kind = fit(Text(f" {labels.get(event.kind, event.kind)}", style=kind_style), layout.kind_width)
        text_style = kind_style if event.kind == ALARM else Style()
        line = Text.assemble((time_text(event.at), self._style("time")))
        if layout.separate:
            line.append_text(fit(Text(f" {event.seat}", style=self._style("seat")), 1 + SEAT_WIDTH))
            line.append_text(fit(Text(f" {event.author}", style=self._style("author")), 1 + AUTHOR_WIDTH))
            line.append_text(kind)
            line.append_text(fit(Text(f" {one_line(event.text)}", style=text_style), layout.text_width))
        else:
            author = event.author
            if len(author) > COMPACT_AUTHOR_WIDTH:
                author = author[: COMPACT_AUTHOR_WIDTH - 1] + "…"
            line.append_text(kind)
            who = Text.assemble(" ", (author, self._style("author")), " ", (one_line(event.text), text_style))
            line.append_text(fit(who, layout.text_width))
        return fit(line, width)

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
