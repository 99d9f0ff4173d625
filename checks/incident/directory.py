"""Incident directories: naming a new one, which files belong to one, checking one before use,
and the login name as the default author.

:func:`prepare_incident_dir` is the one gate every writing entry (``run`` in any seat, ``drill``,
``drill --rollback``, ``tmux``, :meth:`checks.incident.journal.Journal.create`) passes before it touches a
directory; :func:`check_no_symlinks` is the part the read-only entries (``record``, ``replay``,
:meth:`checks.incident.journal.Journal.open`) need. Both refuse with :class:`IncidentDirError`, one line
naming the file, and change nothing in the directory they refuse.

The rules:

- the directory itself, and any incident file inside it, must not be a symbolic link: the journal,
  the record and the locks would be written into the link's target;
- it holds nothing but an incident's files (:data:`INCIDENT_FILES`, and the temporary files of the
  atomic writes, :data:`INCIDENT_TEMP_PREFIXES`); an empty directory is fine;
- without ``journal.sqlite3`` it holds nothing but the operator seat's lock files (the seat is taken
  before the journal is created): a ``record.md`` without a journal beside it was written by
  someone else, and is never replaced;
- a new directory is made mode 0700.

Whether a ``journal.sqlite3`` is really an incident's (its ``meta`` table) is checked by
:meth:`checks.incident.journal.Journal.open`, which every entry goes through before the record is written.
"""

from __future__ import annotations

import getpass
import os
import stat
from pathlib import Path

from checks.config.files import TEMP_SUFFIX, temp_prefix
from checks.incident.errors import JournalError, JournalWriteError
from checks.incident.seats import HOLDER_FILE
from checks.incident.seats import LOCK_FILE as OPERATOR_LOCK_FILE
from checks.observe.sample import utcnow

# Every file the cockpit writes into an incident directory, in one place.
JOURNAL_FILE = "journal.sqlite3"
RECORD_FILE = "record.md"
RECORD_LOCK_FILE = ".record.lock"
JOURNAL_FILES = (JOURNAL_FILE, f"{JOURNAL_FILE}-wal", f"{JOURNAL_FILE}-shm", f"{JOURNAL_FILE}-journal")
SEAT_FILES = (OPERATOR_LOCK_FILE, HOLDER_FILE)
INCIDENT_FILES = frozenset((*JOURNAL_FILES, RECORD_FILE, RECORD_LOCK_FILE, *SEAT_FILES))
# Temporary files of the atomic writes (``tempfile.mkstemp(prefix=".NAME.", suffix=".tmp")``): a crash
# between writing and renaming leaves one behind.
INCIDENT_TEMP_PREFIXES = (temp_prefix(RECORD_FILE), temp_prefix(HOLDER_FILE))   # write_atomic's temporary files


class IncidentDirError(JournalError):
    """One line: this directory cannot be used as an incident directory, and which file says why."""


def is_incident_file(name: str) -> bool:
    """``name`` is one the cockpit writes into an incident directory."""
    return name in INCIDENT_FILES or (name.endswith(TEMP_SUFFIX) and name.startswith(INCIDENT_TEMP_PREFIXES))


def _seat_file(name: str) -> bool:
    return name in SEAT_FILES or (name.endswith(TEMP_SUFFIX) and name.startswith(f".{HOLDER_FILE}."))


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IncidentDirError(f"{path} cannot be examined: {exc.strerror or exc}") from None


def _refuse_link(path: Path, what: str) -> None:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    raise IncidentDirError(f"{path} is a symbolic link (to {target}): {what} must not be one, "
                           "or the journal, the record and the locks would be written into its target")


def check_no_symlinks(path: Path) -> None:
    """The read-only check: neither the directory nor any incident file inside it is a symbolic link."""
    path = Path(path)
    st = _lstat(path)
    if st is None:
        return
    if stat.S_ISLNK(st.st_mode):
        _refuse_link(path, "an incident directory")
    if not stat.S_ISDIR(st.st_mode):
        return
    for name in sorted(INCIDENT_FILES):
        inner = _lstat(path / name)
        if inner is not None and stat.S_ISLNK(inner.st_mode):
            _refuse_link(path / name, "a file of an incident")


def prepare_incident_dir(path: Path, *, create: bool) -> bool:
    """Check ``path`` before writing into it (the rules above); with ``create`` make it (mode 0700) when
    it does not exist. Returns True if it was made here. IncidentDirError (one line naming the file)
    when it must not be used; without ``create`` also when it does not exist."""
    path = Path(path)
    st = _lstat(path)
    if st is None:
        if not create:
            raise IncidentDirError(f"{path} is not an incident directory: no such directory")
        try:
            path.mkdir(mode=0o700, parents=True)
        except FileExistsError:      # made by another seat a moment ago: check it like any other
            return prepare_incident_dir(path, create=create)
        except OSError as exc:   # a write error, as for the journal: a read-only or full disk
            raise JournalWriteError(f"incident directory {path} is not writable: it cannot be created: "
                                    f"{exc.strerror or exc}") from None
        os.chmod(path, 0o700)        # whatever the umask
        return True
    if stat.S_ISLNK(st.st_mode):
        _refuse_link(path, "an incident directory")
    if not stat.S_ISDIR(st.st_mode):
        raise IncidentDirError(f"{path} is not a directory: an incident directory must be one")
    try:
        names = sorted(os.listdir(path))
    except OSError as exc:
        raise IncidentDirError(f"incident directory {path} cannot be read: {exc.strerror or exc}") from None
    for name in names:
        if not is_incident_file(name):
            raise IncidentDirError(
                f"{path / name} is not a file of an incident: an incident directory holds only the cockpit's "
                "own files; move it away or choose a new directory")
        inner = _lstat(path / name)
        if inner is not None and stat.S_ISLNK(inner.st_mode):
            _refuse_link(path / name, "a file of an incident")
        if inner is not None and not stat.S_ISREG(inner.st_mode):
            raise IncidentDirError(f"{path / name} is not a regular file: it is not the cockpit's, so "
                                   "the directory is not an incident's")
    if JOURNAL_FILE not in names:
        stranger = next((n for n in names if not _seat_file(n)), None)
        if stranger is not None:
            raise IncidentDirError(
                f"{path / stranger} was not written by failover-cockpit: the directory has no {JOURNAL_FILE}, "
                "so it is not an incident's and nothing in it is replaced; choose a new directory")
    return False


def new_incident_dir(cluster: str, base: Path = Path("incidents")) -> Path:
    """``incidents/<UTC date>-<cluster>-<n>/``, with the first free n."""
    day = utcnow().strftime("%Y-%m-%d")
    n = 1
    while (base / f"{day}-{cluster}-{n}").exists():
        n += 1
    return base / f"{day}-{cluster}-{n}"


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
