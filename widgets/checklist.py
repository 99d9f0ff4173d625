"""Checklist: the runbook's stages, what the current one still needs, and the key that does it."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from checks.runbook.gates import STAGES, RunbookState, StageState
from widgets.checklist_lines import (  # noqa: F401 - component_style and status_text are still importable from here
    STATUS_MARKS, component_style, hanging, key_pairs, keys_line, status_text
)
from widgets.closing import while_open

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SHORT_BELOW = 16
"""Content height (rows) under which detail lines are cut to one line each (80x24 screens)."""


class Checklist(Widget, can_focus=True):
    """One row per runbook stage with its status; under the current stage its gate and next action."""

    HELP = """\
### Runbook checklist

First the evaluation, the decision before stage 0 (**g**): `▶ evaluate: not decided yet` until it is
journaled, then who decided to fail over (`✓`) or not yet (`✗`: nothing past stage 0 runs until
someone evaluates again). Then one row per stage, 0 Stabilize to 5 Verify, each with its status in a glyph and a word:
`🔒 locked` (the stage before has not passed), `▶ open`, `✓ passed`, `⚑ override`
(passed by an approver's decision, journaled as such), `✗ failed` (its last check failed:
the line under it says why). The current stage, the first one not passed, is in bold with
its gate and next action under it.

- **needs**: what the current stage's gate still needs; **met**: how a passed stage's gate was met.
- **next**: its next action, with the key that runs it in this seat (`[p] promote node2`); each
  key stands beside its own label and the lines wrap to the pane, never cut. Once every stage
  passed: `z` close, `b` roll back, `h` re-protect the old primary, `j` re-point the standbys.
- the candidate and the data-risk statement, once a candidate is chosen.
- **running:** an action in progress; **⚠** the last action the runbook refused, and what unlocks it.
- **up**/**down** select a stage (**›**; its gate shows under it); **e** shows or hides the
  evidence journaled for the selected stage.
- on a short pane, stages passed in a row share one line (`✓ passed 0–2 ...`), as do the
  locked ones; selecting one shows it on its own.
"""

    BINDINGS = [
        Binding("up", "select(-1)", "Previous stage", show=False),
        Binding("down", "select(1)", "Next stage", show=False),
        Binding("e", "toggle_evidence", "Evidence", tooltip="Show or hide the selected stage's evidence"),
    ]

    COMPONENT_CLASSES = {
        "checklist--label", "checklist--key", "checklist--muted", "checklist--bad", "checklist--warn",
        "checklist--ok", "checklist--candidate",
    }

    show_evidence: reactive[bool] = reactive(False, init=False)
    selected: reactive[int | None] = reactive(None, init=False)
    """The stage the arrows selected; None follows the current stage."""

    def __init__(self, *, title: str = "Runbook", id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        self.state: RunbookState | None = None
        self.actions: dict[int, tuple[str, str]] = {}
        self.busy: str | None = None
        self.refusal: str | None = None
        self._frame = 0
        self._spinner: Timer | None = None
        self._ready = False
        self.border_title = title
        self.border_subtitle = "↑↓ stage · e evidence"

    def compose(self) -> ComposeResult:
        yield Static("", id="checklist-busy")
        yield Static("", id="checklist-refusal")
        yield Static(" ▶ evaluate: not decided yet", id="evaluate-row", classes="stage-row -open")
        for number, title in STAGES:
            yield Static(f" {status_text('locked')} {number} {title}", id=f"stage-{number}", classes="stage-row -locked")
            more = Static("", id=f"stage-{number}-more", classes="stage-more")
            more.display = False
            yield more
        yield Static("runbook not evaluated yet", id="checklist-context")

    def on_mount(self) -> None:
        self._ready = True  # is_mounted turns true only after this handler
        self._show()

    # -- public API ---------------------------------------------------------------

    @property
    def current(self) -> int | None:
        """The current stage (6 once every stage passed), None before the first state."""
        return None if self.state is None else self.state.current

    @property
    def selected_stage(self) -> int:
        """The selected stage, or the current one while the arrows have not moved."""
        if self.selected is not None:
            return self.selected
        current = self.current
        return min(current, len(STAGES) - 1) if current is not None else 0

    def update_state(
        self, state: RunbookState, *, actions: dict[int, tuple[str, str]] | None = None,
        busy: str | None = None, refusal: str | None = None,
    ) -> None:
        """Show a new runbook state; ``actions`` maps a stage to its (key, label) in this seat,
        ``busy`` names an action in progress, ``refusal`` is the last refusal, in one sentence."""
        self.state = state
        self.actions = dict(actions or {})
        self.busy = busy
        self.refusal = refusal
        self._show()

    def set_busy(self, busy: str | None) -> None:
        """Show (or, with None, clear) the action in progress (``'fence node1'``: shown as
        ``running: fence node1…``); everything else stays."""
        self.busy = busy
        self._show()

    def set_refusal(self, refusal: str | None) -> None:
        """Show (or, with None, clear) the last refusal; everything else stays."""
        self.refusal = refusal
        self._show()

    # -- actions ------------------------------------------------------------------

    def action_select(self, step: int) -> None:
        self.selected = max(0, min(len(STAGES) - 1, self.selected_stage + step))
        self.call_after_refresh(self._scroll_to_selected)

    def action_toggle_evidence(self) -> None:
        self.show_evidence = not self.show_evidence

    # -- reactive plumbing --------------------------------------------------------

    def watch_show_evidence(self) -> None:
        self._show()
        self.call_after_refresh(self._scroll_to_selected)

    def watch_selected(self) -> None:
        self._show()

    def on_resize(self, event: events.Resize) -> None:
        short = self.content_size.height < SHORT_BELOW
        if short != self.has_class("-short"):
            self.set_class(short, "-short")
        self.call_after_refresh(self._show)  # once the resize settled: children updated during it kept a stale layout

    def on_focus(self) -> None:
        self._show()

    def on_blur(self) -> None:
        self._show()

    # -- rendering ----------------------------------------------------------------

    def _style(self, name: str) -> Style:
        return component_style(self, f"checklist--{name}")

    def _scroll_to_selected(self) -> None:
        more = self.query_one(f"#stage-{self.selected_stage}-more", Static)
        row = self.query_one(f"#stage-{self.selected_stage}", Static)
        self.scroll_to_widget(more if more.display else row, animate=False)

    def _show(self) -> None:
        if not self._ready:
            return
        self._show_busy()
        short = self.has_class("-short")
        refusal = self.query_one("#checklist-refusal", Static)
        refusal.update(self._clamp(f"⚠ {self.refusal}", 3) if self.refusal and short else
                       Text(f"⚠ {self.refusal}" if self.refusal else ""))
        refusal.set_class(bool(self.refusal), "-active")
        state = self.state
        if state is None:
            return
        current, selected = state.current, self.selected_stage
        if current >= len(STAGES) and self.selected is None:
            selected = -1                # every stage passed: none singled out, the aftermath's keys have the room
        groups = self._groups(state, current, selected) if short else {}
        hidden = {stage.number for run in groups.values() for stage in run[1:]}
        self._show_evaluation(state)
        for stage in state.stages:
            self._show_stage(stage, current=stage.number == current, selected=stage.number == selected,
                             short=short, group=groups.get(stage.number), hidden=stage.number in hidden)
        self.query_one("#checklist-context", Static).update(self._context_text(state))
        if current >= len(STAGES):
            self.border_title = f"{self.title} · {'closed' if state.closed else 'every stage passed'}"
        else:
            self.border_title = f"{self.title} · stage {current} {state.stages[current].title}"

    @staticmethod
    def _groups(state: RunbookState, current: int, selected: int) -> dict[int, list[StageState]]:
        """On a short pane: runs of passed or of locked stages (neither current nor selected)
        share one row, keyed by the run's first stage."""
        groups: dict[int, list[StageState]] = {}
        run: list[StageState] = []
        for stage in (*state.stages, None):
            joins = (stage is not None and stage.status in ("passed", "locked")
                     and stage.number not in (current, selected))
            if joins and run and run[-1].status == stage.status:
                run.append(stage)
                continue
            if len(run) > 1:
                groups[run[0].number] = run
            run = [stage] if joins else []
        return groups

    def _clamp(self, text: str | Text, lines: int) -> Text:
        """``text`` wrapped to the pane's width, cut to ``lines`` lines with an ellipsis."""
        width = max(8, self.content_size.width - 1)          # a column kept for the scrollbar
        text = Text(text) if isinstance(text, str) else text
        wrapped = text.wrap(self.app.console, width)
        if len(wrapped) <= lines:
            return text
        kept = list(wrapped)[:lines]
        last = kept[-1]
        last.rstrip()
        last.truncate(width - 1)
        last.append("…")
        return Text("\n").join(kept)

    def _show_stage(self, stage: StageState, *, current: bool, selected: bool, short: bool,
                    group: list[StageState] | None, hidden: bool) -> None:
        row = self.query_one(f"#stage-{stage.number}", Static)
        more = self.query_one(f"#stage-{stage.number}-more", Static)
        row.display = not hidden
        if hidden:
            more.display = False
            return
        marker = "›" if selected and not current else " "
        if group:
            label = f"{group[0].number}–{group[-1].number} {', '.join(s.title for s in group)}"
        else:
            label = f"{stage.number} {stage.title}"
        row.update(Text(f"{marker}{status_text(stage.status)} {label}"))
        for status in STATUS_MARKS:
            row.set_class(stage.status == status, f"-{status}")
        row.set_class(current, "-current")
        row.set_class(selected and not current and self.has_focus, "-selected")

        lines: list[Text] = []
        met = stage.status in ("passed", "overridden")
        if current:                      # wrapped, never cut: what the gate needs and the keys that meet it
            bad = stage.status == "failed"
            lines.append(self._wrapped("✗ " if bad else "needs ", stage.gate, "bad" if bad else ""))
            lines.append(self._next_line(stage.number, stage.next_action))
        elif selected or (met and not short and not group):
            lines.append(self._line("met " if met else "gate ", stage.gate, "muted"))
        expanded = selected and self.show_evidence
        if expanded:
            if stage.evidence:
                lines += [self._line("· ", line, "") for line in stage.evidence]
            else:
                lines.append(self._line("· ", "no evidence yet", "muted"))
        more.update(Text("\n").join(lines))
        more.display = bool(lines)
        more.set_class(expanded, "-expanded")
        more.set_class(current, "-current")

    def _show_evaluation(self, state: RunbookState) -> None:
        """The row before stage 0: the first decision, fail over or not yet, and who made it when."""
        row = self.query_one("#evaluate-row", Static)
        evaluation = state.evaluation
        # On a short pane, once stage 0 passed, the row gives its line back (stage 0's evidence names it).
        row.display = not (self.has_class("-short") and state.current > 0)
        if evaluation is None and state.current > 0:      # the runbook went on without it: said, muted
            row.update(Text(" · evaluate: none journaled (the record says so)"))
            for name in STATUS_MARKS:
                row.set_class(name == "locked", f"-{name}")
            return
        if evaluation is None:
            status, words = "open", "evaluate: not decided yet"
        else:
            status = "passed" if evaluation.fail_over else "failed"
            verb = "fail over" if evaluation.fail_over else "not yet"
            words = f"evaluate: {verb}, {evaluation.author} {evaluation.at.strftime('%H:%M')} UTC"
        row.update(Text(f" {STATUS_MARKS[status][0]} {words}"))     # the words say the status
        for name in STATUS_MARKS:
            row.set_class(status == name, f"-{name}")

    def _line(self, label: str, text: str, style: str) -> Text:
        return Text.assemble((label, self._style("label")), (text, self._style(style) if style else Style()))

    @property
    def _width(self) -> int:
        """Columns of a line under a stage (its padding taken off, and a column kept for the scrollbar)."""
        return max(12, self.content_size.width - 5)

    def _wrapped(self, label: str, text: str, style: str, width: int | None = None) -> Text:
        return hanging(Text(label, style=self._style("label")), Text(text, style=self._style(style) if style else ""),
                       width or self._width, self.app.console)

    def _next_line(self, number: int, next_action: str, width: int | None = None) -> Text:
        """``next`` and the seat's keys for stage ``number``, each key beside its label, wrapped to fit."""
        action = self.actions.get(number)
        width = width or self._width
        label = Text("next  ", style=self._style("label"))
        if action is None:
            if next_action:
                return self._wrapped("next  ", next_action, "", width)
            return self._wrapped("next  ", "nothing to do here: wait for the check", "muted", width)
        keys, names = action
        pairs = key_pairs(keys, names)
        if pairs is None:
            return hanging(label, Text.assemble((f" {keys} ", self._style("key")), f" {names}"), width,
                           self.app.console)
        return keys_line(label, pairs, width, self.app.console, key_style=self._style("key"))

    def _context_text(self, state: RunbookState) -> Text:
        """Once every stage passed, the aftermath's keys (close, roll back, re-protect, re-point);
        the candidate and its data risk (cut to three lines on a short pane: ``e`` on stage 1 shows it all)."""
        lines: list[Text] = []
        width = max(12, self.content_size.width - 1)
        current_done = state.current >= len(STAGES)
        if current_done:
            done = "✓ every stage passed" + ("; closed" if state.closed else ": close the incident")
            lines.append(self._wrapped("", done, "ok", width))
            if self.actions.get(len(STAGES) - 1):
                lines.append(self._next_line(len(STAGES) - 1, "", width))
        if state.candidate:
            statement = (state.data_risk or {}).get("statement")
            line = Text.assemble(("candidate ", self._style("label")), (state.candidate, self._style("candidate")))
            if statement:
                within = (state.data_risk or {}).get("within_slo")
                line.append(" · ")
                line.append(statement, style=self._style("ok" if within else "warn"))
            short = 1 if current_done else 2
            lines.append(self._clamp(line, short) if self.has_class("-short") else line)
        else:
            lines.append(Text("candidate not chosen yet", style=self._style("muted")))
        return Text("\n").join(lines)

    def _show_busy(self) -> None:
        busy = self.query_one("#checklist-busy", Static)
        busy.set_class(bool(self.busy), "-active")
        animate = bool(self.busy) and self.app.animation_level != "none"
        if animate and self._spinner is None:
            self._spinner = self.set_interval(0.1, self._spin)
        elif not animate and self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        if self.busy:
            label = self.busy.removeprefix("running: ").removesuffix("…").removesuffix("...") + "…"
            busy.update(Text(f"{SPINNER[self._frame % len(SPINNER)]} running: {label}"))
        else:
            busy.update("")

    @while_open
    def _spin(self) -> None:
        self._frame += 1
        self._show_busy()
