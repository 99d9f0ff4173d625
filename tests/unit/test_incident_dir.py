"""Incident directories (issue 11, item 7): a stranger's files are never replaced, a symbolic link is
never followed, a new directory is private, and every entry says so in one line naming the file.
Real processes of every entry (run, drill, drill --rollback, tmux, record, replay); no lab needed:
each is refused before it connects to anything."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from checks.incident.directory import INCIDENT_FILES, IncidentDirError, is_incident_file, prepare_incident_dir
from checks.incident.journal import Journal
from checks.incident.record import write_record

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "sample-clusters.toml")

# every entry that writes into an incident directory, as the operator would type it
WRITERS = {
    "run": lambda d: ["run", CONFIG, "--incident", str(d), "--seat", "operator", "--name", "olga"],
    "run as scribe": lambda d: ["run", CONFIG, "--incident", str(d), "--seat", "scribe", "--name", "sam"],
    "drill": lambda d: ["drill", CONFIG, "--incident", str(d), "--operator", "olga", "--yes"],
    "drill --rollback": lambda d: ["drill", CONFIG, "--incident", str(d), "--operator", "olga", "--rollback", "pg2"],
    "tmux": lambda d: ["tmux", CONFIG, "--incident", str(d), "--operator", "olga", "--no-attach"],
}


def cli(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def refusal(proc: subprocess.CompletedProcess) -> str:
    """The one line the command said (on stderr, or the drill's last line), after a non-zero exit."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines()[-1:]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def incident(path: Path) -> Path:
    journal = Journal.create(path, incident_id=path.name, cluster="prod")
    journal.append("note", "an incident of ours", seat="scribe", author="sam")
    write_record(path, journal)
    journal.close()
    return path


@pytest.mark.parametrize("entry", sorted(WRITERS))
def test_a_strangers_record_is_refused_and_left_untouched(tmp_path, entry):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "record.md").write_text("# my own notes, not an incident\n")
    (theirs / "operator.json").write_text("{}")     # a name of ours means nothing without a journal
    before = snapshot(theirs)
    line = refusal(cli(*WRITERS[entry](theirs)))
    if entry in ("run as scribe", "drill --rollback"):     # these join an incident: no journal, no incident
        assert f"{theirs} is not an incident directory" in line, line
    else:
        assert f"{theirs / 'record.md'} was not written by failover-cockpit" in line, line
    assert snapshot(theirs) == before


@pytest.mark.parametrize("entry", sorted(WRITERS))
def test_a_symlinked_incident_is_refused_and_its_target_gets_nothing(tmp_path, entry):
    for target in (tmp_path / "empty", incident(tmp_path / "real")):
        target.mkdir(exist_ok=True)
        link = tmp_path / f"link-to-{target.name}"
        link.symlink_to(target)
        before = snapshot(target)
        line = refusal(cli(*WRITERS[entry](link)))
        if target.name == "empty" and entry in ("run as scribe", "drill --rollback"):
            assert f"{link} is not an incident directory" in line, line
        else:
            assert f"{link} is a symbolic link (to {target})" in line, line
        assert snapshot(target) == before


@pytest.mark.parametrize("reader", ["record", "replay"])
def test_the_read_only_entries_refuse_a_symlink_too(tmp_path, reader):
    link = tmp_path / "link"
    link.symlink_to(incident(tmp_path / "real"))
    assert f"{link} is a symbolic link" in refusal(cli(reader, str(link)))
    assert cli(reader, str(tmp_path / "real")).returncode == 0 if reader == "record" else True


@pytest.mark.parametrize("name", ["journal.sqlite3", "record.md", "operator.lock"])
def test_a_symlink_among_an_incidents_files_is_refused(tmp_path, name):
    real = incident(tmp_path / "inc")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes((real / name).read_bytes() if (real / name).exists() else b"")
    (real / name).unlink(missing_ok=True)
    (real / name).symlink_to(elsewhere)
    before = elsewhere.read_bytes()
    line = refusal(cli(*WRITERS["drill"](real)))
    assert f"{real / name} is a symbolic link" in line, line
    assert elsewhere.read_bytes() == before


def test_a_directory_holding_an_unknown_file_is_refused_naming_it(tmp_path):
    real = incident(tmp_path / "inc")
    (real / "notes.txt").write_text("mine\n")
    before = snapshot(real)
    for entry in ("run", "drill", "tmux", "run as scribe"):
        line = refusal(cli(*WRITERS[entry](real)))
        assert f"{real / 'notes.txt'} is not a file of an incident" in line, (entry, line)
    assert snapshot(real) == before
    assert cli("record", str(real)).returncode == 0       # reading it is harmless


def test_a_new_incident_directory_is_private_and_an_empty_one_is_used(tmp_path):
    os.umask(0o022)
    new = tmp_path / "a" / "new"
    assert prepare_incident_dir(new, create=True) is True
    assert stat.S_IMODE(new.stat().st_mode) == 0o700
    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare_incident_dir(empty, create=True) is False
    Journal.create(empty, incident_id="e", cluster="prod").close()
    assert prepare_incident_dir(empty, create=False) is False   # its own files are an incident's
    with pytest.raises(IncidentDirError, match="no such directory"):
        prepare_incident_dir(tmp_path / "missing", create=False)


def test_every_file_the_cockpit_writes_is_on_the_list(tmp_path):
    """An incident after a journal, a record, the operator seat and some samples: nothing unlisted."""
    from checks.incident.seats import OperatorLock

    real = incident(tmp_path / "inc")
    with OperatorLock(real) as lock:
        lock.acquire("olga")
        journal = Journal.open(real)
        write_record(real, journal)
        journal.close()
    assert {p.name for p in real.iterdir()} <= INCIDENT_FILES
    assert is_incident_file(".record.md.k3j_x9.tmp") and not is_incident_file(".notes.tmp")


def test_a_journal_that_is_not_an_incidents_keeps_the_record_beside_it_untouched(tmp_path):
    import sqlite3

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    sqlite3.connect(theirs / "journal.sqlite3").execute("CREATE TABLE t (x)").connection.close()
    (theirs / "record.md").write_text("# someone's record\n")
    before = snapshot(theirs)
    line = refusal(cli(*WRITERS["drill"](theirs)))
    assert f"{theirs / 'journal.sqlite3'} is not an incident journal" in line, line
    assert snapshot(theirs) == before
