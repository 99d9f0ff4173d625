"""Verified means verified now (issue 11 item 5), on one real lab failed over once and reused.

The tests run in file order; each says the state it starts from. The lab is this module's
``scratch_lab``: node1 is crashed, a drill whose fence command cannot start stops with the
reason, the same incident fails over to node2; then the old primary comes back (split brain),
is fenced again, and finally the new primary dies: a resumed drill never reports the journal's
old verification as the present.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.incident.record import write_record
from checks.runbook.operation import GateRefused, Operation
from checks.stages.close import close_incident
from checks.stages.verify import verify_all
from tests.drill_helpers import drill, events, last_line, writable_nodes

pytestmark = pytest.mark.lab

DRILL = ("--yes", "--fence", "--approver", "alice")
CLOSED = re.compile(r"^incident inc was closed at \S+Z by \S+: a new fault is a new incident \(pass a new "
                    r"--incident\), or reopen this one with --reopen$")


@pytest.fixture(scope="module")
def incident(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("verified-now") / "inc"


def last_run(incident: Path) -> list:
    stage5 = [e for e in events(incident, "evidence") if e.stage == 5]
    return [e for e in stage5 if e.data.get("verify_run") == stage5[-1].data.get("verify_run")]


def cockpit(lab, incident: Path, coro_fn):
    """What the cockpit's v and z do, on the seat's Operation (no screen needed)."""
    name, cluster = load_config(lab.status()["config"]).cluster(None)
    journal = Journal.open(incident)
    op = Operation(journal, name, cluster, author="olga", on_event=lambda _e: write_record(incident, journal))

    async def go():
        try:
            return await coro_fn(op)
        except GateRefused as exc:
            return exc
        finally:
            await op.close()

    try:
        return asyncio.run(go())
    finally:
        journal.close()


def assert_no_negative_figure(close) -> None:
    figures = close.data
    assert figures["rto_s"] is not None and figures["rto_s"] >= 0, figures
    assert figures["rto_origin_at"] <= figures["rto_end_at"], figures
    assert all(seconds >= 0 for seconds in figures["stage_seconds"].values()), figures["stage_seconds"]


def test_a_failed_fence_prints_its_reason_then_the_resumed_drill_fails_over(scratch_lab, incident, tmp_path):
    """Start: a healthy lab. End: node2 promoted and verified, node1 fenced, the incident closed."""
    lab, config = scratch_lab, scratch_lab.status()["config"]
    lab.crash("node1")
    text = Path(config).read_text()
    python = re.search(r'fence = \[\n    ("[^"]+"),', text).group(1)
    broken = tmp_path / "clusters.toml"                 # node1's fence command cannot start
    broken.write_text(text.replace(f"fence = [\n    {python},", 'fence = [\n    "/nonexistent/ofc-fence",', 1))
    proc = drill(str(broken), incident, *DRILL)
    assert proc.returncode == 1, proc.stdout
    failed = [line for line in proc.stdout.splitlines() if line.startswith("    fence step failed: ")]
    assert failed and "No such file or directory" in failed[0], proc.stdout
    assert "node1" in last_line(proc) and "verified" not in proc.stdout, proc.stdout
    assert writable_nodes(lab) == []

    proc = drill(config, incident, *DRILL)
    assert proc.returncode == 0, proc.stdout
    assert last_line(proc) == "verified: exactly one writable primary; Odoo writing through the new path"
    assert writable_nodes(lab) == ["node2"]
    assert_no_negative_figure(events(incident, "close")[-1])


def test_the_old_primary_back_fails_every_check_and_the_close(scratch_lab, incident):
    """Start: failed over to node2, incident closed. End: node1 crashed again (it was fenced at
    stage 2), node2 the one writer, the incident reopened and not verified since."""
    lab, config = scratch_lab, scratch_lab.status()["config"]
    lab.start("node1")                                   # the old primary back, writable: two writers
    try:
        proc = drill(config, incident, *DRILL)            # a closed incident is refused, and says how on
        assert proc.returncode == 1 and CLOSED.match(last_line(proc)), proc.stdout
        assert any(e.data.get("refused") and CLOSED.match(e.text.split("refused: drill: ")[-1])
                   for e in events(incident, "system"))

        proc = drill(config, incident, *DRILL, "--reopen")
        assert proc.returncode == 1, proc.stdout
        assert "verified:" not in proc.stdout and "RTO" not in proc.stdout
        assert last_line(proc) == "blocked at stage 5 Verify: failing: new_primary_writable, odoo_login, " \
                                  "write_probe, cron_progress, stragglers; to unlock: fix and verify again"
        split = "split brain: node1 and node2 accept writes now; exactly one writable primary, node2, is required"
        run = last_run(incident)
        assert len(run) == 5 and all(not e.data["passed"] and split in e.text for e in run), [e.text for e in run]
        assert [e for e in events(incident, "system") if e.data.get("reopen")]

        # the cockpit: v journals FAILs the same way, z is refused with the sentence (journaled)
        assert cockpit(lab, incident, verify_all) is False
        assert all(not e.data["passed"] and split in e.text for e in last_run(incident))
        refused = cockpit(lab, incident, lambda op: close_incident(op))
        assert isinstance(refused, GateRefused) and str(refused).startswith(f"close refused: {split}")
        assert not [e for e in events(incident, "close")[1:]], "a second close was journaled"
        assert sorted(writable_nodes(lab)) == ["node1", "node2"]       # verification changed nothing
        assert "## Verification" in (incident / "record.md").read_text()
    finally:
        lab.crash("node1")


def test_one_writer_again_verifies_afresh_and_closes_with_no_negative_figure(scratch_lab, incident):
    """Start: node2 the one writer, node1 stopped (fenced at stage 2), the incident reopened.
    End: verified and closed again."""
    lab = scratch_lab
    before = len([e for e in events(incident, "evidence") if e.stage == 5])
    proc = drill(lab.status()["config"], incident, *DRILL)
    assert proc.returncode == 0, proc.stdout
    assert last_line(proc) == "verified: exactly one writable primary; Odoo writing through the new path"
    run = last_run(incident)
    assert len([e for e in events(incident, "evidence") if e.stage == 5]) == before + len(run)
    assert all(e.data["passed"] for e in run)
    closes = events(incident, "close")
    assert len(closes) == 2
    assert_no_negative_figure(closes[-1])
    probe = next(e for e in run if e.data["check"] == "write_probe")
    assert closes[-1].data["rto_end_at"] == probe.model_dump(mode="json")["at"]


def test_a_resumed_incident_on_a_dead_primary_never_says_verified(scratch_lab, incident):
    """Start: verified and closed on node2. End: node2 crashed too; nothing writable."""
    lab = scratch_lab
    lab.crash("node2")                                   # the new primary dies: no node is writable
    proc = drill(lab.status()["config"], incident, *DRILL, "--reopen")
    assert proc.returncode == 1, proc.stdout
    assert "verified:" not in proc.stdout and "RTO" not in proc.stdout
    assert "stage 5 Verify: FAILED" in proc.stdout
    dead = "no node accepts writes now: node2 is unreachable"
    assert all(not e.data["passed"] and dead in e.text for e in last_run(incident))
    refused = cockpit(lab, incident, lambda op: close_incident(op))
    assert isinstance(refused, GateRefused) and str(refused).startswith(f"close refused: {dead}")
    assert writable_nodes(lab) == []
