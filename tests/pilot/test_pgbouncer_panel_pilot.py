"""The PgBouncer panels on the cockpit screen (issue 15 item 2), from fixed probes (no PgBouncer needed):
where each database points, whether a new client writes through it, who waits in it."""

from __future__ import annotations

import pytest

from checks.observe.pooler import PoolProbe
from tests.fixtures_samples import CLUSTER, T0, StepClock, at, down, healthy_round
from tests.pooler_fixtures import (
    PGB_CLUSTER, console_down, cutover_stall, dead_upstream, paused, probe, queued, read_only, writable
)
from tests.repr_check import repr_fragments
from tui.app import CockpitApp
from tui.messages import NodeSampled, SignalsSeen
from widgets.pgbouncer_panel import PgBouncerPanel

SIZE = (80, 24)
BIG = (200, 60)


def cockpit(probes: list[PoolProbe] | None, cluster=PGB_CLUSTER) -> CockpitApp:
    return CockpitApp("lab", cluster, fixed_samples=healthy_round(T0), clock=StepClock(T0), fixed_probes=probes)


def pooler(app: CockpitApp, name: str) -> PgBouncerPanel:
    return next(p for p in app.query(PgBouncerPanel) if p.pgbouncer == name)


async def texts(probes: list[PoolProbe], size=BIG) -> dict[str, tuple[str, set[str]]]:
    """Each panel's text and its state classes, once the probes are shown."""
    app = cockpit(probes)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        return {p.pgbouncer: (p.text(), {c for c in p.classes if c.startswith("-")}) for p in app.query(PgBouncerPanel)}


def assert_sentences(text: str) -> None:
    assert not repr_fragments(text), repr_fragments(text)
    for raw in ("None", "True", "False"):
        assert raw not in text.split(), text


# -- what each line says --------------------------------------------------------------


@pytest.mark.parametrize("size", [SIZE, BIG], ids=["80x24", "200x60"])
async def test_a_writable_path_names_the_node_and_its_role(size):
    text, classes = (await texts([writable()], size))["pgb1"]
    assert text.startswith("odoo → node1 (primary)\nwrites ✓"), text
    for row in ("12 active", "none", "0.0s"):
        assert row in text, row
    assert "-failed" not in classes and "-waiting" not in classes
    assert_sentences(text)


async def test_the_wide_panel_labels_the_upstream_latency_and_average_wait():
    text, _ = (await texts([writable()]))["pgb1"]
    for row in ("writes ✓ (3.2 ms)", "upstream      127.0.0.1:5432", "clients       12 active", "waiting       none",
                "max wait      0.0s", "average wait  0.4 ms", "a new Odoo worker writes to node1"):
        assert row in text, (row, text)


async def test_a_queue_says_how_many_wait_and_the_longest_wait():
    text, classes = (await texts([writable(), queued()]))["pgb1"]
    block = text.split("\n\n")[1]
    assert block.startswith("odoo_reports → node1 (primary)"), text
    assert "waiting       7 QUEUED" in block and "max wait      4.2s" in block
    assert "average wait  850 ms" in block
    assert "7 clients wait for a server connection: Odoo stalls" in block
    assert "-waiting" in classes and "-failed" not in classes
    assert_sentences(text)


@pytest.mark.parametrize("size", [SIZE, BIG], ids=["80x24", "200x60"])
async def test_a_paused_pool_says_paused_and_who_waits(size):
    text, classes = (await texts([paused()], size))["pgb1"]
    assert "PAUSED" in text and "5 QUEUED" in text and "12s" in text
    assert "writes ✓" not in text and "✗" not in text             # not tried: a new client would wait
    assert "-waiting" in classes and "-failed" not in classes
    if size == BIG:
        assert "Odoo's new requests wait until RESUME" in text
    assert_sentences(text)


@pytest.mark.parametrize("size", [SIZE, BIG], ids=["80x24", "200x60"])
async def test_a_dead_upstream_gives_pgbouncers_error_and_the_address_no_node_has(size):
    text, classes = (await texts([writable(), dead_upstream()], size))["pgb2"]
    assert text.startswith("odoo → 127.0.0.1:6000, not a node of the config\n✗ pgbouncer cannot connect to server")
    assert "2 QUEUED" in text
    assert "-failed" in classes
    assert_sentences(text)


async def test_a_path_to_a_standby_is_read_only():
    text, classes = (await texts([read_only()]))["pgb1"]
    assert text.startswith("odoo → node2 (standby)\nread-only ✗: lands on a server in recovery"), text
    assert "Odoo's writes fail: node2 is in recovery" in text
    assert "-failed" in classes
    assert_sentences(text)


@pytest.mark.parametrize("size", [SIZE, BIG], ids=["80x24", "200x60"])
async def test_a_console_that_does_not_answer_is_said_in_words_and_the_drivers_tuple_is_not(size):
    found = await texts([writable(), console_down()], size)
    text, classes = found["pgb2"]
    assert text.startswith("admin console did not answer: connection failed: connection to server at "
                           '"127.0.0.1", port 6433 failed: Connection refused'), text
    assert "odoo → not known (no SHOW DATABASES)" in text
    assert ('✗ connection to server at "127.0.0.1", port 6433 failed: Connection refused' in text
            and "('127.0.0.1'" not in text and "Errno" not in text)
    assert "pgb2:" not in text                                # the border's title names it
    assert "-failed" in classes
    assert "-failed" not in found["pgb1"][1]                  # one PgBouncer down is not the other
    assert_sentences(text)


async def test_before_the_first_probe_each_panel_says_not_probed_yet():
    found = await texts([])
    assert set(found) == {"pgb1", "pgb2"}
    for text, classes in found.values():
        assert text == "not probed yet" and "-unprobed" in classes


async def test_every_probe_of_a_stall_reads_as_sentences_at_both_sizes():
    for size in (SIZE, BIG):
        for probes in (cutover_stall(), [paused(), console_down()], [read_only(), dead_upstream()]):
            for text, _ in (await texts(probes, size)).values():
                assert_sentences(text)


# -- where it is, and when it redraws ----------------------------------------------------


async def test_the_panels_come_after_the_node_panels_in_the_nodes_row():
    app = cockpit(cutover_stall())
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        row = [getattr(w, "node_name", None) or getattr(w, "pgbouncer", None) for w in app.query_one("#nodes").children]
        assert row == ["node1", "node2", "node3", "pgb1", "pgb2"]
        assert not app.query_one("#nodes").has_class("-crowded")
        assert pooler(app, "pgb1").region.width >= 30          # 200 columns: room for the long labels


async def test_at_80_columns_the_row_is_crowded_and_scrolls_to_the_panels():
    app = cockpit(cutover_stall())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        nodes = app.query_one("#nodes")
        assert nodes.has_class("-crowded")
        assert all(p.outer_size.width == 26 for p in app.query(PgBouncerPanel))
        nodes.scroll_to(x=nodes.max_scroll_x, animate=False)
        await pilot.pause()
        assert pooler(app, "pgb2").region.right <= 80 and pooler(app, "pgb2").region.width == 26


async def test_no_panel_without_pgbouncers_nor_where_nothing_probes():
    app = cockpit([], cluster=CLUSTER)                        # no [[clusters.X.pgbouncers]]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.query(PgBouncerPanel)
    app = CockpitApp("lab", PGB_CLUSTER, fixed_samples=healthy_round(T0), clock=StepClock(T0))
    async with app.run_test(size=SIZE) as pilot:               # fixed samples, no probes: never probed
        await pilot.pause()
        assert not app.query(PgBouncerPanel)


async def test_the_training_screen_has_no_panel_its_scenario_never_probes(tmp_path):
    from checks.training.run import TrainingRun
    from checks.training.scenario import SCENARIO_DIR, load_scenario
    from tui.train_app import TrainingApp

    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    cluster = scenario.cluster()
    assert cluster.pgbouncers                                # configured, but a training run has no probe
    app = TrainingApp(TrainingRun(scenario, "olga"), record_base=tmp_path, paused=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.query(PgBouncerPanel) and len(app.query("NodePanel")) == len(cluster.nodes)


async def test_the_same_probes_again_do_not_redraw_but_move_the_probe_time():
    clock = StepClock(T0)
    app = CockpitApp("lab", PGB_CLUSTER, fixed_samples=healthy_round(T0), clock=clock, fixed_probes=[writable()])
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        panel = pooler(app, "pgb1")
        shown = panel.lines
        assert panel.border_subtitle == "08:00:00Z"
        clock.set(at(2))
        app.post_message(SignalsSeen(probes=[writable()]))
        await pilot.pause()
        assert panel.lines is shown and panel.border_subtitle == "08:00:02Z"
        app.post_message(SignalsSeen(probes=[writable(), queued()]))
        await pilot.pause()
        assert panel.lines is not shown and "7 QUEUED" in panel.text()


async def test_the_node_it_points_at_going_down_shows_without_a_new_probe():
    clock = StepClock(T0)
    app = CockpitApp("lab", PGB_CLUSTER, fixed_samples=healthy_round(T0), clock=clock,
                     fixed_probes=[probe(error="pgbouncer cannot connect to server", connected=False, writable=None)])
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        assert pooler(app, "pgb1").text().startswith("odoo → node1 (primary)")
        clock.set(at(5))
        app.post_message(NodeSampled(down("node1", at(5))))
        await pilot.pause()
        assert pooler(app, "pgb1").text().startswith("odoo → node1 (unreachable)\n✗ pgbouncer cannot connect")


async def test_a_primary_the_bastion_cannot_reach_but_odoo_writes_to_is_said_to_be_maybe_alive():
    clock = StepClock(T0)
    app = CockpitApp("lab", PGB_CLUSTER, fixed_samples=healthy_round(T0), clock=clock, fixed_probes=[writable()])
    async with app.run_test(size=BIG) as pilot:
        await pilot.pause()
        clock.set(at(5))
        app.post_message(NodeSampled(down("node1", at(5), error="timeout expired")))
        await pilot.pause()
        text = pooler(app, "pgb1").text()
        assert text.startswith("odoo → node1 (unreachable)\nwrites ✓"), text
        assert "the bastion cannot reach node1, Odoo writes to it: it may be alive, fence it" in text


async def test_the_help_screen_explains_the_panel():
    assert any(section.startswith("### PgBouncer panels") for section in CockpitApp.help_sections())
