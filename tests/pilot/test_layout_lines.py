"""The words laid out to fit a narrow pane (Rich text, no screen): a seat's keys paired with their labels
and packed without parting a key from its label, a label with its text hung under it, and the timeline
cursor row's full text under the row."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.console import Console
from rich.style import Style
from rich.text import Text

from checks.incident.events import Event
from widgets.checklist_lines import hanging, key_pairs, keys_line
from widgets.timeline_view import MORE_INDENT, more_lines

CONSOLE = Console(width=200, color_system=None)
KEY = Style(bold=True)


def test_keys_pair_with_their_labels_and_enter_joins_the_key_it_runs():
    assert key_pairs("z b h j", "close / roll back / re-protect the old primary / re-point standbys") == [
        ("z", "close"), ("b", "roll back"), ("h", "re-protect the old primary"), ("j", "re-point standbys")]
    assert key_pairs("⏎ s w k", "next: set roles · set roles / freeze writers / skip freeze") == [
        ("⏎ s", "set roles"), ("w", "freeze writers"), ("k", "skip freeze")]
    assert key_pairs("⏎ p", "next: promote node2 · promote") == [("⏎", "promote node2"), ("p", "promote")]
    assert key_pairs("s w", "set roles") is None               # they do not pair up: shown as they come


def test_keys_are_packed_into_lines_and_a_key_never_leaves_its_label():
    pairs = key_pairs("z b h j", "close / roll back / re-protect the old primary / re-point standbys")
    text = keys_line(Text("next  "), pairs, 34, CONSOLE, key_style=KEY)
    lines = text.plain.split("\n")
    assert lines == ["next   z  close   b  roll back",
                     "       h  re-protect the old",
                     "          primary",
                     "       j  re-point standbys"]
    assert all(len(line) <= 34 for line in lines)


def test_a_label_hangs_its_wrapped_text_under_itself():
    text = hanging(Text("✗ "), Text("node1 is unreachable, which is not dead: fence it or have an approver attest "
                                    "it is down"), 30, CONSOLE)
    lines = text.plain.split("\n")
    assert lines[0] == "✗ node1 is unreachable, which"
    assert all(line.startswith("  ") and len(line) <= 30 for line in lines[1:])
    assert " ".join(line.strip() for line in lines).removeprefix("✗ ") == (
        "node1 is unreachable, which is not dead: fence it or have an approver attest it is down")


def event(text: str) -> Event:
    return Event(id=1, at=datetime(2026, 12, 1, 7, 27, 1, tzinfo=timezone.utc), seat="operator", author="alice",
                 kind="close", stage=None, text=text)


def test_the_cursor_rows_text_follows_under_it_only_when_the_row_cuts_it():
    long = "incident verified: RTO 274.1 s; RPO at least 16.0 kB (a lower bound: node1 was not measured)"
    row = "07:27:01.0Z CLOSE alice incident ver…"
    more = [line.plain for line in more_lines(event(long), row, 38, CONSOLE, limit=6)]
    assert all(line.startswith(" " * MORE_INDENT) and len(line) <= 38 for line in more)
    assert " ".join(line.strip() for line in more) == long
    assert more_lines(event("all here"), "07:27:01.0Z CLOSE alice all here", 38, CONSOLE, limit=6) == []


def test_a_text_longer_than_its_lines_says_where_the_rest_is():
    more = [line.plain for line in more_lines(event("word " * 80), "…", 30, CONSOLE, limit=2)]
    assert len(more) == 2 and more[-1].endswith("… (enter: in full)") and len(more[-1]) <= 30
