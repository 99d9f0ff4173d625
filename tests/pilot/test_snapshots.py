"""SVG snapshots of the cockpit from fixed samples and a fixed clock (2026-12-01 08:00Z).

Update the baselines after looking at them: ``pytest tests/pilot/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from functools import partial

import pytest

from tests.fixtures_samples import T0, StepClock, healthy, paused_replay, play, primary_crashed, split_brain

SCENARIOS = {
    "healthy": healthy,
    "primary_crashed": primary_crashed,
    "split_brain": split_brain,
    "paused_replay": paused_replay,
}


@pytest.fixture
def clock() -> StepClock:
    """One clock for the header and for the judgement (the app passes it to Watch.update)."""
    return StepClock(T0)


@pytest.fixture
def shoot(snap_compare, clock):
    """``shoot(name, size, press=())``: the scenario's rounds played, then the screen compared."""

    def compare(name: str, terminal_size: tuple[int, int], press: tuple[str, ...] = ()) -> bool:
        scenario = SCENARIOS[name]()
        return snap_compare(
            scenario.app(clock), press=press, terminal_size=terminal_size,
            run_before=partial(play, scenario, clock),
        )

    return compare


class TestCompact80x24:
    terminal_size = (80, 24)

    @pytest.mark.parametrize("name", SCENARIOS)
    def test_cluster(self, shoot, name):
        assert shoot(name, self.terminal_size)

    def test_quit_confirmation(self, shoot):
        assert shoot("healthy", self.terminal_size, press=("q",))

    def test_help(self, shoot):
        assert shoot("healthy", self.terminal_size, press=("question_mark",))


class TestMedium120x40:
    terminal_size = (120, 40)

    @pytest.mark.parametrize("name", SCENARIOS)
    def test_cluster(self, shoot, name):
        assert shoot(name, self.terminal_size)


class TestLarge200x60:
    terminal_size = (200, 60)

    @pytest.mark.parametrize("name", ["primary_crashed", "paused_replay"])
    def test_cluster(self, shoot, name):
        assert shoot(name, self.terminal_size)
