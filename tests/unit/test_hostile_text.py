"""Hostile text: names and notes full of terminal control sequences, markdown and HTML.

Every text a person gives is cleaned once where it enters (checks.config.text): control characters
shown as visible escapes in place, line breaks kept in notes and refused in names, a size cap
refused with a sentence. The record escapes markdown where it renders people's text. Real
processes (drill, record) are run and their output bytes checked; no lab is needed: the
cluster's nodes are closed ports, so the drill stops at stage 1 after journaling the roles.
"""

from __future__ import annotations

import random
import socket
import string
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from checks.config.text import NAME_MAX, TEXT_MAX, TextRefused, _md_escaped, clean_name, clean_text, md, visible
from checks.incident.events import Event
from checks.incident.journal import Journal
from checks.incident.record import render_record_from

ROOT = Path(__file__).resolve().parents[2]
EVIL_NAME = "ev\x1b]0;pwned\x07il\x1b[2J"
EVIL_NOTE = "order-A order-B \x1b[31m order-C\nline two\x07\tend\r\nline three \x9b\x7f"
BREAKOUT = "</details> ``` <script>alert(1)</script>"


def control_characters(data: bytes) -> list[str]:
    """Every C0 (but \\n and \\t), DEL and C1 character in ``data`` (UTF-8), as escapes."""
    text = data.decode("utf-8")
    return [f"U+{ord(c):04X}" for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


# -- the sanitiser ---------------------------------------------------------------------------------


def test_control_characters_become_visible_escapes_in_place_and_in_order():
    assert clean_name(EVIL_NAME, "operator") == "ev\\x1b]0;pwned\\x07il\\x1b[2J"
    assert clean_text(EVIL_NOTE, "note") == ("order-A order-B \\x1b[31m order-C\nline two\\x07    end\n"
                                             "line three \\x9b\\x7f")
    assert visible("a\u202eb\u2028c\x00") == "a\\u202eb\\u2028c\\x00"       # bidi override, line separator, NUL
    assert visible("one\ntwo", multiline=False) == "one\\x0atwo"


def test_cleaning_twice_changes_nothing():
    once = clean_text(EVIL_NOTE, "note")
    assert clean_text(once, "note") == once == visible(once)
    assert clean_name(clean_name(EVIL_NAME, "x"), "x") == clean_name(EVIL_NAME, "x")


def test_a_note_keeps_its_lines_and_a_name_is_one_line():
    assert clean_text("first\r\nsecond\rthird\n\n  fourth  ", "note").split("\n") == ["first", "second", "third", "",
                                                                                    "  fourth"]
    with pytest.raises(TextRefused, match="^--operator: a name is one line, and this one holds a line break$"):
        clean_name("olga\nsam", "--operator")


def test_caps_and_empty_names_are_refused_with_a_sentence_naming_the_field_and_the_limit():
    assert clean_name("a" * NAME_MAX, "approver") == "a" * NAME_MAX
    with pytest.raises(TextRefused) as too_long:
        clean_name("a" * (NAME_MAX + 1), "approver")
    assert str(too_long.value) == (f"approver: {NAME_MAX + 1} characters, over the limit of {NAME_MAX} (a control "
                                   "character counts as its escape); shorten it: nothing was saved")
    with pytest.raises(TextRefused, match=f"^the note: {TEXT_MAX + 1} characters, over the limit of {TEXT_MAX} "):
        clean_text("x" * (TEXT_MAX + 1), "the note")
    with pytest.raises(TextRefused, match=f"over the limit of {NAME_MAX}"):      # escapes count: 16 ESC = 64
        clean_name("\x1b" * 17, "scribe")
    with pytest.raises(TextRefused, match="^--scribe: a name is needed, and this one is empty$"):
        clean_name(" \t ", "--scribe")
    with pytest.raises(TextRefused, match="^the reason: the text is needed"):
        clean_text("  \n ", "the reason", required=True)
    assert clean_name(None, "approver", required=False) == ""


def test_markdown_escape_leaves_plain_words_alone():
    assert md("transaction_read_only = off on node2 (1.5 kB)") == "transaction_read_only = off on node2 (1.5 kB)"
    assert md("<b>*x* _y_ [l](u) a|b ~~s~~ `c` &amp;") == r"\<b\>\*x\* \_y\_ \[l\](u) a\|b \~\~s\~\~ \`c\` \&amp;"
    assert md("one\n# two\n- three\n1. four\n```\n~~~") == "one\n\\# two\n\\- three\n1\\. four\n\\`\\`\\`\n\\~\\~\\~"


def test_markdown_fast_path_gives_what_the_full_escape_gives():
    """md answers most text at once, unchanged: every string that test lets through is one the full
    escape leaves as it is, and every string holding something it escapes goes the long way."""
    rng = random.Random(17)
    alphabet = string.printable + "é€\u202e\x1b\x7f\u2028"
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert md(text) == _md_escaped(text, False), text
        assert md(text, line_start=True) == _md_escaped(text, True), text
    for plain in ("node2 is 1.5 kB behind (replay 0:00:03)", "# 1. - + = ~ a heading's marks, mid-line", ""):
        assert md(plain) == _md_escaped(plain, False) == plain


# -- the record ------------------------------------------------------------------------------------


def _event(i: int, kind: str, text: str, author: str = "sam", seat: str = "scribe", **data) -> Event:
    at = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc) + timedelta(seconds=i)
    return Event(id=i, at=at, seat=seat, author=author, kind=kind, stage=None, text=text, data=data)


def test_a_note_cannot_break_out_of_its_list_item_in_the_record():
    note = f"{BREAKOUT}\n# not a heading\n```\n<details><summary>x</summary>\n- not a list"
    events = [_event(1, "note", note), _event(2, "decision", f"promote node2 {BREAKOUT}", proposed_by="<b>olga</b>"),
              _event(3, "role", "roles", author="olga", seat="operator",
                     roles={"operator": "olga", "scribe": "*sam*", "approver": "[alice](http://x)"})]
    record = render_record_from({"incident_id": "inc-<1>", "cluster": "main"}, events, [],
                                datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc))
    item = [line for line in record.splitlines() if "[scribe sam] note:" in line][0]
    lines = record.splitlines()
    start = lines.index(item)
    assert lines[start:start + 5] == [
        item, "  \\# not a heading", "  \\`\\`\\`", "  \\<details\\>\\<summary\\>x\\</summary\\>", "  \\- not a list"]
    assert item.endswith(r"note: \</details\> \`\`\` \<script\>alert(1)\</script\>")
    assert "### 08:00:02 UTC decision: promote node2 \\</details\\>" in record
    assert "- Proposed by: \\<b\\>olga\\</b\\>" in record and "- Scribe: \\*sam\\*" in record
    assert "- Approver: \\[alice\\](http://x)" in record and "# Incident inc-\\<1\\>: main" in record
    tokens = [t for t in MarkdownIt("commonmark").parse(record) for t in [t, *(t.children or [])]]
    assert not [t for t in tokens if t.type in ("html_block", "html_inline", "fence", "code_block", "link_open",
                                                 "em_open", "strong_open")]
    assert [t.tag for t in tokens if t.type == "heading_open"].count("h1") == 1     # the record's own title
    rendered = MarkdownIt("commonmark").render(record)
    assert "&lt;/details&gt; ``` &lt;script&gt;alert(1)&lt;/script&gt;" in rendered


def test_the_journal_stores_no_control_character_whoever_writes(tmp_path):
    with Journal.create(tmp_path / "inc", incident_id="inc", cluster="main") as journal:
        stored = journal.append("action", f"ran {EVIL_NAME}", seat="operator", author=EVIL_NAME,
                                data={"output": "\x1b[31mred\x1b[0m\nok", "argv": ["x\x07"]})
    assert stored.author == "ev\\x1b]0;pwned\\x07il\\x1b[2J" and stored.text == "ran ev\\x1b]0;pwned\\x07il\\x1b[2J"
    assert stored.data == {"output": "\\x1b[31mred\\x1b[0m\nok", "argv": ["x\\x07"]}


# -- real processes --------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]                # closed once the socket is: connecting is refused at once


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "clusters.toml"
    nodes = "".join(f'[[clusters.hostile.nodes]]\nname = "n{i}"\ndsn = "postgresql://cockpit@127.0.0.1:'
                    f'{_closed_port()}/postgres"\n' for i in (1, 2))
    path.write_text('[clusters.hostile]\napprovers = ["alice", "bob"]\n[clusters.hostile.sampling]\n'
                    "connect_timeout_s = 0.5\nstatement_timeout_s = 0.5\n" + nodes)
    return path


def _cockpit(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, cwd=ROOT, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert b"Traceback" not in proc.stdout + proc.stderr, (proc.stdout + proc.stderr).decode()
    return proc


def test_a_hostile_operator_reaches_no_terminal_through_drill_record_or_record_md(config, tmp_path):
    incident = tmp_path / "inc"
    drill = _cockpit("drill", str(config), "--incident", str(incident), "--operator", EVIL_NAME,
                     "--approver", "alice")
    assert drill.returncode == 1 and b"no standby can be promoted" in drill.stdout       # stopped at stage 1
    assert b"operator: ev\\x1b]0;pwned\\x07il\\x1b[2J" in drill.stdout                    # said, escaped
    with Journal.open(incident) as journal:                          # a note pasted some other way: the journal
        journal.append("note", f"{EVIL_NOTE}\n{BREAKOUT}", seat="scribe", author=EVIL_NAME)   # escapes it too
    record = _cockpit("record", str(incident))
    assert record.returncode == 0 and b"ev\\x1b\\]0;pwned\\x07il\\x1b\\[2J" in record.stdout
    assert b"order-A order-B \\x1b\\[31m order-C\n  line two\\x07    end\n  line three \\x9b\\x7f" in record.stdout
    assert b"\\</details\\> \\`\\`\\` \\<script\\>" in record.stdout
    for output in (drill.stdout, drill.stderr, record.stdout, record.stderr, (incident / "record.md").read_bytes()):
        assert control_characters(output) == []


def test_a_refused_name_is_one_line_and_exit_2_and_a_refused_approver_prints_no_control_byte(config, tmp_path):
    incident = tmp_path / "inc"
    for option in ("--operator", "--approver"):
        proc = _cockpit("drill", str(config), "--incident", str(incident), option, "olga\nsam")
        assert proc.returncode == 2 and proc.stdout == b""
        assert proc.stderr == f"failover-cockpit: {option}: a name is one line, and this one holds a line break\n".encode()
    proc = _cockpit("run", str(config), "--incident", str(incident), "--name", "x" * (NAME_MAX + 1))
    assert proc.returncode == 2 and proc.stderr.decode().startswith(f"failover-cockpit: --name: {NAME_MAX + 1} characters")
    proc = _cockpit("tmux", str(config), "--incident", str(incident), "--scribe", "  ", "--no-attach")
    assert proc.returncode == 2 and proc.stderr == b"failover-cockpit: --scribe: a name is needed, and this one is empty\n"
    assert not incident.exists()                                     # refused before anything was created
    proc = _cockpit("train", "clean-crash", "--trainee", "olga\x1b[2J\nsam")
    assert proc.returncode == 2 and proc.stderr == b"failover-cockpit: --trainee: a name is one line, and this one " \
                                                    b"holds a line break\n"
    proc = _cockpit("drill", str(config), "--incident", str(incident), "--operator", EVIL_NAME,
                    "--approver", "\x1b[2Jmallory\x07")
    assert proc.returncode == 1 and b"is not an approver of this cluster" in proc.stdout
    assert control_characters(proc.stdout + proc.stderr) == []
