"""ReplayBar: one line under the cockpit in replay: playing or paused, speed, recorded time,
a progress bar over the incident's span with its events marked, and the offset from the start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

MIN_BAR = 8
"""The bar keeps at least this many cells; the labels around it give way first."""
DATES_FROM = 110
"""Width (columns) from which the time shows its date and the neighbouring events' times show."""


def speed_text(speed: float) -> str:
    """``0.5x``, ``2x``, ``60x``."""
    return f"{speed:g}x"


def offset_text(seconds: float) -> str:
    """``00:25``, ``59:59``, ``1:02:03``: whole seconds from the start."""
    seconds = max(0, int(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class BarState:
    """Everything the line shows."""

    at: datetime
    start: datetime
    end: datetime
    speed: float = 1.0
    paused: bool = False
    ended: bool = False
    marks: tuple[datetime, ...] = ()
    previous: datetime | None = None
    next: datetime | None = None

    def fraction(self, moment: datetime) -> float:
        span = (self.end - self.start).total_seconds()
        if span <= 0:
            return 1.0
        return min(1.0, max(0.0, (_utc(moment) - self.start).total_seconds() / span))


class ReplayBar(Widget):
    """Play state and speed, the recorded UTC time, the incident's span as a bar, events marked on it."""

    HELP = """\
### Replay bar

The line above the keys: `▶ PLAYING` or `‖ PAUSED` (`■ END` at the end of the recording)
and the speed (0.5x to 60x); the recorded UTC time; the incident's span as a bar, played
part heavy (`━`), the position `●`, every journaled event a tick (`┿` `┼`), the previous
and next events brighter; then the offset from the start and the span (`+00:25/00:40`).
On a wide terminal the previous and next events' times too (`◂08:00:12 08:00:31▸`).
A click on the bar goes there.
"""

    DEFAULT_CSS = """
    ReplayBar { height: 1; padding: 0 1; background: $panel; }
    ReplayBar > .replay-bar--state { color: $text-success; text-style: bold; }
    ReplayBar > .replay-bar--paused { color: $text-warning; text-style: bold; }
    ReplayBar > .replay-bar--time { color: $text; text-style: bold; }
    ReplayBar > .replay-bar--played { color: $accent; }
    ReplayBar > .replay-bar--rest { color: $text-muted; }
    ReplayBar > .replay-bar--mark { color: $text-primary; }
    ReplayBar > .replay-bar--near { color: $text-warning; text-style: bold; }
    ReplayBar > .replay-bar--head { color: $text; text-style: bold; }
    ReplayBar > .replay-bar--muted { color: $text-muted; }
    """

    COMPONENT_CLASSES = {
        "replay-bar--state", "replay-bar--paused", "replay-bar--time", "replay-bar--played", "replay-bar--rest",
        "replay-bar--mark", "replay-bar--near", "replay-bar--head", "replay-bar--muted",
    }

    class SeekRequested(Message):
        """A click on the bar asks to go to ``at`` (the screen decides)."""

        def __init__(self, bar: ReplayBar, at: datetime) -> None:
            super().__init__()
            self.bar = bar
            self.at = at

        @property
        def control(self) -> ReplayBar:
            return self.bar

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.state: BarState | None = None
        self._bar_span: tuple[int, int] = (0, 0)  # first cell and width of the bar, for clicks

    # -- public API ---------------------------------------------------------------

    @property
    def bar_span(self) -> tuple[int, int]:
        """Where the bar is drawn: its first cell (from the content's left edge) and its width. A
        click there seeks to the time under it."""
        return self._bar_span

    def update_position(
        self, *, at: datetime, start: datetime, end: datetime, speed: float, paused: bool, ended: bool = False,
        marks: Sequence[datetime] | None = None, previous: datetime | None = None, next: datetime | None = None,
    ) -> None:
        """Show this position; ``marks`` (event times) are kept from the last call when None."""
        kept = self.state.marks if self.state is not None and marks is None else tuple(_utc(m) for m in marks or ())
        state = BarState(at=_utc(at), start=_utc(start), end=_utc(end), speed=speed, paused=paused, ended=ended,
                         marks=kept, previous=previous and _utc(previous), next=next and _utc(next))
        if state == self.state:
            return
        old, self.state = self._shown_key(), state
        if self._shown_key() != old:  # most ticks move the time by less than the line shows
            self.refresh()

    def _shown_key(self) -> tuple:
        state = self.state
        if state is None:
            return ()
        return (self.render_line_text(self.content_size.width).plain, state.paused, state.ended,
                state.previous, state.next)

    def plain(self) -> str:
        """The line as plain text, at the current width (for tests)."""
        return self.render_line_text(self.content_size.width).plain

    # -- rendering ----------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"replay-bar--{name}", partial=True)

    def render(self) -> Text:
        return self.render_line_text(self.content_size.width)

    def render_line_text(self, width: int) -> Text:
        state = self.state
        if state is None:
            return Text("replay: loading…", style=self._style("muted"))
        if state.ended:
            head = Text(f"{'■ END':<9}", style=self._style("paused"))
        elif state.paused:
            head = Text(f"{'‖ PAUSED':<9}", style=self._style("paused"))
        else:
            head = Text("▶ PLAYING", style=self._style("state"))
        head.append(f" {speed_text(state.speed):>4} ")
        wide = width >= DATES_FROM
        head.append(f"{state.at:%Y-%m-%d %H:%M:%S}Z " if wide else f"{state.at:%H:%M:%S}Z ", style=self._style("time"))
        span = (state.end - state.start).total_seconds()
        offset = Text(f" +{offset_text((state.at - state.start).total_seconds())}/{offset_text(span)}")
        around = Text()
        if wide:
            before = f"◂{state.previous:%H:%M:%S}" if state.previous else "◂ none"
            after = f"{state.next:%H:%M:%S}▸" if state.next else "none ▸"
            around = Text(f"  {before} {after}", style=self._style("muted"))
        for tail in (offset + around, offset, Text()):
            bar_width = width - head.cell_len - tail.cell_len
            if bar_width >= MIN_BAR or not tail:
                break
        bar_width = max(0, bar_width)
        self._bar_span = (head.cell_len, bar_width)
        return Text.assemble(head, self._bar(state, bar_width), tail)

    def _bar(self, state: BarState, width: int) -> Text:
        if width <= 0:
            return Text()
        last = width - 1

        def cell(moment: datetime) -> int:
            return round(state.fraction(moment) * last)

        head = cell(state.at)
        marks = {cell(m) for m in state.marks}
        near = {cell(m) for m in (state.previous, state.next) if m is not None}
        text = Text()
        for i in range(width):
            played = i < head
            if i == head:
                text.append("●", style=self._style("head"))
            elif i in marks:
                text.append("┿" if played else "┼", style=self._style("near" if i in near else "mark"))
            else:
                text.append("━" if played else "─", style=self._style("played" if played else "rest"))
        return text

    def on_click(self, event: events.Click) -> None:
        state = self.state
        offset = event.get_content_offset(self)
        first, width = self._bar_span
        if state is None or offset is None or width <= 1 or not first <= offset.x < first + width:
            return
        fraction = (offset.x - first) / (width - 1)
        at = state.start + timedelta(seconds=fraction * (state.end - state.start).total_seconds())
        self.post_message(self.SeekRequested(self, at))
