"""SVG snapshots of the cockpit through a crash failover, at 80x24 (and 200x60): the operator's seat on
a fixed journal (tests/failover_fixtures.py), fixed samples and a fixed clock, one screen per stage.

What each must show at 80x24, without loss: the dead primary's cause (and FENCED once fenced), every
problem reachable from the header, the runbook's gate and next keys wrapped (the aftermath keys
``z b h j`` with their labels once every stage passed), the newest timeline entry in full.

Update these baselines (only these) after looking at them:
``pytest tests/pilot/test_failover_80x24_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from tests.failover_fixtures import STAGES, Stage, cockpit_at, open_seat


@pytest.fixture
def cockpit(tmp_path, monkeypatch):
    """``cockpit(stage)``: the operator's cockpit on the stage's journal, and what to run before the shot."""
    monkeypatch.setenv("FAILOVER_COCKPIT_LOCK_DIR", str(tmp_path / "locks"))
    sessions = []

    def make(stage: Stage):
        session = open_seat(tmp_path, stage)
        sessions.append(session)
        app, _clock, run_before = cockpit_at(session, stage)
        return app, run_before

    yield make
    for session in sessions:
        session.close()


class TestCrashFailover80x24:
    terminal_size = (80, 24)

    @pytest.mark.parametrize("name", STAGES)
    def test_stage(self, snap_compare, cockpit, name):
        app, run_before = cockpit(STAGES[name])
        assert snap_compare(app, run_before=run_before, terminal_size=self.terminal_size)


class TestCrashFailover200x60:
    terminal_size = (200, 60)

    def test_fenced(self, snap_compare, cockpit):
        app, run_before = cockpit(STAGES["fenced"])
        assert snap_compare(app, run_before=run_before, terminal_size=self.terminal_size)
