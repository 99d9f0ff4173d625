"""Whole failovers on real labs: crash, the freshest standby, promote twice, kill -9 between stages,
and a planned switchover under load through PgBouncer."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.observe.pooler import PoolProbe
from checks.observe.sample import parse_iso
from checks.observe.signals import SignalBoard
from checks.runbook.operation import Operation
from checks.stages.pgbouncer import admin_show, entry_target
from checks.stages.promote import promote_candidate
from tests.conftest import psql
from tests.drill_helpers import ROOT, drill, events, last_line, writable_nodes

pytestmark = pytest.mark.lab


def close_stage_seconds(cluster, events, figures: dict) -> dict:
    """Time per stage recomputed the full way (every prefix judged afresh) from a real drill's journal."""
    import checks.stages.close as close
    from tests.unit.test_incremental_closeout import full_stage_passed_at

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(close, "stage_passed_at", full_stage_passed_at)
        origin = figures["rto_origin_at"] and parse_iso(figures["rto_origin_at"])
        return close.closeout(cluster, events, [], [], started_at=events[0].at,
                              first_bad_at=origin if figures["rto_from"] == "first bad signal" else None)["stage_seconds"]


def pgbouncer_target(config: str) -> tuple:
    _, cluster = load_config(config).cluster(None)
    return entry_target(asyncio.run(admin_show(cluster.pgbouncers[0], "databases")), "odoo")


def test_crash_failover_promotes_the_freshest_standby_and_moves_pgbouncer(fresh_lab, tmp_path):
    lab, st = fresh_lab, fresh_lab.status()
    psql(st, "node1", "create table t(x int)")
    lab.crash("node3")                                   # node3 misses the next writes ...
    psql(st, "node1", "insert into t select generate_series(1, 5000)")
    lab.crash("node1")                                   # ... and the primary dies
    lab.start("node3")
    incident = tmp_path / "inc"
    proc = drill(st["config"], incident, "--yes", "--approver", "alice", "--fence")
    assert proc.returncode == 0, proc.stdout
    assert last_line(proc).startswith("verified: exactly one writable primary")
    decision = [e for e in events(incident, "decision") if e.data.get("candidate")][-1]
    assert decision.data["candidate"] == "node2"
    assert writable_nodes(lab) == ["node2"]
    node2_port = next(n["port"] for n in st["nodes"] if n["name"] == "node2")
    assert pgbouncer_target(st["config"]) == ("127.0.0.1", node2_port)
    record = (incident / "record.md").read_text()
    assert "approved by alice" in record.lower() or "alice approves" in record
    assert "RTO" in record and "node2 promoted: writable" in record
    _, cluster = load_config(st["config"]).cluster(None)
    recorded = Journal.open(incident)
    close_event = recorded.events(kinds={"close"})[-1]
    every = recorded.events()
    assert close_stage_seconds(cluster, every[: every.index(close_event)], close_event.data) == \
        close_event.data["stage_seconds"]       # the close-out journaled (incremental) is the full one
    recorded.close()

    # pressing promote again is harmless: nothing is sent, the journal says so
    _, cluster = load_config(st["config"]).cluster(None)
    journal = Journal.open(incident)
    op = Operation(journal, "lab", cluster, author="root")
    result = asyncio.run(promote_candidate(op, "node2"))
    asyncio.run(op.close())
    assert result.already and result.promoted
    assert writable_nodes(lab) == ["node2"]
    assert any("promote pressed again" in e.text for e in journal.events(kinds={"note"}))


def test_kill_9_of_the_operator_between_stages_resumes(fresh_lab, tmp_path):
    lab, st = fresh_lab, fresh_lab.status()
    lab.crash("node1")
    incident = tmp_path / "inc"
    cmd = [sys.executable, "-m", "cli", "drill", st["config"], "--incident", str(incident),
           "--approver", "bob", "--fence"]                     # no --yes: it stops at the typed confirmation
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out = ""
    deadline = time.monotonic() + 60
    while "stage 2 Old primary: PASSED" not in out:
        assert time.monotonic() < deadline and proc.poll() is None, out
        out += proc.stdout.readline()
    time.sleep(0.3)
    os.kill(proc.pid, signal.SIGKILL)                           # between stage 2 and stage 3
    proc.wait()
    before = events(incident)
    assert writable_nodes(lab) == [], "nothing should be promoted yet"
    resumed = drill(st["config"], incident, "--yes", "--approver", "bob", "--fence")
    assert resumed.returncode == 0, resumed.stdout
    after = events(incident)
    assert [e.id for e in after[: len(before)]] == [e.id for e in before], "journaled events were lost"
    freezes = [e for e in after if e.kind == "action" and e.data.get("step") == "freeze"]
    decisions = [e for e in after if e.kind == "decision" and e.data.get("candidate")]
    assert len(freezes) == 1 and len(decisions) == 1, "the resumed run redid finished stages"
    assert writable_nodes(lab) == ["node2"]


def test_planned_switchover_under_load_loses_no_row_and_fails_no_transaction(fresh_lab, tmp_path):
    lab, st = fresh_lab, fresh_lab.status()
    psql(st, "node1", "create table probe_rows(id bigserial primary key, at timestamptz default now())", db="odoo")
    psql(st, "node1", "grant all on probe_rows, probe_rows_id_seq to public", db="odoo")
    script = tmp_path / "insert.sql"
    script.write_text("INSERT INTO probe_rows DEFAULT VALUES;\n")
    port = st["pgbouncer"]["port"]
    env = dict(os.environ, PGPASSFILE=str(lab.dir / "pgpass"))
    bench = subprocess.Popen(
        ["/usr/lib/postgresql/15/bin/pgbench", "-n", "-c", "4", "-T", "10", "-f", str(script),
         "-h", "127.0.0.1", "-p", str(port), "-U", "odoo", "odoo"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    time.sleep(3)
    proc = drill(st["config"], tmp_path / "inc", "--yes", "--approver", "alice", "--fence")
    out, _ = bench.communicate(timeout=60)
    assert proc.returncode == 0, proc.stdout
    # The client-side stall, as PgBouncer's own SHOW POOLS said it inside the pause, just before RESUME
    # (journaled by the cutover: a probe every few ms can still miss a 200 ms pause, the cutover cannot).
    [cutover] = [e for e in events(tmp_path / "inc", "action") if e.data.get("target") == "pgbouncer:pgb1"]
    queued = cutover.data["queued_at_resume"]["odoo"]
    assert queued["cl_waiting"] >= 1 and queued["maxwait_s"] is not None, cutover.text
    assert re.search(r"\d+ clients? of odoo waited at RESUME, the longest ", cutover.text), cutover.text
    # the same figures make the pooler_waiting signal: the board reads the queue the cutover saw
    waiting = SignalBoard(load_config(st["config"]).cluster(None)[1])
    waiting.update(probes=[PoolProbe(pgbouncer="pgb1", database="odoo", paused=True, **queued)])
    assert waiting.get("pooler_waiting", "pgb1/odoo").firing
    risk = [e for e in events(tmp_path / "inc", "evidence") if e.data.get("check") == "pre_promote"][-1]
    assert risk.data["data_risk"]["kind"] == "zero", risk.text
    # the promoted node's timeline switch is read once Odoo is resumed, not inside the pause, and
    # still journaled (a later rollback judges divergence from it): timeline 2, forked from 1
    [switch] = [e for e in events(tmp_path / "inc", "evidence") if e.data.get("check") == "timeline_switch"]
    assert switch.id > cutover.id and switch.data["position"]["timeline"] == 2, switch.text
    assert [h["parent_tli"] for h in switch.data["history"]][-1:] == [1], switch.data["history"]
    assert bench.returncode == 0, out
    processed = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", out)
    assert failed is None or int(failed.group(1)) == 0, out
    chosen = [e for e in events(tmp_path / "inc", "decision") if e.data.get("candidate")][-1].data["candidate"]
    assert writable_nodes(lab) == [chosen]
    assert int(psql(st, chosen, "select count(*) from probe_rows", db="odoo")) == processed
    # the first bad signal of a planned switchover is its own fence, after stages 0-1 passed: the
    # time per stage then counts from the incident start, never negative
    figures = events(tmp_path / "inc", "close")[-1].data
    assert set(figures["stage_seconds"]) == {"0", "1", "2", "3", "4", "5"}
    assert all(seconds >= 0 for seconds in figures["stage_seconds"].values()), figures["stage_seconds"]


def test_a_cutover_whose_second_pause_fails_resumes_the_first_database(lab):
    """The driver runs on one admin session; a PAUSE failing part-way must not leave Odoo paused."""
    from checks.stages.cutover import StepFailed, cutover_pgbouncer
    from checks.stages.pgbouncer import PgBouncerError

    _, cluster = load_config(lab.status()["config"]).cluster(None)
    real = cluster.pgbouncers[0]
    pgb = real.model_copy(update={"databases": ["odoo", "no_such_db"], "ini_path": None})
    before = pgbouncer_target(lab.status()["config"])
    with pytest.raises((PgBouncerError, StepFailed), match="PAUSE no_such_db"):
        asyncio.run(cutover_pgbouncer(pgb, *before))
    odoo = next(r for r in asyncio.run(admin_show(real, "databases")) if r["name"] == "odoo")
    assert odoo["paused"] == 0 and pgbouncer_target(lab.status()["config"]) == before
