"""``failover-cockpit divergence`` on real labs: a planned switchover, the fenced old primary started
again (writable, on timeline 1), with and without writes after the fork; a monitoring role
without, then with, the grant it needs. Plus the pure judgement on histories a lab cannot make."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import tomllib

import pytest
import tomli_w

from checks.config.model import load_config
from checks.observe.divergence import (
    JSON_KEYS, DivergenceError, NodePosition, assess_divergence, gather_divergence, parse_history
)
from checks.observe.lsn import lsn_diff
from lab.postgres import pg_tool
from tests.conftest import psql
from tests.drill_helpers import ROOT, drill, events, writable_nodes

pytestmark = pytest.mark.lab


def divergence(config: str, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "cli", "divergence", config, *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=30, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr + proc.stdout
    return proc


def switch_over_and_restart_node1(lab, tmp_path) -> tuple[str, str]:
    """A clean planned switchover (node1 fenced by a crash once the candidate caught up), then
    node1 started again: it comes back as a writable primary on timeline 1. Returns the new
    primary and its switch point, read straight from its history file."""
    st = lab.status()
    proc = drill(st["config"], tmp_path / "inc", "--yes", "--fence", "--approver", "alice", "--candidate", "node2")
    assert proc.returncode == 0, proc.stdout
    new = [e for e in events(tmp_path / "inc", "decision") if e.data.get("candidate")][-1].data["candidate"]
    lab.start("node1")
    assert sorted(writable_nodes(lab)) == sorted(["node1", new])
    parent, switch, _reason = psql(st, new, "select pg_read_file('pg_wal/00000002.history')").split("\t")
    assert parent == "1"
    return new, switch


def wal_records(lab, node: str, start: str, end: str) -> list[tuple[str, int, str]]:
    """(resource manager, xid, record type) of every record pg_waldump finds in node's pg_wal
    from start up to end: the independent check of what pg_walinspect told the cockpit."""
    data = next(n["data_dir"] for n in lab.status()["nodes"] if n["name"] == node)
    out = subprocess.run(["runuser", "-u", "postgres", "--", pg_tool("pg_waldump"), "-p", f"{data}/pg_wal",
                          "-s", start, "-e", end], capture_output=True, text=True, timeout=30)
    return [(rm, int(tx), kind) for rm, tx, kind in
            re.findall(r"rmgr: (\S+)\s.*?tx:\s+(\d+), .*?desc: (\S+)", out.stdout)]


# What a restarted old primary writes by itself, without a transaction (seen with pg_waldump):
# its end-of-recovery checkpoint, the bgwriter's running-xacts records, full-page images.
NOT_WRITES = {("XLOG", "CHECKPOINT_SHUTDOWN"), ("XLOG", "CHECKPOINT_ONLINE"), ("Standby", "RUNNING_XACTS"),
              ("XLOG", "FPI"), ("XLOG", "FPI_FOR_HINT")}


def test_restarted_old_primary_holds_only_its_checkpoint_then_real_writes(fresh_lab, tmp_path):
    lab, st = fresh_lab, fresh_lab.status()
    new, switch = switch_over_and_restart_node1(lab, tmp_path)

    proc = divergence(st["config"], "--old", "node1", "--new", new, "--json")
    # The truth, measured: restarting the fenced old primary writes WAL past the switch point by
    # itself. It was crashed (fenced) after node2 had all its WAL, so the switch point is where
    # node1's WAL ended; starting again runs crash recovery, which ends with an end-of-recovery
    # checkpoint (CHECKPOINT_SHUTDOWN) before the server takes connections, and its bgwriter adds
    # RUNNING_XACTS records later. So node1 has "diverged": it can no longer follow node2 without
    # pg_rewind, but it holds no transaction. Where those records end varies from machine to
    # machine (952 bytes past the switch point on one), so what they are decides, never their size.
    assert proc.returncode == 1, proc.stderr
    d = json.loads(proc.stdout)
    assert list(d) == list(JSON_KEYS)
    assert {k: d[k] for k in ("diverged", "switch_timeline", "switch_lsn", "old_timeline")} == \
        {"diverged": True, "switch_timeline": 1, "switch_lsn": switch, "old_timeline": 1}
    assert d["bytes_after_fork"] == lsn_diff(d["old_end_lsn"], switch) > 0
    _, cluster = load_config(st["config"]).cluster(None)
    result = asyncio.run(gather_divergence(cluster, "node1", new))
    records = wal_records(lab, "node1", switch, result.old_end_lsn)
    assert records and {(rm, kind) for rm, _xid, kind in records} <= NOT_WRITES, records
    assert all(xid == 0 for _rm, xid, _kind in records) and ("XLOG", "CHECKPOINT_SHUTDOWN") in \
        {(rm, kind) for rm, _xid, kind in records}
    assert result.wal is not None and result.wal.complete and not result.wal.writes, result.explanation
    assert result.restart_checkpoint_only and result.commits_after_fork == 0
    assert result.wal.records == len(records)
    assert "no committed row exists only on node1" in result.explanation
    assert "read with pg_walinspect" in result.explanation and "CHECKPOINT_SHUTDOWN" in result.explanation
    assert "pg_rewind" in result.explanation and "accepts writes right now" in result.explanation

    psql(st, "node1", "create table after_fork(id int primary key, note text); "
                      "insert into after_fork select g, 'only on node1' from generate_series(1, 100000) g")
    proc = divergence(st["config"], "--old", "node1", "--new", new, "--json")
    end = psql(st, "node1", "select pg_current_wal_lsn()")
    assert proc.returncode == 1, proc.stderr
    d = json.loads(proc.stdout)
    assert list(d) == list(JSON_KEYS)
    assert d["diverged"] is True and d["switch_timeline"] == 1 and d["switch_lsn"] == switch
    assert d["old_timeline"] == 1 and lsn_diff(end, d["old_end_lsn"]) >= 0   # its bgwriter may add a record since
    assert d["bytes_after_fork"] == lsn_diff(d["old_end_lsn"], switch) > 1024 * 1024
    # the records say what those bytes are: one transaction (psql -c runs both statements in one)
    result = asyncio.run(gather_divergence(cluster, "node1", new))
    commits = [r for r in wal_records(lab, "node1", switch, result.wal.read_to) if r[0] == "Transaction"]
    assert result.wal.writes and not result.restart_checkpoint_only
    assert result.commits_after_fork == len([r for r in commits if r[2] == "COMMIT"]) >= 1
    assert "committed transaction" in result.explanation and "those writes exist only on node1" in result.explanation


def test_readable_output_names_both_nodes_and_where_the_writes_are(fresh_lab, tmp_path):
    lab, st = fresh_lab, fresh_lab.status()
    new, switch = switch_over_and_restart_node1(lab, tmp_path)
    psql(st, "node1", "create table after_fork as select g from generate_series(1, 100000) g")
    proc = divergence(st["config"], "--old", "node1", "--new", new)
    assert proc.returncode == 1, proc.stderr
    text = " ".join(proc.stdout.split())
    assert text.startswith(f"divergence: DIVERGED (old node1, new {new})")
    assert f"{new}: timeline 2, took over from timeline 1 at {switch}" in text
    assert re.search(rf"after {new} took over at {switch} on timeline 1 \(1 committed transaction, at "
                     r"\S+Z, read with pg_walinspect\): those writes exist only on node1", text), text
    assert "Do not fail back" in text and f"reconcile them into {new}" in text
    # node3 stayed a standby of the old timeline and never got past the switch point
    proc = divergence(st["config"], "--old", "node3", "--new", new)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "divergence: not diverged" in proc.stdout and "no divergence: node3" in " ".join(proc.stdout.split())


def test_a_monitoring_role_without_the_grant_gets_the_grant_to_run(fresh_lab, tmp_path):
    lab, st = fresh_lab, fresh_lab.status()
    # Made on node1 before the switchover so that it reaches every node (node1 forks off later);
    # the lab's pg_hba trusts every user but cockpit on 127.0.0.1, so no password is needed.
    psql(st, "node1", "create role monitor login in role pg_monitor")
    new, switch = switch_over_and_restart_node1(lab, tmp_path)
    config = tomllib.loads(open(st["config"]).read())
    for node in config["clusters"]["lab"]["nodes"]:
        port = next(n["proxy_port"] for n in st["nodes"] if n["name"] == node["name"])
        node["dsn"] = f"postgresql://monitor@127.0.0.1:{port}/postgres"
    monitor_config = tmp_path / "monitor.toml"
    monitor_config.write_text(tomli_w.dumps(config))

    hint = (f"failover-cockpit: {new}: the cockpit role monitor cannot read pg_wal/00000002.history: "
            "GRANT EXECUTE ON FUNCTION pg_read_file(text) TO monitor (or connect as a superuser); "
            "see README 'Privileges'")
    proc = divergence(str(monitor_config), "--old", "node1", "--new", new, "--json")
    assert (proc.returncode, proc.stdout, proc.stderr.splitlines()) == (2, "", [hint])
    # pg_read_server_files widens which files pg_read_file may read; it does not let a role call it
    psql(st, new, "grant pg_read_server_files to monitor")
    proc = divergence(str(monitor_config), "--old", "node1", "--new", new, "--json")
    assert (proc.returncode, proc.stderr.splitlines()) == (2, [hint])
    # the one-argument form is the one the cockpit calls (PostgreSQL 15 has four pg_read_file signatures)
    psql(st, new, "revoke pg_read_server_files from monitor; grant execute on function pg_read_file(text) to monitor")
    proc = divergence(str(monitor_config), "--old", "node1", "--new", new, "--json")
    assert proc.returncode == 1, proc.stderr   # node1's restart checkpoint sits past the switch point
    d = json.loads(proc.stdout)
    assert (d["switch_timeline"], d["switch_lsn"], d["old_timeline"]) == (1, switch, 1)
    # without pg_read_server_files it may not read node1's WAL records: judged from positions, and said so
    proc = divergence(str(monitor_config), "--old", "node1", "--new", new)
    text = " ".join(proc.stdout.split())
    assert proc.returncode == 1 and ("The WAL records past the fork could not be read (the cockpit role monitor may "
                                     "not call pg_get_wal_records_info on node1: GRANT pg_read_server_files TO "
                                     "monitor; see README 'Privileges')") in text, proc.stdout
    assert "judged from WAL positions and transaction counters alone" in text


# ---- the judgement on histories no single switchover produces (pure, no lab needed) --------

def _pos(name, tli, end, *, recovery=False, sysid="7"):
    return NodePosition(name=name, in_recovery=recovery, system_identifier=sysid, timeline=tli, end_lsn=end)


def test_history_parsing_skips_comments_and_rejects_garbage():
    text = "# comment\n\n1\t0/5000060\tno recovery target specified\n2\t0/7000000\tbefore 2026-12-01\n"
    entries = parse_history(text, node="node2", tli=3)
    assert [(e.parent_tli, e.switch_lsn) for e in entries] == [(1, "0/5000060"), (2, "0/7000000")]
    with pytest.raises(DivergenceError, match=r"^node2: pg_wal/00000003.history line 1 is not"):
        parse_history("one\t0/5\n", node="node2", tli=3)
    with pytest.raises(DivergenceError, match="timeline IDs must increase"):
        parse_history("2\t0/5\n1\t0/6\n", node="node2", tli=3)


def test_other_branch_follower_and_two_promotions_to_one_timeline():
    h2 = parse_history("1\t0/5000060\n", node="node2", tli=2)
    # node1 was promoted elsewhere onto timeline 3 from 0/4000000: not in node2's history
    d = assess_divergence(_pos("node1", 3, "0/4100000"), _pos("node2", 2, "0/6000000"), h2,
                          parse_history("1\t0/4000000\n", node="node1", tli=3))
    assert (d.kind, d.diverged, d.switch_timeline, d.switch_lsn, d.bytes_after_fork) == \
        ("other_branch", True, 1, "0/4000000", 0x100000)
    # a standby already following node2 on timeline 2 with the same history
    d = assess_divergence(_pos("node3", 2, "0/6000000", recovery=True), _pos("node2", 2, "0/6000000"), h2, h2)
    assert (d.kind, d.diverged, d.bytes_after_fork) == ("follows", False, 0)
    # two standbys both promoted onto timeline 2 at the same point: both wrote after it
    d = assess_divergence(_pos("node3", 2, "0/5100060"), _pos("node2", 2, "0/6000000"), h2, h2)
    assert (d.kind, d.diverged, d.bytes_after_fork) == ("same_timeline_writer", True, 0x100000)
    with pytest.raises(DivergenceError, match="^node2 has no timeline history: it was never promoted"):
        assess_divergence(_pos("node1", 1, "0/5"), _pos("node2", 1, "0/5"), [])
    with pytest.raises(DivergenceError, match="are not one cluster"):
        assess_divergence(_pos("node1", 1, "0/5", sysid="8"), _pos("node2", 2, "0/6"), h2)
