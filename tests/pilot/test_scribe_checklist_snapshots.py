"""SVG snapshots of the timeline, the runbook checklist and the typed confirmation, from fixed
events (2026-12-01T08:00:00Z on) and hand-built runbook states, in a harness app.

Update the baselines after looking at them:
``pytest tests/pilot/test_scribe_checklist_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from tests.pane_fixtures import (
    ACTIONS, REFUSAL, RISK_OK, Harness, state_old_primary_writable, state_risk_approved, state_start, state_verified,
    timeline
)
from widgets.checklist import Checklist
from widgets.scribe_log import ScribeLog
from widgets.typed_confirm import TypedConfirmModal

STATES = {
    "start": state_start,
    "old_primary_writable": state_old_primary_writable,
    "risk_approved": state_risk_approved,
    "verified": state_verified,
}


def timeline_app(*, alarm: str | None = None) -> Harness:
    """The scribe seat's timeline: twelve events of mixed kinds, the note input open and focused."""

    def setup(app: Harness) -> None:
        log = app.query_one(ScribeLog)
        log.add_events(timeline())
        log.set_alarm(alarm)
        log.focus_input()

    return Harness(lambda: [ScribeLog(pin_input=True)], setup)


def checklist_app(name: str, **kwargs) -> Harness:
    actions = {**ACTIONS, 2: ("k", "check the old primary")} if name == "risk_approved" else ACTIONS

    def setup(app: Harness) -> None:
        app.query_one(Checklist).update_state(STATES[name](), actions=actions, **kwargs)

    return Harness(lambda: [Checklist()], setup)


def side_by_side_app(pane_height: int) -> Harness:
    """Checklist left, timeline right, in panes of ``pane_height`` rows under the rest of the cockpit."""

    def setup(app: Harness) -> None:
        app.query_one(Checklist).update_state(state_old_primary_writable(), actions=ACTIONS, refusal=REFUSAL)
        app.query_one(ScribeLog).add_events(timeline())
        app.query_one(Checklist).focus()

    return Harness(lambda: [Checklist(), ScribeLog()], setup, rest="header and node panels", height=pane_height)


def confirm_app() -> Harness:
    def setup(app: Harness) -> None:
        app.push_screen(TypedConfirmModal(
            "Promote node2 to primary", "node2",
            effects=["re-checks node2 is still in recovery and node1 still fenced",
                     "runs pg_promote on node2 and waits until it accepts writes"],
            data_risk=RISK_OK["statement"]))

    return Harness(lambda: [Checklist()], setup)


class TestCompact80x24:
    terminal_size = (80, 24)

    def test_timeline(self, snap_compare):
        assert snap_compare(timeline_app(), terminal_size=self.terminal_size)

    def test_timeline_with_alarm(self, snap_compare):
        alarm = "journal not writable: /srv/incidents/2026-12-01-erp-1/journal.sqlite3: disk I/O error"
        assert snap_compare(timeline_app(alarm=alarm), terminal_size=self.terminal_size)

    @pytest.mark.parametrize("name", STATES)
    def test_checklist(self, snap_compare, name):
        assert snap_compare(checklist_app(name), terminal_size=self.terminal_size)

    def test_checklist_evidence(self, snap_compare):
        assert snap_compare(checklist_app("risk_approved"), press=("up", "e"), terminal_size=self.terminal_size)

    def test_side_by_side(self, snap_compare):
        """Checklist and timeline in 40x12 panes each: the 80x24 layout."""
        assert snap_compare(side_by_side_app(12), terminal_size=self.terminal_size)

    def test_typed_confirm(self, snap_compare):
        assert snap_compare(confirm_app(), press=("n", "o", "d", "e", "1", "enter"), terminal_size=self.terminal_size)


class TestMedium120x40:
    terminal_size = (120, 40)

    def test_timeline(self, snap_compare):
        assert snap_compare(timeline_app(), terminal_size=self.terminal_size)

    def test_timeline_with_alarm(self, snap_compare):
        assert snap_compare(timeline_app(alarm="journal not writable: disk full"), terminal_size=self.terminal_size)

    @pytest.mark.parametrize("name", STATES)
    def test_checklist(self, snap_compare, name):
        assert snap_compare(checklist_app(name, busy="fence node1" if name == "old_primary_writable" else None),
                            terminal_size=self.terminal_size)

    def test_side_by_side(self, snap_compare):
        """Checklist and timeline in 60x20 panes each."""
        assert snap_compare(side_by_side_app(20), terminal_size=self.terminal_size)
