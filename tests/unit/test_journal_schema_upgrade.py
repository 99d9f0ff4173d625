"""The journal's schema version 2 (checks.incident.schema): what it keeps as samples are written (the
standby peaks, the turning points) cannot be left stale by a cockpit that reads version 1.

An older cockpit refuses a journal whose version is above its own (it reads ``PRAGMA user_version`` and
says "newer than this cockpit reads"), so a version 2 journal is safe from it. A version 1 journal, which
such a cockpit may have written samples to without peaks or marks, becomes version 2 with the first
sample written here, its peaks and marks made again from every sample: a close-out or a resume then
says what a reading of every sample says. Here the older cockpit's writes are made as it made them, by
plain inserts into ``samples``.
"""

from __future__ import annotations

import sqlite3

import pytest

from checks.incident.events import to_json
from checks.incident.journal import JOURNAL_FILE, SCHEMA_VERSION, Journal, JournalError
from checks.incident.sample_peaks import of_samples
from checks.incident.schema import SCHEMA_VERSION as SCHEMA_VERSION_OF_SCHEMA
from checks.observe.sample import iso_utc
from checks.observe.sample_policy import turning_points
from tests.unit.test_long_incident_turning import cluster, memory, split_brain_night, standby, watched  # noqa: F401

MIB = 1024 * 1024


def _older_cockpit_wrote(path, samples, *, with_table: bool) -> None:
    """The journal as a version 1 cockpit leaves it: user_version 1, its samples inserted plainly (no
    peaks, no marks); ``with_table``: a turning_points table left from a version 1 journal made here."""
    raw = sqlite3.connect(path)
    with raw:
        raw.execute("PRAGMA user_version = 1")
        raw.execute("DELETE FROM meta WHERE key = 'peaks'")
        if not with_table:
            raw.execute("DROP TABLE turning_points")
        raw.executemany("INSERT INTO samples (at, node, data) VALUES (?, ?, ?)",
                        [(iso_utc(s.observed_at), s.name, to_json(s.model_dump(mode="json"))) for s in samples])
    raw.close()


def test_a_new_journal_is_version_2():
    assert SCHEMA_VERSION == SCHEMA_VERSION_OF_SCHEMA == 2


def test_an_older_cockpit_s_check_refuses_it(tmp_path):
    journal = Journal.create(tmp_path / "inc", incident_id="inc", cluster="lab")
    journal.close()
    raw = sqlite3.connect(tmp_path / "inc" / JOURNAL_FILE)
    assert raw.execute("PRAGMA user_version").fetchone()[0] > 1        # what a version 1 cockpit refuses
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(JournalError, match="newer than this cockpit reads"):
        Journal.open(tmp_path / "inc")


@pytest.mark.parametrize("with_table", [False, True], ids=["no-turning-table", "stale-turning-table"])
def test_a_version_1_journal_becomes_version_2_with_peaks_and_marks_from_every_sample(cluster, tmp_path,
                                                                                     with_table):
    night = split_brain_night()
    first, older, later = night[:30], night[30:150], night[150:]
    journal = Journal.create(tmp_path / "inc", incident_id="inc", cluster="lab")
    for s in first:
        journal.record_sample(s, force=True)
    journal.close()
    # the older cockpit's samples hold the incident's largest standby lag: node3, 64 MiB not replayed
    behind = standby("node3", 45.5, 0x16_B374D848, streaming=False).model_copy(
        update={"bytes_not_replayed": 64 * MIB, "raw_replay_delay_s": 40.0})
    _older_cockpit_wrote(tmp_path / "inc" / JOURNAL_FILE, [*older, behind], with_table=with_table)

    journal = Journal.open(tmp_path / "inc")
    for s in later:
        journal.record_sample(s, force=True)
    every = journal.samples()
    peaks = {s.name: (s.bytes_not_replayed, s.raw_replay_delay_s) for s in journal.standby_peaks()}
    resumed = journal.turning_samples(slo_replay_delay_s=cluster.slo.max_replay_delay_s)
    journal.close()

    raw = sqlite3.connect(tmp_path / "inc" / JOURNAL_FILE)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 2
    raw.close()
    assert len(every) == len(night) + 1
    full = {s.name: (s.bytes_not_replayed, s.raw_replay_delay_s) for s in of_samples(
        s for s in every if s.in_recovery).values()}
    assert peaks == full and peaks["node3"][0] == 64 * MIB
    assert memory(watched(cluster, resumed)) == memory(watched(cluster, every))
    assert memory(watched(cluster, resumed)) == memory(watched(cluster, turning_points(
        every, slo_replay_delay_s=cluster.slo.max_replay_delay_s)))
