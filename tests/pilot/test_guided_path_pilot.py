"""The fastest safe path: a crash failover by Enter alone (plus the confirmations it asks: y, and the
typed names for fence and promote), on a recorded lab run (training: the cockpit's own keys and gates,
nothing connects)."""

from __future__ import annotations

from checks.training.run import TrainingRun
from checks.training.scenario import load_scenario
from cli.train_cmd import SCENARIO_DIR
from tui.train_app import TrainingApp
from widgets.confirm_modal import ConfirmModal
from widgets.evaluate_modal import EvaluateModal
from widgets.prompt_modal import PromptModal
from widgets.typed_confirm import TypedConfirmModal


async def answer(pilot, app) -> str:
    """What the guided operator presses for the dialog on screen (or Enter for the next step)."""
    screen = app.screen
    if isinstance(screen, TypedConfirmModal):
        await pilot.press(*screen.node, "enter")
        return f"type {screen.node}"
    if isinstance(screen, EvaluateModal):
        await pilot.press("y")
        return "fail over"
    if isinstance(screen, ConfirmModal):
        await pilot.press("y")
        return "y"
    if isinstance(screen, PromptModal):
        if not screen.query_one("Input").value:
            await pilot.press(*("sam" if "Scribe" in str(screen.question) else "alice"))
        await pilot.press("enter")
        return "answer"
    await pilot.press("enter")
    return "enter"


async def test_a_crash_failover_by_enter_and_its_confirmations_alone(tmp_path):
    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    run = TrainingRun(scenario, "olga", start_at=scenario.settle_s)
    app = TrainingApp(run, paused=True, record_base=tmp_path / "training")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pressed = []
        for _ in range(30):
            if run.state().stage(5).status == "passed":
                break
            pressed.append(await answer(pilot, app))
            await pilot.pause()
        assert run.state().stage(5).status == "passed", (pressed, run.state().stage(run.state().current).gate)
        assert not [a for a in run.attempts if not a["ok"]], "the guided path was refused somewhere"
        # Enter evaluated first, chose the freshest standby and checked the old primary at once;
        # verification followed the cutover.
        assert pressed.count("enter") <= 7, pressed
        assert pressed[:2] == ["enter", "fail over"], pressed
        assert run.state().evaluation is not None and run.state().evaluation.fail_over
        assert "type node1" in pressed and f"type {run.state().candidate}" in pressed
