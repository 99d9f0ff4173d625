"""The lab's Odoo stand-in and `lab load`, against the real lab (PostgreSQL + PgBouncer).

Driven through the cockpit's own XML-RPC client (checks.stages.odoo_rpc) and config loader, so
what passes here is what stage 5 will see. `lab` is the session's shared lab: every
change (odoo.conf, a stopped stand-in, a PAUSE) is undone.
"""

from __future__ import annotations

import argparse
import socket
import stat
import subprocess
import threading
import time
import xmlrpc.client
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from checks.config.model import Odoo, load_config
from checks.stages.cutover import cutover_odoo_conf, odoo_conf_target
from checks.stages.odoo_rpc import OdooClient, OdooError, write_probe
from lab import Lab
from lab.cli import add_lab_parser, run_lab
from lab.credentials import read_password
from lab.load import run_load
from lab.odoo import pgbouncer_conninfo

pytestmark = pytest.mark.lab

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def odoo_config(lab: Lab) -> Odoo:
    _, cluster = load_config(lab.status()["config"]).cluster(None)
    assert cluster.odoo is not None
    return cluster.odoo


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="failover-cockpit")
    add_lab_parser(parser.add_subparsers(dest="command", required=True))
    return run_lab(parser.parse_args(list(argv)))


def lastcall(lab: Lab) -> datetime | None:
    with psycopg.connect(**pgbouncer_conninfo(lab.paths, lab.paths.require()), autocommit=True,
                         prepare_threshold=None) as conn:
        return conn.execute("SELECT max(lastcall) FROM ir_cron WHERE active").fetchone()[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_generated_odoo_section_and_files(lab: Lab) -> None:
    odoo = odoo_config(lab)
    assert odoo.url == lab.status()["odoo"]["url"] == f"http://127.0.0.1:{lab.paths.require().odoo_port}"
    assert (odoo.db, odoo.login, odoo.cron_wait_s) == ("odoo", "failover-probe", 10)
    assert odoo.conf_path is None  # the PgBouncer cutover moves Odoo; see clusters_toml.py
    assert odoo.restart_batches[0][-4:] == ["lab", "odoo-restart", "--dir", str(lab.dir)]
    conf = lab.dir / "odoo" / "odoo.conf"
    for path in (conf, Path(odoo.password_file)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert odoo_conf_target(conf) == ("127.0.0.1", lab.status()["pgbouncer"]["port"])  # through PgBouncer
    text = conf.read_text()
    assert f"db_password = {read_password(lab.dir / 'pgpass', 'odoo')}" in text and "admin_passwd = " in text


def test_cockpit_client_version_login_and_write_probe(lab: Lab) -> None:
    client = OdooClient(odoo_config(lab))
    version = client.version()
    assert version["server_version"] == "17.0-lab-standin" and version["protocol_version"] == 1
    assert version["server_serie"] == "17.0"
    uid = client.authenticate()
    assert uid >= 2  # the probe user, never the superuser (uid 1), which skips access rights
    line = write_probe(client, "incident test")
    assert "read back as draft and removed" in line
    assert client.execute_kw("sale.order", "search_count", [[["client_order_ref", "=", "incident test"]]]) == 0
    [user] = client.execute_kw("res.users", "read", [[uid]], {"fields": ["partner_id", "login"]})
    partner = user["partner_id"]
    assert user["login"] == "failover-probe" and partner[1] == "Failover Probe"
    order = client.execute_kw("sale.order", "create", [{"partner_id": partner[0], "client_order_ref": "rt"}])
    try:
        [row] = client.execute_kw("sale.order", "read", [[order]], {"fields": ["name", "partner_id", "state"]})
        assert row["partner_id"] == partner and row["name"].startswith("S") and row["state"] == "draft"
        assert client.execute_kw("sale.order", "search", [[["id", "in", [order]], ["state", "!=", "sale"]]]) == [order]
    finally:
        assert client.execute_kw("sale.order", "unlink", [[order]]) is True
    with pytest.raises(OdooError, match=r"^res.partner.create: Odoo fault: You are not allowed to create 'Contact' "
                                        r"\(res.partner\) records\.$"):
        client.execute_kw("res.partner", "create", [{"name": "the probe user may not"}])
    with pytest.raises(OdooError, match="Object no.such doesn't exist"):
        client.execute_kw("no.such", "search", [[]])
    with pytest.raises(OdooError, match="method 'frobnicate' does not exist"):
        client.execute_kw("sale.order", "frobnicate", [[]])


def test_wrong_password_is_refused(lab: Lab, tmp_path: Path) -> None:
    wrong_file = tmp_path / "wrong"
    wrong_file.write_text("not-the-probe-password\n")
    wrong = odoo_config(lab).model_copy(update={"password_file": wrong_file})
    with pytest.raises(OdooError, match="refused"):
        OdooClient(wrong).authenticate()
    uid = OdooClient(odoo_config(lab)).authenticate()
    proxy = xmlrpc.client.ServerProxy(lab.status()["odoo"]["url"] + "/xmlrpc/2/object")
    with pytest.raises(xmlrpc.client.Fault) as caught:  # every call re-checks the password
        proxy.execute_kw("odoo", uid, "not-the-probe-password", "res.partner", "search", [[]])
    assert (caught.value.faultCode, caught.value.faultString) == (3, "Access Denied")


def test_cron_lastcall_advances_in_utc(lab: Lab) -> None:
    deadline = time.monotonic() + 3
    while (first := lastcall(lab)) is None:  # never run yet (a lab just made)
        assert time.monotonic() < deadline, "ir_cron.lastcall stays NULL"
        time.sleep(0.1)
    while (later := lastcall(lab)) <= first:
        assert time.monotonic() < deadline, "ir_cron.lastcall did not advance"
        time.sleep(0.1)
    utc_now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert abs((utc_now - later).total_seconds()) < 5  # naive UTC, as verify.py reads it


def test_standin_follows_an_odoo_conf_rewrite(lab: Lab) -> None:
    conf = lab.dir / "odoo" / "odoo.conf"
    pgb_port = lab.status()["pgbouncer"]["port"]
    client = OdooClient(odoo_config(lab))
    client.authenticate()
    try:
        cutover_odoo_conf(conf, "127.0.0.1", free_port())  # the cockpit's own odoo.conf driver
        with pytest.raises(OdooError, match="Odoo fault: .*(connection|Connection)"):
            client.execute_kw("res.partner", "search_count", [[]])
        assert client.version()["server_version"] == "17.0-lab-standin"  # the HTTP side still answers
    finally:
        cutover_odoo_conf(conf, "127.0.0.1", pgb_port)
    assert isinstance(client.execute_kw("res.partner", "search_count", [[]]), int)
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600


def test_calls_wait_through_a_pgbouncer_pause(lab: Lab) -> None:
    client = OdooClient(odoo_config(lab))
    client.authenticate()
    result: dict = {}

    def probe() -> None:
        try:
            result["line"] = write_probe(client, "pause test")
        except OdooError as exc:
            result["error"] = str(exc)

    with psycopg.connect(lab.status()["pgbouncer"]["admin_dsn"], autocommit=True) as admin:
        admin.execute("PAUSE odoo")
        try:
            worker = threading.Thread(target=probe)
            worker.start()
            time.sleep(0.5)
            assert result == {}, "a call went through while PgBouncer was paused"
        finally:
            admin.execute("RESUME odoo")
    worker.join(10)
    assert "removed" in result.get("line", ""), result


def test_odoo_stop_and_start(lab: Lab) -> None:
    client = OdooClient(odoo_config(lab), timeout_s=3)
    try:
        assert cli("lab", "odoo-stop", "--dir", str(lab.dir)) == 0
        with pytest.raises(OdooError, match="common.version: .*[Cc]onnection refused"):
            client.version()
    finally:
        assert cli("lab", "odoo-start", "--dir", str(lab.dir)) == 0
    assert client.authenticate() >= 2


def test_restart_batch_restarts_the_standin(lab: Lab) -> None:
    odoo = odoo_config(lab)
    before = lab.paths.require().odoo_pid
    proc = subprocess.run(odoo.restart_batches[0], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    after = lab.paths.require().odoo_pid
    assert after and after != before
    assert OdooClient(odoo).authenticate() >= 2


def test_load_commits_without_failures(lab: Lab) -> None:
    result = run_load(lab.dir, 3, 2)
    assert set(result) == {"committed", "failed", "max_stall_ms", "rows"}
    assert result["committed"] > 0 and result["failed"] == 0
    assert result["rows"] == result["committed"]
    assert 0 < result["max_stall_ms"] < 3000


def test_log_never_holds_a_password(lab: Lab) -> None:
    odoo = odoo_config(lab)
    OdooClient(odoo).authenticate()
    common = xmlrpc.client.ServerProxy(odoo.url + "/xmlrpc/2/common")
    assert common.authenticate("odoo", "failover-probe", "not-the-probe-password", {}) is False
    log = (lab.dir / "odoo" / "standin.log").read_text()
    assert "Login successful" in log and "Login failed" in log
    secrets = [Path(odoo.password_file).read_text().strip(), read_password(lab.dir / "pgpass", "odoo"),
               "not-the-probe-password"]
    conf = (lab.dir / "odoo" / "odoo.conf").read_text()
    secrets.append(next(line.split("=", 1)[1].strip() for line in conf.splitlines()
                        if line.startswith("admin_passwd")))
    for secret in secrets:
        assert secret not in log
