"""The fleet screen (``run --all``): worst first, Enter opens a cluster's cockpit in an incident of its
own (or the one this fleet already holds for it), Escape goes back to the fleet with the seat kept,
``q`` in the cockpit gives the seat up. Nodes at closed ports: there is nothing to reach."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from checks.config.model import load_config
from checks.incident.seats import SeatError
from checks.runbook.session import Session
from cli.fleet_cmd import FleetRun, fleet_refusal
from tests.fleet_fixtures import NOW, fixed_rows
from tests.pane_fixtures import notified
from tui.fleet_app import BACK, FleetApp
from tui.fleet_cockpit import FleetCockpitApp


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(folder: Path) -> Path:
    path = folder / "fleet.toml"
    text = ""
    for cluster in ("shop", "erp"):
        text += f'[clusters.{cluster}]\napprovers = ["alice"]\n'
        text += "".join(f'[[clusters.{cluster}.nodes]]\nname = "n{i}"\ndsn = "postgresql://cockpit@127.0.0.1:'
                        f'{_closed_port()}/postgres"\n' for i in (1, 2))
    path.write_text(text)
    return path


@pytest.fixture
def fleet(tmp_path):
    config = _config(tmp_path)
    run = FleetRun(str(config), load_config(config).clusters, who="alice", interval=3600,
                   incidents=tmp_path / "incidents")
    yield run
    run.close()


def _other_operator(run: FleetRun, name: str) -> Session:
    return Session(name, run.clusters[name], run.incidents[name], seat="operator", name="bob", announce=False)


async def test_the_rows_are_worst_first_and_enter_opens_the_row_under_the_cursor():
    rows = fixed_rows()
    app = FleetApp(rows=rows, clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.table
        assert table._order == ["erp-c", "crm-dead", "new-d", "shop-b", "accounting", "odoo-prod-eu-west-1"]
        assert [r.verdict for r in app.rows][:2] == ["critical", "critical"] and app.rows[0].split_brain
        assert table.selected_cluster == "erp-c"
        await pilot.press("down", "down", "down")
        assert table.selected_cluster == "shop-b"
        await pilot.press("enter")
    assert app.return_value == "shop-b"


async def test_the_cursor_comes_back_on_the_cluster_it_left_and_q_quits_without_a_held_seat():
    app = FleetApp(rows=fixed_rows(), clock=lambda: NOW, select="accounting")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.table.selected_cluster == "accounting"
        await pilot.press("q")
    assert app.return_value is None


async def test_quitting_the_fleet_asks_first_while_it_holds_a_seat():
    app = FleetApp(rows=fixed_rows(), clock=lambda: NOW, held={"shop-b": "2026-12-01-shop-b-1"})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("q")
        assert app.is_running and type(app.screen).__name__ == "ConfirmModal"
        await pilot.press("n")
        assert app.is_running
        await pilot.press("q", "y")
    assert app.return_value is None


async def test_enter_opens_a_new_incident_escape_returns_with_the_seat_kept_and_enter_again_resumes_it(fleet):
    app = fleet.cockpit_app("shop")
    assert isinstance(app, FleetCockpitApp)
    session = fleet.sessions["shop"]
    directory = fleet.incidents["shop"]
    assert directory.parent == fleet.base and directory.name.endswith("-shop-1")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.session is session and session.is_operator
        shown = app.screen.active_bindings["escape"]
        assert shown.binding.description == "Fleet" and shown.binding.show and shown.enabled   # in the footer
        await pilot.press("escape")
    assert app.return_value == BACK
    fleet.after_cockpit("shop", app.return_value)
    assert fleet.sessions["shop"] is session and session.is_operator        # the seat is kept
    with pytest.raises(SeatError):
        _other_operator(fleet, "shop")
    assert fleet.fleet_app().held == {"shop": directory.name}

    again = fleet.cockpit_app("shop")
    assert again.session is session and fleet.incidents["shop"] == directory
    async with again.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("q", "y")                                          # quit the cockpit: the seat goes
    assert again.return_value is None
    fleet.after_cockpit("shop", again.return_value)
    assert "shop" not in fleet.sessions and not session.is_operator
    other = _other_operator(fleet, "shop")                                   # nobody holds it now
    other.close()

    third = fleet.cockpit_app("shop")                                        # the same incident, opened again
    assert fleet.incidents["shop"] == directory and third.session is not session
    assert (directory / "journal.sqlite3").exists()


async def test_escape_in_the_scribe_log_goes_back_at_once_when_it_has_nothing_to_close(fleet):
    """The scribe log takes Escape only to close what it shows (the full text, the note input); with
    its timeline focused and nothing open, one Escape goes back to the fleet."""
    from widgets.scribe_log import ScribeLog

    app = fleet.cockpit_app("shop")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        log = app.query_one(ScribeLog)
        log.open_input()
        log.focus_input()
        await pilot.pause()
        await pilot.press("escape")                      # the first closes the note input ...
        await pilot.pause()
        assert app.is_running and not log.show_input
        log.timeline.focus()
        await pilot.pause()
        await pilot.press("escape")                      # ... and with nothing open, one goes back
        await pilot.pause()
    assert app.return_value == BACK


async def test_escape_waits_for_a_running_action(fleet):
    app = fleet.cockpit_app("erp")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        app.actions.busy = "stage 3: promote n2"
        await pilot.press("escape")
        assert app.is_running
        assert any("stage 3: promote n2 is still running" in t for t in await notified(pilot))
        app.actions.busy = None
        await pilot.press("escape")
    assert app.return_value == BACK


def test_a_seat_taken_elsewhere_is_a_notice_on_the_fleet_not_a_cockpit(fleet, tmp_path):
    fleet.incidents["shop"] = tmp_path / "incidents" / "taken"
    holder = Session("shop", fleet.clusters["shop"], fleet.incidents["shop"], seat="operator", name="bob")
    try:
        assert fleet.cockpit_app("shop") is None
        [notice] = fleet.notices
        assert notice.startswith("cluster shop: no cockpit: ") and "bob" in notice
        assert fleet.fleet_app().notices == [notice] and fleet.notices == []
    finally:
        holder.close()


class _Scripted:
    def __init__(self, result):
        self.result = result

    def run(self):
        return self.result


def test_the_loop_goes_fleet_cockpit_fleet_and_quitting_gives_up_every_seat(fleet):
    fleet.sampler.start = lambda: fleet.sampler                  # no sampling thread: the loop alone
    shown, results = [], iter(["shop", None])

    def fleet_app(select=None):
        shown.append(select)
        return _Scripted(next(results))

    opened = []

    def cockpit_app(name):
        opened.append(fleet.session(name))
        return _Scripted(BACK)

    fleet.fleet_app, fleet.cockpit_app = fleet_app, cockpit_app
    assert fleet.run() == 0
    assert shown == [None, "shop"]                               # back on the fleet, the cursor on shop
    assert not opened[0].is_operator and fleet.sessions == {}    # quitting the fleet closed the kept seat


@pytest.mark.parametrize("option, value", [("cluster", "shop"), ("incident", "x"), ("watch", True)])
def test_all_with_one_cluster_s_options_is_one_line(option, value):
    import argparse

    args = argparse.Namespace(all=True, seat="operator", **{option: value})
    assert fleet_refusal(args) == f"--all and --{option} ask for different things: give one"
