"""PgBouncerPanel: one PgBouncer as Odoo's workers meet it: where each database points, whether a new
client writes through it, and who queues in it (the client-side stall of a cutover).

A widget only draws: it takes :class:`PoolLine` (plain data the app makes from each probe,
``tui/pooler_lines.py``), never the probe itself, whose module opens connections.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Static

from checks.observe.lsn import human_seconds
from widgets.node_values import LONG_LABELS_FROM

ROLE_WORDS = {"primary": "primary", "standby": "standby", "unreachable": "unreachable",
              "foreign": "another cluster", "duplicate": "a duplicate"}


def _ms(ms: float) -> str:
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


@dataclass(frozen=True)
class PoolLine:
    """One database of one PgBouncer, as the last probe saw it, in words and figures."""

    database: str
    upstream: str | None = None          # host:port its [databases] entry points at
    node: str | None = None              # the config's node that is (None: not a node of the config)
    node_role: str | None = None         # that node's role in the cockpit's view (primary, standby, ...)
    paused: bool = False
    connected: bool = False              # a new client got through and asked its question
    writable: bool | None = None         # what it landed on accepts writes (None: not known)
    error: str | None = None             # why the new client failed, in PgBouncer's or the server's words
    cl_active: int | None = None
    cl_waiting: int | None = None
    maxwait_s: float | None = None
    avg_wait_ms: float | None = None
    latency_ms: float | None = None

    @property
    def waiting(self) -> bool:
        return bool(self.cl_waiting)

    @property
    def failed(self) -> bool:
        """A new client cannot write through it: an error, a read-only server, or nothing known."""
        return not (self.connected and self.writable is True) and not self.paused


class PgBouncerPanel(Widget):
    """One configured PgBouncer: a block per database, and its admin console's error when it did not answer."""

    HELP = """\
### PgBouncer panels

After the node panels, one panel per configured PgBouncer (`[[clusters.X.pgbouncers]]`), one block
per database, from the app path probe (every `signals.interval_s`; the border's time is the last probe):

- **odoo → node1 (primary)**: the node its `[databases]` entry points at (`SHOW DATABASES`), with that
  node's role; **→ 10.0.0.9:5432, not a node of the config** when no node has that address. A node
  the bastion sees **unreachable** that a new client still writes to may be alive: fence it.
- **writes ✓**: a new client, as a new Odoo worker would, got through and landed on a server that
  accepts writes; **read-only ✗**: it landed on a server in recovery; otherwise **✗** and the error
  Odoo's workers see too (`pgbouncer cannot connect to server`, a timeout).
- **PAUSED**: the database is paused (`PAUSE`): a new client waits until `RESUME`, so none is tried.
- **clients** active, **waiting** (`cl_waiting`, **QUEUED** in yellow when any client waits) and
  **max wait** (`maxwait`, the oldest waiting client): during a cutover, the stall Odoo feels.
- **admin console did not answer**: `SHOW` could not be read; only the new client's path is known.

The border is **yellow** while clients queue or a database is paused, **red** when a new client cannot
write through it; the words say the same.
"""

    COMPONENT_CLASSES = {
        "pgbouncer-panel--label", "pgbouncer-panel--ok", "pgbouncer-panel--warn", "pgbouncer-panel--bad",
        "pgbouncer-panel--muted", "pgbouncer-panel--database",
    }

    def __init__(self, pgbouncer: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.pgbouncer = pgbouncer
        self.lines: tuple[PoolLine, ...] | None = None
        """What the last probe saw, per database; None before the first probe."""
        self.console_error: str | None = None
        self.border_title = pgbouncer
        self.add_class("-unprobed")

    def compose(self) -> ComposeResult:
        yield Static("not probed yet", id="pools")

    # -- public API ---------------------------------------------------------------

    def show(self, lines: tuple[PoolLine, ...], console_error: str | None = None) -> None:
        """Show one probe round of this PgBouncer (nothing redraws when it is what is shown); the app
        sets the border's subtitle to the probe's time."""
        lines = tuple(lines)
        if lines == self.lines and console_error == self.console_error:
            return
        self.lines, self.console_error = lines, console_error
        self._show()

    def text(self) -> str:
        """The panel's text as a person reads it (tests, and the plain-text view of the screen)."""
        return self.query_one("#pools", Static).render().plain if self.is_mounted else ""

    def on_resize(self, event: Resize) -> None:
        # after this layout pass: a Static updated during it keeps the height it had before
        self.call_after_refresh(self._show)

    # -- rendering ----------------------------------------------------------------

    def _style(self, name: str) -> Style:
        cache = self.__dict__.setdefault("_style_cache", {})
        if name not in cache:
            cache[name] = self.get_component_rich_style(f"pgbouncer-panel--{name}", partial=True)
        return cache[name]

    @property
    def _long(self) -> bool:
        return self.content_size.width >= LONG_LABELS_FROM

    def _row(self, short: str, long: str, value: str, style: str = "") -> Text:
        label = long if self._long else short
        text = Text(f"{label:<{14 if self._long else 9}}", style=self._style("label"))
        text.append(value, style=self._style(style) if style else "")
        return text

    def _show(self) -> None:
        if self.lines is None or not self.is_mounted:
            return
        self.__dict__["_style_cache"] = {}
        lines = self.lines
        failed = bool(self.console_error) or any(line.failed for line in lines)
        self.update_classes({"-unprobed": False, "-failed": failed,
                             "-waiting": not failed and any(line.waiting or line.paused for line in lines)})
        blocks: list[list[Text]] = []
        if self.console_error:
            blocks.append([Text(f"admin console did not answer: {self.console_error}", style=self._style("bad"))])
        if not lines:
            blocks.append([Text("no database in the probe", style=self._style("warn"))])
        # what each database means for Odoo, and a blank line between the blocks, where there are rows for them
        height = self.content_size.height
        full = blocks + [self._block(line) + self._meaning(line) for line in lines]
        if height < self._rows(full):
            full = blocks + [self._block(line) for line in lines]
        tall = height >= self._rows(full)
        self.query_one("#pools", Static).update(
            Text("\n\n" if tall else "\n").join(Text("\n").join(b) for b in full))

    def _rows(self, blocks: list[list[Text]]) -> int:
        """The rows ``blocks`` take, wrapped to the panel's width, with a blank line between them."""
        width = max(1, self.content_size.width)
        return sum(-(-t.cell_len // width) or 1 for b in blocks for t in b) + len(blocks) - 1

    def _block(self, line: PoolLine) -> list[Text]:
        rows = [self._heading(line), self._path(line)]
        row = self._row
        if self._long and line.upstream and line.node:
            rows.append(row("upstream", "upstream", line.upstream, "muted"))
        if line.cl_active is not None:
            rows.append(row("clients", "clients", f"{line.cl_active} active"))
        if line.cl_waiting is not None:
            rows.append(row("waiting", "waiting", f"{line.cl_waiting} QUEUED" if line.cl_waiting else "none",
                            "warn" if line.cl_waiting else "ok"))
        if line.maxwait_s is not None:
            rows.append(row("max wait", "max wait", human_seconds(line.maxwait_s),
                            "warn" if line.maxwait_s > 0 else "muted"))
        if self._long and line.avg_wait_ms is not None:
            rows.append(row("avg wait", "average wait", _ms(line.avg_wait_ms), "muted"))
        return rows

    def _meaning(self, line: PoolLine) -> list[Text]:
        """What the block means for Odoo, in a sentence or two (where the panel is tall enough)."""
        target = line.node or line.upstream or "a server this cockpit does not know"
        if line.paused:
            said = ["Odoo's new requests wait until RESUME", "warn"]
        elif line.connected and line.writable is True and line.node_role == "unreachable":
            said = [f"the bastion cannot reach {target}, Odoo writes to it: it may be alive, fence it", "bad"]
        elif line.connected and line.writable is True:
            said = [f"a new Odoo worker writes to {target}", "muted"]
        elif line.connected and line.writable is False:
            said = [f"Odoo's writes fail: {target} is in recovery", "bad"]
        elif line.connected:
            said = [f"whether {target} takes writes is not known", "warn"]
        else:
            said = ["Odoo's new workers meet this error too", "bad"]
        rows = [Text(said[0], style=self._style(said[1]))]
        if line.cl_waiting:
            rows.append(Text(f"{line.cl_waiting} client{'s' if line.cl_waiting != 1 else ''} wait for a server "
                             "connection: Odoo stalls", style=self._style("warn")))
        if line.upstream and not line.node:
            rows.append(Text(f"no node of the config is at {line.upstream}", style=self._style("warn")))
        return rows

    def _heading(self, line: PoolLine) -> Text:
        text = Text(line.database, style=self._style("database"))
        text.append(" → ")
        if line.node:
            role = ROLE_WORDS.get(line.node_role or "", line.node_role)
            text.append(f"{line.node} ({role})" if role else line.node,
                        style=self._style("ok" if line.node_role == "primary" else "warn"))
        elif line.upstream:
            text.append(f"{line.upstream}, not a node of the config", style=self._style("warn"))
        else:
            text.append("not known (no SHOW DATABASES)", style=self._style("warn"))
        return text

    def _path(self, line: PoolLine) -> Text:
        """Whether a new client writes through it, in words."""
        if line.paused:
            return Text("PAUSED: a new client waits" if not self._long else "PAUSED (PAUSE)",
                        style=self._style("warn") + Style(bold=True))
        latency = f" ({_ms(line.latency_ms)})" if self._long and line.latency_ms is not None else ""
        if line.connected and line.writable is True:
            return Text(f"writes ✓{latency}", style=self._style("ok"))
        if line.connected and line.writable is False:
            return Text(f"read-only ✗: lands on a server in recovery{latency}" if self._long else "read-only ✗",
                        style=self._style("bad"))
        if line.connected:
            return Text("writes: not known", style=self._style("warn"))
        return Text(f"✗ {line.error or 'a new client did not get through'}", style=self._style("bad"))
