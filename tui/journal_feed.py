"""Feeding the journal to the screen: new entries from every seat, and the journal's health.

A thread worker polls ``events(after_id=...)`` (an indexed range read) every
``POLL_S``, so an entry made in any seat shows in every other within a second, and
checks that the journal can still take writes, so a full or read-only disk is an
alarm on every seat, not only on the one that tried to write.
"""

from __future__ import annotations

import time

from textual.message import Message

from checks.incident.journal import Event, JournalError

POLL_S = 0.3


class JournalEvents(Message):
    """New journal entries, in id order."""

    def __init__(self, events: list[Event]) -> None:
        super().__init__()
        self.events = events


class JournalHealth(Message):
    """The journal's health changed: an alarm line, or None when it is fine again."""

    def __init__(self, alarm: str | None) -> None:
        super().__init__()
        self.alarm = alarm


def follow_journal(target, session, worker) -> None:
    """Runs in a thread worker until cancelled."""
    last_id = 0
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
