"""HelpScreen: the key bindings and what every part of the screen shows."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen


def keys_table(keys: Iterable[tuple[str, str]]) -> str:
    """``[("q", "Quit")]`` -> a markdown table of keys."""
    rows = ["| key | does |", "| --- | --- |"]
    rows += [f"| `{key}` | {what} |" for key, what in keys]
    return "\n".join(rows)


class HelpScreen(ModalScreen[None]):
    """A modal page of help: the keys first, then each widget's HELP text."""

    HELP = """\
### Help

This page. **escape** or **q** closes it; arrows and page keys scroll.
"""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("q", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, keys: Iterable[tuple[str, str]], sections: Iterable[str], *, title: str = "Help") -> None:
        super().__init__()
        self.keys = list(keys)
        self.sections = list(sections)
        self.help_title = title

    def compose(self) -> ComposeResult:
        # Imported here: the Markdown widget brings markdown-it (~0.1 s), paid on the first "?"
        # rather than on every cockpit start (first_frame_s in bench/run).
        from textual.widgets import Markdown

        text = "\n\n".join(["### Keys", keys_table(self.keys), *self.sections])
        body = VerticalScroll(id="help-body")
        body.border_title = self.help_title
        body.border_subtitle = "escape or q closes · arrows scroll"
        with body:
            yield Markdown(text)

    def action_close(self) -> None:
        self.dismiss(None)
