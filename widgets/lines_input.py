"""LinesInput: a one-line Input that keeps every line of a paste.

Textual's ``Input`` keeps only the first line of a paste and drops the rest without a word.
This one inserts the whole paste: each line break shown as :data:`LINE_MARK` (the mark the
timeline uses for a line break) and every control character as a visible escape
(:func:`checks.config.text.visible`: ESC reads ``\\x1b``), in place and in order. :func:`lines_of`
turns the marks back into line breaks when the text is sent, so a pasted note journals with
all its lines. (A ``↵`` typed by hand is a line break too.)

What the terminal sends is not always what was pasted: Textual's parser (``_xterm_parser``)
reads an ESC inside a bracketed paste as the start of an escape sequence and hands the
characters after it to the app as key presses (the ESC itself as ``^``) *before* the paste
event with the text before it, so ``A B \\e[31m C`` arrives as ``^[31m CA B``. That happens
below the widget; what arrives here is made safe and kept whole.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from checks.config.text import visible

LINE_MARK = "↵"


def marked(text: str) -> str:
    """Pasted text as the input shows it: control characters escaped, line breaks as marks."""
    return visible(text).replace("\n", LINE_MARK)


def lines_of(value: str) -> str:
    """The input's value with its marks back as line breaks."""
    return value.replace(LINE_MARK, "\n")


class LinesInput(Input):
    """An Input whose paste keeps all its lines (as :data:`LINE_MARK`) and shows no control character raw."""

    def _on_paste(self, event: events.Paste) -> None:
        event.prevent_default()          # Input's own handler would insert the first line only
        event.stop()
        if not event.text:
            return
        text = marked(event.text)
        selection = self.selection
        if selection.is_empty:
            self.insert_text_at_cursor(text)
        else:
            self.replace(text, *selection)
