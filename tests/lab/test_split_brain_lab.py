"""Split brain, resolved from where it is seen, on ONE real lab for the module, in order:

1. a crash failover to node2 (drill), node1 started again: two writers, node1 holding only its
   restart checkpoint; keeping a standby and (after) keeping node2 with one writer are refused;
   ``split-brain --keep node2`` without an approver fences node1 (the drill's closed incident);
2. node1 started again and written to: without ``--approver`` refused, naming what node1 holds,
   the cluster unchanged; with ``--approver alice`` fenced (a fresh incident);
3. the cockpit: node1 back once more; the banner shows K, K proposes node2, node1 typed is refused
   until the approver seat approves (K there), then node1 is fenced and the banner goes away.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import psql
from tests.drill_helpers import ROOT, drill, events, last_line, writable_nodes
from tests.tmux_helpers import Tmux, cockpit

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("split-brain")


def split_brain(config: str, incident: Path, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "cli", "split-brain", config, "--incident", str(incident), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr + proc.stdout
    return proc


def wait_writers(lab, expected: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while writable_nodes(lab) != expected:
        assert time.monotonic() < deadline, f"writers {writable_nodes(lab)}, not {expected}"
        time.sleep(0.2)


def keep_events(incident: Path):
    return [e for e in events(incident) if (e.data or {}).get("keep_one_writer")]


def test_restart_checkpoint_only_is_fenced_without_an_approver(scratch_lab, place):
    lab, inc = scratch_lab, place / "drill"
    config = lab.status()["config"]
    lab.crash("node1")
    proc = drill(config, inc, "--fence", "--yes", "--approver", "alice")
    assert proc.returncode == 0, proc.stdout
    lab.start("node1")                                   # the old primary back, writable, on timeline 1
    wait_writers(lab, ["node1", "node2"])

    refused = split_brain(config, inc, "--keep", "node3", "--yes")
    assert refused.returncode == 1, refused.stdout
    assert "node3 is read-only" in last_line(refused) and "keep one of node1 and node2" in last_line(refused)
    assert writable_nodes(lab) == ["node1", "node2"]

    proc = split_brain(config, inc, "--keep", "node2", "--yes")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "proposed: keep node2" in proc.stdout and "Odoo reaches node2 through PgBouncer" in proc.stdout
    assert "node1 holds only its own restart checkpoint" in proc.stdout
    assert last_line(proc).startswith("one writer remains, node2: node1 fenced")
    assert writable_nodes(lab) == ["node2"]
    kinds = {e.kind: e for e in keep_events(inc)}
    assert kinds["alarm"].data["writable"] == ["node1", "node2"] and kinds["alarm"].data["proposed"] == "node2"
    decision = kinds["decision"]
    assert decision.data["keep"] == "node2" and decision.data["fence"] == ["node1"]
    assert decision.data["approved_by"] is None
    assert decision.data["discards"][0]["restart_checkpoint_only"] is True
    fence = kinds["action"]
    assert fence.data["node"] == "node1" and fence.data["exit_code"] == 0
    assert kinds["evidence"].data["passed"] is True
    assert "keep node2 as the one writer" in (inc / "record.md").read_text()

    again = split_brain(config, inc, "--keep", "node2", "--yes")   # one writer already
    assert again.returncode == 1 and "there is no split brain" in last_line(again), again.stdout
    assert writable_nodes(lab) == ["node2"]


def test_real_writes_on_the_fenced_writer_need_an_approver(scratch_lab, place):
    lab, inc = scratch_lab, place / "fresh"
    config = lab.status()["config"]
    lab.start("node1")
    wait_writers(lab, ["node1", "node2"])
    psql(lab.status(), "node1", "create table only_on_node1(x int); "
                                "insert into only_on_node1 select generate_series(1, 5000)")

    refused = split_brain(config, inc, "--keep", "node2", "--yes")
    assert refused.returncode == 1, refused.stdout
    line = last_line(refused)
    assert "node1 holds" in line and "transactions node2 lacks" in line and "approver" in line, line
    assert writable_nodes(lab) == ["node1", "node2"]                 # the cluster unchanged
    assert [e for e in events(inc, "system") if e.data.get("needs_approval")]

    wrong = split_brain(config, inc, "--keep", "node2", "--yes", "--approver", "mallory")
    assert wrong.returncode == 1 and "not an approver" in last_line(wrong), wrong.stdout
    assert writable_nodes(lab) == ["node1", "node2"]

    proc = split_brain(config, inc, "--keep", "node2", "--yes", "--approver", "alice")
    assert proc.returncode == 0, proc.stdout
    assert writable_nodes(lab) == ["node2"]
    decision = [e for e in keep_events(inc) if e.kind == "decision"][-1]
    assert decision.data["approved_by"] == "alice" and decision.data["discards"][0]["holds_transactions"]
    assert [e for e in keep_events(inc) if e.kind == "approval" and e.data["approved_by"] == "alice"]


def test_the_cockpit_keeps_one_writer_from_the_banner(scratch_lab, place):
    from tests.lab.test_cockpit_runbook_lab import wait_journal

    lab, inc = scratch_lab, place / "cockpit"
    config = lab.status()["config"]
    lab.start("node1")                                   # back again, holding the rows of the last test
    wait_writers(lab, ["node1", "node2"])
    tmux = Tmux()
    try:
        tmux.start("op", cockpit(config, "--incident", str(inc), "--name", "olga"), size=(120, 40))
        tmux.wait_for("op", "K keep one writer", timeout=30)
        tmux.start("appr", cockpit(config, "--incident", str(inc), "--seat", "approver", "--name", "alice"))
        tmux.wait_for("appr", "K keep one writer", timeout=30)

        def keep_node2() -> None:
            tmux.keys("op", "K")
            tmux.wait_for("op", "which writer is kept", timeout=30)
            assert "proposed: keep node2" in tmux.screen("op")
            tmux.keys("op", "Enter")
            tmux.wait_for("op", "Type node1 to confirm")
            tmux.keys("op", "node1", literal=True)
            tmux.keys("op", "Enter")

        keep_node2()
        wait_journal(inc, lambda e: e.data.get("needs_approval"), "the refusal asking for an approver")
        assert writable_nodes(lab) == ["node1", "node2"]
        time.sleep(1)
        tmux.keys("appr", "K")
        tmux.wait_for("appr", "Approve keeping node2 and fencing node1?")
        tmux.keys("appr", "y")
        wait_journal(inc, lambda e: e.kind == "approval" and e.data.get("keep_one_writer"), "the approval")
        time.sleep(1)
        keep_node2()
        decision = wait_journal(inc, lambda e: e.kind == "decision" and e.data.get("keep_one_writer"), "decision")
        assert decision.data["approved_by"] == "alice" and decision.data["proposed_by"] == "olga"
        wait_journal(inc, lambda e: e.kind == "evidence" and e.data.get("keep_one_writer"), "the one-writer check")
        deadline = time.monotonic() + 15
        while "K keep one writer: choose" in tmux.screen("op"):     # the banner (the timeline keeps the alarm)
            assert time.monotonic() < deadline, tmux.screen("op")
            time.sleep(0.2)
        assert writable_nodes(lab) == ["node2"]
    finally:
        tmux.kill()
