"""Hostile pastes in the real cockpit (Pilot): the note input keeps every line of a paste, in
order, control characters escaped, into the journal; a refused text stays where it was typed.

The cockpit runs on a real incident (a Session on a journal in tmp_path) for a cluster whose
nodes are closed ports: no lab, no sampling worker.
"""

from __future__ import annotations

import socket

import pytest
from textual import events
from textual._xterm_parser import XTermParser
from textual.widgets import Input, Static

from checks.config.model import load_config
from checks.config.text import TEXT_MAX
from checks.incident.journal import Journal
from checks.runbook.session import Session
from tests.pane_fixtures import notified
from tests.unit.test_hostile_text import control_characters
from tui.app import CockpitApp
from widgets.prompt_modal import PromptModal

PASTE = "order-A order-B \x1b[31m order-C\nsecond line\x07 rings\r\n\tthird, indented"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cockpit(tmp_path):
    """A cockpit factory for one seat on a fresh incident; sessions are closed at the end."""
    path = tmp_path / "clusters.toml"
    nodes = "".join(f'[[clusters.hostile.nodes]]\nname = "n{i}"\ndsn = "postgresql://cockpit@127.0.0.1:'
                    f'{_closed_port()}/postgres"\n' for i in (1, 2))
    path.write_text('[clusters.hostile]\napprovers = ["alice", "bob"]\n' + nodes)
    name, cluster = load_config(path).cluster(None)
    sessions = []

    def make(seat: str, who: str) -> CockpitApp:
        session = Session(name, cluster, tmp_path / "inc", seat=seat, name=who)
        sessions.append(session)
        return CockpitApp(name, cluster, session=session, interval_s=3600)

    yield make
    for session in sessions:
        session.close()


def _notes(app) -> list[str]:
    with Journal.open(app.session.dir) as journal:
        return [e.text for e in journal.events(kinds={"note"})]


async def _until(pilot, condition) -> None:
    for _ in range(200):                 # the note is journaled by a thread worker: wait for it, bounded
        if condition():
            return
        await pilot.pause(0.02)
    assert condition()


async def _focused_note_input(app, pilot) -> Input:
    note = app.query_one("#scribe-input", Input)
    await _until(pilot, lambda: note.has_focus)
    return note


async def test_a_multi_line_paste_with_an_esc_is_journaled_whole_in_order_and_escaped(cockpit):
    app = cockpit("scribe", "sam")
    async with app.run_test(size=(120, 40)) as pilot:
        note = await _focused_note_input(app, pilot)
        app.post_message(events.Paste(PASTE))
        await pilot.pause()
        assert note.value == ("order-A order-B \\x1b[31m order-C↵second line\\x07 rings↵    third, indented")
        await pilot.press("enter")
        await _until(pilot, lambda: _notes(app))
        assert _notes(app) == ["order-A order-B \\x1b[31m order-C\nsecond line\\x07 rings\n    third, indented"]
        assert note.value == ""
    app.session.flush_record()               # the record follows within a second; now, for the test
    assert control_characters((app.session.dir / "record.md").read_bytes()) == []


async def test_what_a_terminal_sends_for_such_a_paste_arrives_whole_and_harmless(cockpit):
    """Through Textual's own parser: a BEL and line breaks stay in the paste; an ESC starts an escape
    sequence, whose characters Textual hands over as keys (the ESC as ``^``) before the paste's text,
    so the order is Textual's, but no character of the paste is lost or raw."""
    app = cockpit("scribe", "sam")
    async with app.run_test(size=(120, 40)) as pilot:
        await _focused_note_input(app, pilot)
        for data in ("\x1b[200~first\x07 line\nsecond line\n\x1b[201~", "\r", "\x1b[200~order-A order-B \x1b[31m "
                     "order-C\x1b[201~", "\r"):
            for event in XTermParser().feed(data):
                app.post_message(event)
            await pilot.pause()
        await _until(pilot, lambda: len(_notes(app)) == 2)
        first, second = _notes(app)
        assert first == "first\\x07 line\nsecond line"
        assert all(word in second for word in ("order-A", "order-B", "[31m", "order-C"))
        assert control_characters("".join(_notes(app)).encode()) == []


async def test_a_note_over_the_limit_is_refused_with_a_sentence_and_stays_in_the_input(cockpit):
    app = cockpit("scribe", "sam")
    async with app.run_test(notifications=True, size=(120, 40)) as pilot:
        note = await _focused_note_input(app, pilot)
        app.post_message(events.Paste("x" * (TEXT_MAX + 1)))
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert note.value == "x" * (TEXT_MAX + 1)                       # nothing lost
        await notified(pilot)                     # a toast is shown (two lines)...
        said = [n.message for n in app.notices]     # ...and the messages log (m) has it in full
        assert any(f"the note: {TEXT_MAX + 1} characters, over the limit of {TEXT_MAX} (a control character counts "
                   "as its escape); shorten it: nothing was saved" in m for m in said), said
    assert _notes(app) == []


async def test_a_pasted_name_with_a_line_break_is_refused_in_the_prompt_and_kept(cockpit):
    app = cockpit("operator", "olga")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("s")                                           # roles: the scribe's name first
        await _until(pilot, lambda: isinstance(app.screen, PromptModal))
        answer = app.screen.query_one("#answer", Input)
        answer.value = ""
        app.post_message(events.Paste("sam\nbob"))
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptModal) and answer.value == "sam↵bob"
        hint = str(app.screen.query_one("#hint", Static).render())
        assert hint == "the scribe's name: a name is one line, and this one holds a line break (escape cancels)"
