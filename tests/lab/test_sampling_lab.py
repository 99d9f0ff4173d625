"""Sampling and ``status`` against a real lab: the cockpit's values equal psql's, faults show up."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checks.config.model import load_config
from checks.observe.assess import Watch
from checks.observe.lsn import lsn_diff
from checks.observe.sampler import SAMPLE_STATEMENT, NodeSampler, sample_all
from tests.conftest import psql

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]


def status_cli(config: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "cli", "status", config, "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def cluster_of(lab):
    return load_config(lab.status()["config"]).cluster(None)


def one_round(lab, samplers=None):
    name, cluster = cluster_of(lab)
    own = samplers is None
    samplers = samplers or [NodeSampler(n, cluster.sampling) for n in cluster.nodes]

    async def go():
        try:
            return await sample_all(samplers)
        finally:
            if own:
                await asyncio.gather(*(s.close() for s in samplers))

    samples = asyncio.run(go())
    return Watch(name, cluster).update(*samples)


def test_status_json_agrees_with_psql_on_every_node(lab):
    st = lab.status()
    code, doc = status_cli(st["config"])
    assert code == 0, doc["problems"]
    assert doc["verdict"] == "ok" and doc["writable"] == ["node1"]
    for node in doc["nodes"]:
        name = node["name"]
        row = psql(st, name, "select pg_is_in_recovery(), current_setting('transaction_read_only'), "
                             "(select system_identifier from pg_control_system())").split("|")
        assert node["in_recovery"] == (row[0] == "t")
        assert node["tx_read_only"] == row[1]
        assert node["system_identifier"] == row[2]
        assert node["reachable"] and node["error"] is None and node["latency_ms"] > 0
        if node["in_recovery"]:
            receive = psql(st, name, "select pg_last_wal_receive_lsn()")
            assert 0 <= lsn_diff(receive, node["receive_lsn"]) < 1024 * 1024
            tli = psql(st, name, "select received_tli from pg_stat_wal_receiver")
            assert node["timeline"] == int(tli)
            assert node["writable"] is False
        else:
            current = psql(st, name, "select pg_current_wal_lsn()")
            assert 0 <= lsn_diff(current, node["current_lsn"]) < 1024 * 1024
            tli = psql(st, name, "select timeline_id from pg_control_checkpoint()")
            assert node["timeline"] == int(tli)
            assert node["writable"] is True


def test_paused_replay_shows_and_resumes(lab):
    psql(lab.status(), "node1", "create table if not exists t_pause(x int)")
    lab.pause_replay("node3")
    try:
        psql(lab.status(), "node1", "insert into t_pause select generate_series(1, 20000)")
        deadline = time.monotonic() + 10
        while True:
            view = one_round(lab)
            n3 = view.node("node3")
            if n3.sample.bytes_not_replayed and n3.sample.bytes_not_replayed > 0:
                break
            assert time.monotonic() < deadline, "unreplayed bytes never grew on a paused standby"
            time.sleep(0.2)
        assert n3.sample.replay_paused is True
        assert "node3 has WAL replay paused" in view.problems
        assert view.verdict == "warning"
    finally:
        lab.resume_replay("node3")
    assert one_round(lab).node("node3").sample.replay_paused is False


def test_partitioned_node_is_unreachable_and_never_delays_the_others(lab):
    name, cluster = cluster_of(lab)
    samplers = [NodeSampler(n, cluster.sampling) for n in cluster.nodes]
    lab.partition("node2")
    try:
        started = time.monotonic()
        view = one_round(lab, samplers)
        took = time.monotonic() - started
        assert view.node("node2").role == "unreachable"
        assert view.node("node2").sample.error.endswith("failed: timeout expired")      # libpq's words
        assert view.node("node1").sample.reachable and view.node("node3").sample.reachable
        assert took <= samplers[1].budget_s + 0.5
        # the node itself is alive and still replicating: unreachable is not dead
        assert psql(lab.status(), "node2", "select status from pg_stat_wal_receiver") == "streaming"
    finally:
        lab.heal("node2")
        asyncio.run(_close(samplers))
    assert _eventually_reachable(lab, "node2")


def test_hung_node_times_out_and_others_keep_answering(lab):
    name, cluster = cluster_of(lab)
    lab.hang("node3")
    try:
        view = one_round(lab)
        assert view.node("node3").role == "unreachable"
        assert view.node("node1").sample.reachable and view.node("node2").sample.reachable
    finally:
        lab.resume("node3")
    assert _eventually_reachable(lab, "node3")


def _eventually_reachable(lab, node: str, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if one_round(lab).node(node).sample.reachable:
            return True
        time.sleep(0.3)
    return False


async def _close(samplers):
    await asyncio.gather(*(s.close() for s in samplers))


def test_the_sample_query_is_parsed_once_per_connection(lab):
    """A named server-side statement: the server's own list of the session's prepared statements
    shows it prepared once, at the same time, however many samples follow (an unnamed one is parsed
    and planned again by every sample)."""
    _, cluster = cluster_of(lab)
    sampler = NodeSampler(cluster.node("node2"), cluster.sampling)

    async def go():
        seen = []
        try:
            for _ in range(3):
                sample = await sampler.sample()
                assert sample.reachable and sample.in_recovery, sample.error
                seen.append(await sampler._conn.fetch(
                    "SELECT name, prepare_time FROM pg_prepared_statements WHERE name = $1", SAMPLE_STATEMENT))
            pid = sampler.server_pid
        finally:
            await sampler.close()
        return seen, pid

    seen, pid = asyncio.run(go())
    assert pid is not None
    assert all(len(rows) == 1 for rows in seen), seen
    assert len({rows[0]["prepare_time"] for rows in seen}) == 1, seen


def _sample_as(st, cluster, node: str, role: str | None = None):
    """One sample of ``node``: as configured (the cockpit role), or as ``role`` on its real port (the
    lab trusts every role but cockpit there)."""
    target = cluster.node(node)
    if role is not None:
        port = next(n["port"] for n in st["nodes"] if n["name"] == node)
        target = target.model_copy(update={"dsn": f"postgresql://{role}@127.0.0.1:{port}/postgres",
                                           "password_env": None})
    sampler = NodeSampler(target, cluster.sampling)

    async def go():
        try:
            return await sampler.sample()
        finally:
            await sampler.close()

    return asyncio.run(go())


def test_the_sample_reads_the_data_directory_by_privilege_and_a_standby_s_apply_delay(lab):
    """current_setting, not the pg_settings view (which builds every setting's row on every sample):
    data_directory is shown to a role with pg_read_all_settings' privileges (a superuser, pg_monitor)
    and NULL to one without, never an error; recovery_min_apply_delay in seconds, whatever its unit."""
    st = lab.status()
    _, cluster = cluster_of(lab)
    data_directory = psql(st, "node1", "show data_directory")
    psql(st, "node1", "create role sample_plain login; create role sample_monitor login in role pg_monitor")
    try:
        assert cluster.node("node1").dsn.startswith("postgresql://cockpit@")        # the lab's superuser
        seen = {role: _sample_as(st, cluster, "node1", None if role == "cockpit" else role)
                for role in ("cockpit", "sample_monitor", "sample_plain")}
        assert all(s.reachable and s.error is None for s in seen.values()), {r: s.error for r, s in seen.items()}
        assert seen["cockpit"].data_directory == seen["sample_monitor"].data_directory == data_directory
        assert seen["sample_plain"].data_directory is None
        assert seen["sample_plain"].current_lsn and seen["sample_plain"].system_identifier   # the rest is there
    finally:
        psql(st, "node1", "drop role sample_plain; drop role sample_monitor")
    before = one_round(lab).node("node2").sample
    assert before.apply_delay_s == 0.0
    psql(st, "node2", "alter system set recovery_min_apply_delay = '5min'")
    try:
        psql(st, "node2", "select pg_reload_conf()")
        deadline = time.monotonic() + 10
        while (delayed := one_round(lab).node("node2").sample).apply_delay_s != 300.0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert delayed.apply_delay_s == 300.0
        assert delayed.data_directory == psql(st, "node2", "show data_directory")
    finally:
        psql(st, "node2", "alter system reset recovery_min_apply_delay")
        psql(st, "node2", "select pg_reload_conf()")


def test_the_wal_senders_and_receiver_are_the_views_rows_for_every_role(lab):
    """The sample reads pg_stat_get_wal_senders() and pg_stat_get_wal_receiver(), the functions behind
    pg_stat_replication and pg_stat_wal_receiver (cheaper for a fresh backend to plan): the same rows
    as the views, for the lab's superuser, a pg_monitor member and a plain role (which the functions
    show the rows without their positions, as the views do), and none where a node has none."""
    st = lab.status()
    _, cluster = cluster_of(lab)
    psql(st, "node1", "create role sample_plain login; create role sample_monitor login in role pg_monitor")
    views = {}
    try:
        deadline = time.monotonic() + 30          # the standby has the roles once it replayed them
        replayed = "select count(*) from pg_roles where rolname in ('sample_plain', 'sample_monitor')"
        while psql(st, "node2", replayed) != "2":
            assert time.monotonic() < deadline, "node2 never replayed the new roles"
            time.sleep(0.05)
        for role in ("cockpit", "sample_monitor", "sample_plain"):
            as_role = None if role == "cockpit" else role
            for node in ("node1", "node2"):
                sample = _sample_as(st, cluster, node, as_role)
                assert sample.reachable, sample.error
                port = next(n["port"] for n in st["nodes"] if n["name"] == node)
                seen = psql_as(role, port, "select coalesce(json_agg(s), '[]') from (select application_name, "
                                           "state, sent_lsn::text from pg_stat_replication order by 1) s")
                receiver = psql_as(role, port, "select coalesce(json_agg(w), '[]') from (select status, "
                                               "sender_port, received_tli from pg_stat_wal_receiver) w")
                views[(role, node)] = (json.loads(seen), json.loads(receiver))
                senders = [{"application_name": p.application_name, "state": p.state, "sent_lsn": p.sent_lsn}
                           for p in sample.replication]
                got = [{"status": w.status, "sender_port": w.sender_port, "received_tli": w.received_tli}
                       for w in ([sample.wal_receiver] if sample.wal_receiver else [])]
                want_senders, want_receiver = views[(role, node)]
                assert [p["application_name"] for p in senders] == [p["application_name"] for p in want_senders]
                assert [p["state"] for p in senders] == [p["state"] for p in want_senders]
                assert [p["sent_lsn"] is None for p in senders] == [p["sent_lsn"] is None for p in want_senders]
                assert got == want_receiver
    finally:
        psql(st, "node1", "drop role sample_plain; drop role sample_monitor")
    assert [p["application_name"] for p in views[("cockpit", "node1")][0]] == ["node2", "node3"]
    assert views[("cockpit", "node1")][0][0]["sent_lsn"] is not None
    assert views[("sample_plain", "node1")][0][0]["sent_lsn"] is None        # hidden from a plain role
    assert views[("cockpit", "node2")][0] == [] and views[("cockpit", "node2")][1][0]["status"] == "streaming"


def psql_as(role: str, port: int, sql: str) -> str:
    """``sql`` as ``role`` on the node's real port (the lab trusts every role but cockpit there; the
    cockpit role is a superuser, as postgres is)."""
    out = subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(port),
                          "-U", "postgres" if role == "cockpit" else role, "-d", "postgres", "-c", sql],
                         capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip()


def test_a_sample_query_the_server_refuses_is_said_as_its_error_not_as_a_failed_connection(lab):
    """A DBA's monitoring role that may not call a function the sample needs: the connection was
    made, so the line says the server answered the query with its error, in the server's words."""
    st = lab.status()
    _, cluster = cluster_of(lab)
    port = next(n["port"] for n in st["nodes"] if n["name"] == "node1")
    psql(st, "node1", "create role sample_denied login")
    psql(st, "node1", "revoke execute on function pg_postmaster_start_time() from public")
    try:
        sample = _sample_as(st, cluster, "node1", "sample_denied")
    finally:
        psql(st, "node1", "grant execute on function pg_postmaster_start_time() to public")
        psql(st, "node1", "drop role sample_denied")
    assert not sample.reachable
    assert sample.error == (f'the server at "127.0.0.1", port {port} answered the sample query with an error: '
                            "permission denied for function pg_postmaster_start_time")


def test_persistent_connection_reconnects_after_crash_and_start(scratch_lab):
    lab = scratch_lab
    name, cluster = cluster_of(lab)
    sampler = NodeSampler(cluster.node("node3"), cluster.sampling)

    async def go():
        first = await sampler.sample()
        pid = sampler.server_pid
        again = await sampler.sample()
        assert pid is not None and sampler.server_pid == pid, "the connection was not kept between ticks"
        lab.crash("node3")
        crashed = await sampler.sample()
        lab.start("node3")
        deadline = time.monotonic() + 20
        while not (back := await sampler.sample()).reachable:
            assert time.monotonic() < deadline, back.error
            await asyncio.sleep(0.2)
        await sampler.close()
        return first, again, crashed, back

    first, again, crashed, back = asyncio.run(go())
    assert first.reachable and again.reachable and back.reachable
    assert not crashed.reachable and crashed.error


def test_crashed_primary_is_critical_with_exit_2(scratch_lab):
    lab = scratch_lab
    lab.crash("node1")
    try:
        code, doc = status_cli(lab.status()["config"])
        assert code == 2 and doc["verdict"] == "critical"
        assert doc["writable"] == []
        node1 = next(n for n in doc["nodes"] if n["name"] == "node1")
        assert node1["reachable"] is False and node1["error"]
    finally:
        lab.start("node1")


def test_second_writable_node_is_split_brain_exit_2(scratch_lab):
    lab = scratch_lab
    st = lab.status()
    psql(st, "node3", "select pg_promote()")
    code, doc = status_cli(st["config"])
    assert code == 2 and doc["verdict"] == "critical"
    assert sorted(doc["writable"]) == ["node1", "node3"]
    assert doc["problems"][0].startswith("SPLIT BRAIN")
    node3 = next(n for n in doc["nodes"] if n["name"] == "node3")
    assert node3["timeline"] == 2
