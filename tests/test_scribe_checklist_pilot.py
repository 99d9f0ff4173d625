"""Pilot tests of the timeline (ScribeLog), the runbook checklist and the typed confirmation,
each in a tiny harness app, from hand-built events and runbook states (no journal, no database).

The builders here (events, states, the harness) are shared with the snapshot tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone

import pytest
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Static

from checks.journal_events import Event
from checks.runbook import STAGES, RunbookState, StageState
from widgets import STYLESHEET
from widgets.checklist import Checklist, status_text
from widgets.scribe_log import FILTERS, PLACEHOLDER, ScribeLog, TimelineView, parse_note, time_text
from widgets.typed_confirm import TypedConfirmModal

T0 = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)

TIMELINE = (
    ("operator", "alice", "system", "cockpit started on the operator seat"),
    ("operator", "alice", "role", "roles: operator alice, scribe carol, approver dave"),
    ("scribe", "carol", "note", "Odoo answers 502 since 07:58; users report lost carts"),
    ("operator", "alice", "alarm", "node1 unreachable: connection refused"),
    ("operator", "alice", "action", "freeze 'stop cron workers': exit 0"),
    ("scribe", "carol", "status", "Odoo frozen; choosing a candidate"),
    ("operator", "alice", "evidence", "node2 received up to 0/5A0003E8, 16.0 kB behind node1's last LSN"),
    ("scribe", "carol", "decision", "candidate node2: it loses at most 16.0 kB, within the SLO"),
    ("approver", "dave", "approval", "data risk of node2 approved by dave"),
    ("scribe", "carol", "todo", "find out why node1's disk filled up"),
    ("operator", "alice", "stage", "stage 2 Old primary open"),
    ("operator", "alice", "alarm", "node1 is writable again: fence it before promoting node2"),
)
"""Twelve events of mixed kinds, 7.25 s apart from 2026-12-01T08:00:00Z."""

ACTIONS = {
    0: ("s", "set the roles"), 1: ("c", "choose candidate"), 2: ("f", "fence node1"),
    3: ("p", "promote node2"), 4: ("u", "cut over"), 5: ("v", "verify"),
}
RISK_OK = {"statement": "promoting node2 loses at most 16.0 kB of committed WAL (behind node1's 0/5A004000)",
           "within_slo": True}
RISK_OVER = {"statement": "promoting node3 loses at least 2.1 MB of committed WAL; over the SLO "
                          "(1.0 MB / 5s) or unknown: promotion needs an approver", "within_slo": False}
REFUSAL = ("promote refused: stage 3 Promote is locked because stage 2 Old primary has not passed; "
           "to unlock: fence node1")


def make_event(number: int, seat: str, author: str, kind: str, text: str, *, stage: int | None = None,
               at: datetime | None = None) -> Event:
    return Event(id=number, at=at or T0 + timedelta(seconds=7.25 * (number - 1)), seat=seat, author=author,
                 kind=kind, stage=stage, text=text)


def timeline(first: int = 1, rows: Iterable[tuple[str, str, str, str]] = TIMELINE) -> list[Event]:
    return [make_event(first + i, *row) for i, row in enumerate(rows)]


def _stage(number: int, status: str, gate: str, next_action: str = "", evidence: tuple[str, ...] = ()) -> StageState:
    return StageState(number=number, title=STAGES[number][1], status=status, gate=gate, next_action=next_action,
                      evidence=evidence)


def _locked(after: int) -> list[StageState]:
    return [_stage(n, "locked", f"locked until stage {n - 1} passes") for n in range(after + 1, len(STAGES))]


ROLES = {"operator": "alice", "scribe": "carol", "approver": "dave"}
STAGE0_PASSED = _stage(0, "passed", "roles set; freeze done", evidence=(
    "approver: dave", "operator: alice", "scribe: carol", "freeze 'stop cron workers': exit 0"))


def state_start() -> RunbookState:
    """Stage 0 open, everything after it locked."""
    return RunbookState(roles={"operator": "alice", "scribe": "carol"}, stages=(
        _stage(0, "open", "roles not set: approver", "set the roles", ("operator: alice", "scribe: carol")),
        *_locked(0)))


def state_old_primary_writable() -> RunbookState:
    """Stage 2 failed: the old primary still accepts writes."""
    return RunbookState(roles=ROLES, candidate="node2", old_primary="node1", data_risk=RISK_OK, stages=(
        STAGE0_PASSED,
        _stage(1, "passed", "candidate chosen; data risk known and within the SLO", "",
               ("candidate node2 chosen by alice", RISK_OK["statement"])),
        _stage(2, "failed", "node1 is writable: fence it", "fence the old primary (or attest it is down)",
               ("node1: reachable, out of recovery (writable)", "node3: in recovery (read-only)")),
        *_locked(2)))


def state_risk_approved() -> RunbookState:
    """Stage 1 overridden: the data risk is over the SLO and an approver approved it."""
    return RunbookState(roles=ROLES, candidate="node3", old_primary="node1", data_risk=RISK_OVER, stages=(
        STAGE0_PASSED,
        _stage(1, "overridden", "data risk above the SLO or unknown, approved by dave", "",
               ("candidate node3 chosen by alice", RISK_OVER["statement"], "approved by dave")),
        _stage(2, "open", "the old primary has not been checked yet", "check the old primary"),
        *_locked(2)))


def state_verified() -> RunbookState:
    """Every stage passed."""
    return RunbookState(roles=ROLES, candidate="node2", old_primary="node1", data_risk=RISK_OK, stages=(
        STAGE0_PASSED,
        _stage(1, "passed", "candidate chosen; data risk known and within the SLO", "",
               ("candidate node2 chosen by alice", RISK_OK["statement"])),
        _stage(2, "passed", "no other node is writable or reachable for writes", "", ("node1: fenced, unreachable",)),
        _stage(3, "passed", "node2 is the new primary (writable after 41 ms)", "", ("node2 promoted in 41 ms",)),
        _stage(4, "passed", "every configured target points at the new primary", "", ("pgbouncer: ok", "odoo.conf: ok")),
        _stage(5, "passed", "every verification check passed", "",
               ("new_primary_writable: pass", "odoo_login: pass", "write_probe: pass"))))


class Harness(App):
    """Composes the widgets ``build`` returns (side by side when there are several) and records
    every NoteSubmitted. ``setup(app)`` runs once mounted."""

    CSS_PATH = STYLESHEET
    CSS = """
    #harness { height: 1fr; }
    #rest { height: 1fr; content-align: center middle; color: $text-muted; border: round $panel; }
    .side { width: 1fr; height: 1fr; }
    """

    def __init__(self, build: Callable[[], list[Widget]], setup: Callable[[Harness], None] | None = None, *,
                 rest: str | None = None, height: int | None = None) -> None:
        super().__init__()
        self.build = build
        self.setup = setup
        self.rest = rest
        self.pane_height = height
        self.notes: list[tuple[str, str]] = []
        self.animation_level = "none"  # the checklist's spinner holds still for screenshots

    def compose(self) -> ComposeResult:
        if self.rest is not None:
            yield Static(self.rest, id="rest")
        with Horizontal(id="harness"):
            yield from self.build()

    def on_mount(self) -> None:
        if self.pane_height is not None:
            self.query_one("#harness").styles.height = self.pane_height
        for note in self.query(Input):
            note.cursor_blink = False
        if self.setup is not None:
            self.setup(self)

    def on_scribe_log_note_submitted(self, message: ScribeLog.NoteSubmitted) -> None:
        self.notes.append((message.kind, message.text))


def screen_text(app: App) -> str:
    """What the screen shows, as plain text lines."""
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


def table_text(log: ScribeLog) -> list[str]:
    """The timeline's rows as plain text."""
    view = log.query_one(TimelineView)
    return [view.row_text(i).rstrip() for i in range(len(view.rows))]


SIZE = (80, 24)


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


# -- the checklist ---------------------------------------------------------------------------


def checklist_text(checklist: Checklist) -> str:
    return "\n".join(str(s.content) for s in checklist.query(Static) if s.display)


async def run_checklist(state: RunbookState, size=SIZE, **kwargs):
    app = Harness(lambda: [Checklist()], lambda a: a.query_one(Checklist).update_state(state, **kwargs))
    return app, app.run_test(size=size)


@pytest.mark.parametrize("status", ["locked", "open", "passed", "overridden", "failed"])
def test_status_has_a_glyph_and_a_word(status):
    text = status_text(status)
    assert {"locked": "🔒 locked", "open": "▶ open", "passed": "✓ passed", "overridden": "⚑ override",
            "failed": "✗ failed"}[status] == " ".join(text.split())


async def test_checklist_shows_every_stage_and_the_current_gate_and_key():
    app, running = await run_checklist(state_old_primary_writable(), actions=ACTIONS)
    async with running as pilot:
        await pilot.pause()
        checklist = app.query_one(Checklist)
        text = checklist_text(checklist)
        for word, title in (("passed", "0 Stabilize"), ("passed", "1 Replica freshness"), ("failed", "2 Old primary"),
                            ("locked", "3 Promote"), ("locked", "4 Cut over"), ("locked", "5 Verify")):
            row = next(line for line in text.splitlines() if title in line)
            assert word in row, row
        assert "node1 is writable: fence it" in text
        assert " f  fence node1" in text
        assert "promote node2" not in text  # only the current stage's action
        assert "candidate node2" in text and RISK_OK["statement"] in text
        assert checklist.query_one("#stage-2").has_class("-current", "-failed")
        assert checklist.border_title == "Runbook · stage 2 Old primary"


async def test_checklist_without_a_key_names_the_next_action():
    app, running = await run_checklist(state_start())
    async with running as pilot:
        await pilot.pause()
        text = checklist_text(app.query_one(Checklist))
        assert "roles not set: approver" in text and "next  set the roles" in text
        assert "candidate not chosen yet" in text


async def test_a_state_given_before_mount_shows():
    checklist = Checklist()
    checklist.update_state(state_verified())
    app = Harness(lambda: [checklist])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "every stage passed" in checklist_text(checklist)


async def test_checklist_shows_busy_and_refusal():
    app, running = await run_checklist(state_old_primary_writable(), actions=ACTIONS, busy="fence node1",
                                       refusal=REFUSAL)
    async with running as pilot:
        await pilot.pause()
        checklist = app.query_one(Checklist)
        assert "running: fence node1…" in checklist_text(checklist)
        assert REFUSAL in checklist_text(checklist)
        assert "promote refused" in screen_text(app)
        checklist.set_busy(None)
        await pilot.pause()
        assert "running" not in checklist_text(checklist) and REFUSAL in checklist_text(checklist)
        checklist.set_busy("running: promote…")
        await pilot.pause()
        assert "running: promote…" in checklist_text(checklist) and "running: running" not in checklist_text(checklist)
        checklist.set_busy(None)
        checklist.update_state(state_verified())
        await pilot.pause()
        text = checklist_text(checklist)
        assert "promote refused" not in text and "every stage passed" in text


async def test_e_shows_the_evidence_and_arrows_select_a_stage():
    app, running = await run_checklist(state_risk_approved(), actions=ACTIONS)
    async with running as pilot:
        checklist = app.query_one(Checklist)
        checklist.focus()
        await pilot.pause()
        assert "· approved by dave" not in checklist_text(checklist)
        assert checklist.selected_stage == 2
        await pilot.press("e")
        await pilot.pause()
        assert "· no evidence yet" in checklist_text(checklist)
        await pilot.press("up")
        await pilot.pause()
        text = checklist_text(checklist)
        assert checklist.selected_stage == 1
        assert "met data risk above the SLO or unknown, approved by dave" in text
        assert "· candidate node3 chosen by alice" in text and "· approved by dave" in text
        assert "override" in next(line for line in text.splitlines() if "1 Replica freshness" in line)
        await pilot.press("e")
        await pilot.pause()
        assert "· candidate node3 chosen by alice" not in checklist_text(checklist)
        await pilot.press("up", "up", "up")
        assert checklist.selected_stage == 0
        await pilot.press(*["down"] * 8)
        assert checklist.selected_stage == 5


async def test_short_pane_shares_rows_and_cuts_the_refusal():
    def setup(app: Harness) -> None:
        app.query_one(Checklist).update_state(state_old_primary_writable(), actions=ACTIONS, refusal=REFUSAL + " " + "x" * 200)
        app.query_one(Checklist).focus()

    app = Harness(lambda: [Checklist(), ScribeLog()], setup, rest="", height=12)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        checklist = app.query_one(Checklist)
        assert checklist.outer_size == (40, 12) and checklist.has_class("-short")
        text = checklist_text(checklist)
        assert "0–1 Stabilize, Replica freshness" in text and "3–5 Promote, Cut over, Verify" in text
        assert not checklist.query_one("#stage-1").display and not checklist.query_one("#stage-4").display
        refusal = str(checklist.query_one("#checklist-refusal", Static).content)
        assert refusal.startswith("⚠ promote refused") and refusal.endswith("…") and refusal.count("\n") == 2
        assert checklist.max_scroll_y == 0  # it all fits
        await pilot.press("up")
        await pilot.pause()
        text = checklist_text(checklist)
        assert checklist.query_one("#stage-1").display and "1 Replica freshness" in text
        assert "met candidate chosen; data risk known and within the SLO" in text


# -- the typed confirmation ------------------------------------------------------------------


def promote_modal() -> TypedConfirmModal:
    return TypedConfirmModal(
        "Promote node2 to primary", "node2",
        effects=["re-checks node2 is still in recovery and node1 still fenced",
                 "runs pg_promote on node2 and waits until it accepts writes"],
        data_risk=RISK_OK["statement"],
    )


async def open_modal(app: Harness, pilot, results: list) -> TypedConfirmModal:
    modal = promote_modal()
    app.push_screen(modal, results.append)
    await pilot.pause()
    return modal


async def test_typed_confirm_wrong_name_stays_open_with_the_hint():
    app = Harness(lambda: [Static("cockpit")])
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_modal(app, pilot, results)
        text = screen_text(app)
        assert "Promote node2 to primary" in text and "pg_promote" in text and "16.0 kB" in text
        await pilot.press(*"node1", "enter")
        await pilot.pause()
        assert app.screen is modal and results == []
        assert "type node2 exactly" in screen_text(app)
        modal.query_one(Input).value = "node2 "
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is modal and results == []


async def test_typed_confirm_right_name_returns_true():
    app = Harness(lambda: [Static("cockpit")])
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        await open_modal(app, pilot, results)
        await pilot.press(*"node2", "enter")
        await pilot.pause()
        assert results == [True] and not isinstance(app.screen, TypedConfirmModal)


async def test_typed_confirm_escape_returns_false():
    app = Harness(lambda: [Static("cockpit")])
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        await open_modal(app, pilot, results)
        await pilot.press(*"node", "escape")
        await pilot.pause()
        assert results == [False] and not isinstance(app.screen, TypedConfirmModal)


async def test_typed_confirm_without_a_node_never_confirms():
    app = Harness(lambda: [Static("cockpit")])
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        modal = TypedConfirmModal("Promote  to primary", "")
        app.push_screen(modal, results.append)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is modal and results == [] and "nothing to confirm" in screen_text(app)


async def test_text_with_brackets_is_shown_as_is():
    odd = "approval refused: 'olga' is not an approver (approvers: ['dave', 'erin']) [/b]"

    def setup(app: Harness) -> None:
        app.query_one(Checklist).update_state(state_start(), refusal=odd, busy="[bold]x")
        app.query_one(ScribeLog).set_alarm(odd)
        app.query_one(ScribeLog).add_events([make_event(1, "operator", "olga", "system", "[red]x[/] ['a']")])

    app = Harness(lambda: [Checklist(), ScribeLog()], setup)
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert text.count("(approvers: ['dave', 'erin']) [/b]") == 2  # the refusal and the alarm
        assert "running: [bold]x…" in text and "[red]x[/] ['a']" in text


def test_every_new_widget_has_help():
    for widget in (ScribeLog, Checklist, TypedConfirmModal):
        assert widget.HELP.startswith("### ") and widget.__doc__
