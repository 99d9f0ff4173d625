"""NodePanel: one node at a glance, coloured against the SLO, with what changed since its last tick marked."""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.events import Resize
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from checks.config.model import Slo
from checks.observe.assess import NodeView
from checks.observe.lsn import human_bytes, human_seconds, lsn_diff
from widgets.node_down import down_detail, down_rows, down_state
from widgets.node_values import (  # noqa: F401 - change_mark and worst_peer_lag are still importable from here
    HEALTH, LONG_LABELS_FROM, ROLE_TITLES, change_mark, health, role_title, tracked_values, worst_peer_lag
)


class NodePanel(Widget):
    """One node's role, writability, lag, LSNs, timeline and data at risk, coloured against the SLO."""

    HELP = """\
### Node panels

One panel per configured node, in config order. The border is **green** when the
node is within the SLO, **yellow** when it is over it (or paused / not streaming),
**red** when it is unreachable or belongs to another cluster; the words say the same.

- **PRIMARY WRITABLE** / **STANDBY read-only**: role and whether it accepts writes
  (reachable and out of recovery; `default_transaction_read_only` is no fence).
- **delay**: replay delay, zero when the standby has replayed all it received.
- **unrepl**: bytes received but not replayed yet; they cost *promotion time*, not data.
- **receive / replay**: the standby's LSNs; **current**: the primary's.
- **upstream**: the node of the config a standby's WAL receiver streams from (matched by address:
  the nodes' DSN and `app_host`/`app_port`), its sender's address when no node has it, or `none`;
  a standby that is not streaming says **NOT STREAMING** under its role at every size.
- **at risk**: WAL the standby never received: the last primary LSN this cockpit saw
  minus the standby's receive LSN; **ref age** is how old that primary sample is.
- **UNREACHABLE** is not dead: fence it or get an attestation before promoting another node.
  Under it the **cause** in a word (`refused`, `timeout`, `reset`, `closed`, `login refused`,
  `unknown host`, `no route`, `shutting down`, `starting up`, `too many clients`, `TLS failed`),
  what it last was, and the error in full where the panel has room (every problem is also in the header).
- **FENCED**: this incident fenced it (a fence command that exited 0) and it has not answered
  since: ``fenced 07:24:03Z by `fence node1` (exit 0)``, and what ran. As decided, so not a
  problem of the cluster; a standby still following it is.
- `▲` `▼` `◆` mark values that went up, down or changed since the node's previous sample.
- the sparkline shows the replay delay (on a primary: its worst standby's lag) over the last samples.
"""

    COMPONENT_CLASSES = {
        "node-panel--label", "node-panel--ok", "node-panel--warn", "node-panel--bad",
        "node-panel--muted", "node-panel--changed", "node-panel--role",
    }

    view: reactive[NodeView | None] = reactive(None, init=False)

    def __init__(self, node_name: str, *, history: int = 300, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.node_name = node_name
        self.slo = Slo()
        self.history: deque[float] = deque(maxlen=max(2, history))
        self.baseline: dict[str, Any] = {}
        self._marks: dict[str, str] = {}
        self._tick_values: dict[str, Any] = {}
        self.last_reachable: NodeView | None = None
        """The last view in which this node answered: what an unreachable node was."""
        self.border_title = node_name

    def compose(self) -> ComposeResult:
        yield Static("waiting for the first sample", id="state")
        yield Static("", id="facts")
        yield Static("", id="trend-label")
        yield Sparkline([], id="trend")
        yield Static("", id="detail")
        yield Static("", id="more")
        yield Static("", id="node-problems")

    # -- public API ---------------------------------------------------------------

    def update_view(self, view: NodeView, slo: Slo) -> None:
        """Show a new view of this node, judged against ``slo``."""
        self.slo = slo
        self.view = view

    def marks(self) -> dict[str, str]:
        """The change marks currently shown, by value name (``{'delay': '▲'}``)."""
        if self.view is None or not self.baseline:
            return {}
        current = tracked_values(self.view)
        found = {key: change_mark(self.baseline.get(key), value) for key, value in current.items()}
        return {key: mark for key, mark in found.items() if mark}

    # -- reactive plumbing --------------------------------------------------------

    def watch_view(self, old: NodeView | None, new: NodeView | None) -> None:
        if new is None:
            return
        if old is None or old.sample.observed_at != new.sample.observed_at:
            # A new sample of this node: marks compare it with how its previous sample first
            # showed. A refresh for a peer's sake (same sample, new data risk) keeps the baseline.
            self.baseline, self._tick_values = self._tick_values, tracked_values(new)
            self._record_trend(new)
            if old is not None and old.sample.reachable:
                self.last_reachable = old
        self._show()

    def on_resize(self, event: Resize) -> None:
        self._show()

    def _record_trend(self, view: NodeView) -> None:
        sample = view.sample
        value = sample.replay_delay_s if view.role == "standby" else worst_peer_lag(sample) if view.role == "primary" else None
        if value is not None:
            self.history.append(float(value))

    # -- rendering ----------------------------------------------------------------

    def _style(self, name: str) -> Style:
        """A component style, resolved once per render (resolving CSS was most of a render's cost)."""
        cache = self.__dict__.setdefault("_style_cache", {})
        if name not in cache:
            cache[name] = self.get_component_rich_style(f"node-panel--{name}", partial=True)
        return cache[name]

    @property
    def _long(self) -> bool:
        return self.content_size.width >= LONG_LABELS_FROM

    def _row(self, short: str, long: str, value: str, style: str = "", key: str | None = None) -> Text:
        label = long if self._long else short
        text = Text(f"{label:<{14 if self._long else 9}}", style=self._style("label"))
        text.append(value, style=self._style(style) if style else "")
        mark = self._marks.get(key, "") if key else ""
        if mark:
            text.append(f" {mark}", style=self._style("changed"))
        return text

    def _show(self) -> None:
        view = self.view
        if view is None or not self.is_mounted:
            return
        self.__dict__["_style_cache"] = {}          # styles may change between renders (theme, classes)
        self._marks = self.marks()
        sample = view.sample
        state = health(view)
        # One batch: each class change alone restyles the panel and its children (~6 ms each).
        self.update_classes({**{f"-{role}": view.role == role for role in ROLE_TITLES},
                             **{f"-{name}": state == name for name in HEALTH}})
        self.border_subtitle = f"{sample.observed_at:%H:%M:%S}Z"
        self.query_one("#state", Static).update(self._state_text(view))
        self.query_one("#facts", Static).update(Text("\n").join(self._fact_rows(view)))
        self._show_trend(view)
        self.query_one("#detail", Static).update(Text("\n").join(self._detail_rows(view)))
        self.query_one("#more", Static).update(Text("\n").join(self._more_rows(view)))
        self.query_one("#node-problems", Static).update(
            Text("\n").join(Text(f"▸ {p}", style=self._style("warn")) for p in view.problems)
        )

    def _state_text(self, view: NodeView) -> Text:
        sample = view.sample
        text = Text(role_title(view), style=self._style("role"))
        if self._marks.get("role"):
            text.append(" ◆", style=self._style("changed"))
        if view.role == "primary":
            text.append("  WRITABLE", style=self._style("ok") + Style(bold=True))
        elif view.role == "standby":
            text.append("  read-only", style=self._style("muted"))
        elif view.role == "unreachable":
            text.append("\n")
            text.append_text(down_state(view, self._style))
        elif view.role == "foreign":
            text.append("\nanother cluster", style=self._style("bad"))
        elif view.role == "duplicate":
            text.append(f"\nsame server as {view.duplicate_of}: fix its DSN", style=self._style("bad"))
        if view.role == "standby" and not view.streaming:
            # said at the top, where even an 80x24 panel shows it ("in recovery" is what STANDBY means)
            text.append("\nNOT STREAMING", style=self._style("warn") + Style(bold=True))
        elif sample.in_recovery is True:
            text.append("\nin recovery", style=self._style("muted"))
        elif sample.in_recovery is False and view.role == "primary":
            text.append("\nout of recovery", style=self._style("muted"))
        if sample.replay_paused:
            text.append("\nREPLAY PAUSED", style=self._style("warn") + Style(bold=True))
            if self._marks.get("paused"):
                text.append(" ◆", style=self._style("changed"))
        return text

    def _fact_rows(self, view: NodeView) -> list[Text]:
        s, slo, row = view.sample, self.slo, self._row
        rows: list[Text] = []
        if view.role == "unreachable":        # the sample's time is the border's subtitle
            return down_rows(view, row, self.last_reachable)
        if view.role == "standby":
            rows.append(self._upstream_row(view))
            if self._long and not view.streaming and view.followed:
                rows.append(row("  was", "  was", f"streaming from {view.followed}", "muted"))
            delay = s.replay_delay_s
            rows.append(row("delay", "replay delay", human_seconds(delay),
                            "muted" if delay is None else "warn" if delay > slo.max_replay_delay_s else "ok", "delay"))
            rows.append(row("unrepl", "unreplayed", human_bytes(s.bytes_not_replayed), "", "unreplayed"))
            if s.apply_delay_s:
                rows.append(row("apply", "apply delay", f"{human_seconds(s.apply_delay_s)} (configured)", "warn"))
            rows.append(row("receive", "receive LSN", s.receive_lsn or "?", "", "receive"))
            rows.append(row("replay", "replay LSN", s.replay_lsn or "?", "", "replay"))
            risk = view.data_risk_bytes
            if risk is None:
                rows.append(row("at risk", "data at risk", "unknown", "warn", "risk"))
            else:
                rows.append(row("at risk", "data at risk", human_bytes(risk),
                                "warn" if risk > slo.max_data_risk_bytes else "ok", "risk"))
                rows.append(row("ref age", "risk ref age", human_seconds(view.data_risk_ref_age_s), "muted"))
        elif s.current_lsn is not None:
            rows.append(row("current", "current LSN", s.current_lsn, "", "current"))
        if view.role == "primary":
            streaming = sum(1 for p in s.replication if p.state == "streaming")
            others = len(s.replication) - streaming
            rows.append(row("standbys", "standbys", f"{streaming} streaming" + (f", {others} other" if others else ""),
                            "ok" if streaming and not others else "warn"))
            if s.tx_read_only == "on":
                rows.append(row("tx r/o", "tx_read_only", "on (no fence)", "warn"))
        rows.append(row("timeline", "timeline", "?" if s.timeline is None else str(s.timeline), "", "timeline"))
        rows.append(row("latency", "latency", "?" if s.latency_ms is None else f"{s.latency_ms:.1f} ms", "muted"))
        if view.role == "foreign":
            rows.append(Text("system id:", style=self._style("label")))
            rows.append(Text(s.system_identifier or "?", style=self._style("bad")))
        elif s.error:
            rows.append(Text(s.error, style=self._style("warn")))
        return rows

    def _upstream_row(self, view: NodeView) -> Text:
        """``upstream node1``; ``upstream 10.0.0.9:5432`` (no node of the config); ``upstream none``
        (``none (not streaming)`` where the long labels fit)."""
        if view.streaming and view.upstream:
            return self._row("upstream", "upstream", view.upstream, "ok", "upstream")
        if view.streaming:
            where = view.sender or "?"
            return self._row("upstream", "upstream", f"{where} (not in config)" if self._long else where,
                             "warn", "upstream")
        return self._row("upstream", "upstream", "none (not streaming)" if self._long else "none",
                         "warn", "upstream")

    def _show_trend(self, view: NodeView) -> None:
        label = self.query_one("#trend-label", Static)
        trend = self.query_one("#trend", Sparkline)
        data = list(self.history)
        if view.role == "primary":
            metric, peak, limit = "peer lag", human_bytes(max(data)) if data else "?", self.slo.max_data_risk_bytes
        else:
            metric, peak, limit = "delay", human_seconds(max(data)) if data else "?", self.slo.max_replay_delay_s
        if self._long:
            metric = "standby lag trend," if view.role == "primary" else "replay delay trend,"
        else:
            metric += ":"
        label.update(Text.assemble((metric, self._style("label")), f" max {peak}"))
        trend.set_class(bool(data) and max(data) > limit, "-over")
        # Sparkline scales from its smallest value: a leading zero anchors the bars at zero.
        trend.data = [0.0, *data] if data else []

    def _detail_rows(self, view: NodeView) -> list[Text]:
        """Shown at every size: the WAL receiver, or one line per standby of a primary."""
        s, row = view.sample, self._row
        if view.role == "unreachable":
            return down_detail(view, self._style)
        rows: list[Text] = []
        if view.role == "standby":
            status = s.wal_receiver.status if s.wal_receiver and s.wal_receiver.status else "none"
            rows.append(row("receiver", "wal receiver", status, "ok" if status == "streaming" else "warn"))
        for peer in s.replication:
            who = (peer.application_name or peer.client_addr or "?")[: 12 if self._long else 7]
            lag = lsn_diff(s.current_lsn, peer.replay_lsn)
            behind = human_bytes(max(0, lag)) if lag is not None else "?"
            state = peer.state or "?"
            value = behind if state == "streaming" else f"{state} {behind}"
            if self._long:
                value += " behind"
            rows.append(row(f"▸ {who}", f"▸ {who}", value, "ok" if state == "streaming" else "warn"))
        return rows

    def _more_rows(self, view: NodeView) -> list[Text]:
        """Shown on a tall terminal: the sender, peers' LSNs, the system identifier and version."""
        s, row = view.sample, self._row
        if view.role == "unreachable":
            return []
        rows: list[Text] = []
        if s.wal_receiver is not None:
            w = s.wal_receiver
            if w.sender_host:
                rows.append(row("sender", "sender", f"{w.sender_host}:{w.sender_port}", "muted"))
            if w.slot_name:
                rows.append(row("slot", "slot", w.slot_name, "muted"))
        for peer in s.replication:
            who = peer.application_name or peer.client_addr or "?"
            rows.append(Text.assemble((f"{who}: ", self._style("label")), f"{peer.state or '?'} {peer.sync_state or ''}".rstrip()))
            rows.append(row("  sent", "  sent", peer.sent_lsn or "?", "muted"))
            rows.append(row("  flush", "  flush", peer.flush_lsn or "?", "muted"))
            lag = f" ({human_seconds(peer.replay_lag_s)})" if peer.replay_lag_s is not None else ""
            rows.append(row("  replay", "  replay", f"{peer.replay_lsn or '?'}{lag}", "muted"))
        rows.append(row("sys id", "system id", s.system_identifier or "?", "muted"))
        if s.server_version:
            rows.append(row("server", "server", s.server_version, "muted"))
        return rows
