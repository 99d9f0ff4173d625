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
_handed_ports: set[int] = set()
_made: list[Lab] = []


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


LOWEST_BASE = 10000
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_ports() -> tuple[int, int]:
    """The kernel's range for the local ports of outgoing connections (Linux's default if unreadable)."""
    try:
        low, high = (int(v) for v in EPHEMERAL_RANGE.read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def _base_ranges() -> list[tuple[int, int]]:
    """Where a lab's 202 ports may start: below and above the ephemeral range. A port inside it can be
    taken by any outgoing connection (150 of them in the fleet bench) between the check and the bind,
    and a lab's proxy once failed with "address already in use" that way."""
    low, high = ephemeral_ports()
    ranges = [(LOWEST_BASE, low - 1 - ODOO_OFFSET), (max(high + 1, LOWEST_BASE), 65535 - ODOO_OFFSET)]
    return [(a, b) for a, b in ranges if b - a >= 10 * ODOO_OFFSET]


def free_base_port(attempts: int = 200) -> int:
    """A random base port outside the ephemeral range with base..base+201 all free right now."""
    ranges = _base_ranges()
    if not ranges:
        raise RuntimeError(f"no room for a lab's ports outside the ephemeral range {ephemeral_ports()} "
                           f"({EPHEMERAL_RANGE})")
    for _ in range(attempts):
        start, end = random.choices(ranges, weights=[b - a for a, b in ranges])[0]
        base = random.randint(start, end)
        if any(abs(base - other) <= ODOO_OFFSET for other in _handed_out) or any(
                base <= p <= base + ODOO_OFFSET for p in _handed_ports):
            continue  # another lab (or bench cluster) of this run may not have bound its ports yet
        if all(_port_free(port) for port in range(base, base + ODOO_OFFSET + 1)):
            _handed_out.add(base)
            return base
    raise RuntimeError(f"no free range of {ODOO_OFFSET + 1} ports found outside the ephemeral range "
                       f"{ephemeral_ports()}")


def free_ports(count: int, attempts: int = 2000) -> list[int]:
    """``count`` distinct loopback ports outside the ephemeral range, nothing listening on them now
    (the kernel's own choice, port 0, comes from inside that range)."""
    ranges, chosen = _base_ranges(), []
    for _ in range(attempts):
        if len(chosen) == count:
            return chosen
        start, end = random.choices(ranges, weights=[b - a for a, b in ranges])[0]
        port = random.randint(start, end + ODOO_OFFSET)
        taken = port in chosen or port in _handed_ports or any(b <= port <= b + ODOO_OFFSET for b in _handed_out)
        if not taken and _port_free(port):
            chosen.append(port)
            _handed_ports.add(port)
    raise RuntimeError(f"no {count} free ports found outside the ephemeral range {ephemeral_ports()}")


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
