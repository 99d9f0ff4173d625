"""EvaluateModal: the first decision, fail over or not yet, shown with what justifies it.

The runbook starts before stage 0: the signals firing now, and the freshness of each standby
("always measure replication lag first"). The operator answers **y** (fail over) or **n** (not
yet); **escape** decides nothing and journals nothing. The lines are the caller's sentences:
this widget never samples anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

FAIL_OVER = "fail_over"
NOT_YET = "not_yet"


class EvaluateModal(ModalScreen[str | None]):
    """Dismisses with ``"fail_over"``, ``"not_yet"``, or None (escape: nothing decided)."""

    HELP = """\
### Evaluate: fail over?

The first decision of the runbook, before stage 0. Above: the signals firing now
(newest first), then what each standby holds (its WAL, replay delay and the data at risk):
a failover is a data-risk decision, so the lag is measured first.

- **y** decides to fail over: journaled with these signals and the standbys' freshness,
  sampled again as it is journaled; the runbook goes on to stage 0's roles and freeze.
- **n** decides not yet (you may give a reason): nothing past stage 0 runs until someone
  evaluates again.
- **escape** closes this and decides nothing.
"""

    BINDINGS = [
        Binding("y", "answer('fail_over')", "Fail over"),
        Binding("n", "answer('not_yet')", "Not yet"),
        Binding("escape", "answer(None)", "Decide nothing"),
    ]
    AUTO_FOCUS = "#not-yet"

    def __init__(self, signals: Sequence[str], standbys: Sequence[str], *, headline: str = "") -> None:
        super().__init__()
        self.signals = list(signals)
        self.standbys = list(standbys)
        self.headline = headline

    def compose(self) -> ComposeResult:
        with Vertical(id="evaluate-dialog"):
            yield Static("Evaluate: fail over now?", id="evaluate-question")
            with VerticalScroll(id="evaluate-body"):
                if self.headline:
                    yield Static(self.headline, id="evaluate-headline")
                yield Static("Signals firing:", classes="evaluate-label")
                yield Static("\n".join(f"• {line}" for line in self.signals) or "• none: nothing the cockpit watches "
                             "is bad news (a planned switchover, or a fault it cannot see)", id="evaluate-signals")
                yield Static("Standbys, measured first:", classes="evaluate-label")
                yield Static("\n".join(f"• {line}" for line in self.standbys) or "• no standby is sampled yet",
                             id="evaluate-standbys")
            with Horizontal(id="evaluate-answers"):
                yield Button("Fail over (y)", id="fail-over", variant="error", compact=True)
                yield Button("Not yet (n)", id="not-yet", variant="primary", compact=True)

    def action_answer(self, answer: str | None) -> None:
        self.dismiss(answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(FAIL_OVER if event.button.id == "fail-over" else NOT_YET)
