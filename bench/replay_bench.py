"""Replay seeking: the median time of a random seek (``Recording.state_at``) in a one-hour journal,
and in a 24-hour one (:func:`replay_seek_ms_24h`).

The journal is the one ``bench/journal_bench.py`` simulates (a primary and two standbys
sampled at 1 Hz of simulated time, through :meth:`Journal.record_sample` and its
SampleRecorder policy) plus about 50 events of mixed kinds spread over the hour, journaled
by :meth:`Journal.append` with the journal's clock pinned to the simulated time. The whole
build is one transaction (:func:`one_transaction`): the same rows through the same journal
code, without a commit (and its fsync) per sample, so 24 hours build in seconds. It is
loaded with :meth:`Recording.load`, then 20 seeks to random moments are timed one by one
(each from wherever the previous one left the replay, so most go backward or far forward).

    .venv/bin/python -m bench.replay_bench [MINUTES]
    .venv/bin/python -m bench.replay_bench 24h      # replay_seek_ms_24h() as JSON
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from unittest import mock

from bench.journal_bench import START, _Cluster
from checks.incident.journal import Journal
from checks.observe.sample_policy import SampleRecorder
from checks.training.replay import Recording

TARGET_MS = 100.0
SEEKS = 20
EVENTS_PER_HOUR = 50
_KINDS = (("note", "scribe", "carol", None), ("status", "operator", "alice", None),
          ("evidence", "operator", "alice", 1), ("decision", "operator", "alice", 0),
          ("action", "operator", "alice", 0), ("todo", "scribe", "carol", None))


@contextmanager
def one_transaction(journal: Journal) -> Iterator[None]:
    """Every write of ``journal`` inside the block in one transaction, committed at its end.

    The journal writes what it always writes (its own ``record_sample`` and ``append``, its policy,
    redaction and snapshots); only its per-write ``BEGIN IMMEDIATE ... COMMIT`` is folded into one.
    For building a long journal fast; never for a live incident, where each write must be durable."""
    conn = journal._conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        with mock.patch.object(journal, "_write", lambda work: work(conn)):
            yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def build_journal(directory: Path, minutes: float = 60, *, seed: int = 11) -> Path:
    """An incident at ``directory``: ``minutes`` of 1 Hz sampling and ~50 events an hour, written in
    one transaction."""
    rng = random.Random(seed)
    cluster = _Cluster(random.Random(seed))
    seconds = int(minutes * 60)
    count = max(1, round(EVENTS_PER_HOUR * minutes / 60))
    event_at = sorted(rng.uniform(0, seconds) for _ in range(count))
    clock = {"now": START}
    journal = Journal.create(directory, incident_id="bench-replay", cluster="main",
                             recorder=SampleRecorder(slo_replay_delay_s=30.0))
    with mock.patch("checks.incident.journal.utcnow", lambda: clock["now"]), one_transaction(journal):
        journal.append("role", "roles: operator alice, scribe carol, approver dave", seat="operator", author="alice",
                       stage=0, data={"roles": {"operator": "alice", "scribe": "carol", "approver": "dave"}})
        for t in range(seconds):
            for sample in cluster.tick(t):
                journal.record_sample(sample)
            while event_at and event_at[0] < t + 1:
                clock["now"] = START + timedelta(seconds=event_at.pop(0))
                kind, seat, author, stage = rng.choice(_KINDS)
                journal.append(kind, f"{kind} at +{clock['now'] - START}", seat=seat, author=author, stage=stage)
    journal.close()
    return directory


def seek_times_ms(recording: Recording, seeks: int = SEEKS, *, seed: int = 5) -> list[float]:
    rng = random.Random(seed)
    span = recording.duration_s
    times = []
    for _ in range(seeks):
        moment = recording.start + timedelta(seconds=rng.uniform(0, span))
        started = time.perf_counter()
        recording.state_at(moment)
        times.append((time.perf_counter() - started) * 1000)
    return times


def replay_seek_ms(minutes: float = 60) -> float:
    """Median milliseconds of a random seek in a journal of ``minutes`` (3 nodes at 1 Hz, ~50 events an hour)."""
    with tempfile.TemporaryDirectory(prefix="ofc-replay-bench-") as tmp:
        recording = Recording.load(build_journal(Path(tmp) / "inc", minutes))
    return round(statistics.median(seek_times_ms(recording)), 2)


def replay_seek_ms_24h() -> dict:
    """The median milliseconds of a random seek in a 24-hour journal (3 nodes at 1 Hz, ~1,200 events),
    with one sentence on that journal: its samples, events and nodes, and how long it took to load.

    Building the journal (not timed) takes about 20 s, loading it about 6 s, the seeks well under one."""
    with tempfile.TemporaryDirectory(prefix="ofc-replay-bench-") as tmp:
        directory = build_journal(Path(tmp) / "inc", 24 * 60)
        started = time.perf_counter()
        recording = Recording.load(directory)
        loaded = time.perf_counter() - started
    times = seek_times_ms(recording)
    nodes = len({s.name for s in recording.samples})
    note = (f"A 24-hour journal of {nodes} nodes sampled at 1 Hz ({24 * 3600 * nodes:,} samples taken, "
            f"{len(recording.samples):,} kept by the journal's policy) and {len(recording.events):,} events, "
            f"loaded in {loaded:.1f} s; the median of {len(times)} random seeks (the slowest {max(times):.1f} ms).")
    return {"replay_seek_ms_24h": round(statistics.median(times), 2), "replay_seek_24h_note": note}


def main(argv: list[str]) -> int:
    if argv and argv[0] == "24h":
        print(json.dumps(replay_seek_ms_24h(), indent=2))
        return 0
    minutes = float(argv[0]) if argv else 60
    with tempfile.TemporaryDirectory(prefix="ofc-replay-bench-") as tmp:
        started = time.perf_counter()
        directory = build_journal(Path(tmp) / "inc", minutes)
        built = time.perf_counter() - started
        started = time.perf_counter()
        recording = Recording.load(directory)
        loaded = time.perf_counter() - started
    times = seek_times_ms(recording)
    median = statistics.median(times)
    print(f"journal:  {minutes:g} min, {len(recording.samples)} samples, {len(recording.events)} events "
          f"(built in {built:.1f} s, loaded in {loaded * 1000:.0f} ms)")
    print(f"seek:     median {median:.2f} ms, max {max(times):.2f} ms over {len(times)} random seeks")
    print(f"target:   {TARGET_MS:g} ms or less: {'ok' if median <= TARGET_MS else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
