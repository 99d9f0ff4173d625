"""The training cockpit through key presses (Pilot): each bundled scenario driven to its score
card, with a ``p`` pressed before fencing refused on the way; snapshots at 80x24 and 120x40.

Update the snapshot baselines after looking at them:
``pytest tests/pilot/test_training_app.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

from checks.training.path import play_safe_path
from checks.training.run import TrainingRun
from checks.training.scenario import load_scenario
from cli.train_cmd import SCENARIO_DIR
from tests.pane_fixtures import notified, table_text
from tui.train_app import ScoreCardScreen, TrainingApp
from widgets.checklist import Checklist
from widgets.prompt_modal import PromptModal
from widgets.replay_bar import ReplayBar
from widgets.scribe_log import ScribeLog
from widgets.typed_confirm import TypedConfirmModal

BUNDLED = ("clean-crash", "lagging-standbys", "old-primary-writable", "old-primary-partitioned")
SNAPSHOT_AT = 16.0          # seconds into clean-crash: node1 has crashed, nothing done yet


def app_for(name: str, tmp_path, *, at: float | None = None, trainee: str = "olga") -> TrainingApp:
    scenario = load_scenario(SCENARIO_DIR / f"{name}.json")
    run = TrainingRun(scenario, trainee, start_at=scenario.settle_s if at is None else at)
    return TrainingApp(run, paused=True, record_base=tmp_path / "training")


async def keys(pilot, *presses: str) -> None:
    await pilot.press(*presses)              # each key is handled (and its screen up) before the next


async def typed(pilot, text: str) -> None:
    await pilot.press(*text)
    await keys(pilot, "enter")


@pytest.mark.parametrize("name", BUNDLED)
async def test_each_scenario_to_its_score_card_with_an_unsafe_promotion_blocked(name, tmp_path):
    app = app_for(name, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        run = app.training
        await keys(pilot, "s")
        assert isinstance(app.screen, PromptModal)           # the scribe's name (never the trainee's)
        await typed(pilot, "sam")
        assert isinstance(app.screen, PromptModal)           # the approver on call (alice proposed)
        await keys(pilot, "enter", "w", "y", "c", "enter")
        assert run.state().stage(0).status == "passed"
        candidate = run.state().candidate
        assert candidate in ("node2", "node3")
        if name == "lagging-standbys":
            assert run.state().stage(1).status == "open"
            await keys(pilot, "a")
            await typed(pilot, "bob")                          # the trainee plays the approver
            assert run.state().stage(1).status == "overridden"
        await keys(pilot, "o")
        assert run.state().stage(2).status == "failed"       # node1 writable, or unreachable without proof

        await keys(pilot, "p")                                 # unsafe: before the fence
        assert isinstance(app.screen, TypedConfirmModal)
        await typed(pilot, candidate)
        refusal = app.query_one(Checklist).refusal
        assert refusal and refusal.startswith("promote refused: stage 3 Promote is locked because stage 2")
        assert run.state().stage(3).status == "locked"

        await keys(pilot, "x")
        await typed(pilot, "node1")
        assert run.state().stage(2).status == "passed"
        await keys(pilot, "p")
        await typed(pilot, candidate)
        assert run.state().stage(3).status == "passed"
        await keys(pilot, "u", "y", "v")
        assert run.state().current == 6
        await keys(pilot, "z", "y")
        assert isinstance(app.screen, ScoreCardScreen)
        card_screen = app.screen
        headline = str(card_screen.query_one("#score-headline").render())
        assert "1 unsafe attempt blocked" in headline and "verdict: verified" in headline
        assert "1 unsafe attempt blocked" in card_screen.text and "split brain: never" in card_screen.text
        assert refusal in card_screen.text
        record = app.record_dir
        assert (record / "score.md").read_text() == card_screen.text
        assert app.card["verdict"] == "verified" and app.card["unsafe_attempts_blocked"] == 1
        await keys(pilot, "escape")
    assert app.return_value == app.card


async def test_approving_as_the_operator_is_refused_in_the_cockpit(tmp_path):
    app = app_for("lagging-standbys", tmp_path, trainee="alice")
    async with app.run_test(size=(120, 40)) as pilot:
        await keys(pilot, "s")
        assert app.screen.query_one("Input").value == ""      # the scribe: never the operator proposed
        await typed(pilot, "sam")
        assert app.screen.query_one("Input").value == "bob"   # the approver: never the operator proposed
        await keys(pilot, "enter", "w", "y", "c", "enter", "a")
        await typed(pilot, "alice")
        refusal = app.query_one(Checklist).refusal
        assert refusal == "approval refused: 'alice' is the operator: the operator can never approve their own action"
        assert app.training.state().stage(1).status == "open"


async def test_time_flows_and_space_pauses(tmp_path):
    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    app = TrainingApp(TrainingRun(scenario, "olga"), record_base=tmp_path, tick_s=0.05, speed=20.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.4)
        moved = app.training.t
        assert moved > 2
        await keys(pilot, "space")
        paused_at = app.training.t
        await pilot.pause(0.3)
        assert app.training.t == paused_at and app.paused
        await keys(pilot, "full_stop")
        assert app.training.t == pytest.approx(paused_at + 5)


async def test_quitting_early_writes_a_not_verified_card(tmp_path):
    app = app_for("clean-crash", tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await keys(pilot, "p")                               # no candidate yet: refused at once
        await keys(pilot, "q", "y")
        assert isinstance(app.screen, ScoreCardScreen)
        assert app.card["verdict"] == "not verified" and app.card["unsafe_attempts_blocked"] == 1
        assert (app.record_dir / "score.json").exists()


async def test_skipped_time_is_kept_out_of_the_score_card(tmp_path):
    app = app_for("clean-crash", tmp_path, at=0.0)
    async with app.run_test(size=(120, 40)) as pilot:
        run = app.training
        await keys(pilot, "full_stop", "full_stop", "full_stop")       # 15 s skipped: node1 crashed on the way
        bar = app.query_one(ReplayBar)
        bar.post_message(ReplayBar.SeekRequested(bar, run.scenario.moment(25.0)))   # a click ahead: 10 s more
        await pilot.pause()
        assert run.t == pytest.approx(25.0) and run.skipped == [(0.0, 25.0)]
        play_safe_path(run)                        # the actions themselves, at once (the keys are tested above)
        app.finish()
        await pilot.pause()
        card = app.card
        assert card["skipped_s"] == pytest.approx(25) and card["simulated_seconds"] == pytest.approx(25)
        assert card["rto_s"] == 0 and card["rto_skipped_s"] == pytest.approx(25 - card["first_bad_t"])
        assert card["target_met"]
        headline = str(app.screen.query_one("#score-headline").render())
        assert "skipped, not counted" in headline and "target met" in headline
        assert "## Target: met" in app.screen.text


async def test_the_end_of_the_recording_is_told_once_on_screen(tmp_path):
    app = app_for("clean-crash", tmp_path, at=34.0)
    async with app.run_test(notifications=True, size=(120, 40)) as pilot:
        await keys(pilot, "full_stop")
        toasts = await notified(pilot)
        assert any(t.startswith("recording ended") and "The recording ended at t+00:36" in t for t in toasts), toasts
        rows = table_text(app.query_one(ScribeLog))
        assert sum("training: the recording ended" in row for row in rows) == 1, rows     # the scribe log
        app.clear_notifications()
        await keys(pilot, "full_stop", "full_stop")
        await pilot.pause(0.3)
        assert not [t for t in await notified(pilot) if "recording ended" in t]
        assert sum("the recording ended" in e.text for e in app.training.events) == 1


async def test_a_check_that_did_not_pass_is_not_reported_as_ok(tmp_path):
    app = app_for("clean-crash", tmp_path)
    async with app.run_test(notifications=True, size=(120, 40)) as pilot:
        run = app.training
        run.set_roles("sam", "alice")
        run.freeze()
        run.choose()
        app.refresh_screen()
        await keys(pilot, "o")
        assert run.state().stage(2).status == "failed"
        toasts = await notified(pilot)
        assert any(t.startswith("check old primary: did not pass") and "stage 2 Old primary did not" in t
                   for t in toasts), toasts         # the title says it, then the sentence
        assert run.attempts[-1]["outcome"] == "did not pass"


class TestTrainingSnapshots:
    """Paused at a fixed offset of clean-crash: the same screen on every run."""

    @pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
    def test_training_screen(self, snap_compare, tmp_path, size):
        assert snap_compare(app_for("clean-crash", tmp_path, at=SNAPSHOT_AT), terminal_size=size)
