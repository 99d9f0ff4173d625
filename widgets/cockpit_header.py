"""CockpitHeader: cluster, verdict, how long it has been bad, the problems, a UTC clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Label, Static

from checks.observe.assess import VERDICTS, ClusterView
from checks.observe.lsn import human_seconds
from checks.observe.sample import utcnow

Clock = Callable[[], datetime]


def clock_text(moment: datetime) -> str:
    """``08:00:05Z``: UTC to the second, the zone spelled out (a naive time is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%H:%M:%SZ")


def elapsed_text(seconds: float) -> str:
    """Whole seconds under a minute (``42s``), then ``1m02s`` and ``1h02m05s``."""
    return f"{int(seconds)}s" if seconds < 60 else human_seconds(seconds)


class CockpitHeader(Widget):
    """One headline (title, cluster, verdict, problem count, time bad, clock) and the problems under it."""

    HELP = """\
### Header

- **verdict**: `OK` (one writer, every standby within the SLO), `WARNING` (a standby over
  its SLO, unreachable, paused or not streaming), `CRITICAL` (no writable node, or more
  than one), `UNKNOWN` (nothing sampled yet). The word is the signal; the colour repeats it.
- **bad for**: time since the first bad signal this cockpit saw (the start of the RTO clock).
- **clock**: UTC, `HH:MM:SSZ`, like every time the cockpit writes down.
- the line(s) below list the problems behind the verdict, most serious first
  (more of them on a taller terminal).
"""

    view: reactive[ClusterView | None] = reactive(None, init=False)
    now: reactive[datetime | None] = reactive(None, init=False)

    def __init__(
        self, cluster_name: str, *, clock: Clock | None = None, title: str = "Odoo Failover Cockpit",
        id: str | None = None, classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.cluster_name = cluster_name
        self.clock: Clock = clock or utcnow
        self.title = title

    def compose(self) -> ComposeResult:
        with Horizontal(id="headline"):
            yield Label(self.title, id="title")
            yield Label(self.cluster_name, id="cluster")
            yield Label(" WAITING ", id="verdict", classes="-unknown")
            yield Label("", id="count")
            yield Label("", id="since")
            yield Label("", id="clock")
        yield Static("waiting for the first samples", id="problems")

    def on_mount(self) -> None:
        self.tick()
        self.set_interval(1.0, self.tick)

    def tick(self) -> None:
        """Read the clock (once a second, and whenever a view arrives)."""
        self.now = self.clock()

    def update_view(self, view: ClusterView) -> None:
        """Show a new cluster view."""
        self.view = view
        self.tick()

    def watch_view(self, view: ClusterView | None) -> None:
        if view is None:
            return
        verdict = self.query_one("#verdict", Label)
        verdict.update(f" {view.verdict.upper()} ")
        for name in VERDICTS:
            verdict.set_class(view.verdict == name, f"-{name}")
        count = len(view.problems)
        self.query_one("#count", Label).update(f"{count} problem{'s' if count != 1 else ''}" if count else "")
        if view.problems:
            lines = [f"▸ {problem}" for problem in view.problems]
        else:
            lines = [f"✓ one writer ({', '.join(view.writable)}), every standby within the SLO"]
        problems = self.query_one("#problems", Static)
        problems.update("\n".join(lines))
        problems.set_class(view.verdict == "critical", "-critical")
        self._show_time()

    def watch_now(self) -> None:
        self._show_time()

    def _show_time(self) -> None:
        if self.now is None:
            return
        self.query_one("#clock", Label).update(clock_text(self.now))
        since = self.query_one("#since", Label)
        view = self.view
        if view is None or view.first_bad_at is None:
            since.update("")
        elif view.verdict == "ok":
            since.update(f"was bad at {clock_text(view.first_bad_at)}")
        else:
            elapsed = max(0.0, (self.now - view.first_bad_at).total_seconds())
            since.update(f"bad for {elapsed_text(elapsed)}")
