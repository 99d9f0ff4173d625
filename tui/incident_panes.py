"""The incident half of the screen: the runbook checklist beside the scribe log, fed by the journal."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal

from checks.incident.fences import fences_of
from checks.incident.journal import Event, JournalError
from checks.runbook.gate_events import GateEvents
from checks.runbook.gates import RunbookState, judge
from tui.journal_feed import follow_journal
from tui.messages import ActionDone, JournalEvents, JournalHealth
from widgets.checklist import Checklist
from widgets.closing import while_open
from widgets.scribe_log import ScribeLog

NOTE_KINDS = {"note", "decision", "status", "todo"}


class IncidentPanes(Horizontal):
    """Checklist (left) and scribe log (right); every seat sees the same journal within a second."""

    def __init__(self, session, *, actions_for_seat) -> None:
        super().__init__(id="incident")
        self.session = session
        self.actions_for_seat = actions_for_seat
        self.events: list[Event] = []
        self.fences: dict = {}   # by node: this incident's fences (checks.incident.fences), as entries come
        self.gates = GateEvents()   # fed each entry once: judging costs what the gates read, not the night
        self.state: RunbookState = judge(session.cluster, self.gates)

    def compose(self) -> ComposeResult:
        yield Checklist()
        yield ScribeLog(pin_input=self.session.seat == "scribe")

    def on_mount(self) -> None:
        log = self.query_one(ScribeLog)
        if self.session.seat == "scribe":
            log.open_input()
            # after the first refresh: the screen's auto-focus would otherwise take it back
            self.call_after_refresh(log.focus_input)
        self.query_one(Checklist).update_state(self.state, actions=self.actions_for_seat(self.state))
        # A resumed incident's entries are read here, before the first frame: read by the feed's thread
        # they came a layout later, and held the journal while the screen's first note waited on it.
        try:
            self.show_events(self.session.journal.events())
        except JournalError:
            pass                             # the feed shows the journal's alarm
        self.follow()

    @work(thread=True, exclusive=True, exit_on_error=False, group="journal")
    def follow(self) -> None:
        from textual.worker import get_current_worker

        follow_journal(self, self.session, get_current_worker(), self.events[-1].id if self.events else 0)

    @while_open
    def on_journal_events(self, message: JournalEvents) -> None:
        self.show_events(message.events)

    def show_events(self, events: list[Event]) -> None:
        """New journal entries on screen (each once: the feed and an action's end both bring them)."""
        last = self.events[-1].id if self.events else 0
        events = [e for e in events if e.id > last]
        if not events:
            return
        self.events.extend(events)
        self.fences = {**self.fences, **fences_of(events)}   # a later fence of a node replaces its earlier one
        self.query_one(ScribeLog).add_events(events)
        before, self.state = self.state, judge(self.session.cluster, self.gates.extend(events))
        checklist = self.query_one(Checklist)
        # A refusal stays shown in place until the runbook moves on (or the next action ends).
        refusal = checklist.refusal if self.state.current == before.current else None
        checklist.update_state(self.state, actions=self.actions_for_seat(self.state), busy=checklist.busy,
                               refusal=refusal)
        self.app.refresh_bindings()      # the footer shows the keys that can act at this stage

    @while_open
    def on_journal_health(self, message: JournalHealth) -> None:
        self.show_alarm(message.alarm)
        if message.alarm:
            self.app.notify(message.alarm, title="JOURNAL", severity="error", timeout=30)

    def on_scribe_log_note_submitted(self, message: ScribeLog.NoteSubmitted) -> None:
        kind = message.kind if message.kind in NOTE_KINDS else "note"
        data = {"proposed_by": self.session.name} if kind == "decision" else None
        self.run_note(kind, message.text, data)

    @work(thread=True, exit_on_error=False, group="notes")
    def run_note(self, kind: str, text: str, data: dict | None) -> None:
        if self.session.note(kind, text, data=data) is None:
            self.app.call_from_thread(self.show_alarm, self.session.alarm)

    @while_open
    def show_alarm(self, alarm: str | None) -> None:
        self.query_one(ScribeLog).set_alarm(alarm)

    @while_open
    def on_action_done(self, message: ActionDone) -> None:
        # What the action journaled is on screen before "running" clears: the next step proposed is
        # never the one just done (the feed would bring it up to 0.3 s later).
        try:
            self.show_events(self.session.journal.events(after_id=self.events[-1].id if self.events else 0))
        except JournalError:
            pass                             # the feed shows the journal's alarm
        checklist = self.query_one(Checklist)
        checklist.set_busy(None)
        checklist.set_refusal(message.text if message.refused else None)
        severity = "information" if message.ok else ("warning" if message.refused else "error")
        self.app.notify(message.text, title=message.label, severity=severity, timeout=12 if message.ok else 20)

    def toggle_evidence(self) -> None:
        self.query_one(Checklist).action_toggle_evidence()

    def set_busy(self, text: str | None) -> None:
        self.query_one(Checklist).set_busy(text)

    def open_note(self) -> None:
        log = self.query_one(ScribeLog)
        log.open_input()
        log.focus_input()
