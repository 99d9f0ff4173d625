"""Helpers to build a real lab for tests (tests/conftest.py wraps them in fixtures)."""

from __future__ import annotations

import atexit
import os
import random
import shutil
import socket
import stat
import tempfile
from pathlib import Path

from lab import Lab
from lab.layout import ODOO_OFFSET
from lab.processes import lab_processes

_handed_out: set[int] = set()
_made: list[Lab] = []


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_base_port(attempts: int = 200) -> int:
    """A random base port in 20000-50000 with base..base+201 all free right now."""
    for _ in range(attempts):
        base = random.randint(20000, 50000 - ODOO_OFFSET)
        if any(abs(base - other) <= ODOO_OFFSET for other in _handed_out):
            continue  # another lab of this test run may not have bound its ports yet
        if all(_port_free(port) for port in range(base, base + ODOO_OFFSET + 1)):
            _handed_out.add(base)
            return base
    raise RuntimeError("no free range of 202 ports found in 20000-50000")


def _traversable_by_all(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _remove_stopped_labs() -> None:
    """At exit, delete the folders of labs made here whose processes are all gone."""
    for lab in _made:
        if not lab_processes(str(lab.dir)):
            shutil.rmtree(lab.dir, ignore_errors=True)


def make_lab(tmp_root: Path, replicas: int = 2) -> Lab:
    """Bring a lab up in a fresh folder under tmp_root (created 0755 if missing), or under
    /tmp when tmp_root is not traversable by the postgres user (pytest's tmp dirs are 0700).
    The folder is deleted at interpreter exit if the lab is down by then."""
    tmp_root = Path(tmp_root)
    tmp_root.mkdir(mode=0o755, parents=True, exist_ok=True)
    root = tmp_root if _traversable_by_all(tmp_root) else Path(tempfile.gettempdir())
    lab_dir = Path(tempfile.mkdtemp(prefix="lab-", dir=root))
    os.chmod(lab_dir, 0o755)
    lab = Lab(lab_dir)
    if not _made:
        atexit.register(_remove_stopped_labs)
    _made.append(lab)
    lab.up(base_port=free_base_port(), replicas=replicas)
    return lab
