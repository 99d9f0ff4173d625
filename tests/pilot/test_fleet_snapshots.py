"""SVG snapshots of the fleet screen (``run --all``) from fixed rows and a fixed clock (08:12:34Z):
an ok cluster, a warning, a critical split brain, a cluster that cannot be reached, one not sampled
yet, and one whose incident the fleet holds open.

Update the baselines after looking at them: ``pytest tests/pilot/test_fleet_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from tests.fleet_fixtures import NOW, fixed_rows
from tui.fleet_app import FleetApp


def _app() -> FleetApp:
    return FleetApp(rows=fixed_rows(), clock=lambda: NOW, held={"shop-b": "2026-12-01-shop-b-1"})


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_fleet(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size)


def test_fleet_help_80x24(snap_compare):
    assert snap_compare(_app(), terminal_size=(80, 24), press=("question_mark",))
