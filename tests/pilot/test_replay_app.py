"""The replay screen, driven by Pilot, on the fixed crash journal of tests/unit/test_replay.py
(node1 unreachable from 2026-12-01T08:00:10Z), and its SVG snapshots (paused at a fixed time).

No test here may reach a database: asyncpg's and psycopg's connects and every TCP connect raise,
and each test checks that nothing tried.

Update the baselines after looking at them: ``pytest tests/pilot/test_replay_app.py --snapshot-update``.
"""

from __future__ import annotations

import socket
from datetime import timedelta

import asyncpg
import psycopg
import pytest
from textual.widgets import Input

from checks.incident.events import Event
from checks.training.replay import Recording
from tests.pane_fixtures import notified, screen_text, table_text
from tests.unit.test_replay import CRASH_S, T0, at, build_incident
from tui.replay_app import SPEEDS, ReplayApp, ReplayScreen
from widgets.node_panel import NodePanel
from widgets.prompt_modal import PromptModal
from widgets.replay_bar import ReplayBar
from widgets.scribe_log import ScribeLog

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def no_database(monkeypatch):
    """Every way to a database raises, and is counted; the test fails if anything tried."""
    attempts: list[str] = []

    def refuse(what: str):
        def call(*args, **kwargs):
            attempts.append(what)
            raise ConnectionRefusedError(f"replay must not connect ({what})")
        return call

    async def refuse_async(*args, **kwargs):
        attempts.append("async connect")
        raise ConnectionRefusedError("replay must not connect")

    real_connect = socket.socket.connect

    def tcp_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            refuse("tcp")()
        return real_connect(sock, address)

    monkeypatch.setattr(asyncpg, "connect", refuse_async)
    monkeypatch.setattr(asyncpg, "create_pool", refuse("asyncpg pool"))
    monkeypatch.setattr(psycopg, "connect", refuse("psycopg"))
    monkeypatch.setattr(psycopg.AsyncConnection, "connect", classmethod(refuse_async))
    monkeypatch.setattr(socket.socket, "connect", tcp_connect)
    yield attempts
    assert attempts == [], f"replay tried to connect: {attempts}"


@pytest.fixture
def recording(tmp_path) -> Recording:
    return Recording.load(build_incident(tmp_path))


def panel_role(app: ReplayApp, node: str) -> str:
    """The role the node's panel shows ('' before its first sample)."""
    panel = next(p for p in app.screen.query(NodePanel) if p.node_name == node)
    return panel.view.role if panel.view else ""


def replay(app: ReplayApp) -> ReplayScreen:
    assert isinstance(app.screen, ReplayScreen)
    return app.screen


async def test_header_shows_replay_and_the_recorded_time(recording):
    app = ReplayApp(recording, at=at(5), paused=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        head = screen_text(app).splitlines()[0]
        assert "REPLAY · lab · 2026-12-01-lab-1" in head and "08:00:05Z" in head and "OK" in head
        bar = app.screen.query_one(ReplayBar).plain()
        assert "PAUSED" in bar and "2026-12-01 08:00:05Z" in bar and "+00:05/00:37" in bar
        assert panel_role(app, "node1") == "primary"
        assert [e.text for e in app.screen.query_one(ScribeLog).all_events()][-1].startswith("roles:")


async def test_space_pauses_and_resumes(recording):
    app = ReplayApp(recording, at=T0, tick_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        screen = replay(app)
        await pilot.pause(0.3)
        assert not screen.paused and screen.at > T0 and "PLAYING" in screen.query_one(ReplayBar).plain()
        await pilot.press("space")
        assert screen.paused
        held = screen.at
        await pilot.pause(0.3)
        assert screen.at == held and "PAUSED" in screen.query_one(ReplayBar).plain()
        await pilot.press("space")
        await pilot.pause(0.3)
        assert not screen.paused and screen.at > held


async def test_plus_doubles_the_speed_and_minus_slows_it_within_the_steps(recording):
    app = ReplayApp(recording, at=at(5), paused=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = replay(app)
        assert screen.speed == 1
        await pilot.press("plus")
        assert screen.speed == 2 and "  2x " in screen.query_one(ReplayBar).plain()
        await pilot.press(*["plus"] * 8)
        assert screen.speed == 60
        await pilot.press(*["minus"] * 9)
        assert screen.speed == 0.5
        assert [s for s in SPEEDS] == [0.5, 1, 2, 5, 10, 30, 60]


async def test_right_seeks_past_the_crash_and_left_comes_back(recording):
    app = ReplayApp(recording, at=at(5), paused=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = replay(app)
        assert panel_role(app, "node1") == "primary"
        await pilot.press("right")
        await pilot.pause()
        assert screen.at == at(15) and at(15) > at(CRASH_S)
        assert panel_role(app, "node1") == "unreachable"
        text = screen_text(app)
        assert "UNREACHABLE" in text and "CRITICAL" in text and "08:00:15Z" in text.splitlines()[0]
        await pilot.press("left")
        await pilot.pause()
        assert screen.at == at(5) and panel_role(app, "node1") == "primary"
        assert "UNREACHABLE" not in screen_text(app)
        assert len(screen.query_one(ScribeLog).all_events()) == 2  # the timeline went back too
        await pilot.press("left")
        assert screen.at == T0  # kept within the recording


async def test_brackets_jump_between_events_and_the_timeline_shows_them(recording):
    app = ReplayApp(recording, at=at(5), paused=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = replay(app)
        await pilot.press("right_square_bracket")
        await pilot.pause()
        log = screen.query_one(ScribeLog)
        assert screen.at == at(6)
        assert log.all_events()[-1].text == "Odoo slow for some users"
        assert "Odoo slow for some users" in table_text(log)[-1]
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert screen.at == at(11) and log.all_events()[-1].kind == "status"
        await pilot.press("left_square_bracket", "left_square_bracket")
        await pilot.pause()
        log = screen.query_one(ScribeLog)
        assert screen.at == at(2) and log.all_events()[-1].kind == "role" and len(table_text(log)) == 2


async def test_g_goes_to_a_time(recording):
    app = ReplayApp(recording, at=at(20), paused=True)
    async with app.run_test(notifications=True, size=SIZE) as pilot:
        screen = replay(app)
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, PromptModal)
        app.screen.query_one(Input).value = ""
        await pilot.press(*"08:00:05", "enter")
        await pilot.pause()
        assert app.screen is screen and screen.at == at(5)
        assert "08:00:05Z" in screen_text(app).splitlines()[0]
        await pilot.press("g")
        await pilot.pause()
        app.screen.query_one(Input).value = ""
        await pilot.press(*"+00:12", "enter")
        await pilot.pause()
        assert screen.at == at(12)
        await pilot.press("g")
        await pilot.pause()
        app.screen.query_one(Input).value = "09:00:00"
        await pilot.press("enter")
        await pilot.pause()
        assert screen.at == at(12)  # outside the recording: a notice, no move
        assert any("outside the recording" in m for m in (await notified(pilot)))


async def test_a_click_on_the_bar_goes_there(recording):
    app = ReplayApp(recording, at=at(5), paused=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = replay(app)
        bar = screen.query_one(ReplayBar)
        first, width = bar.bar_span
        await pilot.click(ReplayBar, offset=(1 + first + width - 1, 0))
        await pilot.pause()
        assert screen.at == recording.end


async def test_playing_stops_at_the_end_and_space_starts_again(recording):
    app = ReplayApp(recording, at=at(35), speed=60, tick_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        screen = replay(app)
        await pilot.pause(0.4)
        assert screen.paused and screen.at == recording.end and "END" in screen.query_one(ReplayBar).plain()
        await pilot.press(*["minus"] * 6, "space")  # 0.5x, so that the restart is still near the start
        assert not screen.paused and screen.at < at(5) and "PLAYING" in screen.query_one(ReplayBar).plain()


async def test_without_its_config_the_replay_says_so(tmp_path):
    incident = build_incident(tmp_path)
    (tmp_path / "clusters.toml").unlink()
    app = ReplayApp(Recording.load(incident), at=at(15), paused=True)
    async with app.run_test(notifications=True, size=SIZE) as pilot:
        await pilot.pause()
        assert "REPLAY · lab · no config · 2026-12-01-lab-1" in screen_text(app).splitlines()[0]
        assert panel_role(app, "node1") == "unreachable"
        assert any("default SLOs" in m for m in (await notified(pilot)))


async def test_replay_offers_no_runbook_action(recording):
    app = ReplayApp(recording, at=at(22), paused=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = replay(app)
        await pilot.press("p", "x", "n", "s")
        await pilot.pause()
        assert app.screen is screen and not screen.query_one(ScribeLog).show_input
        assert "next  ask an approver to approve the data risk" in screen_text(app)


async def test_back_before_the_first_sample_nothing_is_shown_yet(recording):
    opened = Event(id=0, at=T0 - timedelta(seconds=5), seat="operator", author="alice", kind="system",
                   text="incident opened")
    early = Recording(recording.cluster_name, recording.cluster, recording.samples, [opened, *recording.events])
    app = ReplayApp(early, at=at(15), paused=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = replay(app)
        assert "CRITICAL" in screen_text(app).splitlines()[0]
        await pilot.press("left", "left")
        await pilot.pause()
        assert screen.at == early.start == T0 - timedelta(seconds=5)
        text = screen_text(app)
        assert "WAITING" in text.splitlines()[0] and "CRITICAL" not in text and "UNREACHABLE" not in text
        assert panel_role(app, "node1") == "" and [e.text for e in screen.query_one(ScribeLog).all_events()] == [
            "incident opened"]
        await pilot.press("right", "right")
        await pilot.pause()
        assert panel_role(app, "node1") == "unreachable" and "CRITICAL" in screen_text(app).splitlines()[0]


class TestReplay80x24:
    terminal_size = (80, 24)

    def test_paused_after_the_crash(self, snap_compare, recording):
        assert snap_compare(ReplayApp(recording, at=at(22), paused=True), terminal_size=self.terminal_size)


class TestReplay120x40:
    terminal_size = (120, 40)

    def test_paused_after_the_crash(self, snap_compare, recording):
        assert snap_compare(ReplayApp(recording, at=at(22), paused=True), terminal_size=self.terminal_size)
