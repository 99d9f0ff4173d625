"""The cockpit application: samples every node on its own worker and shows the cluster live."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import HorizontalScroll
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState

from checks.config.model import Cluster
from checks.observe.assess import ClusterView, Watch
from checks.observe.headline import hidden_writers, verdict_lines
from checks.observe.sample import NodeSample, iso_utc, utcnow
from checks.observe.signals import Change, SignalBoard
from checks.observe.ticker import sample_forever
from tui.activity_keys import ActivityKeys
from tui.incident_panes import IncidentPanes
from tui.messages import NodeSampled, SignalsSeen
from tui.notices import TOAST_CSS, NoticeBoard
from tui.pooler_lines import pooler_lines
from tui.runbook_actions import RunbookActions
from tui.runbook_bindings import RUNBOOK_BINDINGS
from tui.runbook_keys import RunbookKeys
from tui.runbook_palette import RunbookCommands
from widgets import STYLESHEET
from widgets.closing import while_open
from widgets.cockpit_header import CockpitHeader
from widgets.confirm_modal import ConfirmModal
from widgets.help_screen import HelpScreen
from widgets.node_panel import NodePanel
from widgets.pgbouncer_panel import PgBouncerPanel
from widgets.signals_strip import SignalsStrip
from widgets.split_brain_banner import SplitBrainBanner

if TYPE_CHECKING:
    from checks.observe.pooler import PoolProbe
    from checks.observe.sampler import NodeSampler
    from checks.runbook.session import Session

TREND_WINDOW_S = 300.0
"""How far back the panels' sparklines reach."""
PANEL_MIN_WIDTH = 26
"""Below this many columns per node the panels keep this width and scroll sideways (``-crowded``)."""


# The pane that has the focus is unmistakable: a heavy border in the accent colour.
FOCUS_CSS = """
Checklist:focus-within, ScribeLog:focus-within { border: heavy $accent; }
"""


class CockpitApp(NoticeBoard, ActivityKeys, RunbookKeys, App):
    """The Odoo Failover Cockpit for one cluster; with a session, also the incident's runbook and log."""

    TITLE = "Odoo Failover Cockpit"
    CSS_PATH = STYLESHEET
    CSS = TOAST_CSS + FOCUS_CSS
    COMMANDS = App.COMMANDS | {RunbookCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (80, "-medium"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (40, "-tall"), (55, "-huge")]
    BINDINGS = [
        Binding("q", "quit", "Quit", tooltip="Quit the cockpit (asks first)"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("r", "sample_now", "Sample now"),
        *NoticeBoard.NOTICE_BINDINGS,
        *ActivityKeys.ACTIVITY_BINDINGS,
        *RUNBOOK_BINDINGS,
    ]

    def __init__(
        self,
        cluster_name: str,
        cluster: Cluster,
        *,
        samplers: dict[str, NodeSampler] | None = None,
        fixed_samples: list[NodeSample] | None = None,
        interval_s: float | None = None,
        clock: Callable[[], datetime] | None = None,
        session: Session | None = None,
        fixed_probes: list[PoolProbe] | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        # Set before mounting: set in on_mount it restyled the whole app (~0.1 s of the first frame).
        self.set_class(session is not None, "-incident")
        self._alarmed: set[str] = set()
        self.cluster_name = cluster_name
        self.cluster = cluster
        self.samplers = dict(samplers or {})
        self.fixed_samples = list(fixed_samples or [])
        self.fixed_probes = None if fixed_probes is None else list(fixed_probes)
        """PgBouncer probes handed in (tests, snapshots): posted at mount; [] shows the panels not probed yet."""
        self.interval_s = interval_s or cluster.sampling.interval_s
        self.clock = clock or utcnow
        self.cluster_watch = Watch(cluster_name, cluster)
        self.cluster_view: ClusterView | None = None
        self.signal_board = SignalBoard(cluster)
        self._wake: dict[str, asyncio.Event] = {}
        self._panels: dict[str, NodePanel] = {}
        self._shown: dict[str, object] = {}
        self._poolers: dict[str, PgBouncerPanel] = {}
        self._poolers_shown: object = None
        self._probed_at: datetime | None = None
        self.actions: RunbookActions | None = None

    # -- layout -------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        where = self.cluster_name if self.session is None else f"{self.cluster_name} · {self.session.dir.name} · {self.session.seat}"
        yield CockpitHeader(where, clock=self.clock, title=self.TITLE)
        yield SplitBrainBanner()
        yield SignalsStrip()
        yield from self.compose_nodes()
        if self.session is not None:
            yield IncidentPanes(self.session, actions_for_seat=self.actions_for_seat)
        yield Footer()

    def compose_nodes(self) -> ComposeResult:
        """The row of node panels, one per configured node (shared with the training screen)."""
        history = max(10, int(TREND_WINDOW_S / self.interval_s))
        with HorizontalScroll(id="nodes"):
            for node in self.cluster.nodes:
                panel = NodePanel(node.name, history=history)
                self._panels[node.name] = panel
                yield panel
            if self.probes_app_path:
                for pgb in self.cluster.pgbouncers:
                    self._poolers[pgb.name] = PgBouncerPanel(pgb.name)
                    yield self._poolers[pgb.name]

    @property
    def probes_app_path(self) -> bool:
        """The cluster configures PgBouncers and this app gets their probes: a live cockpit's signal
        sources (which start with the samplers), or probes handed in. A training run has none."""
        return bool(self.cluster.pgbouncers) and (bool(self.samplers) or self.fixed_probes is not None)

    @property
    def panes(self) -> IncidentPanes:
        return self.query_one(IncidentPanes)

    def on_mount(self) -> None:
        self.sub_title = self.cluster_name
        self.set_interval(0.5, self.show_waiting_notices)
        if self.session is not None:
            self.actions = RunbookActions(self.panes, self.session.operation)
        for sample in self.fixed_samples:
            self.post_message(NodeSampled(sample))
        if self.fixed_probes:
            self.post_message(SignalsSeen(probes=self.fixed_probes))
        for name, sampler in self.samplers.items():
            self._wake[name] = asyncio.Event()
            self.run_worker(
                sample_forever(sampler, self.interval_s, self._emit, self._wake[name]),
                name=f"sample {name}", group="samplers", exit_on_error=False,
            )
        if self.samplers:
            self.start_signal_sources()

    def start_signal_sources(self) -> None:
        """The app path, Odoo's health and the infrastructure command, each on its own worker."""
        from tui.signals_feed import sources

        def samples() -> dict[str, NodeSample]:
            view = self.cluster_view
            return {n.name: n.sample for n in view.nodes} if view is not None else {}

        for name, source, interval in sources(self.cluster, samples):
            self.run_worker(sample_forever(source, interval, self.post_message), name=f"signals: {name}",
                            group="samplers", exit_on_error=False)

    def _emit(self, sample: NodeSample) -> None:
        """Hand a sample from a worker to the message queue; a burst per node coalesces."""
        self.post_message(NodeSampled(sample))

    def on_resize(self, event: events.Resize) -> None:
        crowded = (len(self.cluster.nodes) + len(self._poolers)) * PANEL_MIN_WIDTH > event.size.width
        self.query_one("#nodes").set_class(crowded, "-crowded")

    async def on_unmount(self) -> None:
        self.workers.cancel_group(self, "samplers")
        if self.actions is not None:
            self.actions.stop()
        await asyncio.gather(*(sampler.close() for sampler in self.samplers.values()), return_exceptions=True)

    # -- sampling -----------------------------------------------------------------

    @while_open
    def on_node_sampled(self, message: NodeSampled) -> None:
        # what this incident fenced (the journal's fence actions): FENCED on the panels, not a problem
        fences = self.panes.fences if self.session is not None else None   # kept as journal entries come
        view = self.cluster_watch.update(message.sample, now=self.clock(), fences=fences)
        changes = self.signal_board.update(view=view, now=self.clock())
        self.show_view(view, sampled=message.sample.name)
        if self.session is not None:
            self.session.operation.observe(message.sample)
        if self.session is not None and self.session.is_operator:
            self.session.record_sample(message.sample)
            self._journal_signals(view)
        self._signals_changed(changes)

    @while_open
    def on_signals_seen(self, message: SignalsSeen) -> None:
        changes = self.signal_board.update(probes=message.probes, odoo=message.odoo, infra=message.infra,
                                           now=self.clock())
        if self.cluster_view is not None:
            self._show_header(self.cluster_view)
        if message.probes is not None and self._poolers:
            self._probed_at = self.clock()
            for name in {p.pgbouncer for p in message.probes} & set(self._poolers):
                self._poolers[name].border_subtitle = f"{self._probed_at:%H:%M:%S}Z"   # its last probe, changed or not
            self._show_poolers()
        self._signals_changed(changes, warnings=message.infra.warnings if message.infra is not None else ())

    def _signals_changed(self, changes: list[Change], warnings=()) -> None:
        """Show the strip; the operator seat journals every signal that started or ended, and each
        warning of a source (an infrastructure command's bad output), once in a row."""
        board = self.signal_board
        self.query_one(SignalsStrip).show(board.firing(), board.warnings)
        if self.session is None or not self.session.is_operator:
            return
        for change in changes:
            self.session.note("status", change.sentence, data={"signal": change.signal.as_json(),
                                                               "started": change.started})
        for warning in warnings:
            if warning not in self._alarmed:
                self._alarmed.add(warning)
                self.session.note("status", f"signal source warning: {warning}", data={"signal_warning": warning})

    def _journal_signals(self, view: ClusterView) -> None:
        """The operator seat journals the first bad signal (RTO starts there) and every split brain."""
        if view.first_bad_at and "first_bad" not in self._alarmed:
            self._alarmed.add("first_bad")
            self.session.note("status", f"first bad signal: {view.problems[0] if view.problems else view.verdict}",
                              data={"first_bad_at": iso_utc(view.first_bad_at)})
        if view.split_brain and "split" not in self._alarmed:
            self._alarmed.add("split")
            self.session.note("alarm", view.problems[0], data={"writable": list(view.writable),
                                                               "first_bad_at": iso_utc(view.observed_at)})
        elif not view.split_brain:
            self._alarmed.discard("split")

    def show_view(self, view: ClusterView, sampled: str | None = None) -> None:
        """Render one cluster view on the header, the banner and every panel."""
        self.cluster_view = view
        self._show_header(view)
        self.query_one(SplitBrainBanner).update_view(view)
        self._show_poolers()
        for node_view in view.nodes:
            panel = self._panels.get(node_view.name)
            if panel is None:
                continue
            # A panel re-renders when its node's view changed; the reference age alone ticks with
            # the clock and refreshes with that node's own next sample (a render costs ~1-5 ms).
            key = node_view.model_copy(update={"data_risk_ref_age_s": None})
            if sampled is None or node_view.name == sampled or self._shown.get(node_view.name) != key:
                self._shown[node_view.name] = key
                panel.update_view(node_view, self.cluster.slo)

    def _show_poolers(self) -> None:
        """The PgBouncer panels, when the probes or the roles of the nodes they reach changed."""
        if not self._poolers or self._probed_at is None:
            return
        probes = tuple(self.signal_board.probes)
        roles = {n.name: n.role for n in self.cluster_view.nodes} if self.cluster_view is not None else {}
        key = (probes, tuple(roles.get(p.reaches) for p in probes))
        if key == self._poolers_shown:
            return
        self._poolers_shown = key
        for name, (lines, console) in pooler_lines(probes, roles).items():
            if name in self._poolers:
                self._poolers[name].show(lines, console)

    def _show_header(self, view: ClusterView) -> None:
        board = self.signal_board
        self.query_one(CockpitHeader).update_view(view, verdict_lines(view, board),
                                                  pinned=bool(hidden_writers(view, board.probes)))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group == "samplers" and event.state == WorkerState.ERROR:
            self.notify(f"{worker.name} stopped: {worker.error}", title="sampler failed", severity="error", timeout=30)

    # -- actions ------------------------------------------------------------------

    def action_sample_now(self) -> None:
        """Sample every node now instead of at the next tick."""
        if not self._wake:
            self.notify("fixed samples: there is nothing to sample", severity="warning")
            return
        for wake in self._wake.values():
            wake.set()

    async def action_quit(self) -> None:
        """Quit, once the operator confirms (the default ctrl+q and the palette's Quit ask too)."""
        if isinstance(self.screen, ConfirmModal):
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        await self.push_screen(
            ConfirmModal("Quit the cockpit?", "Sampling stops; the cluster is left as it is."),
            answered,
        )

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_keys(), self.help_sections(), title=self.TITLE))

    def help_keys(self) -> list[tuple[str, str]]:
        """Every key this seat has (the footer shows only those that can act now)."""
        keys = [(b.key_display or b.key, b.tooltip or b.description) for b in self.BINDINGS
                if isinstance(b, Binding) and not b.action.startswith("press(") and self.has_key(b.action)]
        keys.append(("ctrl+p", "command palette: Help, Sample now, Quit, theme, screenshot"))
        return keys

    @staticmethod
    def help_sections() -> Iterable[str]:
        from widgets.activity_screen import ActivityScreen
        from widgets.checklist import Checklist
        from widgets.evaluate_modal import EvaluateModal
        from widgets.notices_screen import NoticesScreen
        from widgets.scribe_log import ScribeLog
        from widgets.typed_confirm import TypedConfirmModal

        return [w.HELP for w in (CockpitHeader, SplitBrainBanner, SignalsStrip, NodePanel, PgBouncerPanel, Checklist,
                                 ScribeLog, TypedConfirmModal, ConfirmModal, NoticesScreen, ActivityScreen, HelpScreen)]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Help", "Keys and what every part of the screen shows", self.action_help)
        yield SystemCommand("Sample now", "Sample every node now instead of at the next tick", self.action_sample_now)
        yield SystemCommand("Quit", "Quit the cockpit (asks first)", self.action_quit)
        for command in super().get_system_commands(screen):
            if command.title != "Quit":
                yield command
