"""A node that does not answer, on its panel: UNREACHABLE with its cause, or FENCED with what the fence did.

At 80x24 a panel is 22 columns by 8 rows: the role, what is known of writes (unknown, or the
fence sentence), the cause in a word (``refused``, ``timeout``, ``login refused``:
:func:`checks.observe.error_cause.error_cause`), what the node last was; the error in full
follows on lines of its own, wrapped, where the panel is taller.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.text import Text

from checks.observe.assess import NodeView
from checks.observe.error_cause import error_cause
from widgets.node_values import ROLE_TITLES

Row = Callable[..., Text]
Styles = Callable[[str], Style]


def down_state(view: NodeView, style: Styles) -> Text:
    """Under the role word: ``writes: unknown`` (unreachable is not dead), or the fence that decided it."""
    if view.fence is not None:
        return Text(view.fence.sentence(), style=style("muted"))
    return Text("writes: unknown", style=style("warn"))


def down_rows(view: NodeView, row: Row, last: NodeView | None) -> list[Text]:
    """The cause, what it last was when it answered, what the fence ran, then the error in full."""
    s = view.sample
    rows = [row("cause", "cause", error_cause(s.error), "bad")]
    if last is not None:
        rows.append(row("last ok", "last answered", f"{last.sample.observed_at:%H:%M:%S}Z", "muted"))
        rows.append(row("  was", "  as", ROLE_TITLES.get(last.role, last.role), "warn"))
        rows.append(row("  WAL", "  WAL LSN", last.sample.wal_lsn or "?", "muted"))
    fence = view.fence
    if fence is not None:
        rows.append(row("ran", "fence ran", fence.command, "muted"))
        if fence.author:
            rows.append(row("by", "fenced by", fence.author + (f" in {fence.duration_ms:.0f} ms"
                                                                if fence.duration_ms is not None else ""), "muted"))
    rows.append(row("error", "error", s.error or "no answer", "bad"))     # wrapped in full where there is room
    return rows


def down_detail(view: NodeView, style: Styles) -> list[Text]:
    """Shown at every size, under the facts: what to do about it."""
    if view.fence is not None:
        return [Text("fenced as this incident decided: bring it back as a standby of the new primary with "
                     "re-protect (key h)", style=style("muted"))]
    return [Text("unreachable is not dead: fence it or have it attested powered off before promoting "
                 "another node", style=style("warn"))]
