"""`train record NAME` on a real lab: a short custom scenario recorded, loaded and trained."""

from __future__ import annotations

import pytest

from checks.training.path import play_safe_path
from checks.training.run import TrainingRun
from checks.training.scenario import load_scenario
from cli.main import main
from cli.scenario_recorder import record_scenario

pytestmark = pytest.mark.lab


def test_a_short_custom_scenario_is_recorded_and_loads(fresh_lab, tmp_path):
    lines = []
    path, scenario = record_scenario("my-drill", lab_dir=fresh_lab.dir, seconds=5, out=tmp_path, echo=lines.append)
    assert path == tmp_path / "my-drill.json"
    assert any("recording my-drill for 5 s" in line for line in lines)
    loaded = load_scenario(path)
    assert loaded == scenario
    assert loaded.faults == ()                              # a custom name drives no fault itself
    assert {s.name for s in loaded.samples} == {"node1", "node2", "node3"}
    assert 4 <= loaded.seconds <= 6 and len(loaded.samples) >= 3 * 2
    first = {s.name: s for s in reversed(loaded.samples)}
    assert first["node1"].writable and first["node2"].in_recovery and first["node3"].in_recovery
    assert [n["name"] for n in loaded.config["nodes"]] == ["node1", "node2", "node3"]
    assert "dsn" not in loaded.config["nodes"][0]           # names only: nothing to connect to
    assert "password" not in path.read_text().lower()
    first, second, last = loaded.safe_path[0], loaded.safe_path[1], loaded.safe_path[-1]
    assert first.startswith("g:") and second.startswith("s:") and last.startswith("z:")   # evaluate first
    run = TrainingRun(loaded, "olga", start_at=loaded.settle_s)
    play_safe_path(run)                                      # a switchover of the healthy lab
    assert run.score_card()["verified"]
    assert [n["role"] for n in fresh_lab.status()["nodes"]] == ["primary", "standby", "standby"]


def test_the_cli_records_then_lists_a_file_scenario(fresh_lab, tmp_path, capsys):
    out = tmp_path / "drill.json"
    assert main(["train", "record", "cli-drill", "--dir", str(fresh_lab.dir), "--seconds", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "recorded cli-drill" in printed and str(out) in printed
    assert load_scenario(out).name == "cli-drill"
