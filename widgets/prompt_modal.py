"""A question with an answer field: a name, a reason, an attestation."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from checks.config.text import TextRefused
from widgets.lines_input import LinesInput, lines_of


def one_line(answer: str) -> str:
    """The default check: an answer is one line (a pasted break would be silently part of a name)."""
    if "\n" in answer:
        raise TextRefused("the answer is one line, and this one holds a line break")
    return answer


class PromptModal(ModalScreen[str | None]):
    """Ask for text; Enter answers (an empty answer only when ``allow_empty``), escape cancels.

    ``check`` turns the answer into what is returned (e.g. :func:`checks.config.text.clean_name`) or raises
    TextRefused: its sentence shows under the field and the answer stays there to be fixed. A
    paste keeps all its lines (:class:`~widgets.lines_input.LinesInput`); without a ``check`` the
    answer must be one line."""

    HELP = "Type the answer and press Enter; escape cancels and nothing happens."
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PromptModal { align: center middle; }
    PromptModal > Vertical { width: 70; max-width: 95%; height: auto; border: thick $accent; padding: 0 1;
                             background: $surface; }
    PromptModal .detail { color: $text-muted; }
    PromptModal .hint { color: $warning; }
    """

    def __init__(self, question: str, detail: str = "", *, default: str = "", allow_empty: bool = False,
                 check: Callable[[str], str] | None = None) -> None:
        super().__init__()
        self.check = check or one_line
        self.question = question
        self.detail = detail
        self.default = default
        self.allow_empty = allow_empty

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            if self.detail:
                yield Static(self.detail, classes="detail")
            yield LinesInput(value=self.default, id="answer")
            yield Static("", classes="hint", id="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        answer = lines_of(event.value).strip()
        if not answer and not self.allow_empty:
            self.query_one("#hint", Static).update("an answer is needed (escape cancels)")
            return
        try:
            answer = self.check(answer)
        except TextRefused as exc:
            self.query_one("#hint", Static).update(f"{exc} (escape cancels)")
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)
