"""ActivityScreen: one node's sessions, pg_activity-style, from the answers the app hands it (key a).

The screen only draws. The app (:mod:`tui.activity_keys`) asks the node while the screen is open and
gives it each answer with :meth:`ActivityScreen.show_activity`: a
:class:`checks.observe.activity.NodeActivity` and what Odoo's sessions there mean (an
:class:`~checks.observe.activity.OdooVerdict`). That module is not imported here: it opens the node's
connection, and widgets never reach the connection code, not even through another module (the
layering contract ``widgets-never-sample``); the screen reads the answer's fields. Every text in an
answer was made safe where it was parsed (passwords masked, redacted, control characters escaped) and
is drawn as plain text, never as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from checks.observe.lsn import human_seconds

MAX_NODE_KEYS = 9
BLOCKED_BY_MAX = 44
WAITING_FIXED = 38
"""Columns the lock waits' pid, wait event and age take, with their padding."""
FRAME = 6
"""Columns the view's border, padding and scroll bar take."""
MAX_WIDTH = 160


def _age(seconds: float | None) -> str:
    return human_seconds(seconds) if seconds is not None else ""


def _table(*columns: tuple[str, dict], expand: bool = True) -> Table:
    """Columns as wide as their values (up to their max_width), on one line each but for who blocks a lock
    wait (wrapped, never cut: it is what the operator acts on); the query column takes what is left."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=expand, padding=(0, 1))
    for header, options in columns:
        table.add_column(header, **({"no_wrap": True, "overflow": "ellipsis"} | options))
    return table


def _section(title: str, count: str, body: Any) -> Group:
    return Group(Text.assemble((title, "bold"), (f" · {count}" if count else "", "dim")), body)


def groups_table(activity: Any) -> Table | Text:
    """Sessions per application and state."""
    if not activity.groups:
        return Text("No client session but the cockpit's own.", style="dim")
    table = _table(("application", {"max_width": 40}), ("state", {"max_width": 30}),
                   ("sessions", {"justify": "right", "width": 8}), expand=False)
    for group in activity.groups:
        table.add_row(Text(group.application or "(no name)"), Text(group.state), Text(str(group.sessions)))
    return table


def longest_table(activity: Any) -> Table | Text:
    """The longest running transactions, oldest first."""
    if not activity.longest:
        return Text("No transaction is open.", style="dim")
    table = _table(("pid", {"width": 7}), ("user", {"max_width": 10}), ("application", {"max_width": 16}),
                   ("state", {"max_width": 19}), ("age", {"justify": "right", "width": 7}),
                   ("query", {"ratio": 1, "min_width": 12}))
    for s in activity.longest:
        table.add_row(Text(str(s.pid)), Text(s.user), Text(s.application), Text(s.state),
                      Text(_age(s.xact_age_s)), Text(s.query, style="dim"))
    return table


def waiting_table(activity: Any, width: int = 76) -> Table | Text:
    """Sessions waiting on a lock, who holds it, the wait event and how long. Who holds it is what the
    operator acts on: wrapped, never cut, in at most half of what ``width`` leaves beside the fixed columns."""
    if not activity.waiting:
        return Text("No session waits on a lock.", style="dim")
    longest = max(len(s.blocked_by_text()) for s in activity.waiting)
    blocked = max(12, min(longest, BLOCKED_BY_MAX, (width - WAITING_FIXED) // 2))
    table = _table(("pid", {"width": 7}), ("blocked by", {"width": blocked, "no_wrap": False, "overflow": "fold"}),
                   ("waits on", {"max_width": 22}), ("for", {"justify": "right", "width": 7}),
                   ("query", {"ratio": 1, "min_width": 10}))
    for s in activity.waiting:
        table.add_row(Text(str(s.pid)), Text(s.blocked_by_text(), style="bold"), Text(s.wait_event),
                      Text(_age(s.wait_age_s)), Text(s.query, style="dim"))
    return table


def odoo_table(activity: Any) -> Table | None:
    """Odoo's sessions on this node, the oldest connection first (the sentence says what they mean)."""
    if not activity.odoo:
        return None
    table = _table(("pid", {"width": 7}), ("client", {"max_width": 22}), ("state", {"max_width": 19}),
                   ("connected", {"justify": "right", "width": 9}), ("query", {"ratio": 1, "min_width": 10}))
    for s in activity.odoo:
        table.add_row(Text(str(s.pid)), Text(s.client), Text(s.state), Text(_age(s.backend_age_s)),
                      Text(s.query, style="dim"))
    return table


def _more(shown: int, total: int) -> str:
    return _count(total) if shown >= total else f"{shown} shown of {_count(total)}"


def _count(n: int) -> str:
    return f"{n} session" if n == 1 else f"{n} sessions"


class ActivityScreen(ModalScreen[None]):
    """One node's activity: the nodes to switch between, a summary sentence, what Odoo's sessions
    mean, then the lock waits (the most urgent), the longest transactions, sessions per application
    and state, Odoo's sessions."""

    HELP = """\
### Activity (a)

A pg_activity-style view of one node, asked only while it is open, once every
`activity_interval_s` (5 s by default) in one query: the sessions **waiting on a lock** with
who blocks them (`pg_blocking_pids`), the wait event and for how long; the longest running
transactions (pid, user, application, state, age, the query's first line); client sessions
per application and state; Odoo's sessions. On a standby, or on a node that is
not the one writer, Odoo's sessions are **stragglers**, and a sentence in bold says so. Query texts
show their first line with passwords masked. **left**/**right** or the node's number switch
node; **escape** or **a** closes it (the approver seat, where `a` approves, opens it with `A`).
"""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("a", "close", "Close", show=False),
        Binding("A", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
        Binding("left", "step(-1)", "Previous node", priority=True),
        Binding("right", "step(1)", "Next node", priority=True),
        *[Binding(str(i), f"pick({i})", f"node {i}", show=False) for i in range(1, MAX_NODE_KEYS + 1)],
    ]
    DEFAULT_CSS = f"""
    ActivityScreen {{ align: center middle; }}
    ActivityScreen > VerticalScroll {{ width: 100%; max-width: {MAX_WIDTH}; height: 100%; border: thick $accent;
                                      border-title-style: bold; border-subtitle-color: $text-muted;
                                      background: $surface; padding: 0 1; }}
    ActivityScreen Static {{ height: auto; }}
    ActivityScreen #activity-summary {{ margin-top: 1; }}
    ActivityScreen .activity-section {{ margin-top: 1; }}
    ActivityScreen #activity-odoo.-stragglers {{ color: $text-warning; text-style: bold; }}
    ActivityScreen #activity-summary.-down {{ color: $text-error; text-style: bold; }}
    """

    class Switched(Message):
        """The operator switched to another node: the app asks it now."""

        def __init__(self, node: str) -> None:
            super().__init__()
            self.node = node

    def __init__(self, nodes: Sequence[tuple[str, str]], current: str | None = None, *,
                 interval_s: float = 5.0) -> None:
        """``nodes``: (name, role word) in config order; ``current``: the node shown first."""
        super().__init__()
        self.nodes = list(nodes)
        names = [name for name, _ in self.nodes]
        self.index = names.index(current) if current in names else 0
        self.interval_s = interval_s
        self.answers: dict[str, tuple[Any, Any]] = {}     # node -> (its last activity, its Odoo verdict)
        self.answered = 0                                   # how many answers it was given (tests read it)

    @property
    def node(self) -> str:
        """The node on screen."""
        return self.nodes[self.index][0]

    def compose(self) -> ComposeResult:
        body = VerticalScroll(id="activity-body")
        body.border_subtitle = f"every {self.interval_s:g} s while open · ←/→ or 1-9 node · escape closes"
        with body:
            yield Static(id="activity-nodes")
            yield Static(id="activity-summary")
            yield Static(id="activity-odoo")
            for part in ("waiting", "longest", "groups", "odoo-sessions"):
                yield Static(id=f"activity-{part}", classes="activity-section")

    def on_mount(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    # -- what the app hands it ----------------------------------------------------------------
    def show_activity(self, activity: Any, verdict: Any = None) -> None:
        """A node's answer (a NodeActivity) and what its Odoo sessions mean (an OdooVerdict or None)."""
        self.answers[activity.name] = (activity, verdict)
        self.answered += 1
        if activity.name == self.node and self.is_mounted:
            self._draw()

    def set_roles(self, nodes: Sequence[tuple[str, str]]) -> None:
        """The nodes' role words from the cockpit's latest round (the node list itself never changes)."""
        roles = dict(nodes)
        self.nodes = [(name, roles.get(name, role)) for name, role in self.nodes]
        if self.is_mounted:
            self._draw_nodes()

    # -- keys ---------------------------------------------------------------------------------
    def action_close(self) -> None:
        self.dismiss(None)

    def action_step(self, delta: int) -> None:
        self._switch((self.index + delta) % len(self.nodes))

    def action_pick(self, number: int) -> None:
        if 1 <= number <= len(self.nodes):
            self._switch(number - 1)
        else:                                # said here: a toast would wait until the view closes
            self._draw_nodes(f"there is no node {number}: this cluster has {len(self.nodes)}")

    def _switch(self, index: int) -> None:
        if index == self.index:
            return
        self.index = index
        self._draw()
        self.post_message(self.Switched(self.node))

    # -- drawing ------------------------------------------------------------------------------
    def _draw_nodes(self, hint: str = "") -> None:
        line = Text()
        for i, (name, role) in enumerate(self.nodes):
            label = f"{i + 1} {name} {role}"
            if line:
                line.append(" │ ", style="dim")
            line.append(f"[{label}]" if i == self.index else f" {label} ",
                        style="bold reverse" if i == self.index else "")
        if hint:
            line.append(f"  ({hint})", style="bold")
        self.query_one("#activity-nodes", Static).update(line)

    def _draw(self) -> None:
        name, role = self.nodes[self.index]
        activity, verdict = self.answers.get(name, (None, None))
        body = self.query_one("#activity-body", VerticalScroll)
        when = f" · {activity.observed_at:%H:%M:%S} UTC" if activity is not None else ""
        body.border_title = f"Activity · {name} · {role}{when}"
        self._draw_nodes()
        summary = self.query_one("#activity-summary", Static)
        odoo = self.query_one("#activity-odoo", Static)
        sections = {part: self.query_one(f"#activity-{part}", Static)
                    for part in ("waiting", "longest", "groups", "odoo-sessions")}
        if activity is None:
            summary.set_class(False, "-down")
            summary.update(Text(f"Asking {name} for its activity…", style="dim"))
            odoo.update("")
            for static in sections.values():
                static.display = False
            return
        summary.set_class(not activity.reachable, "-down")
        summary.update(Text(activity.summary))
        stragglers = bool(verdict is not None and verdict.stragglers)
        odoo.set_class(stragglers, "-stragglers")
        odoo.update(Text(verdict.sentence) if verdict is not None else "")
        odoo.display = verdict is not None
        for static in sections.values():
            static.display = activity.reachable
        if not activity.reachable:
            return
        sections["groups"].update(_section("Sessions by application and state", _count(activity.sessions),
                                           groups_table(activity)))
        sections["longest"].update(_section("Longest transactions", "", longest_table(activity)))
        width = min(self.size.width or 80, MAX_WIDTH) - FRAME
        sections["waiting"].update(_section("Waiting on a lock", _more(len(activity.waiting),
                                                                        activity.waiting_sessions),
                                            waiting_table(activity, width)))
        table = odoo_table(activity)
        sections["odoo-sessions"].display = table is not None
        if table is not None:
            sections["odoo-sessions"].update(_section("Odoo sessions", _more(len(activity.odoo),
                                                                             activity.odoo_sessions), table))
