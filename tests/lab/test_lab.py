"""The local lab, with real PostgreSQL, PgBouncer and proxy processes (no mocks).

`lab` is the session's shared lab (tests/conftest.py): every fault here is undone.
The `down` test takes a lab of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import stat
import struct
import tempfile
import time
import tomllib
from pathlib import Path

import asyncpg
import psycopg
import pytest

from checks.config.model import load_config
from lab import Lab, LabError
from lab.cli import add_lab_parser, run_lab
from lab.credentials import read_password
from tests.drill_helpers import ROOT
from tests.lab_fixture import free_base_port, make_lab

pytestmark = pytest.mark.lab

NODE_KEYS = {"name", "port", "proxy_port", "data_dir", "pid", "role"}
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def node(lab: Lab, name: str) -> dict:
    return next(n for n in lab.status()["nodes"] if n["name"] == name)


def dsn(lab: Lab, port: int, user: str = "cockpit", database: str = "postgres") -> str:
    return f"postgresql://{user}@127.0.0.1:{port}/{database}?passfile={lab.dir / 'pgpass'}"


async def connect(lab: Lab, port: int, timeout: float = 3.0, **kw) -> asyncpg.Connection:
    return await asyncpg.connect(dsn(lab, port, **kw), timeout=timeout)


async def fetchval(lab: Lab, port: int, sql: str, timeout: float = 3.0):
    conn = await connect(lab, port, timeout)
    try:
        return await conn.fetchval(sql, timeout=timeout)
    finally:
        await conn.close(timeout=timeout)


async def streaming(lab: Lab) -> set[str]:
    conn = await connect(lab, node(lab, "node1")["port"])
    try:
        rows = await conn.fetch("SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'")
    finally:
        await conn.close()
    return {r["application_name"] for r in rows}


async def wait_streaming(lab: Lab, names: set[str], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not names <= await streaming(lab):
        assert time.monotonic() < deadline, f"{names} not streaming"
        await asyncio.sleep(0.1)


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="failover-cockpit")
    add_lab_parser(parser.add_subparsers(dest="command", required=True))
    return run_lab(parser.parse_args(list(argv)))


def lab_pids(lab_dir: Path) -> list[int]:
    """Live processes whose command line mentions the lab folder (zombies have none)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(str(lab_dir).encode() in arg for arg in argv):
            found.append(int(entry))
    return found


# ---- up, status, files -----------------------------------------------------

async def test_up_gives_one_primary_and_two_streaming_standbys(lab: Lab) -> None:
    roles = {n["name"]: n["role"] for n in lab.status()["nodes"]}
    assert roles == {"node1": "primary", "node2": "standby", "node3": "standby"}
    assert await streaming(lab) == {"node2", "node3"}
    for name in ("node2", "node3"):
        assert await fetchval(lab, node(lab, name)["proxy_port"], "SELECT pg_is_in_recovery()") is True


def test_up_is_idempotent(lab: Lab) -> None:
    before = lab.status()
    started = time.monotonic()
    lab.up(base_port=before["nodes"][0]["port"], replicas=2)
    assert time.monotonic() - started < 2.0
    assert lab.status() == before


def test_up_with_other_settings_is_refused(lab: Lab) -> None:
    with pytest.raises(LabError, match="--base-port"):
        lab.up(base_port=node(lab, "node1")["port"] + 1, replicas=2)


def test_busy_port_is_refused_and_named(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = free_base_port()
    busy = base + 101  # node2's proxy
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", busy))
        holder.listen()
        lab_dir = Path("/tmp") / f"lab-busy-{base}"
        try:
            with pytest.raises(LabError, match=f"port {busy} ") as caught:
                Lab(lab_dir).up(base_port=base)
            assert "\n" not in str(caught.value)
            assert lab_pids(lab_dir) == []
        finally:
            shutil.rmtree(lab_dir, ignore_errors=True)


def test_status_json_keys_follow_the_contract(lab: Lab, capsys: pytest.CaptureFixture) -> None:
    assert cli("lab", "status", "--json", "--dir", str(lab.dir)) == 0
    status = json.loads(capsys.readouterr().out)
    assert set(status) == {"dir", "config", "nodes", "pgbouncer", "odoo"}
    assert all(set(n) == NODE_KEYS for n in status["nodes"])
    assert set(status["pgbouncer"]) == {"port", "admin_dsn"} and set(status["odoo"]) == {"url"}
    assert status["dir"] == str(lab.dir) and status["config"] == str(lab.dir / "clusters.toml")
    assert [n["name"] for n in status["nodes"]] == ["node1", "node2", "node3"]
    assert all(isinstance(n["pid"], int) for n in status["nodes"])
    assert cli("lab", "status", "--dir", str(lab.dir)) == 0
    assert "LAB" in capsys.readouterr().out


def test_generated_files(lab: Lab) -> None:
    text = (lab.dir / "clusters.toml").read_text()
    assert text.startswith("#") and "LAB" in text.splitlines()[0]
    cluster = tomllib.loads(text)["clusters"]["lab"]
    assert cluster["approvers"] == ["alice", "bob"] and cluster["sampling"]["interval_s"] == 1.0
    assert [n["priority"] for n in cluster["nodes"]] == [100, 100, 90]
    assert cluster["nodes"][1]["fence"] == ["/bin/sh", str(ROOT / "lab" / "fence.sh"), str(lab.dir / "node2" / "data")]
    assert cluster["pgbouncers"][0]["databases"] == ["odoo"]
    loaded = load_config(lab.status()["config"]).cluster(None)[1]  # the real loader accepts it
    assert [(n.name, n.port) for n in loaded.nodes] == [(n["name"], n["port"]) for n in lab.status()["nodes"]]
    pgpass = lab.dir / "pgpass"
    assert stat.S_IMODE(pgpass.stat().st_mode) == 0o600
    cockpit = read_password(pgpass, "cockpit")
    assert cockpit not in (lab.dir / "lab.json").read_text()
    assert cockpit not in text
    userlist = lab.dir / "pgbouncer" / "userlist.txt"
    assert stat.S_IMODE(userlist.stat().st_mode) == 0o600
    if os.geteuid() == 0:
        import pwd
        owner = pwd.getpwnam("postgres").pw_uid
        assert all(p.stat().st_uid == owner for p in [lab.dir, *lab.dir.rglob("*")] if p.exists())


async def test_cockpit_needs_its_password(lab: Lab) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(host="127.0.0.1", port=node(lab, "node1")["port"], user="cockpit",
                              password="wrong", database="postgres", timeout=3)


async def test_pgbouncer_pools_odoo_in_transaction_mode(lab: Lab) -> None:
    status = lab.status()
    port = status["pgbouncer"]["port"]
    conn = await asyncpg.connect(dsn(lab, port, user="odoo", database="odoo"), timeout=3,
                                 statement_cache_size=0)
    try:
        assert await conn.fetchval("SELECT inet_server_port()") == status["nodes"][0]["port"]
    finally:
        await conn.close()
    async with await psycopg.AsyncConnection.connect(status["pgbouncer"]["admin_dsn"], autocommit=True) as admin:
        rows = await (await admin.execute("SHOW CONFIG")).fetchall()
    assert ("pool_mode", "transaction") in {(r[0], r[1]) for r in rows}


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the lab to the postgres user")
def test_folder_postgres_cannot_reach_is_refused() -> None:
    private = Path(tempfile.mkdtemp(prefix="lab-private-"))  # mode 0700, owned by root
    try:
        with pytest.raises(LabError, match=f"{private} is not traversable .*choose another --dir"):
            Lab(private / "lab").up(base_port=free_base_port())
    finally:
        shutil.rmtree(private, ignore_errors=True)


# ---- faults ----------------------------------------------------------------

def test_unknown_node_is_named(lab: Lab, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(LabError) as caught:
        lab.crash("node9")
    assert str(caught.value) == f"no node named 'node9' in lab {lab.dir} (nodes: node1, node2, node3)"
    assert cli("lab", "hang", "node9", "--dir", str(lab.dir)) == 1
    err = capsys.readouterr().err
    assert err.startswith("failover-cockpit lab: no node named 'node9'") and err.count("\n") == 1


async def test_crash_and_start(lab: Lab) -> None:
    info = node(lab, "node3")
    through_proxy = await connect(lab, info["proxy_port"])
    lab.crash("node3")
    try:
        assert node(lab, "node3")["role"] == "down" and node(lab, "node3")["pid"] is None
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):  # fails, never hangs
            await through_proxy.fetchval("SELECT 1", timeout=3)
        with pytest.raises(OSError):
            await fetchval(lab, info["port"], "SELECT 1")
        lab.crash("node3")  # fencing a node that is down succeeds
    finally:
        through_proxy.terminate()
        lab.start("node3")
    assert node(lab, "node3")["role"] == "standby"
    assert await fetchval(lab, info["proxy_port"], "SELECT pg_is_in_recovery()") is True  # the proxy lived on
    await wait_streaming(lab, {"node2", "node3"})


def _pg_family(pid: int) -> list[int]:
    family, queue = [pid], [pid]
    while queue:
        parent = queue.pop()
        for entry in os.listdir("/proc"):
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == parent:
                family.append(int(entry))
                queue.append(int(entry))
    return family


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


async def test_hang_times_out_through_the_proxy_and_resume_restores(lab: Lab) -> None:
    info = node(lab, "node2")
    lab.hang("node2")
    try:
        assert node(lab, "node2")["role"] == "hung"
        assert all(_state(pid) == "T" for pid in _pg_family(info["pid"]))
        with pytest.raises(TimeoutError):
            await connect(lab, info["proxy_port"], timeout=1.0)
    finally:
        lab.resume("node2")
    assert node(lab, "node2")["role"] == "standby"
    assert await fetchval(lab, info["proxy_port"], "SELECT 1") == 1


async def test_generated_fence_stops_a_hung_node_and_accepts_a_down_one(lab: Lab) -> None:
    """The config's fence is lab/fence.sh under /bin/sh: run exactly as the cockpit runs it."""
    import subprocess
    fence = next(n["fence"] for n in tomllib.loads((lab.dir / "clusters.toml").read_text())["clusters"]["lab"]["nodes"]
                 if n["name"] == "node3")
    info = node(lab, "node3")
    lab.hang("node3")                     # SIGQUIT alone would wait for a SIGCONT: the fence thaws first
    family = _pg_family(info["pid"])
    try:
        done = subprocess.run(fence, capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, done.stderr
        assert f"postmaster {info['pid']}" in done.stdout and node(lab, "node3")["role"] == "down"
        assert len(family) > 3 and not any(_alive(pid) for pid in family)
        again = subprocess.run(fence, capture_output=True, text=True, timeout=20)
        assert again.returncode == 0 and "already down" in again.stdout
        wrong = subprocess.run([*fence[:-1], str(lab.dir / "no-such-dir")], capture_output=True, text=True)
        assert wrong.returncode == 2 and "no-such-dir is not a data directory" in wrong.stderr
        # a data directory whose postmaster.pid names a live process that is not its postmaster
        # (a pid reused after a crash): not signalled, and the fence says the node is down
        other = lab.dir / "not-a-node"
        other.mkdir()
        (other / "postmaster.pid").write_text(f"{os.getpid()}\n")
        stranger = subprocess.run([*fence[:-1], str(other)], capture_output=True, text=True, timeout=20)
        assert stranger.returncode == 0 and "already down" in stranger.stdout
    finally:
        lab.start("node3")
    await wait_streaming(lab, {"node2", "node3"})


def _alive(pid: int) -> bool:
    try:
        return _state(pid) not in ("Z", "X")
    except OSError:
        return False


async def test_partition_hangs_the_proxy_path_only(lab: Lab) -> None:
    info, primary = node(lab, "node2"), node(lab, "node1")
    held = socket.create_connection(("127.0.0.1", info["proxy_port"]), timeout=3)
    held.settimeout(1.0)
    lab.partition("node2")
    try:
        held.sendall(SSL_REQUEST)
        with pytest.raises(socket.timeout):  # no answer, and no reset either
            held.recv(1)
        with pytest.raises(TimeoutError):
            await connect(lab, info["proxy_port"], timeout=1.0)
        assert await fetchval(lab, info["port"], "SELECT pg_is_in_recovery()") is True
        marker = random.randint(1, 2**31 - 1)
        writer = await connect(lab, primary["port"])
        try:
            await writer.execute("CREATE TABLE IF NOT EXISTS lab_probe (v int);"
                                 f" INSERT INTO lab_probe VALUES ({marker})")
        finally:
            await writer.close()
        deadline = time.monotonic() + 10
        while not await fetchval(lab, info["port"], f"SELECT count(*) FROM lab_probe WHERE v = {marker}"):
            assert time.monotonic() < deadline, "node2 stopped replaying while partitioned"
            await asyncio.sleep(0.05)
        assert "node2" in await streaming(lab)
    finally:
        lab.heal("node2")
    held.settimeout(3.0)
    assert held.recv(1) == b"N"  # the held request got through once healed
    held.close()
    assert await fetchval(lab, info["proxy_port"], "SELECT 1") == 1


async def test_pause_and_resume_replay(lab: Lab) -> None:
    port = node(lab, "node3")["port"]
    lab.pause_replay("node3")
    try:
        assert await fetchval(lab, port, "SELECT pg_is_wal_replay_paused()") is True
    finally:
        lab.resume_replay("node3")
    assert await fetchval(lab, port, "SELECT pg_is_wal_replay_paused()") is False
    with pytest.raises(LabError, match="node1 is primary"):
        lab.pause_replay("node1")


# ---- down (its own lab) ----------------------------------------------------

def test_down_leaves_no_process_even_frozen_ones(tmp_path_factory: pytest.TempPathFactory) -> None:
    lab = make_lab(tmp_path_factory.mktemp("lab-down"), replicas=1)
    try:
        lab.hang("node2")
        lab.partition("node1")
        record = json.loads((lab.dir / "lab.json").read_text())
        os.kill(record["proxies"]["node2"], signal.SIGSTOP)
        os.kill(int((lab.dir / "pgbouncer" / "pgbouncer.pid").read_text()), signal.SIGSTOP)
        assert lab_pids(lab.dir)
        lab.down()
        assert lab_pids(lab.dir) == []
        assert {n["role"] for n in lab.status()["nodes"]} == {"down"}
        lab.up(base_port=lab.status()["nodes"][0]["port"], replicas=1)  # a downed lab starts again
        status = lab.status()
        assert [n["role"] for n in status["nodes"]] == ["primary", "standby"]
        assert asyncio.run(fetchval(lab, status["nodes"][0]["proxy_port"], "SELECT 1")) == 1  # healed
        lab.down()
        assert lab_pids(lab.dir) == []
    finally:
        lab.down()
        shutil.rmtree(lab.dir, ignore_errors=True)


def test_up_never_starts_an_old_primary_beside_the_new_one(fresh_lab) -> None:
    """`make demo` after a failover must not bring the fenced old primary back as a second writer,
    neither beside the running new primary nor after `lab down` (then the higher timeline wins)."""
    from tests.conftest import psql

    lab = fresh_lab
    base = node(lab, "node1")["port"]
    lab.crash("node1")
    psql(lab.status(), "node2", "SELECT pg_promote()")
    held = lab.up(base_port=base, replicas=2)
    assert node(lab, "node1")["role"] == "down" and node(lab, "node2")["role"] == "primary"
    assert len(held) == 1 and held[0].startswith("node1 not started") and "beside node2" in held[0]
    lab.down()
    held = lab.up(base_port=base, replicas=2)
    assert [node(lab, n)["role"] for n in ("node1", "node2")] == ["down", "primary"]
    assert len(held) == 1 and "beside node2" in held[0] and f"--source-port {base + 1}" in held[0]
    assert cli("lab", "start", "node1", "--dir", str(lab.dir)) == 0   # the fault verb still does it
    assert node(lab, "node1")["role"] == "primary"
