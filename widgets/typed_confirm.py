"""TypedConfirmModal: a dangerous action confirmed only by typing the node's name exactly."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class TypedConfirmModal(ModalScreen[bool]):
    """Names the action, what it will do and the data risk; dismisses True only once the
    node's name is typed exactly, False on escape."""

    HELP = """\
### Typed confirmation

Before an action that cannot be taken back (promoting a standby, fencing a node) the
cockpit shows what it will do and the data-risk statement, and asks you to **type the
node's name**. Only the exact name confirms (**enter**); anything else says so and
waits. **escape** cancels: nothing is run.
"""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "#typed-input"

    def __init__(
        self, action: str, node: str, *, effects: str | Iterable[str] = (), data_risk: str | None = None,
    ) -> None:
        """``action``: one line (``Promote node2 to primary``); ``effects``: what it will do, a line
        or several; ``data_risk``: the statement of what it can lose."""
        super().__init__()
        self.action_text = action
        self.node = node
        self.effects = [effects] if isinstance(effects, str) else list(effects)
        self.data_risk = data_risk

    def compose(self) -> ComposeResult:
        with Vertical(id="typed-dialog") as dialog:
            dialog.border_title = "dangerous action"
            yield Static(Text(self.action_text), id="typed-action")
            if self.effects:
                yield Static(Text("\n".join(f"• {line}" for line in self.effects if line)), id="typed-effects")
            if self.data_risk:
                yield Static(Text(f"data risk: {self.data_risk}"), id="typed-risk")
            yield Static(Text.assemble("Type ", (self.node, "bold"), " to confirm:"), id="typed-prompt")
            yield Input(placeholder=self.node, id="typed-input")
            yield Static("", id="typed-hint")
            yield Static("enter confirms · escape cancels", id="typed-keys")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.node and event.value == self.node:
            self.dismiss(True)
            return
        hint = self.query_one("#typed-hint", Static)
        hint.update(Text(f"type {self.node} exactly" if self.node else "no node named: nothing to confirm"))
        hint.set_class(True, "-active")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()

    def action_cancel(self) -> None:
        self.dismiss(False)
