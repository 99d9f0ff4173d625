"""Monitoring against a real lab: the Nagios plugin line as a monitoring system runs it, the Prometheus
text checked by the real ``promtool``, and the exporter scraped by a real Prometheus (Debian's package)
that answers a query for a standby's replay delay."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import psql

pytestmark = pytest.mark.lab


def cli(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *argv], capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def perfdata(line: str) -> dict[str, list[str]]:
    data = line.split(" | ", 1)[1]
    return {item.split("=")[0].strip("'"): item.split("=", 1)[1].split(";") for item in data.split(" ")}


def lag_node2(lab) -> None:
    """Replay paused on node2 and new WAL behind it: its replay delay grows."""
    psql(lab.status(), "node1", "create table if not exists t_monitoring(x int)")
    lab.pause_replay("node2")
    psql(lab.status(), "node1", "insert into t_monitoring select generate_series(1, 1000)")


def test_the_nagios_line_on_a_healthy_lab_and_a_lagging_standby(lab):
    config = lab.status()["config"]
    healthy = cli("status", config, "--format", "nagios")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert healthy.stdout.startswith("FAILOVER-COCKPIT OK - one writer (node1), every standby within the SLO | ")
    assert healthy.stdout.count("\n") == 1
    data = perfdata(healthy.stdout.strip())
    assert data["node2_replay_delay"][1:] == ["30", "", "0"]        # the lab's SLO: 30 s, no critical level
    assert data["node1_replay_delay"][0] == "U"                     # a primary has no replay delay
    assert float(data["node1_latency"][0].removesuffix("ms")) > 0

    lag_node2(lab)
    try:
        deadline = time.monotonic() + 20
        while True:
            run = cli("status", config, "--format", "nagios", "-w", "1s", "-c", "2s,64MB")
            if run.returncode == 2:
                break
            assert run.returncode == 1, run.stdout + run.stderr       # replay paused: a warning meanwhile
            assert time.monotonic() < deadline, f"node2's replay delay never passed -c 2s: {run.stdout}"
            time.sleep(0.3)
        line = run.stdout.strip()
        assert line.startswith("FAILOVER-COCKPIT CRITICAL - node2 replay delay ")
        assert "is over the critical threshold (2.0s)" in line.split(" | ")[0]
        delay = perfdata(line)["node2_replay_delay"]
        assert float(delay[0].removesuffix("s")) > 2 and delay[1:] == ["1", "2", "0"]
        assert perfdata(line)["node2_data_at_risk"][1:] == ["16777216", str(64 * 1024 * 1024), "0"]
    finally:
        lab.resume_replay("node2")
    deadline = time.monotonic() + 20
    while (run := cli("status", config, "--format", "nagios")).returncode != 0:
        assert time.monotonic() < deadline, f"the lab never came back to OK: {run.stdout}"
        time.sleep(0.3)


def test_the_prometheus_text_passes_promtool_and_json_keeps_its_contract(lab):
    config = lab.status()["config"]
    run = cli("status", config, "--format", "prometheus")
    assert run.returncode == 0 and run.stderr == "", run.stderr
    check = subprocess.run(["promtool", "check", "metrics"], input=run.stdout, capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0 and check.stdout + check.stderr == "", check.stdout + check.stderr
    samples = {(s.name, s.labels.get("node")): s.value
               for family in text_string_to_metric_families(run.stdout) for s in family.samples}
    assert samples[("failover_cockpit_verdict", None)] == 0
    assert all(samples[("failover_cockpit_node_up", n)] == 1 for n in ("node1", "node2", "node3"))
    assert samples[("failover_cockpit_node_writable", "node1")] == 1
    assert samples[("failover_cockpit_node_in_recovery", "node2")] == 1
    assert samples[("failover_cockpit_node_timeline", "node3")] >= 1

    as_json, as_format = cli("status", config, "--json"), cli("status", config, "--format", "json")
    assert as_json.returncode == as_format.returncode == 0
    one, other = json.loads(as_json.stdout), json.loads(as_format.stdout)
    assert list(one) == list(other) and [n["name"] for n in one["nodes"]] == [n["name"] for n in other["nodes"]]
    assert list(one["nodes"][0]) == list(other["nodes"][0])


def _query(port: int, promql: str) -> list[dict]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=3) as answer:
            body = json.load(answer)
    except OSError:
        return []                    # not listening yet
    assert body["status"] == "success", body
    return body["data"]["result"]


def _stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(timeout=10)


def _cockpit_pids(lab) -> set[str]:
    out = psql(lab.status(), "node1", "select pid from pg_stat_activity where application_name = 'failover-cockpit'")
    return set(out.split())


def test_a_real_prometheus_scrapes_the_exporter_and_answers_for_a_replay_delay(lab, tmp_path):
    prometheus = shutil.which("prometheus")
    assert prometheus, "prometheus is missing: scripts/ensure-system-deps installs Debian's prometheus package"
    exporter_port, prom_port = free_port(), free_port()
    exporter = subprocess.Popen([sys.executable, "-m", "cli", "exporter", lab.status()["config"], "--listen",
                                 f"127.0.0.1:{exporter_port}", "--interval", "0.5"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: failover-cockpit\n"
        f"    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n")
    server = None
    try:
        assert exporter.stdout.readline().startswith(
            f"failover-cockpit: exporter of cluster lab serves http://127.0.0.1:{exporter_port}/metrics")
        server = subprocess.Popen([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                                   f"--storage.tsdb.path={tmp_path / 'data'}",
                                   f"--web.listen-address=127.0.0.1:{prom_port}"],
                                  stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("w"),
                                  cwd=tmp_path)
        lag_node2(lab)
        try:
            deadline = time.monotonic() + 25
            while True:
                found = _query(prom_port, 'failover_cockpit_node_replay_delay_seconds{cluster="lab",node="node2"}')
                if found and float(found[0]["value"][1]) > 0:
                    break
                assert server.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
                assert exporter.poll() is None, exporter.stderr.read()
                assert time.monotonic() < deadline, f"Prometheus never answered a replay delay of node2: {found}"
                time.sleep(0.3)
            assert found[0]["metric"]["job"] == "failover-cockpit"
            assert _query(prom_port, 'up{job="failover-cockpit"}')[0]["value"][1] == "1"
            paused = _query(prom_port, 'failover_cockpit_node_in_recovery{node="node2"}')
            assert paused and paused[0]["value"][1] == "1"
        finally:
            lab.resume_replay("node2")
        # the samplers stay open across rounds and scrapes: the same backend answers them
        first = _cockpit_pids(lab)
        time.sleep(1.2)                       # a few rounds (0.5 s) and a scrape (1 s) in between
        assert first and _cockpit_pids(lab) == first
    finally:
        if server is not None:
            _stop(server)
        code = _stop(exporter)
    assert code == 0, exporter.stderr.read()          # SIGTERM ends it cleanly
