"""Pilot tests of the runbook checklist and the typed-name confirmation."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from checks.runbook.gates import RunbookState
from tests.pane_fixtures import (
    ACTIONS, REFUSAL, RISK_OK, SIZE, Harness, make_event, screen_text, state_old_primary_writable, state_risk_approved,
    state_start, state_verified
)
from widgets.checklist import Checklist, status_text
from widgets.scribe_log import ScribeLog
from widgets.typed_confirm import TypedConfirmModal

# -- the checklist ---------------------------------------------------------------------------


def checklist_text(checklist: Checklist) -> str:
    return "\n".join(str(s.content) for s in checklist.query(Static) if s.display)


async def run_checklist(state: RunbookState, size=SIZE, **kwargs):
    app = Harness(lambda: [Checklist()], lambda a: a.query_one(Checklist).update_state(state, **kwargs))
    return app, app.run_test(size=size)


@pytest.mark.parametrize("status", ["locked", "open", "passed", "overridden", "failed"])
def test_status_has_a_glyph_and_a_word(status):
    text = status_text(status)
    assert {"locked": "🔒 locked", "open": "▶ open", "passed": "✓ passed", "overridden": "⚑ override",
            "failed": "✗ failed"}[status] == " ".join(text.split())


async def test_checklist_shows_every_stage_and_the_current_gate_and_key():
    app, running = await run_checklist(state_old_primary_writable(), actions=ACTIONS)
    async with running as pilot:
        await pilot.pause()
        checklist = app.query_one(Checklist)
        text = checklist_text(checklist)
        for word, title in (("passed", "0 Stabilize"), ("passed", "1 Replica freshness"), ("failed", "2 Old primary"),
                            ("locked", "3 Promote"), ("locked", "4 Cut over"), ("locked", "5 Verify")):
            row = next(line for line in text.splitlines() if title in line)
            assert word in row, row
        assert "node1 is writable: fence it" in text
        assert " f  fence node1" in text
        assert "promote node2" not in text  # only the current stage's action
        assert "candidate node2" in text and RISK_OK["statement"] in text
        assert checklist.query_one("#stage-2").has_class("-current", "-failed")
        assert checklist.border_title == "Runbook · stage 2 Old primary"


async def test_checklist_without_a_key_names_the_next_action():
    app, running = await run_checklist(state_start())
    async with running as pilot:
        await pilot.pause()
        text = checklist_text(app.query_one(Checklist))
        assert "roles not set: approver" in text and "next  set the roles" in text
        assert "candidate not chosen yet" in text


async def test_a_state_given_before_mount_shows():
    checklist = Checklist()
    checklist.update_state(state_verified())
    app = Harness(lambda: [checklist])
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "every stage passed" in checklist_text(checklist)


async def test_checklist_shows_busy_and_refusal():
    app, running = await run_checklist(state_old_primary_writable(), actions=ACTIONS, busy="fence node1",
                                       refusal=REFUSAL)
    async with running as pilot:
        await pilot.pause()
        checklist = app.query_one(Checklist)
        assert "running: fence node1…" in checklist_text(checklist)
        assert REFUSAL in checklist_text(checklist)
        assert "promote refused" in screen_text(app)
        checklist.set_busy(None)
        await pilot.pause()
        assert "running" not in checklist_text(checklist) and REFUSAL in checklist_text(checklist)
        checklist.set_busy("running: promote…")
        await pilot.pause()
        assert "running: promote…" in checklist_text(checklist) and "running: running" not in checklist_text(checklist)
        checklist.set_busy(None)
        checklist.update_state(state_verified())
        await pilot.pause()
        text = checklist_text(checklist)
        assert "promote refused" not in text and "every stage passed" in text


async def test_e_shows_the_evidence_and_arrows_select_a_stage():
    app, running = await run_checklist(state_risk_approved(), actions=ACTIONS)
    async with running as pilot:
        checklist = app.query_one(Checklist)
        checklist.focus()
        await pilot.pause()
        assert "· approved by dave" not in checklist_text(checklist)
        assert checklist.selected_stage == 2
        await pilot.press("e")
        await pilot.pause()
        assert "· no evidence yet" in checklist_text(checklist)
        await pilot.press("up")
        await pilot.pause()
        text = checklist_text(checklist)
        assert checklist.selected_stage == 1
        assert "met data risk above the SLO or unknown, approved by dave" in text
        assert "· candidate node3 chosen by alice" in text and "· approved by dave" in text
        assert "override" in next(line for line in text.splitlines() if "1 Replica freshness" in line)
        await pilot.press("e")
        await pilot.pause()
        assert "· candidate node3 chosen by alice" not in checklist_text(checklist)
        await pilot.press("up", "up", "up")
        assert checklist.selected_stage == 0
        await pilot.press(*["down"] * 8)
        assert checklist.selected_stage == 5


async def test_short_pane_shares_rows_and_cuts_the_refusal():
    def setup(app: Harness) -> None:
        app.query_one(Checklist).update_state(state_old_primary_writable(), actions=ACTIONS, refusal=REFUSAL + " " + "x" * 200)
        app.query_one(Checklist).focus()

    app = Harness(lambda: [Checklist(), ScribeLog()], setup, rest="", height=12)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        checklist = app.query_one(Checklist)
        assert checklist.outer_size == (40, 12) and checklist.has_class("-short")
        text = checklist_text(checklist)
        assert "0–1 Stabilize, Replica freshness" in text and "3–5 Promote, Cut over, Verify" in text
        assert not checklist.query_one("#stage-1").display and not checklist.query_one("#stage-4").display
        refusal = str(checklist.query_one("#checklist-refusal", Static).content)
        assert refusal.startswith("⚠ promote refused") and refusal.endswith("…") and refusal.count("\n") == 2
        assert checklist.max_scroll_y == 0  # it all fits
        await pilot.press("up")
        await pilot.pause()
        text = checklist_text(checklist)
        assert checklist.query_one("#stage-1").display and "1 Replica freshness" in text
        assert "met candidate chosen; data risk known and within the SLO" in text


# -- the typed confirmation ------------------------------------------------------------------


def promote_modal() -> TypedConfirmModal:
    return TypedConfirmModal(
        "Promote node2 to primary", "node2",
        effects=["re-checks node2 is still in recovery and node1 still fenced",
                 "runs pg_promote on node2 and waits until it accepts writes"],
        data_risk=RISK_OK["statement"],
    )


async def open_modal(app: Harness, pilot, results: list) -> TypedConfirmModal:
    modal = promote_modal()
    app.push_screen(modal, results.append)
    await pilot.pause()
    return modal


async def test_typed_confirm_wrong_name_stays_open_with_the_hint():
    app = Harness(lambda: [Static("cockpit")])
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        modal = await open_modal(app, pilot, results)
        text = screen_text(app)
        assert "Promote node2 to primary" in text and "pg_promote" in text and "16.0 kB" in text
        await pilot.press(*"node1", "enter")
        await pilot.pause()
        assert app.screen is modal and results == []
        assert "type node2 exactly" in screen_text(app)
        modal.query_one(Input).value = "node2 "
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is modal and results == []


async def test_typed_confirm_right_name_returns_true():
    app = Harness(lambda: [Static("cockpit")])
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        await open_modal(app, pilot, results)
        await pilot.press(*"node2", "enter")
        await pilot.pause()
        assert results == [True] and not isinstance(app.screen, TypedConfirmModal)


async def test_typed_confirm_escape_returns_false():
    app = Harness(lambda: [Static("cockpit")])
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        await open_modal(app, pilot, results)
        await pilot.press(*"node", "escape")
        await pilot.pause()
        assert results == [False] and not isinstance(app.screen, TypedConfirmModal)


async def test_typed_confirm_without_a_node_never_confirms():
    app = Harness(lambda: [Static("cockpit")])
    results: list = []
    async with app.run_test(size=SIZE) as pilot:
        modal = TypedConfirmModal("Promote  to primary", "")
        app.push_screen(modal, results.append)
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is modal and results == [] and "nothing to confirm" in screen_text(app)


async def test_text_with_brackets_is_shown_as_is():
    odd = "approval refused: 'olga' is not an approver (approvers: ['dave', 'erin']) [/b]"

    def setup(app: Harness) -> None:
        app.query_one(Checklist).update_state(state_start(), refusal=odd, busy="[bold]x")
        app.query_one(ScribeLog).set_alarm(odd)
        app.query_one(ScribeLog).add_events([make_event(1, "operator", "olga", "system", "[red]x[/] ['a']")])

    app = Harness(lambda: [Checklist(), ScribeLog()], setup)
    async with app.run_test(size=(200, 30)) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert text.count("(approvers: ['dave', 'erin']) [/b]") == 2  # the refusal and the alarm
        assert "running: [bold]x…" in text and "[red]x[/] ['a']" in text


def test_every_new_widget_has_help():
    for widget in (ScribeLog, Checklist, TypedConfirmModal):
        assert widget.HELP.startswith("### ") and widget.__doc__
