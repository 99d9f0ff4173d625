"""Trying to break the record writer (issue 17 point 2): record.md re-rendered off the action path by
a RecordWriter, at most about a second behind, losing nothing, whole at the close-out and when a seat
leaves. Tried: a note right before Session.close, entries arriving while a render runs, a render that
fails (record.md cannot be replaced) then succeeds, a flush racing the thread, Session.close twice."""

from __future__ import annotations

import threading
from pathlib import Path

from checks.config.model import load_config
from checks.incident.record_writer import RecordWriter
from checks.runbook.session import Session

ROOT = Path(__file__).resolve().parents[2]


def scribe_session(directory: Path) -> Session:
    name, cluster = load_config(ROOT / "sample-clusters.toml").cluster(None)
    return Session(name, cluster, directory, seat="scribe", name="carol", announce=False)


def test_a_note_just_before_the_seat_leaves_is_in_the_record(tmp_path):
    session = scribe_session(tmp_path / "inc")
    session.note("note", "the first note of the night")
    session.note("note", "the very last note, then the seat leaves")
    session.close()
    record = (tmp_path / "inc" / "record.md").read_text()
    assert "the first note of the night" in record and "the very last note, then the seat leaves" in record


def test_closing_a_session_twice_is_harmless_and_the_record_stays_whole(tmp_path):
    session = scribe_session(tmp_path / "inc")
    session.note("note", "written once")
    session.close()
    session.close()
    assert "written once" in (tmp_path / "inc" / "record.md").read_text()
    assert session.alarm is None


def test_entries_that_arrive_while_a_render_runs_are_rendered_after_it():
    state, seen = {"n": 0}, []
    started, release = threading.Event(), threading.Event()

    def render():
        n = state["n"]                  # what this render reads of the journal
        if not seen:
            started.set()
            release.wait(10)            # the first render is slow: entries arrive meanwhile
        seen.append(n)

    writer = RecordWriter(render, on_error=lambda exc: None, interval_s=0.05)
    state["n"] = 1
    writer.request()
    assert started.wait(10)
    for i in range(2, 40):
        state["n"] = i
        writer.request()
    release.set()
    deadline = threading.Event()
    for _ in range(200):                 # the thread's own render, no close: within an interval or so
        if seen and seen[-1] == 39:
            break
        deadline.wait(0.05)
    assert seen[0] == 1 and seen[-1] == 39
    writer.close()
    assert seen[-1] == 39


def test_a_flush_while_the_thread_renders_waits_and_sees_everything():
    state, seen = {"n": 0}, []
    started, release = threading.Event(), threading.Event()

    def render():
        n = state["n"]
        if not seen and not started.is_set():
            started.set()
            release.wait(10)
        seen.append(n)

    writer = RecordWriter(render, on_error=lambda exc: None, interval_s=0.01)
    state["n"] = 1
    writer.request()
    assert started.wait(10)
    state["n"] = 2                       # the close-out's entry, journaled during the thread's render
    threading.Timer(0.2, release.set).start()
    writer.flush()                       # the close-out: waits for the render under way, then renders
    assert seen == [1, 2]
    writer.close()
    assert seen[-1] == 2


def test_a_record_that_cannot_be_written_raises_an_alarm_and_the_next_render_catches_up(tmp_path):
    session = scribe_session(tmp_path / "inc")
    blocker = tmp_path / "inc" / "record.md"
    blocker.unlink(missing_ok=True)
    blocker.mkdir()                      # record.md cannot be replaced: the render fails (OSError)
    (blocker / "keep").write_text("x")
    session.note("note", "written while the record could not be")
    session.flush_record()
    assert session.alarm and "record.md" in session.alarm and "not writ" in session.alarm
    assert "[Errno" not in session.alarm                # words, never an errno string
    assert "Traceback" not in session.alarm
    (blocker / "keep").unlink()
    blocker.rmdir()
    session.note("note", "written when the disk was back")
    session.close()
    record = blocker.read_text()
    assert "written while the record could not be" in record and "written when the disk was back" in record
