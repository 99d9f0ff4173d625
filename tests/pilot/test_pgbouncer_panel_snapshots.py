"""SVG snapshots of the PgBouncer panels after the node panels, from fixed samples, fixed probes and a
fixed clock (2026-12-01 08:00Z).

Update the baselines after looking at them:
``pytest tests/pilot/test_pgbouncer_panel_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from tests.fixtures_samples import T0, StepClock, healthy_round
from tests.pooler_fixtures import PGB_CLUSTER, console_down, cutover_stall, paused, read_only
from tui.app import CockpitApp

PROBES = {
    "cutover_stall": cutover_stall,                             # pgb1 writes and queues, pgb2 a dead upstream
    "paused_and_console_down": lambda: [paused(), console_down()],
    "read_only": lambda: [read_only()],
    "not_probed_yet": lambda: [],
}


def app_for(name: str) -> CockpitApp:
    return CockpitApp("lab", PGB_CLUSTER, fixed_samples=healthy_round(T0), clock=StepClock(T0),
                      fixed_probes=PROBES[name]())


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.pause()


async def scrolled_to_the_poolers(pilot) -> None:
    """At 80 columns the row scrolls sideways: the operator scrolls to the PgBouncer panels."""
    await settle(pilot)
    nodes = pilot.app.query_one("#nodes")
    nodes.scroll_to(x=nodes.max_scroll_x, animate=False)
    await settle(pilot)


class TestCompact80x24:
    terminal_size = (80, 24)

    def test_the_row_as_it_opens(self, snap_compare):
        assert snap_compare(app_for("cutover_stall"), terminal_size=self.terminal_size, run_before=settle)

    @pytest.mark.parametrize("name", ["cutover_stall", "paused_and_console_down", "not_probed_yet"])
    def test_scrolled_to_the_poolers(self, snap_compare, name):
        assert snap_compare(app_for(name), terminal_size=self.terminal_size, run_before=scrolled_to_the_poolers)


class TestLarge200x60:
    terminal_size = (200, 60)

    @pytest.mark.parametrize("name", ["cutover_stall", "paused_and_console_down", "read_only"])
    def test_cluster(self, snap_compare, name):
        assert snap_compare(app_for(name), terminal_size=self.terminal_size, run_before=settle)
