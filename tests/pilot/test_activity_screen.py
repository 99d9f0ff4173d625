"""The activity view (key a) on screen: SVG snapshots from fixed answers at 80x24 and 200x60, and its keys.

The answers are NodeActivity values parsed from fixed ACTIVITY rows (the real query is asked in
tests/lab/test_activity_lab.py). Update the baselines after looking at them:
``pytest tests/pilot/test_activity_screen.py --snapshot-update``.
"""

from __future__ import annotations

import asyncio
import io
import json
from functools import partial

import pytest
from rich.console import Console
from textual.widgets import Static

from checks.observe.activity import NodeActivity, odoo_verdict, parse_activity, unanswered
from tests.fixtures_samples import T0, StepClock, healthy, play
from tui.activity_keys import NO_LIVE_NODES
from tui.app import CockpitApp
from tui.train_app import TraineeSeat
from widgets.activity_screen import ActivityScreen

NODES = [("node1", "primary"), ("node2", "standby"), ("node3", "standby")]


def _s(pid, app, state, *, user="odoo", age=None, query="", client="10.0.0.5", **more) -> dict:
    return {"pid": pid, "usename": user, "application_name": app, "state": state, "client_addr": client,
            "xact_age_s": age, "query_age_s": age, "query": query, **more}


def standby_row() -> dict:
    """node2, a standby that Odoo workers still reach (stragglers), with a recovery conflict waiting."""
    longest = [_s(4242, "odoo", "idle in transaction", age=125.2,
                  query="SELECT id, state FROM sale_order WHERE partner_id = 17 ORDER BY date_order DESC"),
               _s(4301, "psql", "active", user="ops", age=8.4, client=None,
                  query="ALTER ROLE odoo PASSWORD 'never-shown-7731'")]
    waiting = [_s(4250, "odoo", "active", age=12.5, wait_event_type="Lock", wait_event="relation", wait_age_s=12.5,
                  blocked_by=[77], blockers=[{"pid": 77, "backend_type": "startup"}],
                  query="SELECT count(*) FROM stock_move WHERE state = 'done'")]
    odoo = [dict(_s(4242, "odoo", "idle in transaction", query=longest[0]["query"]), backend_age_s=3600.0),
            dict(_s(4250, "odoo", "active", client="10.0.0.6", query=waiting[0]["query"]), backend_age_s=1800.0)]
    return {"in_recovery": True, "sessions": 6, "hidden_queries": 0,
            "states": json.dumps({"idle": 3, "active": 2, "idle in transaction": 1}),
            "groups": json.dumps([{"application_name": "odoo", "state": "idle", "sessions": 3},
                                  {"application_name": "odoo", "state": "active", "sessions": 1},
                                  {"application_name": "odoo", "state": "idle in transaction", "sessions": 1},
                                  {"application_name": "psql", "state": "active", "sessions": 1}]),
            "longest": json.dumps(longest), "waiting_sessions": 1, "waiting": json.dumps(waiting),
            "odoo_sessions": 5, "odoo": json.dumps(odoo)}


def primary_row() -> dict:
    """node1, the writer: Odoo's workers, a lock queue behind an idle-in-transaction session."""
    holder = _s(5100, "odoo", "idle in transaction", age=342.0,
                query="UPDATE stock_quant SET quantity = quantity - 1 WHERE id = 991")
    waiters = [_s(5100 + i, "odoo", "active", age=30.0 - i, wait_event_type="Lock", wait_event="transactionid",
                  wait_age_s=30.0 - i, blocked_by=[5100],
                  blockers=[{"pid": 5100, "usename": "odoo", "application_name": "odoo", "state": "idle in transaction",
                             "backend_type": "client backend"}],
                  query="UPDATE stock_quant SET quantity = quantity - 1 WHERE id = 991") for i in (1, 2, 3)]
    odoo = [dict(s, backend_age_s=7200.0 - s["pid"]) for s in (holder, *waiters)]
    return {"in_recovery": False, "sessions": 24, "hidden_queries": 2,
            "states": json.dumps({"idle": 17, "active": 4, "idle in transaction": 3}),
            "groups": json.dumps([{"application_name": "odoo", "state": "idle", "sessions": 16},
                                  {"application_name": "odoo", "state": "active", "sessions": 4},
                                  {"application_name": "odoo", "state": "idle in transaction", "sessions": 2},
                                  {"application_name": "pgbouncer-stats\x1b[2J", "state": "idle", "sessions": 1},
                                  {"application_name": "psql", "state": "idle in transaction", "sessions": 1}]),
            "longest": json.dumps([holder, *waiters]), "waiting_sessions": 3, "waiting": json.dumps(waiters),
            "odoo_sessions": 22, "odoo": json.dumps(odoo)}


def answers() -> dict[str, NodeActivity]:
    return {"node1": parse_activity("node1", primary_row(), observed_at=T0, latency_ms=4.0),
            "node2": parse_activity("node2", standby_row(), observed_at=T0, latency_ms=2.0),
            "node3": unanswered("node3", "node3: [Errno 111] Connect call failed ('127.0.0.1', 5434)", observed_at=T0)}


async def open_view(pilot, clock, scenario, node: str, *, answered: bool = True) -> ActivityScreen:
    await play(scenario, clock, pilot)
    screen = ActivityScreen(NODES, node)
    await pilot.app.push_screen(screen)
    if answered:
        for activity in answers().values():
            screen.show_activity(activity, odoo_verdict(activity, role=dict(NODES)[activity.name], writable=("node1",)))
    await pilot.pause()
    return screen


@pytest.fixture
def shoot(snap_compare):
    def compare(node: str, terminal_size: tuple[int, int], *, answered: bool = True, press=()) -> bool:
        clock, scenario = StepClock(T0), healthy()
        return snap_compare(scenario.app(clock), terminal_size=terminal_size, press=press,
                            run_before=partial(_before, clock=clock, scenario=scenario, node=node, answered=answered))

    return compare


async def _before(pilot, *, clock, scenario, node, answered):
    await open_view(pilot, clock, scenario, node, answered=answered)


class TestCompact80x24:
    terminal_size = (80, 24)

    def test_standby_with_stragglers(self, shoot):
        assert shoot("node2", self.terminal_size)

    def test_writer_with_a_lock_queue(self, shoot):
        assert shoot("node1", self.terminal_size)

    def test_unreachable_node(self, shoot):
        assert shoot("node3", self.terminal_size)

    def test_asking(self, shoot):
        assert shoot("node2", self.terminal_size, answered=False)


class TestLarge200x60:
    terminal_size = (200, 60)

    def test_writer_with_a_lock_queue(self, shoot):
        assert shoot("node1", self.terminal_size)

    def test_standby_with_stragglers(self, shoot):
        assert shoot("node2", self.terminal_size)


def screen_text(screen: ActivityScreen, width: int = 200) -> str:
    """Every part of the view that is shown, as plain text at ``width`` (the words, not the layout)."""
    console = Console(width=width, record=True, file=io.StringIO())
    for static in screen.query(Static):
        if static.display and static.content:
            console.print(static.content)
    return console.export_text()


async def test_switching_nodes_and_closing():
    clock, scenario = StepClock(T0), healthy()
    app = scenario.app(clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_view(pilot, clock, scenario, "node1")
        app._activity_wake = wake = asyncio.Event()       # what the poll worker waits on between answers
        for keys, node, said in ((("right",), "node2", "stragglers"),
                                 (("3",), "node3", "did not answer the activity query (refused)"),
                                 (("right",), "node1", "the writer: where Odoo should be"),
                                 (("left", "1"), "node1", "the writer: where Odoo should be")):
            await pilot.press(*keys)
            await pilot.pause()
            assert screen.node == node and said in screen_text(screen)
            assert wake.is_set(), keys                   # the app was told: it asks the new node at once
            wake.clear()
        await pilot.press("9")
        await pilot.pause()
        assert screen.node == "node1" and "there is no node 9: this cluster has 3" in screen_text(screen)
        assert not wake.is_set()
        body = screen.query_one("#activity-body")
        assert app.focused is body and body.max_scroll_y > 0    # at 80x24 the tables go on below the fold
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ActivityScreen)


async def test_every_text_on_the_view_is_a_sentence_or_a_value_never_a_repr_nor_a_secret():
    from tests.repr_check import repr_fragments

    clock, scenario = StepClock(T0), healthy()
    app = scenario.app(clock)
    async with app.run_test(size=(200, 60)) as pilot:
        screen = await open_view(pilot, clock, scenario, "node1")
        for key in ("right", "right"):
            text = screen_text(screen)
            assert not repr_fragments(text), repr_fragments(text)
            assert "never-shown-7731" not in text and "\x1b" not in text
            await pilot.press(key)


async def test_without_live_nodes_the_key_says_so():
    clock, scenario = StepClock(T0), healthy()
    app = scenario.app(clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await play(scenario, clock, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, ActivityScreen)
        assert any(NO_LIVE_NODES in n.message for n in app.notices)


def test_a_is_the_approvers_key_to_approve_and_A_opens_the_view_in_every_seat():
    app = CockpitApp("lab", healthy().app(StepClock(T0)).cluster)
    assert app.check_action("activity", ("a",)) and app.check_action("activity", ("A",))
    for seat in (type("Seat", (), {"seat": "approver", "is_operator": False})(), TraineeSeat("tess")):
        app.session = seat
        assert not app.check_action("activity", ("a",)), seat
        assert app.check_action("activity", ("A",))
        assert not app.has_key("activity('a')") and app.has_key("activity('A')")


def test_the_help_names_the_view_and_its_keys():
    app = CockpitApp("lab", healthy().app(StepClock(T0)).cluster)
    assert ActivityScreen.HELP in CockpitApp.help_sections()
    keys = dict(app.help_keys())
    assert "Activity" in keys["a"] and "Activity" in keys["A"]
