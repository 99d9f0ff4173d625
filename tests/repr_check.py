"""Finding Python ``repr`` text where a person reads a sentence (issue 14: every text a person reads is a sentence).

:func:`repr_fragments` returns the repr-looking fragments of a text: a model's repr
(``StageState(number=4, ...)``), pydantic's ``str()`` of one (``name='fence' ok=True``), a dict
(``{'approver': ...}``), a tuple or list field (``argv=(...)``), an address tuple
(``('127.0.0.1', 5432)``), a default ``object.__repr__`` (``<checks.x.Y object at 0x...>``), a
traceback, a ``datetime.datetime(...)``, and Python's ``None``/``True``/``False`` standing where a
word or a figure belongs ("received None", "in recovery: True"). Normal sentences pass:
"RTO 1.2 s (from the first bad signal)", "node1 (timeline 2)", "type its name exactly ('node2')".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((why, re.compile(rx)) for why, rx in (
    ("a model's repr", r"\b[A-Z]\w*\(\w+="),
    ("a dict's repr", r"\{'"),
    ("a dict's key", r"[,{] ?'\w[\w .-]*': "),
    ("a field's repr", r"\b[a-z_]\w*=(?:'|\"|None\b|True\b|False\b)"),
    ("a tuple or list field", r"\w=[(\[{]"),
    ("a tuple's repr", r"\('[^'\n]*', "),
    ("an object's repr", r"<(?:checks|cli|tui|widgets|lab|asyncpg|pydantic)\.[\w.]+"),
    ("an object's repr", r"object at 0x[0-9a-f]+"),
    ("a traceback", r"Traceback \(most recent call last\)"),
    ("a datetime's repr", r"\bdatetime\.(?:datetime|date|timedelta|timezone)\("),
    ("a Python literal", r"(?<=[a-z:,(=] )(?:None|True|False)\b"),
))


def repr_fragments(text: str) -> list[str]:
    """Each repr-looking fragment of ``text`` with why it looks so (``"a dict's repr: {'approver"``); [] when clean."""
    found = []
    for why, pattern in PATTERNS:
        for m in pattern.finditer(text or ""):
            start, end = max(0, m.start() - 20), min(len(text), m.end() + 20)
            found.append(f"{why}: ...{text[start:end]}...")
    return found


def strings_in(value: Any) -> Iterator[str]:
    """Every string inside a journal event's ``data`` (keys are names, not text: left out)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from strings_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from strings_in(v)


def reprs_in(texts: Iterable[tuple[str, str]]) -> list[str]:
    """``(where, text)`` pairs in; one line per repr fragment found, naming where it was (each line once)."""
    return list(dict.fromkeys(f"{where}: {fragment}" for where, text in texts for fragment in repr_fragments(text)))
