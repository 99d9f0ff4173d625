"""checks.errors.error_line: the one rule for an exception's line in a sentence. Every exception
gets words, never an empty string, an IndexError, an errno string or a repr; and no module of the
cockpit reads an exception's first line by hand (the rule lives here)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from checks.errors import error_line

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("exc, words", [
    (ValueError("first line\nsecond line"), "first line"),
    (ValueError("\n   \n  the real line  \n"), "the real line"),
    (ConnectionResetError(), "the connection was lost"),
    (ConnectionRefusedError(), "the connection was refused"),
    (asyncio.TimeoutError(), "timed out"),
    (TimeoutError(), "timed out"),
    (EOFError(), "the connection closed before an answer"),
    (OSError(28, "No space left on device"), "No space left on device"),
    (FileNotFoundError(2, "No such file or directory", "/tmp/x"), "No such file or directory: /tmp/x"),
    (KeyError("nodes"), "the key nodes is missing"),
    (KeyError(), "a required key is missing"),
    (RuntimeError(), "an error with no message (RuntimeError)"),
])
def test_every_exception_gets_words(exc, words):
    assert error_line(exc) == words


def test_no_module_reads_an_exceptions_first_line_by_hand():
    """``str(exc).splitlines()[0]`` raises IndexError on an exception without a message (a promotion
    that met a bare ConnectionResetError would have crashed the action): error_line is the rule."""
    by_hand = re.compile(r"str\(exc\)(\.strip\(\))?\.splitlines\(\)\[0\]")
    allowed = {"checks/config/conninfo.py", "checks/observe/libpq.py"}    # libpq's own text, own fallback
    files = [p for d in ("checks", "tui", "widgets", "cli", "lab") for p in (ROOT / d).rglob("*.py")]
    found = [str(p.relative_to(ROOT)) for p in files
             if by_hand.search(p.read_text()) and str(p.relative_to(ROOT)) not in allowed]
    assert found == []
