"""The fleet (``run --all``, issue 17) against a real lab: the lab's cluster, a cluster whose nodes are
closed ports, and one whose node accepts the connection and never answers (a hung host, on loopback).
The unreachable rows say so in a sentence; the lab's row arrives while the hung cluster is still
waiting on its connect timeout, never after it; Enter opens the lab's cockpit, Escape comes back."""

from __future__ import annotations

import socket
import sys
import time
import tomllib

import pytest
import tomli_w

from checks.config.model import load_config
from checks.observe.fleet_sampler import FleetSampler
from tests.tmux_helpers import Tmux

pytestmark = pytest.mark.lab

HUNG_CONNECT_TIMEOUT_S = 5.0


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def hung_port():
    """A port that takes connections into its backlog and never says a word (nothing accepts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


def _fleet(lab, tmp_path, hung_port):
    data = tomllib.loads(open(lab.status()["config"], "rb").read().decode())
    [(name, _cluster)] = data["clusters"].items()
    data["clusters"]["refused"] = {"approvers": ["alice"], "nodes": [
        {"name": f"r{i}", "dsn": f"host=127.0.0.1 port={_closed_port()} user=cockpit dbname=postgres"} for i in (1, 2)]}
    data["clusters"]["hung"] = {"approvers": ["alice"],
                                "sampling": {"connect_timeout_s": HUNG_CONNECT_TIMEOUT_S},
                                "nodes": [{"name": "h1", "dsn": f"host=127.0.0.1 port={hung_port} user=cockpit dbname=postgres"}]}
    path = tmp_path / "fleet.toml"
    path.write_text(tomli_w.dumps(data))
    path.chmod(0o600)
    return path, name


def test_unreachable_clusters_say_so_and_stall_nobody(lab, tmp_path, hung_port):
    path, name = _fleet(lab, tmp_path, hung_port)
    sampler = FleetSampler(load_config(path).clusters).start()
    seen = []                                  # every snapshot until every cluster has had a round
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            _, rows = sampler.snapshot()
            by_name = {r.cluster: r for r in rows}
            seen.append(by_name)
            if all(r.sampled for r in rows):
                break
            time.sleep(0.05)
        _, rows = sampler.snapshot()
    finally:
        sampler.stop()
    by_name = {r.cluster: r for r in rows}
    assert all(r.sampled for r in rows), rows
    # the lab's first row was there while the hung cluster still waited on its connect timeout
    first_lab = next(s for s in seen if s[name].sampled)
    assert not first_lab["hung"].sampled
    # and the lab went on being sampled meanwhile: more than one round of it before the hung one's first
    before_hung = {s[name].observed_at for s in seen if s[name].sampled and not s["hung"].sampled}
    assert len(before_hung) >= 2, before_hung

    lab_row = by_name[name]
    assert (lab_row.verdict, lab_row.reachable, lab_row.nodes, lab_row.split_brain) == ("ok", 3, 3, False)
    assert lab_row.primary == lab.status()["nodes"][0]["name"] and lab_row.error is None
    assert lab_row.data_risk_bytes is not None and lab_row.replay_delay_s is not None

    refused = by_name["refused"]
    assert refused.error.startswith("cluster refused cannot be reached: none of its 2 nodes answers (r1: ")
    assert "Connection refused" in refused.error and refused.cause == "refused"
    hung = by_name["hung"]
    assert hung.error.startswith("cluster hung cannot be reached: its only node does not answer (h1: ")
    assert hung.cause == "timeout", hung.error
    assert [r.cluster for r in rows] == ["hung", "refused", name]        # both critical (no writer), then ok
    assert hung.bad_since is not None and lab_row.bad_since is None


def test_the_fleet_command_opens_a_cockpit_and_escape_comes_back(lab, tmp_path, hung_port):
    path, name = _fleet(lab, tmp_path, hung_port)
    tmux = Tmux()
    line = f"cd {tmp_path} && exec {sys.executable} -m cli run --all {path} --name alice"
    try:
        tmux.start("fleet", ["sh", "-c", line], size=(200, 50))
        tmux.wait_for("fleet", "Fleet · 3 clusters · 2 critical · 1 ok", timeout=30)
        screen = tmux.screen("fleet")
        assert "cluster refused cannot be reached" in screen and "cluster hung cannot be reached" in screen, screen
        tmux.keys("fleet", "Down", "Down", "Enter")                   # the lab's row is the third
        tmux.wait_for("fleet", f"{name} · ", timeout=20)              # the cockpit's header: cluster · incident · seat
        tmux.wait_for("fleet", "WRITABLE", timeout=20)
        incidents = list((tmp_path / "incidents").iterdir())
        assert [d.name.endswith(f"-{name}-1") for d in incidents] == [True]
        tmux.keys("fleet", "Escape")
        tmux.wait_for("fleet", "Fleet · 3 clusters", timeout=20)
        assert f"◆ {name}" in tmux.screen("fleet")                   # its seat is kept
        tmux.keys("fleet", "q")
        tmux.wait_for("fleet", "Quit the fleet?", timeout=10)
        tmux.keys("fleet", "y")
        tmux.wait_for("fleet", "incident record: incidents/", timeout=20)
    finally:
        tmux.kill()
