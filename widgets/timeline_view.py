"""The timeline of the scribe log: rows drawn only when on screen, from a cache of strips, so thousands of events append, filter and resize in milliseconds.

The row under the cursor shows its whole text: when its row cuts it (about 20 columns of text in
an 80x24 pane), the text follows on lines of its own under the row, wrapped, so the newest entry
(the cursor follows it) and any entry the arrows reach read in full without a key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from checks.incident.events import Event
from widgets.timeline_rows import (  # noqa: F401 - moved there, still importable from here
    AUTHOR_WIDTH, COMPACT_AUTHOR_WIDTH, FILTERS, FULL_KINDS_FROM, KIND_LABELS, NOTE_PREFIXES, PLACEHOLDER, SEAT_WIDTH,
    SEPARATE_COLUMNS_FROM, SHORT_KIND_LABELS, TIME_WIDTH, RowLayout, fit, full_time_text, one_line, parse_note,
    time_text
)

MORE_INDENT = 2
"""Columns before the cursor row's text when it follows under the row."""


class _Pass(NamedTuple):
    """What every line of one render pass shares: looked up once a pass, not once a line."""

    width: int
    base: Style
    top: int
    focused: bool
    more: list[Text]


def more_lines(event: Event, row: str, width: int, console, *, limit: int) -> list[Text]:
    """The cursor row's text in full, wrapped under it, when ``row`` (the row as shown) cuts it;
    at most ``limit`` lines, the last ending ``… (enter: in full)`` when even they cut it."""
    text = one_line(event.text)
    if text in row or width <= MORE_INDENT + 8:
        return []
    lines = list(Text(text).wrap(console, width - MORE_INDENT))
    if len(lines) > limit:
        lines = lines[:max(1, limit)]
        last = lines[-1]
        tail = " … (enter: in full)"
        last.rstrip()
        last.truncate(max(1, width - MORE_INDENT - len(tail)))
        last.append(tail)
    return [Text(" " * MORE_INDENT) + line for line in lines]


class TimelineView(ScrollView, can_focus=True):
    """Rows of events with a row cursor, rendered line by line (only what is on screen).

    ``render_row(event, width)`` turns an event into one line of text; strips are cached by
    event, width, cursor and focus. It follows the newest row while the cursor is on the
    last row and that row is in view. The cursor row's text follows under it in full when the
    row cuts it (``more_lines``), so the view has ``len(rows) + extra`` lines."""

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
        self._strips: LRUCache[tuple[int, int, bool, bool, int], Strip] = LRUCache(2048)
        self._more: LRUCache[tuple[int, int, int], list[Text]] = LRUCache(64)
        self._pass: _Pass | None = None

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

    def cursor_more(self) -> list[str]:
        """The lines under the cursor row (its text in full, when the row cuts it), as plain text."""
        return [line.plain for line in self._cursor_more()]

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
            self._pin(True)
        self.refresh()

    def row_text(self, index: int) -> str:
        """Row ``index`` as plain text, as it shows at the current width."""
        return self.render_row(self.rows[index], self._width()).plain

    def move_cursor(self, index: int, *, announce: bool = True) -> None:
        """Put the cursor on row ``index`` (clamped) and scroll it, and its text under it, into view."""
        index = max(0, min(index, len(self.rows) - 1)) if self.rows else -1
        moved = index != self.cursor
        self.cursor = index
        self._resize_virtual()
        self._scroll_to_cursor()
        self.refresh()
        if moved and announce and self.cursor_event is not None:
            self.post_message(self.Highlighted(self, self.cursor_event))

    def clear_cache(self) -> None:
        self._strips.clear()
        self._more.clear()
        self.refresh()

    # -- actions ------------------------------------------------------------------

    def _pin(self, pinned: bool) -> None:
        """Follow the newest row (or stop). Following, the view is anchored to its end (Textual's
        anchor): the compositor puts it there as it lays the view out, so a resumed night's first
        frame already shows its last entry, not its first rows and a scroll a frame later."""
        self._pinned = pinned
        if pinned != self.is_anchored:   # only on a change: anchor() scrolls too, as move_cursor does
            self.anchor(pinned)

    def action_cursor(self, step: int) -> None:
        self._pin(False)
        self.move_cursor(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self._pin(False)
        self.move_cursor(self.cursor + direction * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        self._pin(False)
        self.move_cursor(0)

    def action_newest(self) -> None:
        self._pin(True)
        self.move_cursor(len(self.rows) - 1)

    def on_mouse_scroll_up(self) -> None:
        self._pin(False)                 # reading older rows: new ones must not pull the view away

    def action_select(self) -> None:
        if self.cursor_event is not None:
            self.post_message(self.Selected(self, self.cursor_event))

    # -- plumbing -----------------------------------------------------------------

    def _width(self) -> int:
        return self.scrollable_content_region.width

    def _cursor_more(self) -> list[Text]:
        event, width = self.cursor_event, self._width()
        if event is None or width <= 0:
            return []
        limit = max(2, self.scrollable_content_region.height // 2)
        key = (event.id, width, limit)
        more = self._more.get(key)
        if more is None:
            more = self._more[key] = more_lines(event, self.render_row(event, width).plain, width, self.app.console,
                                                limit=limit)
        return more

    def _locate(self, line: int, extra: int | None = None) -> tuple[int, int]:
        """The row at ``line`` of the view, and which of its lines (0: the row itself); ``extra``: how
        many lines the cursor row's text takes under it (looked up when not given)."""
        if extra is None:
            extra = len(self._cursor_more()) if self.cursor >= 0 else 0
        if line <= self.cursor or self.cursor < 0:
            return line, 0
        if line <= self.cursor + extra:
            return self.cursor, line - self.cursor
        return line - extra, 0

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self._width(), len(self.rows) + len(self._cursor_more()))

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height
        if self.cursor < 0:
            return
        if height == 0:
            return          # not laid out yet: on_resize scrolls once it is (following, the anchor has it at its end)
        top, last = self.scroll_offset.y, self.cursor + len(self._cursor_more())
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif last >= top + height:          # the row and its text under it; the row itself first
            self.scroll_to(y=min(self.cursor, last - height + 1), animate=False, immediate=True)

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
        index, _ = self._locate(self.scroll_offset.y + offset.y)
        if index >= len(self.rows):
            return
        if index == self.cursor:
            self.action_select()
        else:
            self.move_cursor(index)

    def _look(self) -> _Pass:
        return _Pass(self._width(), self.rich_style, self.scroll_offset.y, self.has_focus, self._cursor_more())

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines of ``crop``, from one look at the width, style, scroll and cursor row shared by all."""
        self._pass = self._look()
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def render_line(self, y: int) -> Strip:
        view = self._pass or self._look()
        width, base, more = view.width, view.base, view.more
        index, part = self._locate(view.top + y, len(more) if self.cursor >= 0 else 0)
        if not 0 <= index < len(self.rows):
            return Strip.blank(width, base)
        event = self.rows[index]
        is_cursor = index == self.cursor
        key = (event.id, width, is_cursor, view.focused, part)
        strip = self._strips.get(key)
        if strip is None:
            if part and part > len(more):
                return Strip.blank(width, base)
            text = more[part - 1] if part else self.render_row(event, width)
            style = base + self.get_component_rich_style("timeline-view--cursor") if is_cursor else base
            strip = Strip(text.render(self.app.console), text.cell_len).adjust_cell_length(width, style)
            strip = strip.apply_style(style)
            self._strips[key] = strip
        return strip
