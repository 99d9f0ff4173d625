"""The cockpit at 80x24 through a crash failover, read as the operator reads it (Pilot, no database):
the operator's seat on the fixed journal of tests/failover_fixtures.py, fixed samples, a fixed clock.

The dead primary says its cause; once fenced it is FENCED with what the fence did, and no longer a
problem (the standby that follows nobody still is); every problem is reachable from the header
(in turn on its one row, all at once on a click) while the verdict stays in place; the runbook's
gate and keys are wrapped, never cut, and ``z b h j`` show with their labels once every stage
passed; the newest timeline entry reads in full.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.widgets import Static

from tests.failover_fixtures import STAGES, cockpit_at, open_seat
from widgets.checklist import Checklist
from widgets.cockpit_header import CYCLE_S, CockpitHeader, problem_rows
from widgets.node_panel import NodePanel
from widgets.timeline_view import TimelineView

SIZE = (80, 24)


@pytest.fixture
def cockpit(tmp_path, monkeypatch):
    """``async with cockpit(name) as (app, clock, pilot)``: the cockpit at that stage, everything shown."""
    from contextlib import asynccontextmanager

    monkeypatch.setenv("FAILOVER_COCKPIT_LOCK_DIR", str(tmp_path / "locks"))
    sessions = []

    @asynccontextmanager
    async def make(name: str):
        session = open_seat(tmp_path / name, STAGES[name])
        sessions.append(session)
        app, clock, run_before = cockpit_at(session, STAGES[name])
        async with app.run_test(size=SIZE) as pilot:
            await run_before(pilot)
            yield app, clock, pilot

    yield make
    for session in sessions:
        session.close()


def panel(app, name: str) -> NodePanel:
    return next(p for p in app.query(NodePanel) if p.node_name == name)


def text_of(widget) -> str:
    return "\n".join(str(s.content) for s in widget.query(Static))


def visible_text(widget) -> list[str]:
    """The lines of ``widget`` as they are on screen (clipped by its region)."""
    region = widget.content_region
    strips = widget.app.screen._compositor.render_strips()
    return [strips[y].crop(region.x, region.right).text.rstrip() for y in range(region.y, region.bottom)]


def problems_row(app) -> str:
    return str(app.query_one(CockpitHeader).query_one("#problems", Static).content)


# -- node panels ---------------------------------------------------------------------------------------------

async def test_the_dead_primary_says_its_cause_within_its_panel(cockpit):
    async with cockpit("crashed") as (app, _clock, _pilot):
        shown = "\n".join(visible_text(panel(app, "node1")))
        assert "UNREACHABLE" in shown and "writes: unknown" in shown
        assert "cause    refused" in shown and "was    PRIMARY" in shown
        assert "error    connection to" in shown           # the full text starts on screen, and is all in the header


async def test_a_node_fenced_in_this_incident_is_fenced_with_what_the_fence_did(cockpit):
    async with cockpit("fenced") as (app, _clock, _pilot):
        node1 = panel(app, "node1")
        shown = "\n".join(visible_text(node1))
        assert "FENCED" in shown and "UNREACHABLE" not in shown
        assert "fenced 07:24:03Z by" in shown and "`fence node1` (exit 0)" in shown
        assert "cause    refused" in shown
        assert node1.has_class("-fenced") and not node1.has_class("-down")
        text = text_of(node1)
        assert "ran      /usr/local/bin/fence-node node1" in text and "by       alice in 212 ms" in text
        assert "bring it back as a standby of the new primary with re-protect (key h)" in text
        view = app.cluster_view
        assert view.node("node1").fenced and not any(p.startswith("node1 unreachable") for p in view.problems)


async def test_after_the_close_the_fenced_old_primary_is_no_warning(cockpit):
    async with cockpit("closed") as (app, _clock, _pilot):
        assert str(app.query_one("#verdict").content).strip() == "OK"
        assert problems_row(app) == ("✓ one writer (node2), every standby within the SLO; node1 fenced at 07:24:03Z")
        assert "FENCED" in "\n".join(visible_text(panel(app, "node1")))


async def test_before_the_re_point_the_standby_following_nobody_is_still_a_warning(cockpit):
    async with cockpit("verified") as (app, _clock, _pilot):
        view = app.cluster_view
        assert view.verdict == "warning" and view.node("node1").fenced
        assert any(p.startswith("node3 follows node1, which is fenced") for p in view.problems)


# -- the header ------------------------------------------------------------------------------------------------

def test_problem_rows_show_what_fits_and_the_rest_in_turn():
    problems = ("a", "b", "c", "d")
    assert problem_rows(problems[:2], 4, 0) == ["▸ a", "▸ b"]
    assert [problem_rows(problems, 1, i * CYCLE_S) for i in range(5)] == [
        ["1/4 ▸ a"], ["2/4 ▸ b"], ["3/4 ▸ c"], ["4/4 ▸ d"], ["1/4 ▸ a"]]
    assert [problem_rows(problems, 3, i * CYCLE_S) for i in range(3)] == [
        ["▸ a", "▸ b", "3/4 ▸ c"], ["▸ a", "▸ b", "4/4 ▸ d"], ["▸ a", "▸ b", "3/4 ▸ c"]]


async def test_every_problem_shows_in_turn_on_the_headers_one_row_and_the_verdict_stays(cockpit):
    async with cockpit("crashed") as (app, clock, pilot):
        header = app.query_one(CockpitHeader)
        problems = header.problems()          # the headline first, worded with the signals
        assert len(problems) == 4 and str(header.query_one("#count").content) == "4 problems ▾"
        seen = set()
        for _ in range(len(problems)):
            clock.advance(CYCLE_S)
            header.tick()
            await pilot.pause()
            row = problems_row(app)
            assert row.count("\n") == 0 and row[:3] in {"1/4", "2/4", "3/4", "4/4"}
            seen.add(row.split(" ▸ ", 1)[1])
            assert str(app.query_one("#verdict").content).strip() == "CRITICAL"
        assert seen == set(problems)


async def test_a_click_on_the_header_lists_every_problem_in_full_and_a_second_folds_it(cockpit):
    async with cockpit("crashed") as (app, _clock, pilot):
        header = app.query_one(CockpitHeader)
        await pilot.click(CockpitHeader, offset=(2, 1))
        await pilot.pause()
        assert header.expanded and str(header.query_one("#count").content) == "4 problems ▴"
        listed = problems_row(app)
        assert listed == "\n".join(f"▸ {p}" for p in header.problems())
        assert header.problems()[0].startswith("the bastion cannot reach the primary node1 (refused)")
        assert "node1 unreachable (refused): connection to server at \"127.0.0.1\", port 5432 failed: Connection refused (is the server running on that host and accepting TCP/IP connections?)" in listed
        shown = visible_text(header.query_one("#problems"))
        assert len(shown) == 7 and shown[4].strip() == "TCP/IP connections?)"       # wrapped, not cut
        assert app.screen.region.contains_region(app.query_one("#verdict").region)
        await pilot.click(CockpitHeader, offset=(2, 1))
        await pilot.pause()
        assert not header.expanded and problems_row(app).count("\n") == 0


# -- the runbook and the timeline ---------------------------------------------------------------------------

async def test_the_gate_and_the_keys_of_stage_0_wrap_each_key_beside_its_label(cockpit):
    async with cockpit("crashed") as (app, _clock, _pilot):
        shown = visible_text(app.query_one(Checklist))
        assert not any(line.endswith("…") for line in shown if "needs" in line or "next" in line)
        joined = "\n".join(shown)
        assert "needs roles not set: operator," in joined and "scribe, approver" in joined
        for key, label in (("⏎ g", "evaluate"), ("s", "set roles"),
                           ("w", "freeze writers"), ("k", "skip freeze")):
            assert any(f" {key}  {label}" in line for line in shown), (key, shown)


async def test_after_stage_5_the_aftermath_keys_show_with_their_labels_without_scrolling(cockpit):
    async with cockpit("verified") as (app, _clock, _pilot):
        checklist = app.query_one(Checklist)
        shown = "\n".join(visible_text(checklist))
        assert "✓ every stage passed: close the incident" in shown.replace("\n", " ").replace("  ", " ")
        for key, label in (("z", "close"), ("b", "roll back"), ("h", "re-protect the old"), ("j", "re-point standbys")):
            assert f" {key}  {label}" in shown, (key, shown)
        assert "primary" in shown                              # the end of "re-protect the old primary", wrapped


async def test_the_newest_timeline_entry_reads_in_full_under_its_row(cockpit):
    async with cockpit("closed") as (app, _clock, _pilot):
        timeline = app.query_one(TimelineView)
        assert timeline.cursor_event.kind == "close" and timeline.row_text(timeline.cursor).rstrip().endswith("…")
        more = " ".join(line.strip() for line in timeline.cursor_more())
        assert more == timeline.cursor_event.text
        shown = " ".join(line.strip() for line in visible_text(timeline))
        assert "node1 was not measured)" in shown


async def test_the_arrows_move_the_full_text_with_the_cursor(cockpit):
    async with cockpit("fenced") as (app, _clock, pilot):
        timeline = app.query_one(TimelineView)
        timeline.focus()
        await pilot.pause()
        await pilot.press("up", "up")
        await pilot.pause()
        assert timeline.cursor_event.kind == "action"               # fence node1: exit 0 in 212 ms
        assert " ".join(line.strip() for line in timeline.cursor_more()) == "fence node1: exit 0 in 212 ms"
        shown = " ".join(line.strip() for line in visible_text(timeline))
        assert "fence node1: exit 0 in 212 ms" in shown
        await pilot.press("end")
        await pilot.pause()
        assert timeline.cursor == len(timeline.rows) - 1
        assert timeline.max_scroll_y == timeline.scroll_offset.y       # the newest and its text in view
        assert timedelta(0) <= app.clock() - timeline.cursor_event.at
