"""Odoo's side of app_path_writable (checks.observe.odoo_health) against the real lab's Odoo stand-in.

Healthy (``/web/health`` passes, the probe user logs in), a wrong password (Odoo answers, the login
is refused), the stand-in stopped (connection refused, login not tried). `lab` is the session's
shared lab: the stopped stand-in is started again, whatever happens.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from checks.config.model import Odoo, load_config
from checks.observe.error_cause import error_cause
from checks.observe.odoo_health import odoo_health
from lab import Lab

pytestmark = pytest.mark.lab


def odoo_config(lab: Lab) -> Odoo:
    _, cluster = load_config(lab.status()["config"]).cluster(None)
    assert cluster.odoo is not None
    return cluster.odoo


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


async def test_healthy(lab: Lab) -> None:
    odoo = odoo_config(lab)
    health = await odoo_health(odoo, timeout_s=5, login=True)
    assert health.http_ok and health.http_status == 200 and health.health == "pass", health
    assert health.login_ok is True and isinstance(health.uid, int) and health.uid >= 2  # not the superuser
    assert health.error is None and health.ok
    assert health.latency_ms is not None and 0 <= health.latency_ms < 5000
    assert health.url == odoo.url.rstrip("/") + "/web/health"
    without_login = await odoo_health(odoo, timeout_s=5, login=False)
    assert without_login.http_ok and without_login.login_ok is None and without_login.uid is None


def test_the_stand_in_answers_web_health_as_odoo_does(lab: Lab) -> None:
    base = odoo_config(lab).url.rstrip("/")
    status, headers, body = get(base + "/web/health")
    assert status == 200 and json.loads(body) == {"status": "pass"} and body == b'{"status": "pass"}'
    assert headers["content-type"] == "application/json" and headers["cache-control"] == "no-store"
    status, _, body = get(base + "/web/health?db_server_status=1")
    assert status == 200 and json.loads(body) == {"status": "pass", "db_server_status": True}
    assert get(base + "/web/nothing-here")[0] == 404


async def test_wrong_password_is_a_refused_login(lab: Lab, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("certainly-not-the-probe-password\n")
    wrong.chmod(0o600)
    odoo = odoo_config(lab).model_copy(update={"password_file": wrong})
    health = await odoo_health(odoo, timeout_s=5, login=True)
    assert health.http_ok and health.health == "pass"            # reachable and alive
    assert health.login_ok is False and health.uid is None and not health.ok
    assert health.error == (f"login refused: Access Denied: Odoo authentication failed for login {odoo.login} "
                            f"on database {odoo.db}")
    assert error_cause(health.error) == "login refused"
    assert "certainly-not" not in health.model_dump_json()


async def test_stand_in_stopped_is_connection_refused(lab: Lab) -> None:
    odoo = odoo_config(lab)
    parts = urlsplit(odoo.url)
    try:
        lab.odoo_stop()
        health = await odoo_health(odoo, timeout_s=2, login=True)
    finally:
        lab.odoo_start()
    assert not health.http_ok and health.http_status is None and health.health is None
    assert health.login_ok is None and health.uid is None and health.latency_ms is None
    assert health.error == f"could not connect to {parts.scheme}://{parts.netloc}: connection refused"
    assert error_cause(health.error) == "refused"
    again = await odoo_health(odoo, timeout_s=5, login=True)
    assert again.ok, again
