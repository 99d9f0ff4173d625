"""Pilot tests of the cockpit's widgets and app, from fixed samples (no database)."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Markdown, Static

from checks.observe.sample import NodeSample
from tests.fixtures_samples import (
    CLUSTER, REFUSED, T0, Scenario, StepClock, at, down, healthy, healthy_round, paused_replay, play, primary_crashed,
    split_brain, standby
)
from tests.pane_fixtures import notified
from tui.app import CockpitApp
from tui.messages import NodeSampled
from widgets.cockpit_header import CockpitHeader
from widgets.confirm_modal import ConfirmModal
from widgets.help_screen import HelpScreen
from widgets.node_panel import NodePanel
from widgets.split_brain_banner import SplitBrainBanner, join_names

SIZE = (80, 24)


@pytest.fixture
def clock() -> StepClock:
    """One clock for the header and for the judgement (the app passes it to Watch.update)."""
    return StepClock(T0)


def text_of(widget) -> str:
    """The plain text of every Static inside ``widget`` (and of the widget itself)."""
    statics = [widget] if isinstance(widget, Static) else []
    statics += list(widget.query(Static))
    return "\n".join(str(s.content) for s in statics)


def panel(app: CockpitApp, name: str) -> NodePanel:
    return next(p for p in app.query(NodePanel) if p.node_name == name)


async def run(scenario: Scenario, clock: StepClock, pilot) -> None:
    await play(scenario, clock, pilot)
    await pilot.pause()


# -- node panels -------------------------------------------------------------------


async def test_standby_panel_shows_its_values(clock):
    app = healthy().app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = text_of(panel(app, "node3"))
        for expected in ("STANDBY", "read-only", "in recovery", "0.4s", "17.0 kB", "0/5A0003E8", "0/59FFC000",
                         "timeline 1", "2.3 ms", "at risk  0 B"):
            assert expected in text, expected
        assert panel(app, "node3").has_class("-standby", "-within")


async def test_caught_up_standby_shows_no_delay_despite_an_idle_primary(clock):
    app = healthy().app(clock)  # node2's raw delay is 12 s, but it has replayed all it received
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "delay    0.0s" in text_of(panel(app, "node2"))


async def test_primary_panel_shows_writable_current_lsn_and_its_standbys(clock):
    app = healthy().app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = text_of(panel(app, "node1"))
        for expected in ("PRIMARY", "WRITABLE", "out of recovery", "current  0/5A0003E8", "2 streaming",
                         "▸ node3", "17.0 kB"):
            assert expected in text, expected
        assert panel(app, "node1").has_class("-primary", "-within")


async def test_unreachable_panel_shows_the_error_and_what_the_node_was(clock):
    scenario = primary_crashed()
    app = scenario.app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await run(scenario, clock, pilot)
        node1 = panel(app, "node1")
        text = text_of(node1)
        assert "UNREACHABLE" in text and "cause    refused" in text
        assert 'connection to server at "127.0.0.1", port 5432 failed: Connection refused' in text.replace("\n", " ")
        assert "PRIMARY" in text and "0/7C000000" in text  # last seen as primary, at that LSN
        assert "unreachable is not dead" in text
        assert node1.has_class("-unreachable", "-down")


async def test_lagging_standby_over_slo_shows_data_risk_and_its_reference_age(clock):
    scenario = primary_crashed()
    app = scenario.app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await run(scenario, clock, pilot)
        node2 = panel(app, "node2")
        text = text_of(node2)
        assert "42s" in text and "at risk  24.0 MB" in text and "ref age  40s" in text
        assert node2.has_class("-over")
        assert not node2.has_class("-within")


async def test_paused_replay_is_spelled_out(clock):
    scenario = paused_replay(rounds=2)
    app = scenario.app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await run(scenario, clock, pilot)
        assert "REPLAY PAUSED" in text_of(panel(app, "node2"))
        assert "REPLAY PAUSED" not in text_of(panel(app, "node3"))


async def test_foreign_node_is_named_as_such(clock):
    from tests.fixtures_samples import OTHER_SYSID, foreign_node

    app = foreign_node().app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        node3 = panel(app, "node3")
        assert "FOREIGN" in text_of(node3) and OTHER_SYSID in text_of(node3)
        assert "WRITABLE" not in text_of(node3)
        assert node3.has_class("-foreign", "-down")


async def test_changed_values_are_marked_after_a_second_sample(clock):
    app = healthy().app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        node3 = panel(app, "node3")
        assert node3.marks() == {}
        assert "▲" not in text_of(node3)
        lsn = "0/5A0003E8"
        clock.set(at(1))
        app.post_message(NodeSampled(standby("node3", at(1), lsn, "0/59F00000", delay_s=2.5)))
        await pilot.pause()
        assert node3.marks() == {"delay": "▲", "unreplayed": "▲", "replay": "▼"}
        assert "2.5s ▲" in text_of(node3)
        # another node's sample re-renders every panel but is no new tick for node3: marks stay
        app.post_message(NodeSampled(healthy_round(at(1))[0]))
        await pilot.pause()
        assert node3.marks()["delay"] == "▲"
        # the same values again: nothing changed since the last tick, nothing marked
        clock.set(at(2))
        app.post_message(NodeSampled(standby("node3", at(2), lsn, "0/59F00000", delay_s=2.5)))
        await pilot.pause()
        assert node3.marks() == {}
        assert "▲" not in text_of(node3)


async def test_sparkline_keeps_a_bounded_history(clock):
    scenario = paused_replay(rounds=12)
    app = CockpitApp("lab", CLUSTER, fixed_samples=scenario.first, clock=clock, interval_s=30.0)
    async with app.run_test(size=SIZE) as pilot:
        await run(scenario, clock, pilot)
        node2 = panel(app, "node2")
        assert node2.history.maxlen == 10  # 300 s of trend at one sample every 30 s
        assert list(node2.history) == [float(20 + 5 * i) for i in range(2, 12)]


# -- banner and header -------------------------------------------------------------


async def test_split_brain_banner_names_both_writers(clock):
    app = split_brain().app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        banner = app.query_one(SplitBrainBanner)
        assert banner.display and banner.has_class("-active")
        assert "SPLIT BRAIN: node1 and node2 both accept writes — fence one now" in str(banner.content)
        assert banner.region.width == SIZE[0]


async def test_split_brain_banner_is_hidden_with_one_writer(clock):
    app = healthy().app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        banner = app.query_one(SplitBrainBanner)
        assert not banner.display
        assert banner.region.height == 0


async def test_split_brain_banner_goes_away_when_one_writer_is_fenced(clock):
    scenario = split_brain()
    app = scenario.app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.post_message(NodeSampled(down("node2", at(1), "fenced")))
        await pilot.pause()
        assert not app.query_one(SplitBrainBanner).display


def test_join_names():
    assert join_names(("a",)) == "a"
    assert join_names(("a", "b")) == "a and b"
    assert join_names(("a", "b", "c")) == "a, b and c"


@pytest.mark.parametrize(
    ("scenario", "verdict"),
    [(healthy, "OK"), (primary_crashed, "CRITICAL"), (split_brain, "CRITICAL"), (paused_replay, "WARNING")],
)
async def test_header_shows_the_verdict(clock, scenario, verdict):
    scenario = scenario()
    app = scenario.app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await run(scenario, clock, pilot)
        label = app.query_one("#verdict")
        assert str(label.content).strip() == verdict
        assert label.has_class(f"-{verdict.lower()}")
        assert app.screen.region.contains_region(label.region)


async def test_header_clock_and_time_since_the_first_bad_signal(clock):
    scenario = primary_crashed()  # bad from T0 (node2 over the SLO), crash seen at T0 + 40 s
    app = scenario.app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await run(scenario, clock, pilot)
        header = app.query_one(CockpitHeader)
        assert str(header.query_one("#clock").content) == "08:00:40Z"
        assert str(header.query_one("#since").content) == "bad for 40s"
        header.toggle_problems()             # every problem in full (a click on the header does it)
        await pilot.pause()
        # the headline says what the evidence supports: the bastion cannot see the primary (no
        # PgBouncer in this cluster to tell whether Odoo still reaches it)
        assert str(header.query_one("#problems").content).startswith("▸ the bastion cannot reach the primary node1")
        clock.set(at(100))
        header.tick()
        await pilot.pause()
        assert str(header.query_one("#clock").content) == "08:01:40Z"
        assert str(header.query_one("#since").content) == "bad for 1m40s"


async def test_header_waits_before_the_first_sample(clock):
    app = CockpitApp("lab", CLUSTER, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert str(app.query_one("#verdict").content).strip() == "WAITING"
        assert len(app.query(NodePanel)) == 3
        assert [p.node_name for p in app.query(NodePanel)] == ["node1", "node2", "node3"]


@pytest.mark.parametrize("scenario", [primary_crashed, split_brain, paused_replay])
async def test_the_essentials_fit_at_80x24(clock, scenario):
    """Role, writability, delay and bytes of every node are on screen, not clipped."""
    scenario = scenario()
    app = scenario.app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await run(scenario, clock, pilot)
        for node in app.query(NodePanel):
            inside = node.content_region
            for part in ("#state", "#facts"):
                assert inside.contains_region(node.query_one(part).region), (node.node_name, part)


# -- messages ----------------------------------------------------------------------


def test_node_sampled_replaces_only_a_pending_sample_of_the_same_node():
    a1, a2 = (NodeSampled(NodeSample(name="a", observed_at=at(i), reachable=False)) for i in (0, 1))
    b = NodeSampled(NodeSample(name="b", observed_at=at(0), reachable=False))
    assert a1.can_replace(a2)
    assert not a1.can_replace(b)


async def test_a_burst_of_samples_renders_once(clock):
    app = healthy().app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        node3 = panel(app, "node3")
        lsn = "0/5A0003E8"
        for i in range(1, 6):
            app.post_message(NodeSampled(standby("node3", at(i), lsn, lsn, delay_s=0.0)))
        await pilot.pause()
        assert len(node3.history) == 2  # the first sample and the last of the burst
        assert node3.view.sample.observed_at == at(5)


# -- keys, modals, palette -----------------------------------------------------------


async def test_q_asks_and_n_keeps_the_cockpit_running(clock):
    app = healthy().app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmModal)
        assert app.return_code is None
        await pilot.press("q", "escape")
        assert not isinstance(app.screen, ConfirmModal)
        assert app.return_code is None


async def test_q_then_y_quits(clock):
    app = healthy().app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.press("q")  # a second q does not stack a second question
        assert len([s for s in app.screen_stack if isinstance(s, ConfirmModal)]) == 1
        await pilot.press("y")
        await pilot.pause()
        assert app.return_code == 0


async def test_question_mark_opens_help_and_escape_closes_it(clock):
    app = healthy().app(clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        source = app.screen.query_one(Markdown).source
        for heading in ("### Keys", "### Header", "### Split-brain banner", "### Node panels"):
            assert heading in source
        assert "| `q` |" in source and "| `?` |" in source
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark", "q")  # q closes help, it does not quit
        assert not isinstance(app.screen, (HelpScreen, ConfirmModal))
        assert app.return_code is None


async def test_every_widget_has_help():
    for widget in (CockpitHeader, SplitBrainBanner, NodePanel, ConfirmModal, HelpScreen):
        assert widget.HELP.startswith("### ") and widget.__doc__


async def test_palette_offers_help_quit_and_sample_now(clock):
    app = healthy().app(clock)
    async with app.run_test(notifications=True, size=SIZE) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles[:3] == ["Help", "Sample now", "Quit"]
        assert titles.count("Quit") == 1
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Sample now", "enter")
        await pilot.pause()
        assert any("nothing to sample" in m for m in (await notified(pilot)))


# -- live sampling with stand-in samplers --------------------------------------------


class FakeSampler:
    """Looks like checks.observe.sampler.NodeSampler to the app; counts calls, can hang."""

    def __init__(self, make, *, hang: bool = False) -> None:
        self.make = make
        self.hang = hang
        self.calls = 0
        self.closed = False

    async def sample(self) -> NodeSample:
        self.calls += 1
        if self.hang:
            await asyncio.Event().wait()
        return self.make(self.calls)

    async def close(self) -> None:
        self.closed = True


async def test_workers_sample_each_node_r_samples_now_and_unmount_closes(clock):
    first = {s.name: s for s in healthy_round(T0)}
    samplers = {
        "node1": FakeSampler(lambda n: down("node1", at(n), REFUSED), hang=True),  # a hung node
        "node2": FakeSampler(lambda n: first["node2"].model_copy(update={"observed_at": at(n)})),
        "node3": FakeSampler(lambda n: first["node3"].model_copy(update={"observed_at": at(n)})),
    }
    app = CockpitApp("lab", CLUSTER, samplers=samplers, interval_s=3600, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert samplers["node2"].calls == samplers["node3"].calls == 1
        assert panel(app, "node2").view is not None  # the hung node1 delays nobody
        assert panel(app, "node1").view is None
        await pilot.press("r")
        await pilot.pause(0.1)
        assert samplers["node2"].calls == samplers["node3"].calls == 2
        assert panel(app, "node3").view.sample.observed_at == at(2)
        assert samplers["node1"].calls == 1
    assert all(s.closed for s in samplers.values())


async def test_a_delayed_standby_and_a_duplicate_entry_say_so_on_their_panels(clock):
    """recovery_min_apply_delay is shown on the standby; a config entry that reaches another entry's
    server says which, instead of counting as a node."""
    first = healthy_round(T0)
    delayed = first[2].model_copy(update={"apply_delay_s": 300.0})
    same = dict(postmaster_start="2026-12-01T07:00:00.000000Z", data_directory="/srv/pg")
    first = [first[0], first[1].model_copy(update=same), delayed.model_copy(update=same)]
    app = Scenario("dup", [(T0, first)]).app(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "same server as node2" in text_of(panel(app, "node3"))
    alone = Scenario("delay", [(T0, [first[0], healthy_round(T0)[1], delayed])]).app(clock)
    async with alone.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "apply delay" in text_of(panel(alone, "node3")) and "5" in text_of(panel(alone, "node3"))
