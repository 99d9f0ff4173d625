"""SignalsStrip: the firing signals, newest first, one line each with its figure."""

from __future__ import annotations

from textual.widgets import Static

MARK = {"primary_unreachable": "✗", "primary_restarts": "↻", "app_path_writable": "⇄", "pooler_waiting": "⧗",
        "rto_budget": "⏱", "infrastructure_event": "⚑"}


def strip_lines(signals: list, warnings: list[str] = ()) -> list[str]:
    """The strip's lines: each firing signal (``checks.observe.signals.Signal``, newest first) with its
    mark, then each warning. (A widget never imports the signal sources, not even for a type.)"""
    lines = [f"{MARK.get(s.name, '●')} {s.name}: {s.text}" for s in signals]
    return lines + [f"! {w}" for w in warnings]


class SignalsStrip(Static):
    """Hidden while nothing fires; otherwise as many lines as fit (3 on a short terminal, 6 on a tall one)."""

    HELP = """\
### Signals strip

Under the header, one line per **firing signal**, newest first: the evidence that justifies
evaluating a failover, or not. `✗ primary_unreachable` (the bastion cannot reach the primary, how
long, and why: refused, timeout, reset; a server that refuses the login is up, and never shows
here), `↻ primary_restarts` (a start in the last 5 minutes, or a crash loop: 3 starts in 10
minutes), `⇄ app_path_writable` (a new client through a PgBouncer, or Odoo's `/web/health` and
probe login, cannot write, with the error Odoo's workers see), `⧗ pooler_waiting` (clients queued
in PgBouncer and the longest wait: during a cutover, the stall Odoo feels), `⏱ rto_budget` (time
since the first bad signal and what is left of the RTO), `⚑ infrastructure_event` (what the
configured infrastructure command reports). `!` lines are warnings about a signal's source (an
infrastructure command that printed something that is not JSON). Hidden while nothing fires.
"""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.lines: list[str] = []

    def show(self, signals: list, warnings: list[str] = ()) -> None:
        lines = strip_lines(signals, list(warnings))
        if lines == self.lines:
            return
        self.lines = lines
        self.update("\n".join(lines))
        self.set_class(bool(lines), "-active")
