"""record.md follows the journal off the action path: debounced, never losing an entry, whole at close."""

from __future__ import annotations

import threading
from pathlib import Path

from checks.config.model import load_config
from checks.incident.record_writer import RecordWriter
from checks.runbook.session import Session

ROOT = Path(__file__).resolve().parents[2]


def test_a_burst_of_requests_is_a_few_renders_and_the_last_sees_everything():
    seen, lock = [], threading.Lock()
    state = {"n": 0}

    def render():
        with lock:
            seen.append(state["n"])

    writer = RecordWriter(render, on_error=lambda exc: None, interval_s=0.5)
    for i in range(1, 201):
        state["n"] = i
        writer.request()
    writer.close()
    assert seen[-1] == 200                    # nothing lost: the last render saw the last change
    assert len(seen) < 200                    # debounced: not a render per request


def test_a_failed_render_is_reported_and_the_next_request_renders_again():
    errors, calls = [], []

    def render():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("No space left on device")

    writer = RecordWriter(render, on_error=errors.append, interval_s=0.01)
    writer.flush()
    writer.request()
    writer.close()
    assert [str(e) for e in errors] == ["No space left on device"]
    assert len(calls) == 2


def test_the_session_record_holds_every_entry_when_the_seat_closes(tmp_path):
    name, cluster = load_config(ROOT / "sample-clusters.toml").cluster(None)
    session = Session(name, cluster, tmp_path / "inc", seat="scribe", name="carol", announce=False)
    for i in range(30):
        session.note("note", f"entry number {i} of the night")
    session.close()
    record = (tmp_path / "inc" / "record.md").read_text()
    assert all(f"entry number {i} of the night" in record for i in range(30))
