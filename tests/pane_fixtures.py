"""Fixed events, runbook states and a harness app for the scribe log and checklist tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Input, Static

from checks.incident.events import Event
from checks.runbook.gates import STAGES, RunbookState, StageState
from widgets import STYLESHEET
from widgets.scribe_log import ScribeLog, TimelineView

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


async def notified(pilot) -> list[str]:
    """The notifications on screen, as the operator reads them (each toast's title and text); the
    screen mounts a toast a few refreshes after ``notify``, so this waits up to 1 s for one. The app
    must run with ``run_test(notifications=True)``: Textual's test harness hides toasts otherwise."""
    for _ in range(20):
        toasts = [toast.render().plain for toast in pilot.app.screen.query("Toast")]
        if toasts:
            return toasts
        await pilot.pause(0.05)
    return []


def screen_text(app: App) -> str:
    """What the screen shows, as plain text lines. (Textual has no public text export of a screen:
    its compositor's strips are the characters on the terminal.)"""
    return "\n".join(strip.text.rstrip() for strip in app.screen._compositor.render_strips())


def table_text(log: ScribeLog) -> list[str]:
    """The timeline's rows as plain text."""
    view = log.query_one(TimelineView)
    return [view.row_text(i).rstrip() for i in range(len(view.rows))]


SIZE = (80, 24)
