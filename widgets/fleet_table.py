"""FleetTable: one row per cluster of the fleet, worst first; Enter on a row opens its cockpit.

It draws :class:`~checks.observe.fleet.FleetRow` values handed to :meth:`FleetTable.show` and opens
nothing itself. Under 120 columns it abbreviates (the verdict in four letters, the sentence cut to
what fits); from 120 on it names every column in full; where the sentence has 60 columns or more
(200 columns in all) it is whole, wrapped: every problem and error in full.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from checks.observe.fleet import FleetRow
from checks.observe.lsn import human_bytes, human_seconds

WIDE_FROM = 120
"""From this many columns the table names every column in full."""
WRAP_FROM = 60
"""From this many columns for the sentence (200 columns give about 100), it is whole, wrapped."""

SHORT_VERDICT = {"critical": "CRIT", "unknown": "UNKN", "warning": "WARN", "ok": "ok"}
VERDICT_STYLE = {"critical": "bold white on red", "unknown": "bold black on magenta",
                 "warning": "bold black on yellow", "ok": "green"}
HELD = "◆"
"""Marks a cluster whose incident this fleet holds open (Escape came back from its cockpit)."""

# (key, compact label, compact width, wide label, wide width); the cluster's and the sentence's
# widths are what is left (the cluster's capped), set by FleetTable._layout. Each cell starts with the
# one space that separates it from the cell before (no cell padding: 80 columns hold nine columns).
COLUMNS = (
    ("verdict", "", 5, "verdict", 9),
    ("cluster", "cluster", 0, "cluster", 0),
    ("primary", "primary", 9, "primary", 16),
    ("nodes", "up", 4, "nodes up", 9),
    ("delay", "replay", 7, "replay delay", 13),
    ("risk", "at risk", 8, "data at risk", 13),
    ("split", "split", 6, "split brain", 12),
    ("bad", "bad", 6, "bad for", 10),
    ("what", "what", 0, "what", 0),
)
SCROLLBAR = 2


def short_duration(seconds: float | None) -> str:
    """45s, 12m, 3h05m, 2d04h: at most five characters."""
    if seconds is None:
        return ""
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def short_bytes(n: int | None) -> str:
    """24MB, 512kB, 1.5GB: at most six characters."""
    if n is None:
        return ""
    text = human_bytes(n)
    number, _, unit = text.partition(" ")
    if "." in number and float(number) >= 10:
        number = number.split(".")[0]
    return number + unit


def _delay(seconds: float | None, wide: bool) -> str:
    if seconds is None:
        return ""
    return human_seconds(seconds) if wide or seconds < 10 else short_duration(seconds)


def middle_cut(name: str, width: int | None) -> str:
    """A name cut in the middle to ``width`` (its start and its end tell clusters apart: odoo-…mer-07)."""
    if width is None or len(name) <= width or width < 5:
        return name
    head = (width - 1) // 2
    return f"{name[:head]}…{name[len(name) - (width - 1 - head):]}"


def row_texts(row: FleetRow, now: datetime, *, wide: bool, held: bool = False, wrap: bool = False,
              name_width: int | None = None) -> dict[str, Text]:
    """Every cell of one row, as the table shows it at this width; with ``wrap`` the sentence is
    whole, on as many lines as it takes; the cluster's name is cut in the middle to ``name_width``."""
    verdict = row.verdict if row.sampled else "waiting"
    word = verdict if wide else SHORT_VERDICT.get(verdict, "…")
    primary = row.primary or ("+".join(row.writable) if row.split_brain and row.writable else "none")
    if not row.sampled:
        primary = ""
    if wide:
        split = "SPLIT BRAIN" if row.split_brain else ("no" if row.sampled else "")
        bad_s = row.bad_for_s(now)
        bad = "" if bad_s is None else short_duration(bad_s) if bad_s < 60 else human_seconds(int(bad_s))
        what = row.error or row.problem or ""
        risk = human_bytes(row.data_risk_bytes) if row.data_risk_bytes is not None else ""
    else:
        split = "SPLIT" if row.split_brain else ""
        bad = short_duration(row.bad_for_s(now))
        what = f"unreachable: {row.cause}" if row.cause else (row.error or row.problem or "")
        risk = short_bytes(row.data_risk_bytes)
    cells = {
        "verdict": Text(word, style=VERDICT_STYLE.get(verdict, "dim")),
        "cluster": Text(f"{HELD} " * held + middle_cut(row.cluster, name_width and name_width - 2 * held),
                        style="bold" if row.severity else ""),
        "primary": Text(primary, style="bold red" if row.split_brain else ("red" if primary == "none" else "")),
        "nodes": Text(f"{row.reachable}/{row.nodes}" if row.sampled else "",
                      style="red" if row.sampled and row.reachable < row.nodes else ""),
        "delay": Text(_delay(row.replay_delay_s, wide)),
        "risk": Text(risk),
        "split": Text(split, style="bold red" if row.split_brain else "dim"),
        "bad": Text(bad, style="yellow" if bad else ""),
        "what": Text(what, style="red" if row.error else ("dim" if not row.sampled else "")),
    }
    for key, cell in cells.items():
        cell.pad_left(1)
        cell.no_wrap = not (wrap and key == "what")
        cell.overflow = "fold" if not cell.no_wrap else "ellipsis"
    return cells


def _same(a: Text | None, b: Text) -> bool:
    return a is not None and (a.plain, a.style) == (b.plain, b.style)


class FleetTable(DataTable):
    """The fleet, one row per cluster (its key the cluster's name), worst first."""

    HELP = """\
### Fleet

One row per cluster of the config, worst first: **critical** (a split brain first), then
**unknown** (not proven broken: a round that could not judge it, or nobody answers), **warning**,
**ok**. Columns: the verdict (`CRIT`, `UNKN`, `WARN`, `ok`; `…` until its first round comes back),
the cluster (`◆`: this fleet holds its incident open), its **primary** (the one writable node;
`none`, or every writer joined by `+` in a split brain), **up** (nodes answering of those
configured), the worst **replay delay** and the largest **data at risk** (WAL the standby never
received) among its standbys, **split** brain (more than one writable node, or an old primary back
on an older timeline), how long it has been **bad** (since the first round whose verdict was not ok),
and **what**: the round's first problem, or why it cannot be reached. Under 120 columns the
verdicts and sizes are abbreviated and a long cluster name is cut in the middle (`odoo-…mer-07`); the sentence is cut to fit until it has 60 columns of its own
(about 180 columns in all), and is whole from there on. **up**/**down** move, **enter** opens the cluster's
cockpit in a new incident (or the one this fleet already opened for it).
"""

    BINDINGS = [Binding("enter", "select_cursor", "Open cockpit")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, cell_padding=0)
        self.rows_shown: list[FleetRow] = []
        self._cells: dict[str, dict[str, Text]] = {}
        self._order: list[str] = []
        self._widths: tuple[int, ...] = ()
        self._wide = False
        self._wrap = False
        self._made: dict[str, tuple[tuple, dict[str, Text]]] = {}
        self._now: datetime | None = None
        self._held: frozenset[str] = frozenset()

    @property
    def selected_cluster(self) -> str | None:
        """The cluster under the cursor (None on an empty table)."""
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self._order[self.cursor_row]

    def select_cluster(self, name: str | None) -> None:
        if name in self._order:
            self.move_cursor(row=self._order.index(name), animate=False)

    def show(self, rows: Iterable[FleetRow], now: datetime, held: Iterable[str] = ()) -> None:
        """Show these rows (already worst first) as of ``now``; only the cells that changed are redrawn."""
        self.rows_shown, self._now, self._held = list(rows), now, frozenset(held)
        self._fill()

    def on_resize(self) -> None:
        self._fill()

    def _layout(self) -> bool:
        """Set the columns for this width; True when they changed (every row is then added again)."""
        width = self.size.width or self.app.size.width
        wide = width >= WIDE_FROM
        fixed = [c[4] if wide else c[2] for c in COLUMNS]
        # wrapped, the rows' height is not known here: from 120 columns the scroll bar's room is kept
        tall = len(self.rows_shown) + 1 > (self.size.height or self.app.size.height)
        scrollbar = SCROLLBAR if wide or tall else 0
        room = width - sum(fixed) - scrollbar
        longest = max([len(r.cluster) + (2 if r.cluster in self._held else 0) for r in self.rows_shown] + [7]) + 1
        name = max(8, min(longest, 29 if wide else 13, room - 12))
        widths = tuple(name if c[0] == "cluster" else max(8, room - name) if c[0] == "what" else w
                       for c, w in zip(COLUMNS, fixed))
        if widths == self._widths and wide == self._wide and self.columns:
            return False
        self._widths, self._wide = widths, wide
        self._wrap = wide and widths[-1] >= WRAP_FROM
        self.clear(columns=True)
        for (key, short, _, long, _), w in zip(COLUMNS, widths):
            self.add_column(Text(" " + (long if wide else short)), width=w, key=key)
        self._order, self._cells = [], {}
        return True

    def _texts(self, row: FleetRow) -> dict[str, Text]:
        """The row's cells, made again only when what they show changed (a round of the same facts,
        or another second of an ok cluster, changes nothing)."""
        bad = int(row.bad_for_s(self._now) or -1)
        name_width = self._widths[1] - 1 if self._widths else None        # less the separating space
        key = (tuple(v for k, v in row.__dict__.items() if k != "observed_at"), bad, row.cluster in self._held,
               self._wide, self._wrap, name_width)
        made = self._made.get(row.cluster)
        if made is None or made[0] != key:
            made = (key, row_texts(row, self._now, wide=self._wide, held=row.cluster in self._held, wrap=self._wrap,
                                   name_width=name_width))
            self._made[row.cluster] = made
        return made[1]

    def _fill(self) -> None:
        if self._now is None:
            return
        chosen = self.selected_cluster
        self._layout()
        cells = {r.cluster: self._texts(r) for r in self.rows_shown}
        order = [r.cluster for r in self.rows_shown]
        # wrapped, a changed sentence may need another height: the rows are added again
        rewrap = self._wrap and any(not _same(self._cells.get(n, {}).get("what"), cells[n]["what"]) for n in order)
        if order != self._order or rewrap:
            self.clear()
            for name in order:
                self.add_row(*cells[name].values(), key=name, height=None if self._wrap else 1)
            self._order = order
            self.select_cluster(chosen)
        else:
            for name in order:
                old = self._cells.get(name, {})
                for key, text in cells[name].items():
                    if not _same(old.get(key), text):
                        self.update_cell(name, key, text)
        self._cells = cells
