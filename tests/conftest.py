"""Shared fixtures: real local labs (PostgreSQL primary + standbys, PgBouncer, proxies).

One healthy lab is shared by the whole session for tests whose faults are undone
(pause/resume, partition/heal, hang/resume); destructive tests take a lab of their own.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

LAB_ROOT = Path("/tmp/ofc-test-labs")

# One operator per cluster is enforced in a lock directory the whole machine shares
# (checks/incident/cluster_lock.py); a test run keeps its own, inherited by the processes it starts, so
# that two runs at once never meet over sample-clusters.toml's made-up nodes.
os.environ.setdefault("FAILOVER_COCKPIT_LOCK_DIR", tempfile.mkdtemp(prefix="ofc-test-locks-"))


@pytest.fixture(scope="session")
def lab():
    """A healthy 3-node lab for the session. Tests must undo the faults they cause."""
    from tests.lab_fixture import make_lab

    the_lab = make_lab(LAB_ROOT, replicas=2)
    yield the_lab
    the_lab.down()


@pytest.fixture(scope="module")
def scratch_lab():
    """A 3-node lab for one test module that may crash or promote nodes."""
    from tests.lab_fixture import make_lab

    the_lab = make_lab(LAB_ROOT, replicas=2)
    yield the_lab
    the_lab.down()


def psql(lab_status: dict, node: str, sql: str, db: str = "postgres") -> str:
    """Run SQL with psql as the postgres user on the node's real port (not the bastion's proxy)."""
    port = next(n["port"] for n in lab_status["nodes"] if n["name"] == node)
    out = subprocess.run(
        ["runuser", "-u", "postgres", "--", "psql", "-X", "-At", "-h", "127.0.0.1", "-p", str(port),
         "-U", "postgres", "-d", db, "-c", sql],
        capture_output=True, text=True, timeout=30, check=True,
    )
    return out.stdout.strip()


@pytest.fixture
def fresh_lab():
    """A new 3-node lab for one test that will fail it over."""
    from tests.lab_fixture import make_lab

    the_lab = make_lab(LAB_ROOT, replicas=2)
    yield the_lab
    the_lab.down()
