"""The cluster lock's rules without a lab: what identifies a cluster, where the lock lives, and what it
refuses to follow. (Real processes racing on a real lab: tests/lab/test_cluster_lock_lab.py.)"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import checks.incident.cluster_lock as cluster_lock
from checks.config.model import load_config
from checks.incident.cluster_lock import ENV, ClusterLock, ClusterTaken, cluster_endpoints, lock_dir, lock_file_name
from checks.incident.seats import SeatError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def prod():
    return load_config(ROOT / "sample-clusters.toml").cluster(None)[1]


@pytest.fixture
def locks(tmp_path, monkeypatch):
    directory = tmp_path / "locks"
    monkeypatch.setenv(ENV, str(directory))
    return directory


def with_nodes(cluster, *nodes):
    return cluster.model_copy(update={"nodes": list(nodes)})


def moved(node, dsn):
    return node.model_copy(update={"dsn": dsn, "app_host": None, "app_port": None})


def test_configs_sharing_any_node_exclude_each_other_whatever_they_call_the_cluster(prod, locks):
    pg1, pg2, pg3 = prod.nodes
    with ClusterLock("prod", prod, Path("/srv/A")) as a:
        a.acquire("olga")
        subset = ClusterLock("odoo-prod", with_nodes(prod, pg3), Path("/srv/B"))
        with pytest.raises(ClusterTaken, match=r"^cluster odoo-prod already has an operator: olga on .* "
                                               r"in incident /srv/A; join that incident with --incident /srv/A "):
            subset.acquire("oscar")
        assert not subset.held
        # the same node written as the cockpit reaches it or as applications do is one node
        by_app_address = ClusterLock("p", with_nodes(prod, moved(pg1, "postgresql://c@10.0.1.11:5432/postgres")), "B")
        with pytest.raises(ClusterTaken):
            by_app_address.acquire("oscar")
        other = with_nodes(prod, moved(pg1, "postgresql://c@pg1.internal:6432/postgres"))
        with ClusterLock("prod", other, Path("/srv/C")) as c:   # another port: another server
            c.acquire("otto")
            assert c.held
    assert ClusterLock("x", prod, Path("/srv/D")).holder() is None


def test_loopback_names_and_sockets_are_one_host(prod):
    pg1 = prod.nodes[0]
    names = [cluster_endpoints(with_nodes(prod, moved(pg1, f"postgresql://c@{host}:5433/postgres")))
             for host in ("127.0.0.1", "localhost", "LOCALHOST.", "[::1]")]
    assert names == [["localhost:5433"]] * 4
    assert lock_file_name("localhost:5433") != lock_file_name("localhost:5434")


def test_all_or_nothing_a_refused_acquire_keeps_no_file(prod, locks):
    pg1, pg2, pg3 = prod.nodes
    with ClusterLock("prod", with_nodes(prod, pg3), Path("/srv/A")) as a:
        a.acquire("olga")
        whole = ClusterLock("prod", prod, Path("/srv/B"))
        with pytest.raises(ClusterTaken):
            whole.acquire("oscar")          # pg3 sorts last: pg1's and pg2's files were taken, then let go
        with ClusterLock("prod", with_nodes(prod, pg1, pg2), Path("/srv/C")) as c:
            c.acquire("otto")
            assert c.held


def test_the_lock_directory_is_shared_and_its_files_lockable_by_every_operator(prod, locks):
    with ClusterLock("prod", prod, Path("/srv/A")) as a:
        a.acquire("olga")
        assert stat.S_IMODE(locks.stat().st_mode) == 0o1777
        for endpoint in cluster_endpoints(prod):
            path = locks / lock_file_name(endpoint)
            assert stat.S_IMODE(path.stat().st_mode) == 0o666
            assert '"incident": "/srv/A"' in path.read_text() and '"name": "olga"' in path.read_text()
    assert all(not (locks / lock_file_name(e)).read_text() for e in cluster_endpoints(prod))


def test_a_symlink_in_the_lock_directory_is_never_followed(prod, locks, tmp_path):
    locks.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("someone's file\n")
    (locks / lock_file_name(cluster_endpoints(prod)[0])).symlink_to(victim)
    with pytest.raises(SeatError, match=r"^cannot open the cluster lock .*\.lock: "):
        ClusterLock("prod", prod, Path("/srv/A")).acquire("olga")
    assert victim.read_text() == "someone's file\n"


def test_an_unusable_lock_directory_is_one_line(prod, monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv(ENV, str(tmp_path / "file"))
    with pytest.raises(SeatError) as refused:
        ClusterLock("prod", prod, Path("/srv/A")).acquire("olga")
    assert str(refused.value) == f"{ENV}={tmp_path / 'file'}: cannot hold the cluster locks: not a real directory " \
                                 "(a symbolic link or a file)"


def test_without_the_default_directory_the_fallback_says_so(prod, monkeypatch, tmp_path):
    (tmp_path / "file").write_text("")
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(cluster_lock, "DEFAULT_DIR", tmp_path / "file" / "failover-cockpit")  # cannot be made
    monkeypatch.setattr(cluster_lock, "FALLBACK_DIR", tmp_path / "failover-cockpit-locks")    # this test's own
    directory, warning = lock_dir()
    assert directory.name == "failover-cockpit-locks" and stat.S_IMODE(directory.stat().st_mode) == 0o1777
    assert warning.startswith(f"the cluster lock is kept in {directory}, not {tmp_path / 'file' / 'failover-cockpit'} (")
    assert warning.endswith(f"set {ENV} to one they all share") and "\n" not in warning


def test_the_drill_and_the_cockpit_say_the_fallback_warning(prod, monkeypatch, tmp_path, capsys):
    from cli.drill_cmd import operator_session

    (tmp_path / "file").write_text("")
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setattr(cluster_lock, "DEFAULT_DIR", tmp_path / "file" / "failover-cockpit")
    monkeypatch.setattr(cluster_lock, "FALLBACK_DIR", tmp_path / "failover-cockpit-locks")
    session = operator_session("prod", prod, tmp_path / "inc", "olga")    # drill's and split-brain's seat
    try:
        assert session.is_operator and os.path.isdir(tmp_path / "inc")
    finally:
        session.close()
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("failover-cockpit: warning: the cluster lock is kept in ")


OTHER_USER = """
import sys
from pathlib import Path
from checks.incident.cluster_lock import ClusterLock, ClusterTaken
from checks.config.model import load_config
name, cluster = load_config(sys.argv[1]).cluster(None)
lock = ClusterLock(name, cluster, Path(sys.argv[2]))
try:
    lock.acquire(sys.argv[3])
except ClusterTaken as exc:
    print("refused", exc, flush=True)
    sys.exit(3)
print("held", flush=True)
sys.stdin.read()
"""


def test_two_unix_users_meet_the_same_lock(prod, monkeypatch):
    """root holds the cluster: the postgres user is refused, naming root's operator; then the other way
    round, which needs the files root made to be lockable and describable by another user."""
    import shutil
    import socket
    import subprocess
    import sys
    import sysconfig
    import tempfile

    system_python = "/usr/bin/python3"
    if os.geteuid() != 0 or not shutil.which("runuser") or not os.path.exists(system_python):
        pytest.skip("needs root, runuser and a system python3 to act as a second Unix user")
    version = subprocess.run([system_python, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != str(sys.version_info[:2]):
        pytest.skip("the system python3 is not this venv's version: it cannot load its packages")
    base = Path(tempfile.mkdtemp(prefix="ofc-two-users-", dir="/tmp"))
    os.chmod(base, 0o755)
    locks = base / "locks"
    monkeypatch.setenv(ENV, str(locks))
    env = {"PATH": os.environ["PATH"], ENV: str(locks),
           "PYTHONPATH": f"{sysconfig.get_paths()['purelib']}:{ROOT}"}

    def as_postgres(name: str, incident: str) -> subprocess.Popen:
        return subprocess.Popen(["runuser", "-u", "postgres", "--", "env", *(f"{k}={v}" for k, v in env.items()),
                                 system_python, "-c", OTHER_USER, str(ROOT / "sample-clusters.toml"), incident, name],
                                cwd="/", stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
    try:
        with ClusterLock("prod", prod, Path("/srv/A")) as mine:
            mine.acquire("olga")
            theirs = as_postgres("oscar", "/srv/B")
            out, err = theirs.communicate(timeout=60)
            assert theirs.returncode == 3, err
            assert out.startswith(f"refused cluster prod already has an operator: olga on {socket.gethostname()} "
                                  f"(pid {os.getpid()}) since "), out
            assert "in incident /srv/A;" in out
        theirs = as_postgres("oscar", "/srv/B")
        try:
            assert theirs.stdout.readline().strip() == "held", theirs.stderr.read()
            with pytest.raises(ClusterTaken, match=rf"already has an operator: oscar on .* \(pid \d+\) since .* "
                                                   r"in incident /srv/B;"):
                ClusterLock("prod", prod, Path("/srv/C")).acquire("otto")
        finally:
            theirs.stdin.close()
            theirs.wait(timeout=30)
            theirs.stdout.close()
            theirs.stderr.close()
        assert stat.S_IMODE(locks.stat().st_mode) == 0o1777
    finally:
        shutil.rmtree(base, ignore_errors=True)
