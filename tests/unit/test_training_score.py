"""Training's score card: its target, skipped time, the end of the recording, outcome words (issue 14, item 8).

The recording's end is said once, as a sentence, in the journal; time skipped with ``.`` or a
click ahead on the replay bar is kept out of the RTO and the time per stage (a run that skips a
lot scores the same as one that lives every second); the card states its target (an RTO goal and
zero unsafe attempts) and whether each part was met; an action that ran but whose check failed
says "did not pass", never "ok".
"""

from __future__ import annotations

import json

import pytest

from checks.observe.lsn import human_seconds
from checks.training.path import play_safe_path
from checks.training.run import TrainingRun
from checks.training.scenario import RTO_GOAL_PER_STEP_S, ScenarioError, TrainingRefused, load_scenario, scenario_json
from checks.training.score import clock, headline, render_score_card, write_training_record
from cli.train_cmd import SCENARIO_DIR
from tests.repr_check import repr_fragments

BUNDLED = ("clean-crash", "lagging-standbys", "old-primary-writable", "old-primary-partitioned")


def start(scenario, trainee="olga") -> TrainingRun:
    return TrainingRun(scenario, trainee, start_at=scenario.settle_s)


def to_old_primary(run: TrainingRun) -> None:
    run.set_roles("sam", "alice")
    run.freeze()
    run.choose()
    run.check_others()


def ended_notes(run: TrainingRun) -> list:
    return [e for e in run.events if e.kind == "system" and (e.data.get("training") or {}).get("recording_ended")]


def test_the_end_of_the_recording_is_said_once_in_a_sentence(tmp_path):
    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    run = TrainingRun(scenario, "olga")
    run.advance(scenario.seconds - 1)
    assert not run.ended and ended_notes(run) == []
    run.advance(0.4)
    run.skip(30)                                       # past the end in one jump: still said at the end itself
    run.advance(100)
    (note,) = ended_notes(run)
    assert scenario.offset(note.at) == pytest.approx(scenario.seconds)
    assert note.text.startswith(f"training: the recording ended at t+00:{scenario.seconds:02.0f} (")
    assert "the cluster stays as it last was" in note.text and repr_fragments(note.text) == []
    assert run.view.node("node1").role == "unreachable"   # as it last was
    play_safe_path(run)                                 # the keys still act on it
    assert len(ended_notes(run)) == 1
    directory, _card = write_training_record(run, tmp_path / "training")
    assert "the recording ended at" in (directory / "record.md").read_text()
    late = TrainingRun(scenario, "olga", start_at=scenario.seconds + 5)   # started after the end: said at once
    assert len(ended_notes(late)) == 1


def drive_paced(scenario, *, extra_skip: float) -> TrainingRun:
    """The safe path's actions at the same lived pace (3 s between them); ``extra_skip`` more seconds
    skipped before each action, as a trainee pressing . while waiting would."""
    run = TrainingRun(scenario, "olga")
    run.advance(12)                                    # node1 crashed at ~10 s: the first bad signal is seen
    steps = [lambda: run.set_roles("sam", "alice"), run.freeze, run.choose, run.check_others,
             lambda: run.fence("node1"), lambda: run.promote(run.state().candidate), run.cut_over, run.verify]
    for step in steps:
        run.advance(3)
        if extra_skip:
            run.skip(extra_skip / 2)
            run.skip(extra_skip / 2)                   # two presses in a row: one skipped span
        step()
    run.close()
    return run


def test_skipped_time_is_not_counted_in_the_rto_or_the_time_per_stage():
    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    lived, skipper = drive_paced(scenario, extra_skip=0), drive_paced(scenario, extra_skip=10)
    a, b = lived.score_card(), skipper.score_card()
    assert a["verified"] and b["verified"]
    assert a["skipped_s"] == 0 and a["rto_skipped_s"] == 0 and lived.skipped == []
    assert len(skipper.skipped) == 8 and b["skipped_s"] == pytest.approx(80)
    assert b["simulated_seconds"] == pytest.approx(a["simulated_seconds"] + 80)    # the clock did move on
    assert b["first_bad_t"] == a["first_bad_t"]
    assert b["rto_skipped_s"] == pytest.approx(80) and b["rto_s"] == pytest.approx(a["rto_s"], abs=0.15)
    assert a["rto_s"] == pytest.approx(12 + 8 * 3 - a["first_bad_t"], abs=0.15)
    for mine, theirs in zip(a["stages"], b["stages"]):
        assert theirs["seconds"] == pytest.approx(mine["seconds"], abs=0.15), mine["title"]
    # The close-out is the cockpit's own, on the simulated clock: the journal says what of it was skipped.
    close = next(e for e in skipper.events if e.kind == "close")
    assert close.data["rto_s"] == pytest.approx(b["rto_s"] + 80, abs=0.2)
    said = [e.text for e in skipper.events if (e.data.get("training") or {}).get("rto_skipped_s")]
    assert said == ["training: 1m20s of this RTO was skipped (. or a click ahead on the replay bar): the score card "
                    "does not count it"]
    text = render_score_card(b)
    assert "1m20s skipped, not counted" in text and "1m20s of it skipped, not counted below" in text
    assert "skipped, not counted" not in render_score_card(a).split("## Target")[0]


def test_a_skip_across_the_crash_counts_only_what_was_lived_after_the_first_bad_signal():
    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    run = TrainingRun(scenario, "olga")
    run.skip(20)                                       # from t+0 to t+20: the crash (~10 s) inside
    play_safe_path(run)                                # instantly: nothing lived after the first bad signal
    card = run.score_card()
    assert 9 < card["first_bad_t"] < 13 and card["rto_skipped_s"] == pytest.approx(20 - card["first_bad_t"])
    assert card["rto_s"] == 0 and card["stage_seconds"]["0"] == 0


def test_the_score_card_states_its_target_and_whether_it_was_met():
    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    run = start(scenario)
    play_safe_path(run)
    card = run.score_card()
    steps = len(scenario.safe_path)
    goal = human_seconds(steps * RTO_GOAL_PER_STEP_S)     # 2m30s: 10 steps, the evaluation the first
    assert card["target"] == {"rto_goal_s": steps * RTO_GOAL_PER_STEP_S, "unsafe_attempts": 0,
                              "rto_goal_basis": f"15 s for each of the {steps} steps of the safe path"}
    assert card["rto_goal_met"] and card["no_unsafe_met"] and card["target_met"]
    text = render_score_card(card)
    assert "## Target: met" in text
    assert f"- RTO {goal} or less (15 s for each of the {steps} steps of the safe path): met: RTO" in text
    assert "- zero unsafe attempts: met" in text
    assert headline(card)[-1].startswith("target met: RTO ") and f"within the {goal} goal; zero" in headline(card)[-1]

    slow = start(scenario)                             # an unsafe attempt, and slow: neither part is met
    with pytest.raises(TrainingRefused):
        slow.promote("node2")
    slow.set_roles("sam", "alice")
    slow.advance(200)
    play_safe_path(slow)
    card = slow.score_card()
    assert not card["rto_goal_met"] and not card["no_unsafe_met"] and not card["target_met"]
    text = render_score_card(card)
    assert "## Target: not met" in text and "- zero unsafe attempts: not met: 1 unsafe attempt blocked" in text
    assert f": not met: RTO {human_seconds(card['rto_s'])}, {human_seconds(card['rto_s'] - steps * RTO_GOAL_PER_STEP_S)} over" in text
    assert headline(card)[-1] == (f"target not met: RTO {human_seconds(card['rto_s'])} over the {goal} goal; "
                                  "1 unsafe attempt blocked")

    own = start(scenario.model_copy(update={"rto_goal_s": 20.0}))   # a goal in the scenario file wins
    own.advance(30)
    play_safe_path(own)
    card = own.score_card()
    assert card["target"]["rto_goal_s"] == 20 and card["target"]["rto_goal_basis"] == "the scenario's own goal"
    assert card["rto_s"] > 20 and not card["rto_goal_met"] and card["no_unsafe_met"]

    unverified = start(scenario).score_card()
    assert not unverified["target_met"] and unverified["rto_s"] is None
    assert "not met: the run was not verified, so there is no RTO" in render_score_card(unverified)
    assert headline(unverified)[-1] == (f"target not met: not verified, so no RTO to hold against the {goal} goal; "
                                        "zero unsafe attempts")


def test_an_attestation_the_gates_could_not_judge_misses_the_zero_unsafe_target():
    scenario = load_scenario(SCENARIO_DIR / "old-primary-partitioned.json")
    run = start(scenario)
    to_old_primary(run)
    run.attest("node1", "alice", "host powered off, confirmed by the provider")
    play_safe_path(run)
    card = run.score_card()
    assert card["unsafe_attempts_blocked"] == 0 and card["warnings"] and not card["no_unsafe_met"]
    said = "zero unsafe attempts: not met: 1 unsafe action the gates could not see (the warnings)"
    assert said in render_score_card(card)


def test_an_rto_goal_in_the_scenario_file_round_trips_and_is_checked(tmp_path):
    good = json.loads((SCENARIO_DIR / "clean-crash.json").read_text())
    assert "rto_goal_s" not in good
    path = tmp_path / "goal.json"
    path.write_text(json.dumps({**good, "rto_goal_s": 90}))
    scenario = load_scenario(path)
    assert scenario.rto_goal_s == 90 and json.loads(scenario_json(scenario))["rto_goal_s"] == 90
    path.write_text(json.dumps({**good, "rto_goal_s": 0}))
    with pytest.raises(ScenarioError, match=r"goal.json: rto_goal_s: Input should be greater than 0"):
        load_scenario(path)


def comes_back_writable(scenario):
    """clean-crash, except node1 comes back 25 s in, writable (restarted by someone, say)."""
    last = max((s for s in scenario.samples if s.name == "node1" and s.writable), key=lambda s: s.observed_at)
    back = [last.model_copy(update={"observed_at": scenario.moment(t)}) for t in range(25, int(scenario.seconds) + 1)]
    return scenario.model_copy(update={"samples": scenario.samples + tuple(back)})


def test_a_check_that_ran_and_failed_is_neither_ok_nor_blocked():
    scenario = comes_back_writable(load_scenario(SCENARIO_DIR / "clean-crash.json"))
    run = start(scenario)
    to_old_primary(run)
    run.attest("node1", "alice", "the host is down, I can see it")  # not fenced: nothing keeps it down
    run.check_others()
    run.promote(run.state().candidate)
    run.cut_over()
    run.advance_to(27)
    assert run.view.split_brain
    assert run.verify() is False
    verify = run.attempts[-1]
    assert verify["outcome"] == "did not pass"
    assert verify["text"].startswith("verify: did not pass: stage 5 Verify: failing:")
    assert "stragglers" in verify["text"]
    card = run.score_card()
    text = render_score_card(card)
    assert f"- {clock(verify['t'])} verify: DID NOT PASS: stage 5 Verify: failing:" in text
    assert card["unsafe_attempts_blocked"] == 0 and card["verdict"] == "not verified"
    assert "ok:" not in text and repr_fragments(text) == []


@pytest.mark.parametrize("name", BUNDLED)
def test_no_attempt_reads_like_ok_but_failed(name):
    run = start(load_scenario(SCENARIO_DIR / f"{name}.json"))
    with pytest.raises(TrainingRefused):
        run.promote("node2")
    play_safe_path(run)
    outcomes = {a["action"]: a["outcome"] for a in run.attempts}
    assert outcomes["promote"] == "done" and outcomes["verify"] == "passed" and outcomes["cut over"] == "passed"
    first_check = next(a for a in run.attempts if a["action"] == "check the old primary")
    assert first_check["outcome"] == "did not pass"             # node1 needs fencing: stage 2 did not pass
    assert "did not pass: " in first_check["text"] and " is failed" not in first_check["text"]
    assert run.attempts[0]["outcome"] == "refused"
    for a in run.attempts:
        assert set(a) == {"t", "action", "ok", "outcome", "text"} and a["ok"] == (a["outcome"] != "refused")
        if a["outcome"] in ("done", "passed"):
            assert "did not pass" not in a["text"] and "failed" not in a["text"].lower(), a
        assert repr_fragments(a["text"]) == [], a
    text = render_score_card(run.score_card())
    assert "ok:" not in text and ": ok" not in text
    verify = next(a for a in run.attempts if a["action"] == "verify")
    assert f"- {clock(verify['t'])} verify: passed\n" in text


@pytest.mark.parametrize("name", BUNDLED)
def test_what_a_safe_run_does_is_in_sentences(name):
    """The bundled safe paths were recorded with the sentences of their day ("read-only (in recovery:
    True)"); they are re-played by checks.training.path.play_safe_path, as the recorder does."""
    scenario = load_scenario(SCENARIO_DIR / f"{name}.json")
    assert [line for line in scenario.safe_path if repr_fragments(line)] == []
