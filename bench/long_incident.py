"""Long incidents: an eight-hour journal (10,000 events, 10 nodes sampled at 1 Hz) resumed, closed
out and rendered (issue 17). The journal is :mod:`bench.long_journal`'s.

- ``long_incident_resume_s``: ``failover-cockpit run --incident DIR`` in a real tmux pane, from the
  launch to the first frame whose scribe log shows the night's last entry, a median of three, each
  on its own copy (the nodes of the bench's config listen nowhere: what is measured is the journal,
  not a network);
- ``long_incident_close_ms``: the close-out's figures from a journal opened cold (its events read,
  the standby peaks, the newest samples, time per stage, RTO, RPO, the hardening checklist);
- ``record_render_ms_10k``: ``record.md`` rendered in full from that journal (median of three).

    .venv/bin/python -m bench.long_incident [HOURS]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import tomli_w

from bench.long_journal import NODES, build_long_journal
from bench.tmux_pane import Pane
from checks.config.model import Cluster
from checks.incident.journal import Journal
from checks.incident.record import render_record
from checks.stages.close import closeout

CLOSED_PORT = 9                                   # discard: nothing listens there on these machines


def _config(path: Path) -> Path:
    nodes = [{"name": n, "dsn": f"postgresql://postgres@127.0.0.1:{CLOSED_PORT}/postgres"} for n in NODES]
    path.write_text(tomli_w.dumps({"clusters": {"lab": {"approvers": ["alice", "bob"], "nodes": nodes}}}))
    return path


def close_ms(directory: Path, cluster: Cluster) -> float:
    started = time.perf_counter()
    journal = Journal.open(directory)
    events = journal.events()
    closeout(cluster, events, journal.standby_peaks(), journal.latest_samples().values(), started_at=events[0].at,
             first_bad_at=None)
    took = (time.perf_counter() - started) * 1000
    journal.close()
    return round(took, 1)


def render_ms(directory: Path) -> tuple[float, int]:
    journal = Journal.open(directory)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        text = render_record(journal)
        times.append((time.perf_counter() - started) * 1000)
    journal.close()
    return round(statistics.median(times), 1), len(text)


def resume_s(directory: Path, config: Path, timeout_s: float = 60.0) -> float:
    """Launch to the first frame showing the journal's last entry, in a 120x40 tmux pane."""
    journal = Journal.open(directory)
    last = journal.events()[-1].text
    journal.close()
    mark = last.split(":")[0]                     # "note 1234": the start of the night's last line
    pane = Pane([sys.executable, "-m", "cli", "run", str(config), "--incident", str(directory)])
    try:
        return pane.wait_until(lambda screen: mark in screen, pane.start(), timeout_s,
                               what=f"the resumed incident's last entry ('{mark}')")
    finally:
        pane.kill()


def long_incident_figures(hours: float = 8, events: int = 10_000) -> dict:
    with tempfile.TemporaryDirectory(prefix="ofc-long-incident-") as tmp:
        directory = Path(tmp) / "night"
        started = time.monotonic()
        cluster = build_long_journal(directory, hours, events)
        built = time.monotonic() - started
        journal = Journal.open(directory)
        kept, count = len(journal.samples()), len(journal.events())
        journal.close()
        figures = {"long_incident_close_ms": close_ms(directory, cluster)}
        figures["record_render_ms_10k"], size = render_ms(directory)
        config = _config(Path(tmp) / "clusters.toml")
        runs = []
        for i in range(3):                # a median of three, as first_frame_s: one start is noisy
            resumed = Path(tmp) / f"resumed-{i}"    # each its own copy: a resume journals its seat
            shutil.copytree(directory, resumed)
            runs.append(resume_s(resumed, config))
        figures["long_incident_resume_s"] = statistics.median(runs)
    figures["long_incident_note"] = (
        f"Long incident: {hours:g} h journal, {count} events, {kept} samples kept of {len(NODES)} nodes sampled at "
        f"1 Hz (built in {built:.0f} s); the record is {size / 1e6:.1f} MB of markdown.")
    return figures


if __name__ == "__main__":
    print(long_incident_figures(float(sys.argv[1]) if len(sys.argv) > 1 else 8))
