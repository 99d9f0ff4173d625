"""The checklist's words laid out to fit: stage marks, a label with its text wrapped under it, a seat's keys.

Pure layout on Rich text (no widget): the checklist hands the width it has. At 80x24 a runbook
pane is about 32 columns under a stage, so a gate sentence takes three lines and the operator's
keys at stage 0 (``⏎ s w k``) or after stage 5 (``z b h j``) take several; each key keeps its label
beside it and no line is cut.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

STATUS_MARKS = {
    "locked": ("🔒", "locked"),
    "open": ("▶", "open"),
    "passed": ("✓", "passed"),
    "overridden": ("⚑", "override"),
    "failed": ("✗", "failed"),
}
"""Glyph and word per stage status: the word is the signal, the glyph and colour repeat it."""

KEY_GAP = "  "
"""Between one key's label and the next key."""


def component_style(widget: Widget, name: str) -> Style:
    """A component class's colour (alpha blended, as the screen shows it) and text style; its
    background only when the component sets one, so it never paints over a highlighted row."""
    full = widget.get_component_rich_style(name)
    style = Style.from_color(full.color) + widget.get_component_rich_style(name, partial=True).without_color
    if widget.get_component_styles(name).has_rule("background"):
        style += Style.from_color(bgcolor=full.bgcolor)
    return style


def status_text(status: str) -> str:
    """``'✓ passed  '``: glyph and word in a field of 11 cells (the glyph takes two)."""
    glyph, word = STATUS_MARKS.get(status, ("?", status))
    return f"{glyph}{' ' * (2 - cell_len(glyph))} {word:<8}"


def key_pairs(keys: str, labels: str) -> list[tuple[str, str]] | None:
    """The seat's keys of a stage, each with its own label: ``("z b h j", "close / roll back / ...")``
    -> ``[("z", "close"), ("b", "roll back"), ...]``; ``("⏎ s w k", "next: set roles · set roles / ...")``
    puts Enter's step first (``("⏎ s", "set roles")`` when Enter runs one of the keys, else ``("⏎", ...)``).
    None when the keys and labels do not pair up."""
    parts = keys.split()
    pairs: list[tuple[str, str]] = []
    if parts and parts[0] == "⏎" and " · " in labels:
        head, labels = labels.split(" · ", 1)
        pairs.append(("⏎", head.removeprefix("next: ").strip()))
        parts = parts[1:]
    names = [label.strip() for label in labels.split(" / ")] if labels else []
    if len(names) != len(parts) or not parts:
        return None
    rest = list(zip(parts, names))
    if pairs and pairs[0][1] in names:       # Enter runs one of the keys: said once, as "⏎ s set roles"
        i = names.index(pairs[0][1])
        rest[i] = (f"⏎ {rest[i][0]}", rest[i][1])
        return [rest[i], *rest[:i], *rest[i + 1:]]
    return pairs + rest


def hanging(label: Text, body: Text, width: int, console: Console) -> Text:
    """``label`` then ``body`` wrapped to ``width`` cells, every further line indented under the body."""
    indent = label.cell_len
    room = max(8, width - indent)
    lines = body.wrap(console, room) if body.cell_len > room else [body]
    out = label.copy()
    for i, line in enumerate(lines):
        if i:
            out.append("\n" + " " * indent)
        line.rstrip()
        out.append_text(line)
    return out


def keys_line(label: Text, pairs: list[tuple[str, str]], width: int, console: Console, *,
              key_style: Style, text_style: Style = Style()) -> Text:
    """``label`` and the keys, each as `` z `` and its label, packed into lines of ``width`` cells: a key
    is never parted from its label, and a label too long for a line wraps under itself."""
    indent = label.cell_len
    room = max(8, width - indent)
    items: list[Text] = []
    for key, name in pairs:
        item = Text.assemble((f" {key} ", key_style), " ", (name, text_style))
        if item.cell_len <= room:
            items.append(item)
            continue
        head = Text.assemble((f" {key} ", key_style), " ")
        items.append(hanging(head, Text(name, style=text_style), room, console))
    lines: list[Text] = []
    for item in items:
        if lines and "\n" not in lines[-1].plain and "\n" not in item.plain and \
                lines[-1].cell_len + len(KEY_GAP) + item.cell_len <= room:
            lines[-1].append(KEY_GAP)
            lines[-1].append_text(item)
        else:
            lines.append(item.copy())
    out = label.copy()
    pad = "\n" + " " * indent
    for i, line in enumerate(lines):
        if i:
            out.append(pad)
        out.append_text(Text(pad).join(line.split("\n")) if "\n" in line.plain else line)
    return out
