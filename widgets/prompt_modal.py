"""A one-line question with an answer field: a name, a reason, an attestation."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class PromptModal(ModalScreen[str | None]):
    """Ask for one line of text; Enter answers (an empty answer only when ``allow_empty``), escape cancels."""

    HELP = "Type the answer and press Enter; escape cancels and nothing happens."
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PromptModal { align: center middle; }
    PromptModal > Vertical { width: 70; max-width: 95%; height: auto; border: thick $accent; padding: 0 1;
                             background: $surface; }
    PromptModal .detail { color: $text-muted; }
    PromptModal .hint { color: $warning; }
    """

    def __init__(self, question: str, detail: str = "", *, default: str = "", allow_empty: bool = False) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.default = default
        self.allow_empty = allow_empty

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            if self.detail:
                yield Static(self.detail, classes="detail")
            yield Input(value=self.default, id="answer")
            yield Static("", classes="hint", id="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        answer = event.value.strip()
        if not answer and not self.allow_empty:
            self.query_one("#hint", Static).update("an answer is needed (escape cancels)")
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)
