"""Text people type, paste or pass on the command line: made safe once, where it enters.

A name (operator, scribe, approver, ``--name``) or a note (notes, decisions, status updates,
TODOs, reasons, attestations, the note given with an approval) can hold terminal control
sequences: ``ESC ] 0 ; ... BEL`` retitles the terminal of whoever reads the record later,
``ESC [ 2 J`` clears it. Every such character is shown as a visible escape *in place*, order
kept: ESC becomes the four characters ``\\x1b``, BEL ``\\x07``, DEL ``\\x7f``, a C1 character
``\\x9b``; the Unicode line and paragraph separators and the bidirectional overrides (which
reorder what a reader sees) become ``\\u2028``-style escapes. A tab becomes spaces.

- :func:`clean_name`: one line (a line break is refused: a name is compared with the config's
  approvers and shown on one line, and a break in it is a paste gone wrong, never part of a
  name), stripped, not empty, at most :data:`NAME_MAX` characters.
- :func:`clean_text`: line breaks kept (``\\r\\n`` and a lone ``\\r`` become ``\\n``), stripped,
  at most :data:`TEXT_MAX` characters.
- :func:`visible`: the escaping alone, for text from anywhere (the journal applies it to every
  entry: server errors and command output are not typed by people but reach the record too).

Both ``clean_*`` functions are idempotent (an escape is printable text), so text cleaned at the
screen and cleaned again by the operation is unchanged. A limit is measured after escaping and
is refused with :class:`TextRefused`, one sentence naming the field and the limit: text is
never cut silently. A typed ``\\x1b`` and an escaped ESC look the same: both are harmless text.
"""

from __future__ import annotations

import re
from typing import Any

from checks.errors import CockpitError

NAME_MAX = 64
TEXT_MAX = 4000
TAB = "    "

# C0 (except \t and \n, handled apart), DEL, C1; the Unicode line/paragraph separators (Python's
# splitlines breaks on them) and the bidirectional embeddings, overrides and isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK = re.compile("\r\n|\r|\n")


class TextRefused(CockpitError, ValueError):
    """Text that cannot be taken as given; the message is one sentence naming the field."""


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, multiline: bool = True) -> str:
    """``text`` with every control character shown as a visible escape, in place.

    Line breaks are kept as ``\\n`` when ``multiline`` (``\\r\\n`` and ``\\r`` become ``\\n``),
    otherwise escaped too (``\\x0a``); a tab becomes four spaces."""
    if "\t" not in text and _CONTROL.search(text) is None and (multiline or "\n" not in text):
        return text                        # the usual case (a record renders ten thousand of these)
    if multiline:
        text = _LINE_BREAK.sub("\n", text)
        return "\n".join(_CONTROL.sub(_escape, line.replace("\t", TAB)) for line in text.split("\n"))
    return re.sub("[\n\r]", _escape, _CONTROL.sub(_escape, text.replace("\t", TAB)))


def visible_data(value: Any) -> Any:
    """A copy of a JSON-like value with :func:`visible` applied to every string (keys too)."""
    if isinstance(value, dict):
        return {visible_data(k): visible_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [visible_data(v) for v in value]
    if isinstance(value, str):
        return visible(value)
    return value


def _check_length(text: str, field: str, limit: int) -> str:
    if len(text) > limit:
        raise TextRefused(f"{field}: {len(text)} characters, over the limit of {limit} (a control character "
                          "counts as its escape); shorten it: nothing was saved")
    return text


def clean_name(name: Any, field: str, *, required: bool = True) -> str:
    """A person's name, safe to journal and show; TextRefused (naming ``field``) when it is
    empty, longer than :data:`NAME_MAX`, or holds a line break. ``required=False``: no name
    (None or blank) is ``""``, for a gate to refuse with its own sentence."""
    if not required and (name is None or (isinstance(name, str) and not name.strip())):
        return ""
    if not isinstance(name, str):
        raise TextRefused(f"{field}: a name is text, not {type(name).__name__}")
    if _LINE_BREAK.search(name.strip()):
        raise TextRefused(f"{field}: a name is one line, and this one holds a line break")
    cleaned = visible(name.strip(), multiline=False).strip()
    if not cleaned:
        raise TextRefused(f"{field}: a name is needed, and this one is empty")
    return _check_length(cleaned, field, NAME_MAX)


def clean_text(text: Any, field: str, *, required: bool = False) -> str:
    """A note, reason or statement, safe to journal and show, its lines kept; TextRefused
    (naming ``field``) when longer than :data:`TEXT_MAX`, or empty and ``required``."""
    if not isinstance(text, str):
        raise TextRefused(f"{field}: expected text, not {type(text).__name__}")
    cleaned = "\n".join(line.rstrip() for line in visible(text).split("\n")).strip("\n").strip()
    if required and not cleaned:
        raise TextRefused(f"{field}: the text is needed, and this one is empty")
    return _check_length(cleaned, field, TEXT_MAX)


# -- markdown ---------------------------------------------------------------------------------

_MD_ANYWHERE = re.compile(r"[`*\[\]<>|]|~(?=~)|(?<=~)~|\\(?=[!-/:-@\[-`{-~])|&(?=[A-Za-z#])")
_MD_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_MD_LINE_START = re.compile(r"^(\s*)([#+=~-]|\d+(?=[.)]))")
# One line of printable ASCII holding none of the characters md escapes: unchanged by md (most
# text is; a record of ten thousand entries is rendered mostly through this test).
_MD_PLAIN = re.compile(r"[ !\"#$%'()+,\-./0-9:;=?@A-Z^a-z{}]*")


def md(text: Any, *, line_start: bool = False) -> str:
    """Text from anywhere, safe inside a markdown line (a list item, a heading, a table cell).

    Control characters are escaped (:func:`visible`) and every character markdown would read
    as markup is backslash-escaped: ``<``, ``>``, backticks, ``*``, ``_`` at a word's edge, ``[``,
    ``]``, ``|``, ``~~``, an entity's ``&``; so a note holding ``</details>`` or a code fence stays
    text. Line breaks are kept (``list_item`` indents them); every line after the first, and the
    first too when ``line_start``, also has a leading ``#``, ``-``, ``+``, ``=``, ``~`` or ``1.``
    escaped (a heading, a list, a setext underline, a fence)."""
    text = text if isinstance(text, str) else str(text)
    if not line_start and _MD_PLAIN.fullmatch(text):
        return text
    return _md_escaped(text, line_start)


def _md_escaped(text: str, line_start: bool) -> str:
    lines = visible(text).split("\n")
    out = []
    for i, line in enumerate(lines):
        line = _MD_UNDERSCORE.sub(r"\\_", _MD_ANYWHERE.sub(r"\\\g<0>", line))
        if i or line_start:
            line = _MD_LINE_START.sub(lambda m: m.group(1) + _lead(m.group(2)), line, count=1)
        out.append(line)
    return "\n".join(out)


def _lead(marker: str) -> str:
    return marker + "\\" if marker[0].isdigit() else "\\" + marker
