"""The PgBouncer panel of the real cockpit on a real lab (issue 15 item 2): it names the node the lab's
PgBouncer points at and says a new client writes through it; a PAUSE shows as PAUSED, then RESUME
gives the writes back. The session's shared lab is left as it was found (resumed)."""

from __future__ import annotations

import asyncio
import time

import pytest

from checks.config.model import load_config
from checks.observe.sampler import NodeSampler
from checks.stages.pgbouncer import admin_execute
from tests.repr_check import repr_fragments

pytestmark = pytest.mark.lab


async def wait_for(pilot, panel, predicate, timeout_s: float = 20.0) -> str:
    """The panel's text once ``predicate`` holds for it (the last text seen otherwise)."""
    deadline = time.monotonic() + timeout_s
    text = panel.text()
    while time.monotonic() < deadline and not predicate(text):
        await pilot.pause(0.25)
        text = panel.text()
    return text


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
def test_the_panel_names_the_node_pgbouncer_points_at_and_that_a_new_client_writes(lab, size):
    from tui.app import CockpitApp
    from widgets.pgbouncer_panel import PgBouncerPanel

    name, cluster = load_config(lab.status()["config"]).cluster(None)
    cluster = cluster.model_copy(update={"odoo": None})     # Odoo's health has tests of its own
    pgb = cluster.pgbouncers[0]
    database = pgb.databases[0]
    primary = "node1"                                        # the lab's primary, which its PgBouncer points at
    seen: dict = {}

    async def scenario():
        app = CockpitApp(name, cluster, samplers={n.name: NodeSampler(n, cluster.sampling) for n in cluster.nodes})
        async with app.run_test(size=size) as pilot:
            panel = next(p for p in app.query(PgBouncerPanel) if p.pgbouncer == pgb.name)
            seen["writes"] = await wait_for(pilot, panel, lambda t: "writes ✓" in t and "(primary)" in t)
            seen["row"] = [getattr(w, "node_name", None) or getattr(w, "pgbouncer", None)
                           for w in app.query_one("#nodes").children]
            await admin_execute(pgb, f"PAUSE {database}")
            try:
                seen["paused"] = await wait_for(pilot, panel, lambda t: "PAUSED" in t)
                seen["paused_classes"] = set(panel.classes)
            finally:
                await admin_execute(pgb, f"RESUME {database}")
            seen["resumed"] = await wait_for(pilot, panel, lambda t: "writes ✓" in t)

    asyncio.run(scenario())
    assert seen["row"][-len(cluster.pgbouncers):] == [p.name for p in cluster.pgbouncers]
    assert seen["writes"].startswith(f"{database} → {primary} (primary)\nwrites ✓"), seen["writes"]
    assert "clients" in seen["writes"] and "waiting" in seen["writes"] and "max wait" in seen["writes"]
    if size == (200, 60):                                             # the wide panel names the address too
        node = cluster.node(primary)
        assert f"upstream      {node.host}:{node.port}" in seen["writes"], seen["writes"]
    assert "PAUSED" in seen["paused"] and "writes ✓" not in seen["paused"], seen["paused"]
    assert "-waiting" in seen["paused_classes"]
    assert "writes ✓" in seen["resumed"], seen["resumed"]
    for text in seen.values():
        if isinstance(text, str):
            assert not repr_fragments(text), repr_fragments(text)
