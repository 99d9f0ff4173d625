"""Pilot tests of the scribe log: the timeline, filters, the note input, alarms."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from textual.widgets import Input, Static

from tests.pane_fixtures import SIZE, TIMELINE, Harness, make_event, screen_text, table_text, timeline
from widgets.checklist import Checklist
from widgets.scribe_log import FILTERS, PLACEHOLDER, ScribeLog, parse_note, time_text

# -- the timeline ----------------------------------------------------------------------------


def test_note_prefixes():
    assert parse_note("node1 disk full") == ("note", "node1 disk full")
    assert parse_note("/d promote node2") == ("decision", "promote node2")
    assert parse_note("  /S  Odoo frozen ") == ("status", "Odoo frozen")
    assert parse_note("/t check backups") == ("todo", "check backups")
    assert parse_note("/x what") == ("note", "/x what")
    assert parse_note("   ") is None and parse_note("/d") is None and parse_note("/d   ") is None


def test_times_are_utc_to_the_tenth_with_a_z():
    assert time_text(datetime(2026, 12, 1, 8, 0, 5, 123456, tzinfo=timezone.utc)) == "08:00:05.1Z"
    assert time_text(datetime(2026, 12, 1, 9, 0, 5, 999999, tzinfo=timezone(timedelta(hours=1)))) == "08:00:05.9Z"
    assert time_text(datetime(2026, 12, 1, 8, 0, 5)) == "08:00:05.0Z"


async def test_events_show_in_order_with_utc_times_and_authors():
    app = Harness(lambda: [ScribeLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        events = timeline()
        log.add_events(list(reversed(events[:6])))  # out of order in one batch
        log.add_events(events[6:])
        await pilot.pause()
        rows = table_text(log)
        assert len(rows) == 12
        assert rows[0].startswith("08:00:00.0Z") and "alice" in rows[0] and "cockpit started" in rows[0]
        assert rows[2].startswith("08:00:14.5Z") and "carol" in rows[2]
        assert rows[11].startswith("08:01:19.7Z") and "ALARM" in rows[11]
        assert [e.id for e in log.visible_events()] == list(range(1, 13))
        assert "DECISION" in rows[7] and "TODO" in rows[9] and "APPROVAL" in rows[8]
        assert log.border_title == "Timeline · all (12)"


async def test_an_event_arriving_late_is_put_in_its_place():
    app = Harness(lambda: [ScribeLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        events = timeline()
        log.add_events(events[:3] + events[4:])
        await pilot.pause()
        log.add_events([events[3]])
        await pilot.pause()
        assert [e.id for e in log.visible_events()] == list(range(1, 13))
        assert "node1 unreachable" in table_text(log)[3]


async def test_the_same_event_twice_shows_once():
    app = Harness(lambda: [ScribeLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        log.add_events(timeline()[:5])
        log.add_events(timeline()[3:8])
        log.add_events(timeline()[:8])
        await pilot.pause()
        assert len(table_text(log)) == 8
        assert len(log.timeline.rows) == 8


async def test_events_added_before_mount_show():
    log = ScribeLog()
    log.add_events(timeline()[:4])
    app = Harness(lambda: [log])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert len(table_text(log)) == 4


async def test_the_newest_stays_in_view_unless_scrolled_up():
    app = Harness(lambda: [ScribeLog()], height=10)
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        table = log.timeline
        log.add_events(timeline())
        await pilot.pause()
        log.add_events(timeline(13))
        await pilot.pause()
        await pilot.pause()
        assert table.cursor == 23
        assert table.is_vertical_scroll_end and table.max_scroll_y > 0
        table.focus()
        await pilot.press("up", "up")
        log.add_events(timeline(25, TIMELINE[:3]))
        await pilot.pause()
        assert table.cursor == 21  # reading an older row: the new ones do not move it
        await pilot.press("end")
        log.add_events(timeline(28, TIMELINE[:2]))
        await pilot.pause()
        await pilot.pause()
        assert table.cursor == 28 and table.is_vertical_scroll_end


async def test_filter_cycles_through_kinds():
    app = Harness(lambda: [ScribeLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        log.add_events(timeline())
        log.timeline.focus()
        await pilot.pause()
        seen = []
        for _ in FILTERS:
            seen.append((log.filter_name, log.border_title, sorted({e.kind for e in log.visible_events()})))
            await pilot.press("f")
            await pilot.pause()
        assert seen[0][0] == "all" and len(seen[0][2]) == 11
        assert seen[1] == ("notes & decisions", "Timeline · notes & decisions (5/12)",
                           ["approval", "decision", "note", "status", "todo"])
        assert seen[2] == ("actions & evidence", "Timeline · actions & evidence (3/12)", ["action", "evidence", "stage"])
        assert seen[3] == ("alarms", "Timeline · alarms (2/12)", ["alarm"])
        assert log.filter_name == "all" and len(table_text(log)) == 12
        await pilot.press("f", "f", "f")
        await pilot.pause()
        rows = table_text(log)
        assert len(rows) == 2 and all("ALARM" in row for row in rows)
        log.add_events([make_event(13, "scribe", "carol", "note", "hidden by the filter"),
                        make_event(14, "operator", "alice", "alarm", "journal not writable")])
        await pilot.pause()
        assert len(table_text(log)) == 3 and log.border_title == "Timeline · alarms (3/14)"


async def test_decision_prefix_posts_a_decision_and_clears():
    app = Harness(lambda: [ScribeLog(show_input=True)])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        log.focus_input()
        await pilot.pause()
        note = log.query_one("#scribe-input", Input)
        assert note.has_focus and note.placeholder == PLACEHOLDER == "note… (/d decision, /s status, /t todo)"
        await pilot.press(*"/d promote node2")
        await pilot.pause()
        assert "DECISION" in str(log.query_one("#scribe-kind").content)
        await pilot.press("enter")
        await pilot.pause()
        assert app.notes == [("decision", "promote node2")]
        assert note.value == ""
        for typed in ("users are back", "/t write the postmortem"):
            note.value = typed
            await pilot.press("enter")
        await pilot.pause()
        assert app.notes[1:] == [("note", "users are back"), ("todo", "write the postmortem")]
        assert log.all_events() == []  # the widget never journals: the app does


async def test_empty_input_posts_nothing():
    app = Harness(lambda: [ScribeLog(pin_input=True)])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        log.focus_input()
        await pilot.pause()
        await pilot.press("enter", "space", "space", "enter", *"/s", "enter")
        await pilot.pause()
        assert app.notes == []


async def test_operator_opens_the_input_and_escape_closes_it():
    app = Harness(lambda: [Checklist(), ScribeLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        row = log.query_one("#scribe-input-row")
        app.query_one(Checklist).focus()
        await pilot.pause()
        assert not log.show_input and not row.display
        log.open_input()
        await pilot.pause()
        assert row.display and log.query_one("#scribe-input", Input).has_focus
        await pilot.press("f")  # typed, not a filter change
        assert log.filter_name == "all" and log.query_one("#scribe-input", Input).value == "f"
        await pilot.press("escape")
        await pilot.pause()
        assert not log.show_input and not row.display
        assert app.focused is app.query_one(Checklist)  # back where it was: the app's keys work again


async def test_the_scribe_keeps_the_input_open():
    app = Harness(lambda: [ScribeLog(pin_input=True)])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        log.focus_input()
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert log.show_input and log.query_one("#scribe-input-row").display


async def test_an_alarm_set_before_mount_shows():
    log = ScribeLog()
    log.set_alarm("journal not writable: read-only file system")
    app = Harness(lambda: [log])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "read-only file system" in screen_text(app)


async def test_alarm_line_shows_and_clears():
    app = Harness(lambda: [ScribeLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        log.set_alarm("journal not writable: disk I/O error")
        await pilot.pause()
        alarm = log.query_one("#scribe-alarm", Static)
        assert alarm.display and "journal not writable: disk I/O error" in str(alarm.content)
        assert "journal not writable" in screen_text(app)
        log.set_alarm(None)
        await pilot.pause()
        assert not alarm.display


async def test_enter_shows_the_full_text_of_a_row():
    long_text = "node1 answered again at 08:01:19Z and accepted a write: " + "x" * 80 + " END"
    app = Harness(lambda: [ScribeLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        log.add_events(timeline(1, TIMELINE[:3]) + [make_event(4, "operator", "alice", "alarm", long_text, stage=2)])
        log.timeline.focus()
        await pilot.pause()
        assert "END" not in table_text(log)[3] and table_text(log)[3].endswith("…")
        await pilot.press("enter")
        await pilot.pause()
        detail = str(log.query_one("#scribe-detail", Static).content)
        assert long_text in detail and "2026-12-01T08:00:21.750000Z" in detail and "stage 2" in detail
        await pilot.press("up")
        await pilot.pause()
        assert "Odoo answers 502" in str(log.query_one("#scribe-detail", Static).content)
        await pilot.press("escape")
        await pilot.pause()
        assert not log.query_one("#scribe-detail").display


async def test_wide_pane_has_a_seat_column_and_a_header():
    app = Harness(lambda: [ScribeLog()])
    async with app.run_test(size=(120, 40)) as pilot:
        log = app.query_one(ScribeLog)
        log.add_events(timeline())
        await pilot.pause()
        header = log.query_one("#scribe-header", Static)
        assert header.display and str(header.content).split() == ["time", "(UTC)", "seat", "author", "kind", "text"]
        assert table_text(log)[8].split()[:4] == ["08:00:58.0Z", "approver", "dave", "APPROVAL"]


async def test_narrow_pane_is_compact():
    app = Harness(lambda: [ScribeLog(), Static("the rest of the cockpit", classes="side")])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        log.add_events(timeline())
        await pilot.pause()
        assert log.outer_size.width == 40 and not log.query_one("#scribe-header").display
        assert table_text(log)[7].split()[:3] == ["08:00:50.7Z", "DECIS", "carol"]
        assert all(len(row) <= 37 for row in table_text(log))


async def test_thousands_of_events_stay_fast():
    app = Harness(lambda: [ScribeLog()])
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(ScribeLog)
        await pilot.pause()
        started = datetime.now()
        log.add_events([e for first in range(1, 6001, 12) for e in timeline(first)])
        for number in range(6001, 6201):
            log.add_events([make_event(number, "scribe", "carol", "note", f"note {number}")])
        await pilot.pause()
        await pilot.press("f")
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        elapsed = (datetime.now() - started).total_seconds()
        assert len(log.all_events()) == 6200 and len(log.timeline.rows) == 2700
        assert log.timeline.cursor == 2699 and log.timeline.is_vertical_scroll_end
        assert elapsed < 5, elapsed
