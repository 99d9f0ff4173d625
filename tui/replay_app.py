"""Replay: the cockpit (header, node panels, runbook, timeline) played back from an incident's journal.

:class:`ReplayScreen` is the replay itself, for any app to push (or subclass: ``frame_shown``);
:class:`ReplayApp` runs it on its own for ``failover-cockpit replay DIR``. Read-only: no
runbook action, no note, never a database connection: every frame comes from
:meth:`checks.training.replay.Recording.state_at`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, HorizontalScroll
from textual.screen import Screen
from textual.widgets import Footer

from checks.incident.events import Event
from checks.observe.assess import NodeView
from checks.training.replay import Recording, ReplayError, ReplayFrame
from tui.app import PANEL_MIN_WIDTH, TREND_WINDOW_S, CockpitApp
from widgets import STYLESHEET
from widgets.checklist import Checklist
from widgets.closing import while_open
from widgets.cockpit_header import CockpitHeader
from widgets.help_screen import HelpScreen
from widgets.node_panel import NodePanel
from widgets.prompt_modal import PromptModal
from widgets.replay_bar import ReplayBar, offset_text, speed_text
from widgets.scribe_log import ScribeLog
from widgets.split_brain_banner import SplitBrainBanner

SPEEDS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
"""What ``+`` and ``-`` step through."""
MIN_SPEED, MAX_SPEED = SPEEDS[0], SPEEDS[-1]
SEEK_STEP_S = 10.0
TICK_S = 0.1
"""How often the replay time moves while playing (real seconds)."""
SPEED_KEYS = Binding.Group("speed", compact=True)
SEEK_KEYS = Binding.Group(f"{SEEK_STEP_S:g}s", compact=True)
EVENT_KEYS = Binding.Group("event", compact=True)


def faster(speed: float) -> float:
    """The next step above ``speed`` (60x stays 60x)."""
    return next((s for s in SPEEDS if s > speed + 1e-9), MAX_SPEED)


def slower(speed: float) -> float:
    """The next step below ``speed`` (0.5x stays 0.5x)."""
    return next((s for s in reversed(SPEEDS) if s < speed - 1e-9), MIN_SPEED)


class ReplayLog(ScribeLog):
    """The timeline of a replay: read-only (no note input), and it can go back in time."""

    _frame_events: Sequence[Event] = ()
    """The events of the frame shown last (a frame's events are the first N of the recording's)."""

    def show_events(self, events: Sequence[Event]) -> None:
        """Show exactly ``events``: after a seek backward the later ones go.

        Going forward adds only the new ones (the frame shown last is a prefix of this one: its
        last event is at the same place), so a frame of a 10,000-event journal costs what the
        new events cost; going back replaces what the log holds and redraws the rows, which
        is milliseconds where a new timeline takes a mount."""
        shown, self._frame_events = self._frame_events, events
        if len(events) >= len(shown) and (not shown or events[len(shown) - 1] == shown[-1]):
            self.add_events(events[len(shown):])
            return
        ids = {e.id for e in events}
        if all(e.id in ids for e in self.all_events()):
            self.add_events(events)
        else:
            self.replace_events(events)


class ReplayScreen(Screen):
    """The cockpit at the replay time: the same widgets as live, fed from a :class:`Recording`.

    ``at``: where to start (default the recording's start); ``paused``: start paused;
    ``tick_s``: how often the time moves while playing. Panels, runbook and timeline are
    re-rendered only when the frame changes (a sample or an event more or fewer); a seek
    backward (or too far forward) rebuilds them from the frame's trail, so trends, change
    marks and the timeline are what they were at that moment."""

    BINDINGS = [
        Binding("space", "toggle_pause", "Play/pause", key_display="space", priority=True,
                tooltip="Pause or resume the replay (at the end: play from the start)"),
        Binding("minus", "slower", "Slower", key_display="-", priority=True, group=SPEED_KEYS,
                tooltip="Slower, down to 0.5x"),
        Binding("plus,equals_sign", "faster", "Faster", key_display="+", priority=True, group=SPEED_KEYS,
                tooltip="Faster: 0.5x, 1x, 2x, 5x, 10x, 30x, 60x"),
        Binding("left", f"seek({-SEEK_STEP_S})", f"-{SEEK_STEP_S:g}s", key_display="←", priority=True,
                group=SEEK_KEYS, tooltip=f"Back {SEEK_STEP_S:g} seconds"),
        Binding("right", f"seek({SEEK_STEP_S})", f"+{SEEK_STEP_S:g}s", key_display="→", priority=True,
                group=SEEK_KEYS, tooltip=f"Forward {SEEK_STEP_S:g} seconds"),
        Binding("left_square_bracket", "previous_event", "Previous event", key_display="[", priority=True,
                group=EVENT_KEYS, tooltip="Go to the previous journaled event"),
        Binding("right_square_bracket", "next_event", "Next event", key_display="]", priority=True,
                group=EVENT_KEYS, tooltip="Go to the next journaled event"),
        Binding("g", "go_to", "Go to", priority=True, tooltip="Go to a time: HH:MM:SS UTC, or +MM:SS from the start"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Keys and what every part of the screen shows"),
        Binding("q", "quit", "Quit", tooltip="Quit the replay"),
    ]

    def __init__(self, recording: Recording, *, speed: float = 1.0, at: datetime | None = None,
                 paused: bool = False, tick_s: float = TICK_S, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed must be from {MIN_SPEED:g} to {MAX_SPEED:g}")
        self.recording = recording
        self.speed = float(speed)
        self.at: datetime = recording.clamp(at if at is not None else recording.start)
        self.paused = paused
        self.tick_s = tick_s
        self.frame: ReplayFrame | None = None
        """The frame on screen."""
        self._panels: dict[str, NodePanel] = {}
        self._shown_views: dict[str, NodeView] = {}
        self._composed: ReplayFrame | None = None
        self._lock = asyncio.Lock()
        self._last_tick = time.monotonic()
        self._shown_second: int | None = None

    # -- layout -------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.at >= self.recording.end

    def clock(self) -> datetime:
        """The replay time: what the header's clock shows."""
        return self.at

    def where(self) -> str:
        rec = self.recording
        parts = ["REPLAY", rec.cluster_name]
        if not rec.config_loaded:
            parts.append("no config")  # the notice says what replay uses instead
        if rec.dir is not None:
            parts.append(rec.dir.name)
        return " · ".join(parts)

    def compose(self) -> ComposeResult:
        frame = self.recording.state_at(self.at)
        self._composed = frame
        yield self._header()
        yield SplitBrainBanner()
        with HorizontalScroll(id="nodes"):
            yield from self._fresh_panels(frame)
        with Horizontal(id="incident"):
            checklist = Checklist(title="Runbook")
            checklist.update_state(frame.runbook, actions={})
            yield checklist
            log = ReplayLog()
            log.show_events(frame.events)
            yield log
        yield ReplayBar()
        yield Footer(show_command_palette=False)

    def _header(self) -> CockpitHeader:
        return CockpitHeader(self.where(), clock=self.clock, title="Odoo Failover Cockpit")

    def _fresh_panels(self, frame: ReplayFrame) -> list[NodePanel]:
        """New panels that have seen the frame's trail: fed before they are mounted, where a view
        only records trend, change marks and the last answer (drawing waits for the mount)."""
        cluster = self.recording.cluster
        history = max(10, int(TREND_WINDOW_S / cluster.sampling.interval_s))
        self._panels = {node.name: NodePanel(node.name, history=history) for node in cluster.nodes}
        self._shown_views = {}
        self._feed_panels(frame.trail, frame)
        return list(self._panels.values())

    def _feed_panels(self, views: Sequence[NodeView], frame: ReplayFrame) -> None:
        """Each new sample's view to its panel, in order (trend and change marks see every one),
        then the frame's view of each node, to the panels of nodes sampled just now and to those
        whose view changed for another reason than its reference age ticking (as live)."""
        slo = self.recording.cluster.slo
        sampled = set()
        for node_view in views:
            panel = self._panels.get(node_view.name)
            if panel is not None:
                panel.update_view(node_view, slo)
                sampled.add(node_view.name)
        for node_view in frame.view.nodes if frame.view is not None else ():
            panel = self._panels.get(node_view.name)
            key = node_view.model_copy(update={"data_risk_ref_age_s": None})
            if panel is not None and (node_view.name in sampled or self._shown_views.get(node_view.name) != key):
                self._shown_views[node_view.name] = key
                panel.update_view(node_view, slo)

    async def on_mount(self) -> None:
        self.query_one(ReplayBar).update_position(
            at=self.at, start=self.recording.start, end=self.recording.end, speed=self.speed,
            paused=self.paused, marks=self.recording.event_times())
        self._crowded(self.size.width)
        if self.recording.config_note:
            self.notify(self.recording.config_note, title="REPLAY", severity="warning", timeout=15)
        self.set_interval(self.tick_s, self._tick)
        async with self._lock:
            self._shown(self._composed)
            await self._show_position()

    def on_resize(self, event: events.Resize) -> None:
        self._crowded(event.size.width)

    def _crowded(self, width: int) -> None:
        nodes = self.query("#nodes")
        if nodes:
            nodes.first().set_class(len(self.recording.cluster.nodes) * PANEL_MIN_WIDTH > width, "-crowded")

    # -- moving in time ---------------------------------------------------------------

    async def seek(self, moment: datetime) -> None:
        """Go to ``moment`` (kept within the recording) and show it."""
        async with self._lock:
            self.at = self.recording.clamp(moment)
            await self._show_position()

    @while_open
    async def _tick(self) -> None:
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        if self.paused or self._lock.locked():
            return
        async with self._lock:
            at = self.at + timedelta(seconds=elapsed * self.speed)
            if at >= self.recording.end:
                at, self.paused = self.recording.end, True
            self.at = at
            await self._show_position()

    async def _show_position(self) -> None:
        """Move the bar and the clock; the rest only when the frame changed."""
        frame = self.frame
        if frame is None or self.recording.frame_key(self.at) != frame.key:
            await self.show_frame(self.recording.state_at(self.at))
        self._show_bar()
        second = int(self.at.timestamp())
        if second != self._shown_second:
            self._shown_second = second
            self.query_one(CockpitHeader).tick()

    def _show_bar(self) -> None:
        rec = self.recording
        previous = rec.previous_event_before(self.at)
        following = rec.next_event_after(self.at)
        self.query_one(ReplayBar).update_position(
            at=self.at, start=rec.start, end=rec.end, speed=self.speed, paused=self.paused and not self.ended,
            ended=self.ended, previous=previous.at if previous else None, next=following.at if following else None)

    async def show_frame(self, frame: ReplayFrame) -> None:
        """Render ``frame``. When it follows the frame on screen (the same or more samples, the
        new ones all in its trail) the panels get the new samples; otherwise they are rebuilt
        from the frame's trail. The timeline shows exactly the frame's events."""
        old = self.frame
        follows = (old is not None and old.sample_count <= frame.sample_count
                   and frame.sample_count - old.sample_count <= len(frame.trail))
        if follows:
            new = frame.sample_count - old.sample_count
            self._feed_panels(frame.trail[len(frame.trail) - new:], frame)
        else:
            await self._rebuild(frame)
        self.query_one(ReplayLog).show_events(frame.events)
        self.query_one(Checklist).update_state(frame.runbook, actions={})
        self._shown(frame)

    async def _rebuild(self, frame: ReplayFrame) -> None:
        nodes = self.query_one("#nodes", HorizontalScroll)
        await nodes.remove_children()
        await nodes.mount_all(self._fresh_panels(frame))
        if frame.view is None and self.frame is not None and self.frame.view is not None:
            # back before the first sample: a header and banner that have seen no view yet
            await self.query_one(CockpitHeader).remove()
            await self.query_one(SplitBrainBanner).remove()
            await self.mount(self._header(), SplitBrainBanner(), before=nodes)
        if self.focused is not None and not self.focused.is_attached:
            self.set_focus(None)  # removed while a modal was on top: the screen still points at it

    def _shown(self, frame: ReplayFrame) -> None:
        """The header and banner for ``frame``; it is the frame on screen from now on."""
        if frame.view is not None:
            self.query_one(CockpitHeader).update_view(frame.view)
            self.query_one(SplitBrainBanner).update_view(frame.view)
        self.frame = frame
        self.frame_shown(frame)

    def frame_shown(self, frame: ReplayFrame) -> None:
        """Called after every new frame is on screen: a hook for subclasses (training)."""

    # -- actions ------------------------------------------------------------------

    async def action_toggle_pause(self) -> None:
        if self.paused and self.ended:
            await self.seek(self.recording.start)
        self.paused = not self.paused
        self._last_tick = time.monotonic()
        self._show_bar()

    def action_faster(self) -> None:
        self.speed = faster(self.speed)
        self._show_bar()

    def action_slower(self) -> None:
        self.speed = slower(self.speed)
        self._show_bar()

    async def action_seek(self, seconds: float) -> None:
        await self.seek(self.at + timedelta(seconds=seconds))

    async def action_previous_event(self) -> None:
        event = self.recording.previous_event_before(self.at)
        if event is None:
            self.notify("no event before this moment", severity="warning", timeout=3)
            return
        await self.seek(event.at)

    async def action_next_event(self) -> None:
        event = self.recording.next_event_after(self.at)
        if event is None:
            self.notify("no event after this moment", severity="warning", timeout=3)
            return
        await self.seek(event.at)

    def action_go_to(self) -> None:
        rec = self.recording
        detail = (f"HH:MM:SS (UTC) or +MM:SS from the start; the recording runs "
                  f"{rec.start:%H:%M:%S}Z to {rec.end:%H:%M:%S}Z (+{offset_text(rec.duration_s)})")

        async def answered(answer: str | None) -> None:
            if not answer:
                return
            try:
                moment = rec.parse_time(answer)
            except ReplayError as exc:
                self.notify(str(exc), title="go to", severity="warning", timeout=8)
                return
            await self.seek(moment)

        self.app.push_screen(PromptModal("Go to a time", detail, default=f"{self.at:%H:%M:%S}"), answered)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(self.help_keys(), self.help_sections(), title="Replay"))

    def help_keys(self) -> list[tuple[str, str]]:
        return [(b.key_display or b.key, b.tooltip or b.description) for b in self.BINDINGS if isinstance(b, Binding)]

    @staticmethod
    def help_sections() -> Iterable[str]:
        intro = ("### Replay\n\nThe cockpit as it was, from the incident's journal: every journaled sample "
                 "judged as it arrived, every event, the runbook as it stood. Read-only: no action, no note, "
                 "no database connection. The header's clock is the recorded UTC time.")
        return [intro, *(w.HELP for w in (ReplayBar, CockpitHeader, SplitBrainBanner, NodePanel, Checklist, ScribeLog))]

    def action_quit(self) -> None:
        self.app.exit()

    def on_replay_bar_seek_requested(self, message: ReplayBar.SeekRequested) -> None:
        message.stop()
        self.run_worker(self.seek(message.at), group="replay-seek", exclusive=True)


class ReplayApp(App):
    """``failover-cockpit replay DIR``: a :class:`ReplayScreen` on its own."""

    TITLE = "Odoo Failover Cockpit · replay"
    CSS_PATH = STYLESHEET
    HORIZONTAL_BREAKPOINTS = CockpitApp.HORIZONTAL_BREAKPOINTS
    VERTICAL_BREAKPOINTS = CockpitApp.VERTICAL_BREAKPOINTS

    def __init__(self, recording: Recording, *, speed: float = 1.0, at: datetime | None = None,
                 paused: bool = False, tick_s: float = TICK_S) -> None:
        super().__init__()
        self.recording = recording
        self.replay = ReplayScreen(recording, speed=speed, at=at, paused=paused, tick_s=tick_s)
        self.sub_title = f"replay {speed_text(speed)}"

    def get_default_screen(self) -> Screen:
        return self.replay
