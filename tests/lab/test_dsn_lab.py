"""DSNs as libpq reads them, against real lab nodes: a pg_service.conf service, a keyword/value string,
a Unix socket directory, PG* defaults; the errors in libpq's words; an empty PGPASSFILE warns nothing."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from checks.config.model import load_config
from checks.observe.sampler import NodeSampler
from tests.drill_helpers import ROOT

pytestmark = pytest.mark.lab


def _real(lab, name: str) -> dict:
    return next(n for n in lab.status()["nodes"] if n["name"] == name)


def _config(tmp_path: Path, nodes: dict[str, str]) -> Path:
    path = tmp_path / "clusters.toml"
    body = "".join(f'[[clusters.dsns.nodes]]\nname = "{name}"\ndsn = "{dsn}"\n\n' for name, dsn in nodes.items())
    path.write_text('[clusters.dsns]\napprovers = ["alice"]\n\n' + body.replace("\\", "\\\\"))
    path.chmod(0o600)
    return path


def _sample_all(config: Path) -> dict:
    _, cluster = load_config(config).cluster(None)

    async def round_():
        samplers = [NodeSampler(n, cluster.sampling) for n in cluster.nodes]
        try:
            return {s.node.name: await s.sample() for s in samplers}
        finally:
            await asyncio.gather(*(s.close() for s in samplers))

    return asyncio.run(round_())


def test_a_service_a_keyword_string_and_a_socket_reach_lab_nodes(lab, tmp_path, monkeypatch):
    st = lab.status()
    passfile = Path(st["dir"]) / "pgpass"
    n1, n2, n3 = (_real(lab, n) for n in ("node1", "node2", "node3"))
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[lab-node1]\nhost=127.0.0.1\nport={n1['proxy_port']}\nuser=cockpit\ndbname=postgres\n"
                        f"passfile={passfile}\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    socket_dir = Path(st["dir"]) / "run"
    config = _config(tmp_path, {
        "by-service": "service=lab-node1",
        "by-keywords": f"host=127.0.0.1 port={n2['proxy_port']} user=cockpit dbname=postgres passfile='{passfile}'",
        "by-socket": f"postgresql:///postgres?host={socket_dir}&port={n3['port']}&user=cockpit",
    })
    samples = _sample_all(config)
    assert all(s.reachable for s in samples.values()), {n: s.error for n, s in samples.items()}
    assert samples["by-service"].in_recovery is False                  # node1, the primary
    assert samples["by-keywords"].in_recovery and samples["by-socket"].in_recovery
    _, cluster = load_config(config).cluster(None)
    assert cluster.node("by-socket").params.where == f'server on socket "{socket_dir}/.s.PGSQL.{n3["port"]}"'
    assert (cluster.node("by-service").host, cluster.node("by-service").port) == ("127.0.0.1", n1["proxy_port"])


def test_pg_environment_defaults_fill_what_the_dsn_leaves_out(lab, tmp_path, monkeypatch):
    n2 = _real(lab, "node2")
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(n2["proxy_port"]))
    monkeypatch.setenv("PGUSER", "cockpit")
    monkeypatch.setenv("PGPASSFILE", str(Path(lab.status()["dir"]) / "pgpass"))
    config = _config(tmp_path, {"from-env": "dbname=postgres application_name=env-test"})
    assert _sample_all(config)["from-env"].in_recovery is True


def test_errors_read_like_libpq_and_bad_dsns_are_one_sentence(lab, tmp_path):
    import socket as sockets

    with sockets.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    n1 = _real(lab, "node1")
    config = _config(tmp_path, {
        "refused": f"host=127.0.0.1 port={closed} user=cockpit dbname=postgres",
        "wrong-password": f"postgresql://cockpit:not-the-password@127.0.0.1:{n1['proxy_port']}/postgres",
    })
    samples = _sample_all(config)
    assert samples["refused"].error == (f'connection to server at "127.0.0.1", port {closed} failed: Connection '
                                        "refused (is the server running on that host and accepting TCP/IP "
                                        "connections?)")
    assert samples["wrong-password"].error == (f'connection to server at "127.0.0.1", port {n1["proxy_port"]} '
                                               'failed: password authentication failed for user "cockpit"')
    assert "not-the-password" not in samples["wrong-password"].error
    listed = _config(tmp_path, {"listed": "host=h1,h2 dbname=postgres"})
    proc = subprocess.run([sys.executable, "-m", "cli", "status", str(listed)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "clusters.dsns.nodes.0.dsn" in proc.stderr and "a node is one server; list each as its own node" in proc.stderr


def test_an_empty_pgpassfile_warns_nothing(lab, tmp_path):
    """libpq reads an empty PGPASSFILE as unset (~/.pgpass); asyncpg alone read it as the current
    directory and printed a UserWarning with its source line."""
    n1 = _real(lab, "node1")
    config = _config(tmp_path, {"no-passfile": f"host=127.0.0.1 port={n1['proxy_port']} user=cockpit dbname=postgres"})
    env = {"PGPASSFILE": "", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "cli", "status", str(config)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env=env)
    assert proc.returncode in (1, 2, 3), proc.stdout + proc.stderr
    assert "Warning" not in proc.stderr and "warn(" not in proc.stderr, proc.stderr
    assert "password" in proc.stdout, proc.stdout                # the server asked for one: said in words
