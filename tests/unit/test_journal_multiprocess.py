"""Real processes on one incident: concurrent writers, a writer killed by SIGKILL, the operator lock."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from checks.incident.journal import JOURNAL_FILE, NOTE, Journal
from checks.incident.seats import HOLDER_FILE, OperatorLock, SeatTaken

ROOT = Path(__file__).resolve().parents[2]

WRITER = """
import sys, time
from pathlib import Path
from checks.incident.journal import Journal
incident, name, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
journal = Journal.open(incident)
(go.parent / f"ready-{name}").touch()
while not go.exists():
    time.sleep(0.001)
for i in range(count):
    event = journal.append("note", f"{name} {i}", seat="scribe", author=name)
    print(event.id, flush=True)
"""

HOLDER = """
import sys, time
from pathlib import Path
from checks.incident.seats import OperatorLock, SeatTaken
lock = OperatorLock(Path(sys.argv[1]), incident_id=sys.argv[2])
try:
    lock.acquire(sys.argv[3])
except SeatTaken as exc:
    print("taken", exc, flush=True)
    sys.exit(3)
print("held", flush=True)
time.sleep(float(sys.argv[4]))
"""


def spawn(code: str, *args: object) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture
def incident(tmp_path):
    Journal.create(tmp_path / "inc", incident_id="inc-7", cluster="main").close()
    return tmp_path / "inc"


def test_two_writers_at_once_lose_nothing_and_get_unique_ids(incident, tmp_path):
    go = tmp_path / "go"
    writers = {name: spawn(WRITER, incident, name, 200, go) for name in ("alice", "bob")}
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in writers) and time.monotonic() < deadline:
        time.sleep(0.01)  # both have opened the journal and wait for the same start
    go.touch()
    printed = {}
    for name, proc in writers.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        printed[name] = [int(line) for line in out.split()]
    journal = Journal.open(incident)
    events = journal.events()
    assert len(events) == 400
    assert len({e.id for e in events}) == 400
    for name in ("alice", "bob"):
        mine = [e for e in events if e.author == name]
        assert [e.text for e in mine] == [f"{name} {i}" for i in range(200)]
        assert [e.id for e in mine] == printed[name]
    assert not set(printed["alice"]) & set(printed["bob"])
    journal.close()


def test_a_writer_killed_mid_stream_loses_no_committed_event(incident, tmp_path):
    go = tmp_path / "go"
    go.touch()
    proc = spawn(WRITER, incident, "victim", 1_000_000, go)
    seen = []
    while len(seen) < 60:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        seen.append(line)
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    lines = "".join(seen) + rest
    reported = [int(x) for x in lines.split("\n")[:-1] if x]  # a cut last line was never fully reported
    assert len(reported) >= 60
    check = sqlite3.connect(incident / JOURNAL_FILE)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()
    journal = Journal.open(incident)
    ids = {e.id for e in journal.events()}
    assert set(reported) <= ids
    assert journal.append(NOTE, "resumed after the crash", seat="operator", author="alice").id > max(ids)
    journal.close()


def _line(proc: subprocess.Popen) -> str:
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return line.strip()


def test_the_operator_seat_is_exclusive_and_freed_by_kill_9(incident):
    holder = spawn(HOLDER, incident, "inc-7", "alice", 120)
    try:
        assert _line(holder) == "held"
        second = spawn(HOLDER, incident, "inc-7", "mallory", 0)
        out, _ = second.communicate(timeout=30)
        assert second.returncode == 3
        message = out.strip().removeprefix("taken ")
        assert "\n" not in message
        assert message.startswith(
            f"the operator seat of incident inc-7 is held by alice on {socket.gethostname()} (pid {holder.pid}) since ")
        assert message.endswith("; join as --seat observer (or scribe) instead")
        here = OperatorLock(incident, incident_id="inc-7")
        with pytest.raises(SeatTaken) as info:
            here.acquire("mallory")
        assert info.value.holder["pid"] == holder.pid
        seen = here.holder()
        assert seen["name"] == "alice" and seen["pid"] == holder.pid and seen["since"].endswith("Z")
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=30)
    assert (incident / HOLDER_FILE).exists()  # stale after kill -9, and harmless:
    assert OperatorLock(incident).holder() is None
    third = spawn(HOLDER, incident, "inc-7", "bob", 120)
    try:
        assert _line(third) == "held"
        seen = OperatorLock(incident).holder()
        assert seen["name"] == "bob" and seen["pid"] == third.pid
    finally:
        os.kill(third.pid, signal.SIGKILL)
        third.wait(timeout=30)


def test_release_frees_the_seat_within_one_process(incident):
    first, second = OperatorLock(incident), OperatorLock(incident)
    first.acquire("alice")
    assert first.held and first.holder()["name"] == "alice"
    with pytest.raises(SeatTaken, match="held by alice"):
        second.acquire("bob")
    first.release()
    assert not (incident / HOLDER_FILE).exists() and second.holder() is None
    with second:
        second.acquire("bob")
        assert first.holder()["name"] == "bob"
    assert first.holder() is None


STARTER = """
import sys, time
from pathlib import Path
from checks.incident.journal import Journal
incident, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
(go.parent / f"ready-{name}").touch()
while not go.exists():
    time.sleep(0.001)
journal = Journal.open_or_create(incident, incident_id="inc-9", cluster="main")
print(journal.append("role", f"{name} joined", seat="observer", author=name, data={"joined": True}).id, flush=True)
"""


def test_seats_starting_the_same_incident_at_once_share_one_journal(tmp_path):
    go, incident = tmp_path / "go", tmp_path / "new-incident"
    names = [f"seat{i}" for i in range(4)]
    procs = [spawn(STARTER, incident, name, go) for name in names]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in names) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    journal = Journal.open(incident)
    assert journal.incident_id == "inc-9"
    assert sorted(e.author for e in journal.events()) == names
    journal.close()
