"""One operator per cluster on the bastion, whatever the incident directory (issue 11, item 1), on one
real lab: two cockpit operators on two incidents, processes racing for the seat, kill -9 of the holder,
and last the reported run itself: node1 crashes and two drills on two incidents start together."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checks.config.model import load_config
from checks.incident.cluster_lock import DEFAULT_DIR, ENV, ClusterTaken, cluster_endpoints, lock_dir, lock_file_name
from tests.drill_helpers import writable_nodes
from tests.tmux_helpers import ROOT, Tmux, cockpit

pytestmark = pytest.mark.lab

# Takes the operator seat with the real code, as run and drill do; holds it until stdin closes.
SEAT = """
import sys, time
from pathlib import Path
from checks.config.model import load_config
from checks.incident.operator_seat import take_operator_seat
from checks.incident.seats import SeatError
config, incident, name, go = sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
cluster_name, cluster = load_config(config).cluster(None)
(go.parent / f"ready-{name}").touch()
while not go.exists():
    time.sleep(0.001)
try:
    journal, seat = take_operator_seat(incident, cluster_name, cluster, name)
except SeatError as exc:
    print("refused", exc, flush=True)
    sys.exit(3)
print("held", flush=True)
sys.stdin.read()
seat.release()
"""


def seat_process(config: str, incident: Path, name: str, go: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", SEAT, config, str(incident), name, str(go)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def start_together(config: str, where: Path, names: list[str], env: dict | None = None) -> dict[str, tuple]:
    """Start one seat process per name, each on its own incident, released at once; name -> (proc, line)."""
    where.mkdir()
    go = where / "go"
    procs = {name: seat_process(config, where / f"inc-{name}", name, go, env) for name in names}
    deadline = time.monotonic() + 60
    while not all((where / f"ready-{name}").exists() for name in names):
        assert time.monotonic() < deadline, "the seat processes never got ready"
        assert all(p.poll() is None for p in procs.values()), [p.stderr.read() for p in procs.values()]
        time.sleep(0.01)
    go.touch()
    return {name: (proc, proc.stdout.readline().strip()) for name, proc in procs.items()}


def end(procs) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.stdin.close()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t.kill()


def test_a_second_cockpit_operator_on_another_incident_is_refused_saying_who_and_where(scratch_lab, tmp_path, tmux):
    from checks.runbook.session import Session

    config = scratch_lab.status()["config"]
    name, cluster = load_config(config).cluster(None)
    a, b = tmp_path / "A", tmp_path / "B"
    # the Session (the cockpit's hold on an incident), in one process
    first = Session(name, cluster, a, seat="operator", name="olga")
    try:
        with pytest.raises(ClusterTaken) as refused:
            Session(name, cluster, b, seat="operator", name="oscar")
        message = str(refused.value)
        assert message.startswith(f"cluster lab already has an operator: olga on {socket.gethostname()} "
                                  f"(pid {os.getpid()}) since ")
        assert message.endswith(f"in incident {a.resolve()}; join that incident with --incident {a.resolve()} "
                                "--seat observer, or wait until it ends")
        assert not b.exists(), "a refused new incident leaves nothing behind"
        Session(name, cluster, a, seat="observer", name="oscar").close()    # other seats are not limited
    finally:
        first.close()
    Session(name, cluster, b, seat="operator", name="oscar").close()        # the cluster is free again

    # real cockpit processes: olga's cockpit on A in tmux; oscar's on B is refused in one line
    tmux.start("op", cockpit(config, "--incident", str(a), "--name", "olga"))
    tmux.wait_for("op", "Runbook")
    holder = json.loads((a / "operator.json").read_text())
    second = run_cli("run", config, "--incident", str(tmp_path / "C"), "--seat", "operator", "--name", "oscar")
    assert second.returncode == 1
    [line] = second.stderr.strip().splitlines()
    assert line.startswith(f"failover-cockpit: cluster lab already has an operator: olga on {holder['host']} "
                           f"(pid {holder['pid']}) since "), line
    assert line.endswith(f"in incident {a.resolve()}; join that incident with --incident {a.resolve()} "
                         "--seat observer, or wait until it ends"), line
    assert not (tmp_path / "C").exists()
    # tmux on another incident says the same before opening any window
    refused_tmux = run_cli("tmux", config, "--incident", str(tmp_path / "D"), "--operator", "oscar", "--no-attach")
    assert refused_tmux.returncode == 1 and "cluster lab already has an operator: olga" in refused_tmux.stderr
    # the same incident resumed by a second process: the incident's own seat refuses, as it always did
    same = run_cli("run", config, "--incident", str(a), "--seat", "operator", "--name", "eve")
    assert same.returncode == 1
    assert f"is held by olga on {holder['host']} (pid {holder['pid']})" in same.stderr
    assert "join as --seat observer" in same.stderr and "already has an operator" not in same.stderr


def test_processes_started_together_on_different_incidents_get_one_seat_every_time(scratch_lab, tmp_path):
    """Five rounds of three processes released at the same moment, in the lock directory every operator
    of this machine shares by default (the test run's own is left out of their environment)."""
    config = scratch_lab.status()["config"]
    env = {k: v for k, v in os.environ.items() if k != ENV}
    for round_ in range(5):
        seen = start_together(config, tmp_path / f"round{round_}", ["olga", "oscar", "otto"], env)
        try:
            held = [name for name, (_, line) in seen.items() if line == "held"]
            assert len(held) == 1, seen
            winner = held[0]
            for name, (proc, line) in seen.items():
                if name != winner:
                    assert line.startswith(f"refused cluster lab already has an operator: {winner} on "), line
                    assert f"in incident {(tmp_path / f'round{round_}' / f'inc-{winner}').resolve()};" in line
                    assert proc.wait(timeout=30) == 3
                    assert not (tmp_path / f"round{round_}" / f"inc-{name}").exists()
        finally:
            end([proc for proc, _ in seen.values()])
    directory = subprocess.run([sys.executable, "-c", "from checks.incident.cluster_lock import lock_dir; print(lock_dir())"],
                               capture_output=True, text=True, cwd=ROOT, env=env, check=True).stdout
    if f"PosixPath('{DEFAULT_DIR}'), None" in directory:
        assert stat.S_IMODE(DEFAULT_DIR.stat().st_mode) == 0o1777
        _, cluster = load_config(config).cluster(None)
        for endpoint in cluster_endpoints(cluster):
            lock_file = DEFAULT_DIR / lock_file_name(endpoint)
            assert stat.S_IMODE(lock_file.stat().st_mode) == 0o666
            assert lock_file.read_text() == ""      # released: nobody is described


def test_kill_9_of_the_holder_frees_the_cluster(scratch_lab, tmp_path):
    config = scratch_lab.status()["config"]
    go = tmp_path / "go"
    go.touch()
    holder = seat_process(config, tmp_path / "A", "olga", go)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = seat_process(config, tmp_path / "B", "oscar", go)
        line = second.stdout.readline().strip()
        assert line.startswith(f"refused cluster lab already has an operator: olga on {socket.gethostname()} "
                               f"(pid {holder.pid}) since "), line
        end([second])
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
        third = seat_process(config, tmp_path / "B", "oscar", go)
        assert third.stdout.readline().strip() == "held"
        end([third])
    finally:
        end([holder])
    name, cluster = load_config(config).cluster(None)
    directory, _ = lock_dir()
    for endpoint in cluster_endpoints(cluster):    # the dead holder's details are never believed
        text = (directory / lock_file_name(endpoint)).read_text()
        assert not text or json.loads(text)["pid"] != holder.pid


def test_two_drills_on_two_incidents_after_a_crash_promote_at_most_one_node(scratch_lab, tmp_path):
    """The reported run: node1 crashes, then at the same moment olga's drill (incident A, node2) and
    oscar's (incident B, node3): one runs the failover, the other is refused naming olga or oscar."""
    lab = scratch_lab
    config = lab.status()["config"]
    lab.crash("node1")
    runs = {
        "olga": (tmp_path / "A", ["--candidate", "node2", "--operator", "olga", "--approver", "bob"]),
        "oscar": (tmp_path / "B", ["--candidate", "node3", "--operator", "oscar", "--approver", "alice"]),
    }
    procs = {who: subprocess.Popen([sys.executable, "-m", "cli", "drill", config, "--incident", str(incident),
                                    *args, "--fence", "--yes"], cwd=ROOT, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who, (incident, args) in runs.items()}
    out = {who: (*p.communicate(timeout=180), p.returncode) for who, p in procs.items()}
    for who, (stdout, stderr, _) in out.items():
        assert "Traceback" not in stdout + stderr, (who, stdout, stderr)
    refused = [who for who, (_, stderr, code) in out.items() if "already has an operator" in stderr]
    assert len(refused) == 1, out
    loser = refused[0]
    winner = next(who for who in runs if who != loser)
    stdout, stderr, code = out[loser]
    assert code == 1 and len(stderr.strip().splitlines()) == 1, out[loser]
    assert f"cluster lab already has an operator: {winner} on " in stderr
    assert f"in incident {runs[winner][0].resolve()};" in stderr
    assert not runs[loser][0].exists(), "the refused drill wrote nothing"
    assert out[winner][2] == 0, out[winner]
    assert out[winner][0].strip().splitlines()[-1].startswith("verified: exactly one writable primary")
    promoted = "node2" if winner == "olga" else "node3"
    assert writable_nodes(lab) == [promoted]
    assert stat.S_IMODE(runs[winner][0].stat().st_mode) == 0o700
