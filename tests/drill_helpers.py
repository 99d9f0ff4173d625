"""Running ``failover-cockpit drill`` as a real process, and reading an incident afterwards."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from checks.incident.journal import Journal

ROOT = Path(__file__).resolve().parent.parent


def drill(config: str, incident: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "cli", "drill", config, "--incident", str(incident), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr + proc.stdout
    return proc


def last_line(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.strip().splitlines()[-1]


def events(incident: Path, kind: str | None = None):
    journal = Journal.open(incident)
    try:
        return journal.events(kinds={kind} if kind else None)
    finally:
        journal.close()


def wait_record(incident: Path, *texts: str, timeout: float = 10.0) -> str:
    """``record.md`` once it holds every text. A live seat renders it off the action path, up to about a
    second after the entry is journaled (RecordWriter), so a test reading it beside a live seat waits."""
    path = incident / "record.md"
    deadline = time.monotonic() + timeout
    while True:
        record = path.read_text() if path.exists() else ""
        if all(text in record for text in texts):
            return record
        if time.monotonic() > deadline:
            missing = [text for text in texts if text not in record]
            raise AssertionError(f"{path} lacks {missing} after {timeout:.0f}s:\n{record[-2000:]}")
        time.sleep(0.1)


def writable_nodes(lab) -> list[str]:
    from tests.conftest import psql

    st = lab.status()
    out = []
    for node in st["nodes"]:
        try:
            if psql(st, node["name"], "select pg_is_in_recovery()") == "f":
                out.append(node["name"])
        except subprocess.CalledProcessError:
            pass
    return out
