"""Feeding the journal to the screen: new entries from every seat, and the journal's health.

A thread worker polls ``events(after_id=...)`` (an indexed range read) every
``POLL_S``, so an entry made in any seat shows in every other within a second, and
checks that the journal can still take writes, so a full or read-only disk is an
alarm on every seat, not only on the one that tried to write.
"""

from __future__ import annotations

import time

from checks.incident.journal import JournalError
from tui.messages import JournalEvents, JournalHealth

POLL_S = 0.3


def follow_journal(target, session, worker, last_id: int = 0) -> None:
    """Runs in a thread worker until cancelled; ``last_id``: the newest entry already on screen."""
    last_alarm: str | None = None
    while not worker.is_cancelled:
        try:
            events = session.journal.events(after_id=last_id)
        except JournalError as exc:
            events, alarm = [], str(exc)
        else:
            alarm = session.health()
        if events:
            last_id = events[-1].id
            target.post_message(JournalEvents(events))
        if alarm != last_alarm:
            last_alarm = alarm
            target.post_message(JournalHealth(alarm))
        time.sleep(POLL_S)
