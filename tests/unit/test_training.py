"""Training, pure and fast: every bundled scenario (a real lab run) played through TrainingRun.

The safe path reaches verified; promoting before fencing (or before the approval) is refused
with the sentence the live cockpit's gates give, and counted on the score card; the trainee
can never approve their own action; nothing ever connects to a database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.incident.journal import Journal
from checks.observe.lsn import lsn_diff
from checks.runbook.operation import GateRefused, Operation
from checks.training.path import play_safe_path
from checks.training.run import TrainingRun
from checks.training.scenario import ScenarioError, TrainingRefused, load_scenario, scenario_json
from checks.training.score import render_score_card, write_training_record
from cli.main import main
from cli.train_cmd import SCENARIO_DIR, bundled

BUNDLED = ("clean-crash", "lagging-standbys", "old-primary-writable", "old-primary-partitioned")
NEEDS_APPROVAL = {"lagging-standbys"}
LOCKED_BY_STAGE_2 = "promote refused: stage 3 Promote is locked because stage 2 Old primary has not passed"
LOCKED_BY_STAGE_1 = "promote refused: stage 3 Promote is locked because stage 1 Replica freshness has not passed"


@pytest.fixture(scope="module", params=BUNDLED)
def scenario(request):
    return load_scenario(SCENARIO_DIR / f"{request.param}.json")


def start(scenario, trainee="olga") -> TrainingRun:
    return TrainingRun(scenario, trainee, start_at=scenario.settle_s)


def real_refusal(run: TrainingRun, tmp_path: Path, stage: int, action: str) -> str:
    """The sentence the live cockpit's Operation gives for ``action`` on the same journaled events."""
    journal = Journal.create(tmp_path / "real", incident_id="parity", cluster=run.scenario.cluster_name)
    for e in run.events:
        journal.append(e.kind, e.text, seat=e.seat, author=e.author, stage=e.stage, data=e.data)
    op = Operation(journal, run.scenario.cluster_name, run.cluster, author=run.trainee)
    with pytest.raises(GateRefused) as info:
        op.require(stage, action)
    journal.close()
    return str(info.value)


def to_old_primary(run: TrainingRun, *, approver: str = "alice") -> None:
    run.set_roles("sam", approver)
    run.freeze()
    run.choose()
    if run.scenario.name in NEEDS_APPROVAL:
        run.approve(approver)
    run.check_others()


def test_bundled_scenarios_are_real_small_recordings():
    assert set(BUNDLED) <= set(bundled())
    for name in BUNDLED:
        path = SCENARIO_DIR / f"{name}.json"
        assert path.stat().st_size < 300 * 1024, name
        scenario = load_scenario(path)
        assert scenario.recorded_with.startswith(f"failover-cockpit train record {name}")
        assert 30 <= scenario.seconds <= 40
        assert {s.name for s in scenario.samples} == {"node1", "node2", "node3"}
        assert all(s.server_version and s.server_version.startswith("15") for s in scenario.samples if s.reachable)
        assert scenario.safe_path and scenario.safe_path[-1].startswith("z:")
        assert scenario.config["approvers"] == ["alice", "bob"]


def test_the_safe_path_reaches_verified(scenario):
    run = start(scenario)
    lines = play_safe_path(run)
    card = run.score_card()
    assert card["verdict"] == "verified" and card["verified"] and card["closed"]
    assert card["unsafe_attempts_blocked"] == 0 and card["blocked"] == []
    assert card["split_brain"] is False and card["warnings"] == []
    assert [line[0] for line in lines] == [line[0] for line in scenario.safe_path]
    assert any(line.startswith("x: fence node1") for line in lines)
    assert ("a" in [line[0] for line in lines]) == (scenario.name in NEEDS_APPROVAL)
    assert [n.name for n in run.view.nodes if n.sample.writable] == [card["candidate"]]


def test_promoting_before_fencing_is_refused_with_the_gates_sentence_and_counted(scenario, tmp_path):
    run = start(scenario)
    to_old_primary(run)
    assert run.state().stage(2).status == "failed"
    expected = real_refusal(run, tmp_path, 3, "promote")
    with pytest.raises(TrainingRefused) as info:
        run.promote(run.state().candidate)
    assert str(info.value) == expected
    assert str(info.value).startswith(LOCKED_BY_STAGE_2)
    assert "node1 is" in str(info.value) and "fence" in str(info.value)
    assert [n.name for n in run.view.nodes if n.sample.writable] in ([], ["node1"])   # nothing promoted
    run.fence("node1")
    run.promote(run.state().candidate)
    run.cut_over()
    assert run.verify() is True
    run.close()
    card = run.score_card()
    assert card["unsafe_attempts_blocked"] == 1
    assert card["blocked"][0]["action"] == "promote" and card["blocked"][0]["sentence"] == expected
    assert card["verdict"] == "verified" and card["split_brain"] is False
    text = render_score_card(card)
    assert "1 unsafe attempt blocked" in text and "verdict: verified" in text
    assert all(line in text for line in scenario.safe_path)
    assert set(card["stage_seconds"]) == {"0", "1", "2", "3", "4", "5"}


def test_lagging_standbys_need_an_approval_before_promotion(tmp_path):
    scenario = load_scenario(SCENARIO_DIR / "lagging-standbys.json")
    run = start(scenario)
    run.set_roles("sam", "alice")
    run.freeze()
    risk = run.choose()
    assert risk.needs_approval and risk.bytes > 1024 * 1024       # about 20 MB never received
    assert "over the SLO" in risk.statement
    expected = real_refusal(run, tmp_path, 3, "promote")
    with pytest.raises(TrainingRefused) as info:
        run.promote(risk.candidate)
    assert str(info.value) == expected and str(info.value).startswith(LOCKED_BY_STAGE_1)
    assert "an approver (not the operator) must approve it" in str(info.value)
    run.approve("bob")
    assert run.state().stage(1).status == "overridden"
    assert play_safe_path(run)[-1].startswith("z:")
    card = run.score_card()
    assert card["verified"] and card["unsafe_attempts_blocked"] == 1 and card["approved_by"] == ["bob"]


def test_the_trainee_can_never_approve_their_own_action():
    scenario = load_scenario(SCENARIO_DIR / "lagging-standbys.json")
    run = start(scenario, trainee="alice")            # alice is a listed approver, but she operates
    with pytest.raises(TrainingRefused, match="'alice' is the operator: the operator can never approve"):
        run.set_roles("sam", "alice")
    run.set_roles("sam", "bob")
    run.freeze()
    run.choose()
    with pytest.raises(TrainingRefused) as info:
        run.approve("alice")
    assert str(info.value) == ("approval refused: 'alice' is the operator: the operator can never approve "
                               "their own action")
    with pytest.raises(TrainingRefused, match="'mallory' is not an approver of this cluster"):
        run.approve("mallory")
    assert run.state().stage(1).status == "open"
    events = run.events
    refusals = [e for e in events if e.data.get("refused")]
    assert len(refusals) == 3 and run.score_card()["unsafe_attempts_blocked"] == 3
    assert refusals[1].seat == "approver"          # the trainee plays the approver in the approver's seat


def test_a_wrong_name_typed_for_promotion_is_the_real_refusal():
    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    run = start(scenario)
    to_old_primary(run)
    run.fence("node1")
    candidate = run.state().candidate
    with pytest.raises(TrainingRefused) as info:
        run.promote("node9")
    assert str(info.value) == f"promotion not confirmed: type the candidate's name exactly ({candidate!r})"
    with pytest.raises(TrainingRefused, match=r"fence refused: stage 2|no node needs fencing"):
        run.fence("node1")
    result = run.promote(candidate)
    assert result.promoted and not result.already
    again = run.promote(candidate)
    assert again.already                             # a second press sends nothing
    assert any(e.kind == "note" and "already promoted" in e.text for e in run.events)


def test_effects_are_overlays_on_the_recording():
    scenario = load_scenario(SCENARIO_DIR / "old-primary-writable.json")
    run = start(scenario)
    assert run.view.writable == ("node1",)           # a switchover: nothing crashed
    to_old_primary(run)
    candidate = run.state().candidate
    assert run.state().data_risk["pending_fence"] is True
    run.fence("node1")
    kinds = [e.data.get("step") for e in run.events if e.kind == "action" and e.stage == 2]
    assert kinds == ["pause pgb1/odoo", "final lsn", "catch up", "fence"]
    final = next(e.data for e in run.events if e.data.get("check") == "final_lsn")
    assert lsn_diff(final["candidate_received"], final["final_lsn"]) >= 0     # drained while PgBouncer paused
    run.advance(3)
    node1 = run.view.node("node1")
    assert node1.role == "unreachable" and "fenced" in node1.sample.error
    assert run.view.writable == ()
    run.promote(candidate)
    pre = next(e.data for e in run.events if e.data.get("check") == "pre_promote")
    assert pre["data_risk"]["kind"] == "zero"        # the fence sequence proved nothing is lost
    run.advance(2)
    new = run.view.node(candidate).sample
    assert run.view.writable == (candidate,)
    old_timeline = next(s.timeline for s in scenario.samples if s.name == candidate and s.timeline)
    assert new.timeline == old_timeline + 1 and new.in_recovery is False and new.tx_read_only == "off"
    assert not run.split_brain_seen


def test_attesting_a_partitioned_node_passes_the_gate_but_the_card_warns():
    scenario = load_scenario(SCENARIO_DIR / "old-primary-partitioned.json")
    assert scenario.node_condition("node1", scenario.settle_s) == "partitioned"
    run = start(scenario)
    to_old_primary(run)
    assert "node1 is unreachable" in run.state().stage(2).gate
    with pytest.raises(TrainingRefused, match="attestation refused: 'olga' is not an approver"):
        run.attest("node1", "olga", "powered off")
    run.attest("node1", "alice", "host powered off, confirmed by the provider")
    run.check_others()
    assert run.state().stage(2).status == "overridden"
    play_safe_path(run)
    card = run.score_card()
    assert card["verified"] and card["split_brain"] is False
    assert card["warnings"] and "alive (cut off from the bastion)" in card["warnings"][0]
    assert "fence, do not attest" in card["warnings"][0]


def test_training_never_connects_or_runs_a_command(monkeypatch):
    """At the seams every real action goes through: a database connection, a TCP socket, a process."""
    import asyncio
    import socket
    import subprocess

    import asyncpg

    def forbidden(*_args, **_kwargs):
        raise AssertionError("training reached real I/O")

    async def forbidden_async(*_args, **_kwargs):
        raise AssertionError("training reached real I/O")

    monkeypatch.setattr(asyncpg, "connect", forbidden_async)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(asyncio, "create_subprocess_exec", forbidden_async)
    monkeypatch.setattr(subprocess, "Popen", forbidden)
    for name in BUNDLED:
        run = start(load_scenario(SCENARIO_DIR / f"{name}.json"))
        play_safe_path(run)
        assert run.score_card()["verified"], name


def test_time_moves_forward_and_the_screen_view_follows_the_recording():
    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    run = TrainingRun(scenario, "olga")
    assert run.view.writable == ("node1",)
    with pytest.raises(ValueError):
        run.advance(-1)
    crash = next(f.t for f in scenario.faults if f.do == "crash")
    run.advance_to(crash + 3)
    assert run.view.verdict == "critical" and run.view.node("node1").role == "unreachable"
    first_bad = next(e for e in run.events if e.kind == "status" and e.data.get("first_bad_at"))
    assert crash <= scenario.offset(first_bad.at) <= crash + 2.5     # judged once a second on the way
    run.advance(600)
    assert run.ended and run.view.node("node1").role == "unreachable"   # the cluster stays as it last was


def test_the_training_record_is_written(tmp_path):
    scenario = load_scenario(SCENARIO_DIR / "clean-crash.json")
    run = start(scenario)
    with pytest.raises(TrainingRefused):
        run.promote("node2")
    play_safe_path(run)
    directory, card = write_training_record(run, tmp_path / "training")
    assert directory.parent == tmp_path / "training" and directory.name.endswith("-clean-crash-1")
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    saved = json.loads((directory / "score.json").read_text())
    assert saved["verdict"] == "verified" and saved["unsafe_attempts_blocked"] == 1
    score = (directory / "score.md").read_text()
    assert "1 unsafe attempt blocked" in score and "## What a safe run does" in score
    record = (directory / "record.md").read_text()
    assert "## Timeline (UTC)" in record and "refused: promote" in record and "## Close-out" in record
    assert len(json.loads((directory / "events.json").read_text())) == len(run.events)
    again, _ = write_training_record(run, tmp_path / "training")
    assert again.name.endswith("-clean-crash-2")


def test_a_bad_scenario_file_is_one_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ScenarioError, match=r"bad.json: not valid JSON"):
        load_scenario(path)
    good = json.loads((SCENARIO_DIR / "clean-crash.json").read_text())
    path.write_text(json.dumps({**good, "version": 99}))
    with pytest.raises(ScenarioError, match="version 99 is newer"):
        load_scenario(path)
    path.write_text(json.dumps({**good, "samples": "nope"}))
    with pytest.raises(ScenarioError, match=r"bad.json: samples"):
        load_scenario(path)
    path.write_text(json.dumps({**good, "config": {**good["config"], "nodes": [{"name": "node1"}]}}))
    with pytest.raises(ScenarioError, match="samples of nodes the config does not name: node2, node3"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.json")


def test_the_file_format_round_trips():
    scenario = load_scenario(SCENARIO_DIR / "old-primary-partitioned.json")
    text = scenario_json(scenario)
    assert text == (SCENARIO_DIR / "old-primary-partitioned.json").read_text()
    assert text.count("\n    {\"name\"") == len(scenario.samples)       # one sample per line


def test_train_lists_the_scenarios_and_names_them_for_an_unknown_one(capsys):
    assert main(["train", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == sorted(BUNDLED)
    assert all(len(line) < 200 for line in listed)
    assert main(["train", "no-such-drill"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'no-such-drill'" in err
    assert all(name in err for name in BUNDLED)
    assert main(["train", "record"]) == 2
    assert "name the scenario to record" in capsys.readouterr().err
    assert main(["train", "record", "Bad Name"]) == 1
    assert "lowercase letters, digits and dashes" in capsys.readouterr().err
