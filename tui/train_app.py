"""The training cockpit: a recorded lab run on the cockpit's own screen, the trainee at the operator's keys.

:class:`TrainingApp` is the live cockpit (:class:`~tui.app.CockpitApp`: header, node panels,
split-brain banner, help, quit) with the runbook checklist and the scribe log fed by a
:class:`~checks.training.run.TrainingRun` instead of an incident journal. Time flows at 1x from
the recording, on the replay's own bar (space pauses, ``.`` skips 5 s, a click ahead skips there: skipped
time is not counted on the score card; the end of the recording is said once); the operator keys are the live
cockpit's own (:mod:`tui.runbook_keys`), acting on the :class:`TrainingRun` as the seat's
:class:`~checks.stages.seat.Runbook`, and the trainee also plays the approver (``a``, ``t``)
by typing the approver's name. Every action is simulated and judged by the same gates; at
the end (``z``, or ``q``) the score card opens in a modal and goes into the training record.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markdown import Markdown
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from checks.config.text import TextRefused
from checks.runbook.result_text import NOT_PASSED, result_outcome, result_sentence
from checks.training.run import TrainingRun
from checks.training.scenario import TrainingRefused
from checks.training.score import TRAINING_BASE, headline, render_score_card, write_training_record
from tui.app import CockpitApp
from tui.runbook_bindings import APPROVER_KEYS, OPERATOR_KEYS
from widgets.checklist import Checklist
from widgets.closing import while_open
from widgets.cockpit_header import CockpitHeader
from widgets.confirm_modal import ConfirmModal
from widgets.replay_bar import ReplayBar
from widgets.scribe_log import ScribeLog
from widgets.split_brain_banner import SplitBrainBanner

SKIP_S = 5.0
NOT_IN_TRAINING = {"rollback", "reprotect", "repoint", "adopt", "keep_writer", "sample_now"}   # live only


class TraineeSeat:
    """What the runbook keys read of a session: the trainee sits in the operator seat."""

    seat = "operator"
    is_operator = True
    plays_approver = True        # the keys ask whose name approves or attests

    def __init__(self, name: str) -> None:
        self.name = name


class _Panes:
    """What the runbook keys read of the incident panes, from the training run."""

    def __init__(self, app: TrainingApp) -> None:
        self.app = app

    @property
    def events(self):
        return self.app.training.events

    @property
    def state(self):
        return self.app.training.state()

    def set_busy(self, text: str | None) -> None:
        self.app.query_one(Checklist).set_busy(text)

    def open_note(self) -> None:
        log = self.app.query_one(ScribeLog)
        log.open_input()
        log.focus_input()


class _Actions:
    """Where the runbook keys hand an action: it runs at once on the training run (no I/O), which is
    the seat's :class:`~checks.stages.seat.Runbook`."""

    busy = None

    def __init__(self, app: TrainingApp) -> None:
        self.app = app
        self.runbook = app.training

    def start(self, label: str, act: Callable[[Any], Any]) -> bool:
        self.app.perform(label, lambda: act(self.runbook))
        return True


class ScoreCardScreen(ModalScreen[None]):
    """The score card at the end of a training run; it is in the training record too."""

    HELP = ("The score card: the verdict, the target (an RTO goal and zero unsafe attempts) and whether it was met, "
            "unsafe attempts blocked, time per stage (skipped time not counted), what a safe run does.")
    BINDINGS = [Binding("escape", "close", "Close"), Binding("enter", "close", "Close", show=False),
                Binding("q", "close", "Close", show=False)]
    DEFAULT_CSS = """
    ScoreCardScreen { align: center middle; }
    ScoreCardScreen > Vertical { width: 96; max-width: 98%; height: 95%; border: thick $accent;
                                 background: $surface; padding: 0 1; }
    ScoreCardScreen #score-headline { text-style: bold; height: auto; }
    ScoreCardScreen #score-headline.-verified { color: $text-success; }
    ScoreCardScreen #score-headline.-unverified { color: $text-warning; }
    ScoreCardScreen VerticalScroll { height: 1fr; }
    ScoreCardScreen #score-text { height: auto; }
    ScoreCardScreen #score-keys { color: $text-muted; height: 1; }
    """

    def __init__(self, card: dict[str, Any]) -> None:
        super().__init__()
        self.card = card
        self.text = render_score_card(card)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"TRAINING score card · {self.card['scenario']}"
            classes = "-verified" if self.card["verified"] else "-unverified"
            yield Static(" · ".join(headline(self.card)), id="score-headline", classes=classes)
            with VerticalScroll():
                yield Static(Markdown(self.text), id="score-text")
            record = self.card.get("record_dir")
            yield Static((f"in {record}/score.md · " if record else "") + "escape closes", id="score-keys")

    def action_close(self) -> None:
        self.dismiss(None)


class TrainingApp(CockpitApp):
    """The cockpit on a :class:`TrainingRun`; ``paused`` starts it paused (tests and snapshots)."""

    TITLE = "Odoo Failover Cockpit · TRAINING"
    BINDINGS = [
        *CockpitApp.BINDINGS,
        Binding("space", "pause", "Pause", tooltip="Pause or resume the replayed time"),
        Binding("full_stop", "skip", "+5s", key_display=".", tooltip="Skip 5 s of the recording ahead"),
    ]

    def __init__(self, run: TrainingRun, *, paused: bool = False, speed: float = 1.0,
                 record_base: Path = TRAINING_BASE, tick_s: float = 1.0) -> None:
        super().__init__(f"TRAINING · {run.scenario.title} · {run.trainee}", run.cluster, clock=run.clock)
        self.training = run
        self.session = TraineeSeat(run.trainee)
        self.actions = _Actions(self)
        self._panes = _Panes(self)
        self.paused = paused
        self.speed = speed
        self.record_base = Path(record_base)
        self.tick_s = tick_s
        self.refusal: str | None = None
        self.card: dict[str, Any] | None = None
        self.record_dir: Path | None = None
        self._events_shown = 0
        self._last_tick = time.monotonic()

    # -- layout ----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield CockpitHeader(self.cluster_name, clock=self.clock, title=CockpitApp.TITLE)
        yield SplitBrainBanner()
        yield from self.compose_nodes()
        with Horizontal(id="incident"):
            yield Checklist(title="Runbook (training)")
            yield ScribeLog()
        yield ReplayBar()
        yield Footer()

    @property
    def panes(self) -> _Panes:
        return self._panes

    def on_mount(self, event: events.Mount) -> None:
        event.prevent_default()          # the live cockpit's mount starts samplers and a session
        self.sub_title = self.cluster_name
        self.set_class(True, "-incident")
        self.refresh_screen()
        self.set_interval(self.tick_s, self._tick)

    def on_unmount(self, event: events.Unmount) -> None:
        event.prevent_default()

    # -- time ------------------------------------------------------------------------------------
    @while_open
    def _tick(self) -> None:
        now = time.monotonic()
        elapsed, self._last_tick = now - self._last_tick, now
        if self.paused or self.card is not None:
            return
        self.training.advance(elapsed * self.speed)
        self.refresh_screen()

    def action_pause(self) -> None:
        """Pause or resume the replayed time."""
        self.paused = not self.paused
        self._last_tick = time.monotonic()
        self._show_bar()

    def action_skip(self) -> None:
        """Skip 5 s of the recording ahead."""
        if self.card is None:
            self.training.skip(SKIP_S)         # skipped: not counted on the score card
            self.refresh_screen()

    def refresh_screen(self) -> None:
        """Show the run as it stands: the view, the new journal entries, the runbook."""
        self.show_view(self.training.view)
        new = self.training.events[self._events_shown:]
        if new:
            self._events_shown += len(new)
            self.query_one(ScribeLog).add_events(new)
            for event in new:
                if (event.data.get("training") or {}).get("recording_ended"):
                    self.notify(event.text.removeprefix("training: ").capitalize() + ".", title="recording ended",
                                timeout=15)
        state = self.training.state()
        self.query_one(Checklist).update_state(state, actions=self.actions_for_seat(state), refusal=self.refusal)
        self._show_bar()

    def _show_bar(self) -> None:
        """The replay bar: playing or paused, the simulated UTC time, the recording's span (the
        cluster stays as it last was after its end), the journal's events marked."""
        run = self.training
        now = run.clock()
        self.query_one(ReplayBar).update_position(
            at=now, start=run.scenario.recorded_at, end=max(now, run.scenario.moment(run.scenario.seconds)),
            speed=self.speed, paused=self.paused, marks=[e.at for e in run.events],
            previous=run.events[-1].at if run.events else None)

    def on_replay_bar_seek_requested(self, message: ReplayBar.SeekRequested) -> None:
        """A click on the bar: forward skips there (not counted on the score card); time never goes back."""
        message.stop()
        if self.card is None and message.at > self.training.clock():
            self.training.skip_to(self.training.scenario.offset(message.at))
            self.refresh_screen()
        else:
            self.notify("training time only moves forward (. skips 5 s)", severity="warning", timeout=4)

    # -- seat and keys ---------------------------------------------------------------------------
    def actions_for_seat(self, state) -> dict[int, tuple[str, str]]:
        shown = {}
        for stage in OPERATOR_KEYS:
            keys = OPERATOR_KEYS[stage] + APPROVER_KEYS.get(stage, [])
            shown[stage] = (" ".join(k for k, _ in keys), " / ".join(label for _, label in keys))
        if state.current == 6:
            shown[5] = ("z", "close: your score card")
        return shown

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in NOT_IN_TRAINING or (action == "press" and parameters and parameters[0] in NOT_IN_TRAINING):
            return False
        return super().check_action(action, parameters)

    def perform(self, label: str, work: Callable[[], Any]) -> None:
        """Run one trainee action on the run; a refusal is the gate's sentence, counted as blocked. An
        action that ran says how it ended in one word (done, passed, did not pass) and its sentence."""
        attempts = len(self.training.attempts)
        try:
            result = work()
        except TrainingRefused as exc:
            self.refusal = str(exc)
            self.notify(str(exc), title=f"{label}: refused, an unsafe attempt blocked", severity="warning", timeout=20)
        except TextRefused as exc:                # a name too long, say (checks.config.text): no gate was asked
            self.refusal = str(exc)
            self.notify(str(exc), title=f"{label}: refused, the text cannot be taken", severity="warning", timeout=20)
        else:
            self.refusal = None
            done = self.training.attempts[-1] if len(self.training.attempts) > attempts else None
            outcome = done["outcome"] if done else result_outcome(result)
            text = done["text"] if done else result_sentence(label, result, self.training.state())
            failed = outcome == NOT_PASSED
            self.notify(text, title=f"{label}: {outcome}", severity="warning" if failed else "information",
                        timeout=20 if failed else 10)
        self.query_one(Checklist).set_busy(None)
        self.refresh_screen()
        if label == "close" and self.training.state().closed:
            self.finish()

    def on_scribe_log_note_submitted(self, message: ScribeLog.NoteSubmitted) -> None:
        self.training.note(message.kind, message.text)
        self.refresh_screen()

    def action_sample_now(self) -> None:
        self.notify("training replays a recording: there is nothing to sample", severity="warning")

    # -- the end ---------------------------------------------------------------------------------
    async def action_quit(self) -> None:
        """Stop training (asks first): the score card is written as it stands."""
        if isinstance(self.screen, (ConfirmModal, ScoreCardScreen)):
            return
        if self.card is not None:
            self.exit(self.card)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.finish()

        await self.push_screen(ConfirmModal("Stop training?", "Your score card is written as it stands "
                                            "(not verified unless every stage passed)."), answered)

    def finish(self) -> dict[str, Any]:
        """Write the training record (once) and show the score card; closing it ends the app."""
        if self.card is None:
            self.record_dir, self.card = write_training_record(self.training, self.record_base)
            self.paused = True                    # the run is over: time stops with it
            self._show_bar()
            self.clear_notifications()            # toasts would cover the card
            self.push_screen(ScoreCardScreen(self.card), lambda _none: self.exit(self.card))
        return self.card
