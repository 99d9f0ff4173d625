"""Evaluate, the first decision, at the keys: g (or Enter) shows the firing signals and each standby's
freshness; y journals "fail over", n "not yet" with a reason, escape journals nothing; a standing "not yet"
holds every key past stage 0. On a real incident journal (nodes at closed ports: every node refuses, so
the standbys are journaled as not answering), and the modal's snapshots at 80x24 and 200x60."""

from __future__ import annotations

from tests.pane_fixtures import Harness
from tests.pilot.test_runbook_keys_pilot import cockpit, journaled, until  # noqa: F401 - the fixture
from tests.repr_check import repr_fragments
from widgets.checklist import Checklist
from widgets.evaluate_modal import EvaluateModal
from widgets.prompt_modal import PromptModal

SIGNALS = ["primary_unreachable: the bastion cannot reach the primary node1 (refused: connection refused) for 41s",
           "app_path_writable: pgbouncer main/odoo: pgbouncer cannot connect to server",
           "pooler_waiting: pgbouncer main/odoo: 37 clients waiting, the oldest for 12s",
           "rto_budget: 41s since the first bad signal, 14m19s of the 15m00s RTO left"]
STANDBYS = ["node2: standby, streaming, holds WAL up to 0/5000000, replay delay 0.3s, 0 B not replayed, about "
            "0 B behind the last primary position seen",
            "node3: standby, not streaming, holds WAL up to 0/4FF0000, replay delay 12s, 64.0 kB not replayed, "
            "about 64.0 kB behind the last primary position seen"]


def evaluations(app) -> list:
    return [e for e in journaled(app, "decision") if "evaluate" in e.data]


async def test_g_shows_the_signals_and_the_standbys_and_y_journals_fail_over(cockpit):
    app = cockpit()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("g")
        assert isinstance(app.screen, EvaluateModal)
        shown = str(app.screen.query_one("#evaluate-signals").render())
        assert shown.startswith("• none: nothing the cockpit watches is bad news")
        await pilot.press("y")
        await until(pilot, lambda: evaluations(app), "the evaluation")
        [evaluated] = evaluations(app)
        assert evaluated.stage == 0 and evaluated.data["evaluate"] == "fail_over"
        assert [s["node"] for s in evaluated.data["standbys"]] == ["n1", "n2"]     # neither answers: both listed
        assert all("does not answer" in s["text"] for s in evaluated.data["standbys"])
        assert evaluated.text == ("evaluation: olga decided to fail over; signals firing: none; standbys measured: "
                                  "0 of 2")
        await until(pilot, lambda: app.panes.state.evaluation is not None, "the state")
        row = str(app.query_one(Checklist).query_one("#evaluate-row").render())
        assert row.startswith(" ✓ evaluate: fail over, olga ")


async def test_not_yet_with_a_reason_holds_stage_0_and_escape_decides_nothing(cockpit):
    app = cockpit(roles={"scribe": "sam", "approver": "alice"})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g", "escape")
        await pilot.pause()
        assert not isinstance(app.screen, EvaluateModal) and not evaluations(app)
        await pilot.press("g", "n")
        assert isinstance(app.screen, PromptModal) and "Not yet" in str(app.screen.question)
        await pilot.press(*"the host reboots", "enter")
        await until(pilot, lambda: evaluations(app), "the evaluation")
        assert evaluations(app)[-1].data["reason"] == "the host reboots"
        await pilot.press("s")                                   # roles named up front: journaled at once
        await until(pilot, lambda: app.panes.state.roles.get("scribe") == "sam", "the roles")
        await until(pilot, lambda: app.panes.state.evaluation is not None, "the state")
        stage0 = app.panes.state.stage(0)
        assert stage0.status == "open" and "not to fail over yet" in stage0.gate
        assert stage0.next_action == "evaluate again (key g) to decide to fail over"
        await pilot.press("c")                                   # a key past stage 0: refused with the gate
        assert isinstance(app.screen, PromptModal)
        await pilot.press(*"n2", "enter")
        checklist = app.query_one(Checklist)
        await until(pilot, lambda: checklist.refusal, "the refusal")
        assert "stage 0 Stabilize has not passed" in checklist.refusal and "not to fail over yet" in checklist.refusal
        row = str(checklist.query_one("#evaluate-row").render())
        assert row.startswith(" ✗ evaluate: not yet, olga ")
        await pilot.press("enter")                               # Enter proposes evaluating again
        assert isinstance(app.screen, EvaluateModal)


async def test_an_observer_seat_has_no_evaluate_key(cockpit):
    app = cockpit(seat="observer", who="sam")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")
        await pilot.pause()
        assert not isinstance(app.screen, EvaluateModal)
        assert not evaluations(app)


def modal_app() -> Harness:
    def setup(app: Harness) -> None:
        app.push_screen(EvaluateModal(SIGNALS, STANDBYS, headline="the bastion cannot see the primary node1, but "
                                      "Odoo still writes to it through PgBouncer: fence it before any promotion"))

    return Harness(lambda: [Checklist()], setup)


def test_the_modal_reads_as_sentences():
    assert not repr_fragments("\n".join(SIGNALS + STANDBYS))


class TestEvaluate80x24:
    def test_modal(self, snap_compare):
        assert snap_compare(modal_app(), terminal_size=(80, 24))


class TestEvaluate200x60:
    def test_modal(self, snap_compare):
        assert snap_compare(modal_app(), terminal_size=(200, 60))
