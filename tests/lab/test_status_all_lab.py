"""`status --all` against a real lab (issue 17's fleet, its first part): every cluster of a config in
one round, worst first, the exit code the worst cluster's; a cluster that cannot be reached at all
says so and stalls nobody."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest
import tomli_w

from tests.drill_helpers import ROOT

pytestmark = pytest.mark.lab


def _fleet(lab, tmp_path):
    data = tomllib.loads(open(lab.status()["config"], "rb").read().decode())
    [(name, cluster)] = data["clusters"].items()
    data["clusters"][f"{name}-again"] = cluster                          # the same servers, another name
    data["clusters"]["gone"] = {"approvers": ["alice"], "nodes": [
        {"name": "g1", "dsn": "host=127.0.0.1 port=1 user=cockpit dbname=postgres"},
        {"name": "g2", "dsn": "host=127.0.0.1 port=2 user=cockpit dbname=postgres"}]}
    path = tmp_path / "fleet.toml"
    path.write_text(tomli_w.dumps(data))
    path.chmod(0o600)
    return path, name


def _status(*args):
    return subprocess.run([sys.executable, "-m", "cli", "status", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_every_cluster_in_one_round_worst_first_with_the_worst_exit_code(lab, tmp_path):
    path, name = _fleet(lab, tmp_path)
    proc = _status(str(path), "--all", "--json")
    assert proc.returncode == 2, proc.stdout + proc.stderr                 # gone: no writer, critical
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert [c["cluster"] for c in doc["clusters"]] == ["gone", name, f"{name}-again"]
    gone, *healthy = doc["clusters"]
    assert gone["verdict"] == "critical" and all(n["reachable"] is False for n in gone["nodes"])
    assert all("Connection refused" in n["error"] for n in gone["nodes"])
    assert [c["verdict"] for c in healthy] == ["ok", "ok"], [c["headline"] for c in healthy]
    assert doc["exit_code"] == 2 and doc["not_sampled"] == []
    table = _status(str(path), "--all")
    assert table.returncode == 2
    firsts = [line for line in table.stdout.splitlines() if line.startswith("cluster ")]
    assert [line.split(":")[0] for line in firsts] == ["cluster gone", f"cluster {name}", f"cluster {name}-again"]
    refused = _status(str(path), "--all", "--cluster", name)
    assert refused.returncode == 2 and refused.stderr.strip().endswith("--all and --cluster ask for different things: give one")
