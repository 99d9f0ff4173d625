"""The timeline pane is virtual: an eight-hour incident of 10,000 events shows the right rows at the
top, in the middle and at the tail (judged by the text on screen), appending keeps following the
tail, and only the rows on screen are laid out: the rows turned into text and the lines rendered
stay bounded by the pane's height whatever the number of events."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.pane_fixtures import T0, Harness, make_event, screen_text
from tui.replay_app import ReplayLog
from widgets.scribe_log import ScribeLog, TimelineView

EVENTS = 10_000
SIZE = (80, 24)
KINDS = (("scribe", "carol", "note"), ("operator", "alice", "action"), ("operator", "alice", "evidence"),
         ("scribe", "carol", "status"), ("operator", "alice", "alarm"))
ROW = re.compile(r"│(\d\d:\d\d:\d\d\.\dZ) .* event (\d{5}) ")


def events(first: int, count: int) -> list:
    """``count`` events from id ``first``, one every 2.88 s (10,000 in eight hours), each text naming its id."""
    return [make_event(i, *KINDS[i % len(KINDS)], f"event {i:05d} of the night", at=T0 + timedelta(seconds=2.88 * i))
            for i in range(first, first + count)]


async def settled(pilot) -> None:
    """Until the screen has caught up: the pane's column header appears once the pane has a width,
    which shortens the timeline by a row and scrolls it again."""
    for _ in range(3):
        await pilot.pause()


def shown(app) -> list[int]:
    """The event ids of the timeline rows on screen, top to bottom, read from the screen's text."""
    return [int(m[2]) for line in screen_text(app).splitlines() if (m := ROW.search(line))]


class Counted:
    """Wraps the view's ``render_row`` and ``render_line``: which rows were turned into text, how many
    lines were rendered."""

    def __init__(self, view: TimelineView) -> None:
        self.rows: list[int] = []
        self.lines = 0
        row, line = view.render_row, view.render_line

        def render_row(event, width):
            self.rows.append(event.id)
            return row(event, width)

        def render_line(y):
            self.lines += 1
            return line(y)

        view.render_row, view.render_line = render_row, render_line

    def reset(self) -> None:
        self.rows.clear()
        self.lines = 0


async def test_ten_thousand_events_top_middle_tail_and_following():
    app = Harness(lambda: [ScribeLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        view = log.timeline
        log.add_events(events(1, EVENTS))
        await settled(pilot)
        height = view.scrollable_content_region.height
        assert log.border_title == f"Timeline · all ({EVENTS})"
        tail = shown(app)
        assert tail == list(range(EVENTS - height + 1, EVENTS + 1))  # the newest, in order, the last at the bottom
        assert view.cursor_event.id == EVENTS and view.is_vertical_scroll_end

        view.focus()
        await pilot.press("home")
        assert shown(app) == list(range(1, height + 1))
        assert "08:00:02.8Z" in screen_text(app)  # event 1, at 2.88 s

        view.move_cursor(4_999)              # row 4,999 is event 5,000
        await settled(pilot)
        middle = shown(app)
        assert len(middle) == height and middle == list(range(middle[0], middle[0] + height)) and 5_000 in middle
        await pilot.press("pagedown", "down", "down")
        assert view.cursor_event.id == 5_000 + (height - 1) + 2 and view.cursor_event.id in shown(app)
        log.add_events(events(EVENTS + 1, 3))  # reading the middle: new events do not pull the view away
        await settled(pilot)
        assert 5_000 + height + 1 in shown(app) and EVENTS + 3 not in shown(app)

        await pilot.press("end")
        assert shown(app)[-1] == EVENTS + 3
        newest = EVENTS + 3
        for count in (1, 2, 6, 40):          # one at a time and in batches, one larger than the pane
            log.add_events(events(newest + 1, count))
            newest += count
            await settled(pilot)
            assert view.cursor_event.id == newest and view.is_vertical_scroll_end
            assert shown(app) == list(range(newest - height + 1, newest + 1))


async def test_only_the_rows_on_screen_are_laid_out():
    app = Harness(lambda: [ScribeLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        view = log.timeline
        counted = Counted(view)
        log.add_events(events(1, EVENTS))
        await settled(pilot)
        height = view.scrollable_content_region.height
        assert 0 < height < 30
        bound = 2 * height                   # the cursor row is drawn twice as it moves; nothing scales with EVENTS
        assert 0 < len(set(counted.rows)) <= bound and 0 < counted.lines <= 3 * bound
        assert set(counted.rows) <= set(range(EVENTS - bound, EVENTS + 1))

        for step in (lambda: log.add_events(events(EVENTS + 1, 1)), lambda: log.add_events(events(EVENTS + 2, 50))):
            counted.reset()
            step()
            await settled(pilot)
            assert 0 < len(counted.rows) <= bound and counted.lines <= 3 * bound
            assert shown(app)[-1] == len(view.rows)

        view.focus()
        for keys in (("home",), ("pagedown",) * 3, ("end",)):
            counted.reset()
            await pilot.press(*keys)
            await settled(pilot)
            assert shown(app)
            # rows already drawn come from the cache of strips (the tail, after `end`): laid out again, never
            assert len(set(counted.rows)) <= bound * len(keys) and 0 < counted.lines <= 3 * bound * len(keys)

        counted.reset()
        view.scroll_to(y=5_000, animate=False, immediate=True)
        await settled(pilot)
        assert 0 < len(set(counted.rows)) <= bound
        assert set(counted.rows) <= set(range(5_000, 5_000 + bound + 1))


async def test_an_append_does_the_same_work_at_forty_events_and_at_ten_thousand():
    """What an append costs, counted in rows laid out and lines rendered, is the same in a pane just
    full (40 events) and in one of 10,000: appending never rebuilds the rows already there."""
    work = []
    for total in (40, EVENTS):
        app = Harness(lambda: [ScribeLog()])
        async with app.run_test(size=SIZE) as pilot:
            log = app.query_one(ScribeLog)
            log.add_events(events(1, total))
            await settled(pilot)
            counted = Counted(log.timeline)
            log.add_events(events(EVENTS + 1, 1))
            await settled(pilot)
            assert shown(app)[-1] == EVENTS + 1
            work.append((len(counted.rows), counted.lines))
    assert work[0] == work[1] and work[0][0]


async def test_the_replay_timeline_shows_exactly_each_frames_events_forward_and_back():
    """A replay's frames hold the first N events of the recording: forward the new ones are added
    (laying out only what shows), back the later ones go, and the rows are always exactly the frame's."""
    recording = events(1, EVENTS)
    app = Harness(lambda: [ReplayLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ReplayLog)
        counted = Counted(log.timeline)
        for count in (0, 1, 5_000, 5_001, 5_040, 4_000, 4_002, 9_999, 20, EVENTS):
            counted.reset()
            frame = tuple(recording[:count])
            log.show_events(frame)
            await settled(pilot)
            assert [e.id for e in log.all_events()] == [e.id for e in frame]
            assert [e.id for e in log.timeline.rows] == [e.id for e in frame]
            assert shown(app)[-1:] == [e.id for e in frame[-1:]]
            assert len(set(counted.rows)) <= 2 * log.timeline.scrollable_content_region.height


async def test_a_resumed_nights_first_frame_shows_its_newest_entry():
    """Events handed over before the first layout (a resumed incident reads its journal as the panes
    mount): the very first lines the timeline renders are its tail, not its first rows with a scroll
    a frame later; the arrows leave the tail (new events do not pull the view), `end` follows again."""
    frames: list[str] = []

    def setup(app) -> None:
        view = app.query_one(ScribeLog).timeline
        render_lines = view.render_lines

        def recorded(crop):
            strips = render_lines(crop)
            frames.append("\n".join(strip.text for strip in strips))
            return strips

        view.render_lines = recorded
        app.query_one(ScribeLog).add_events(events(1, EVENTS))

    app = Harness(lambda: [ScribeLog()], setup)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        view = app.query_one(ScribeLog).timeline
        assert frames and f"event {EVENTS:05d}" in frames[0] and "event 00001 " not in frames[0]
        assert view.is_anchored
        view.focus()
        await pilot.press("up")
        assert not view.is_anchored
        app.query_one(ScribeLog).add_events(events(EVENTS + 1, 1))
        await settled(pilot)
        assert EVENTS + 1 not in shown(app)
        await pilot.press("end")
        assert view.is_anchored and shown(app)[-1] == EVENTS + 1
