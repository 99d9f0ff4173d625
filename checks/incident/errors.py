"""The journal's errors: one line about the incident's files, what is wrong and where.

Below the journal and the incident directory both: the directory's refusals are journal errors
(every entry that opens a journal catches one class).
"""

from __future__ import annotations

from checks.errors import CockpitError


class JournalError(CockpitError):
    """One line about the journal: what file, what is wrong."""


class JournalWriteError(JournalError):
    """The journal could not be written (disk full, read-only, locked): an alarm on every seat."""
