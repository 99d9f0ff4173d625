"""The runbook's keys on a real incident journal: the footer shows what can act now, Enter runs the next
step, a key pressed too early answers with its gate's sentence, roles named up front are not asked again,
`e` needs no focus, and Escape always leaves the note input. (Nodes at closed ports: nothing to reach.)"""

from __future__ import annotations

import socket

import pytest
from textual.widgets import Input

from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.runbook.session import Session
from tui.app import CockpitApp
from tui.runbook_palette import RunbookCommands
from widgets.checklist import Checklist
from widgets.confirm_modal import ConfirmModal
from widgets.evaluate_modal import EvaluateModal
from widgets.prompt_modal import PromptModal


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cockpit(tmp_path):
    sessions = []

    def make(seat: str = "operator", who: str = "olga", roles: dict | None = None, on_call: str = "") -> CockpitApp:
        path = tmp_path / "clusters.toml"
        nodes = "".join(f'[[clusters.keys.nodes]]\nname = "n{i}"\ndsn = "postgresql://cockpit@127.0.0.1:'
                        f'{_closed_port()}/postgres"\n' for i in (1, 2))
        path.write_text('[clusters.keys]\napprovers = ["alice", "bob"]\n' + on_call + nodes)
        name, cluster = load_config(path).cluster(None)
        session = Session(name, cluster, tmp_path / "inc", seat=seat, name=who)
        session.roles = dict(roles or {})
        sessions.append(session)
        return CockpitApp(name, cluster, session=session, interval_s=3600)

    yield make
    for session in sessions:
        session.close()


def footer_keys(app) -> set[str]:
    """The keys the footer shows now (shown and enabled)."""
    return {key for key, active in app.screen.active_bindings.items() if active.binding.show and active.enabled}


def journaled(app, kind: str) -> list:
    with Journal.open(app.session.dir) as journal:
        return journal.events(kinds={kind})


async def until(pilot, condition, what: str) -> None:
    for _ in range(250):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def test_the_footer_shows_only_the_keys_that_can_act_now(cockpit):
    app = cockpit()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        shown = footer_keys(app)
        assert {"enter", "s", "w", "k", "n"} <= shown
        assert not shown & {"c", "o", "x", "p", "u", "v", "z", "b", "h", "j", "a", "t"}


async def test_a_key_pressed_too_early_answers_with_its_gates_sentence(cockpit):
    app = cockpit()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("p")
        checklist = app.query_one(Checklist)
        await until(pilot, lambda: checklist.refusal, "the refusal")
        assert checklist.refusal.startswith("promote refused: stage 3 Promote is locked because stage 0 Stabilize")


async def test_enter_runs_the_next_step_and_the_scribe_is_never_the_operator(cockpit):
    app = cockpit()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")                              # first: evaluate, fail over or not yet
        assert isinstance(app.screen, EvaluateModal)
        await pilot.press("y")
        await until(pilot, lambda: any("evaluate" in e.data for e in journaled(app, "decision")), "the evaluation")
        await until(pilot, lambda: app.panes.state.evaluation is not None, "the evaluation on screen")
        await pilot.press("enter")
        assert isinstance(app.screen, PromptModal)
        scribe = app.screen.query_one(Input)
        assert scribe.value == ""                               # never the operator proposed
        await pilot.press(*"olga", "enter")
        assert isinstance(app.screen, PromptModal)              # refused: still the scribe's question
        assert "the runbook wants two people" in str(app.screen.query_one("#hint").render())
        scribe.value = ""
        await pilot.press(*"sam", "enter")
        assert isinstance(app.screen, PromptModal)              # the approver (alice proposed)
        await pilot.press("enter")
        await until(pilot, lambda: any("roles" in e.data for e in journaled(app, "role")), "the roles")
        [roles] = [e.data["roles"] for e in journaled(app, "role") if "roles" in e.data]
        assert roles == {"operator": "olga", "scribe": "sam", "approver": "alice"}
        await until(pilot, lambda: app.panes.state.current == 1, "stage 1")
        await pilot.press("enter")                              # no freeze configured: next is the candidate
        assert isinstance(app.screen, PromptModal) and "Candidate" in str(app.screen.question)


async def test_roles_named_up_front_are_not_asked_again(cockpit):
    app = cockpit(roles={"scribe": "sam", "approver": "bob"})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        assert not isinstance(app.screen, PromptModal)
        await until(pilot, lambda: any("roles" in e.data for e in journaled(app, "role")), "the roles")
        [roles] = [e.data["roles"] for e in journaled(app, "role") if "roles" in e.data]
        assert roles == {"operator": "olga", "scribe": "sam", "approver": "bob"}


async def test_the_configs_on_call_roles_are_not_asked_either(cockpit):
    app = cockpit(on_call='on_call = { scribe = "sam", approver = "alice" }\n')
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        assert not isinstance(app.screen, PromptModal)
        await until(pilot, lambda: any("roles" in e.data for e in journaled(app, "role")), "the roles")
        [roles] = [e.data["roles"] for e in journaled(app, "role") if "roles" in e.data]
        assert roles == {"operator": "olga", "scribe": "sam", "approver": "alice"}


async def test_e_shows_the_evidence_wherever_the_focus_is(cockpit):
    app = cockpit()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#scribe-timeline").focus()
        await pilot.pause()
        checklist = app.query_one(Checklist)
        assert not checklist.show_evidence
        await pilot.press("e")
        assert checklist.show_evidence


async def test_escape_leaves_the_scribes_pinned_note_input(cockpit):
    app = cockpit("scribe", "sam")
    async with app.run_test(size=(120, 40)) as pilot:
        note = app.query_one("#scribe-input", Input)
        await until(pilot, lambda: note.has_focus, "the note input focused")
        await pilot.pause()                                      # the seat's own focus call, after the refresh
        await pilot.press("escape")
        assert not note.has_focus and note.display               # still shown: the scribe keeps it
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmModal) and note.value == ""


async def test_the_palette_offers_every_runbook_action_of_the_seat_with_its_gate(cockpit):
    app = cockpit()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        hits = {hit.display: hit for hit in [h async for h in RunbookCommands(app.screen).discover()]}
        assert hits["Runbook: Roles (s)"].help == "can act now"
        assert hits["Runbook: Promote (p)"].help.startswith(
            "promote refused: stage 3 Promote is locked because stage 0 Stabilize has not passed")
        assert not any("Approve" in name for name in hits)               # the approver seat's, not this one's
        [found] = [h async for h in RunbookCommands(app.screen).search("roles")]
        found.command()
        await pilot.pause()
        assert isinstance(app.screen, PromptModal)                       # the same question as its key


async def test_the_focused_pane_is_marked(cockpit):
    app = cockpit()
    async with app.run_test(size=(120, 40)) as pilot:
        checklist, timeline = app.query_one(Checklist), app.query_one("#scribe-timeline")
        checklist.focus()
        await pilot.pause()
        assert checklist.styles.border.top[0] == "heavy"
        timeline.focus()
        await pilot.pause()
        assert checklist.styles.border.top[0] != "heavy" and app.query_one("ScribeLog").styles.border.top[0] == "heavy"
