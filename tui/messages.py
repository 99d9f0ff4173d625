"""Every Textual message the cockpit's workers post to the screen, in one place.

Widgets keep their own messages (a timeline entry highlighted, a note submitted); these are
the app's: a node sampled, journal entries and the journal's health from the feed, and an
action's end from the action runner.
"""

from __future__ import annotations

from textual.message import Message

from checks.incident.journal import Event
from checks.observe.sample import NodeSample


class NodeSampled(Message):
    """One node was sampled.

    A burst coalesces (Toolong-style): while a newer sample of the same node is
    already waiting in the queue, this one is dropped and only the newest renders.
    """

    def __init__(self, sample: NodeSample) -> None:
        super().__init__()
        self.sample = sample

    def can_replace(self, message: Message) -> bool:
        """True when ``message`` (the next one queued) is a newer sample of the same node."""
        return isinstance(message, NodeSampled) and message.sample.name == self.sample.name


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


class ActionDone(Message):
    """A runbook action ended: ``text`` is its sentence (the result, the refusal, or the failure)."""

    def __init__(self, label: str, ok: bool, text: str, refused: bool = False) -> None:
        super().__init__()
        self.label, self.ok, self.text, self.refused = label, ok, text, refused


class SignalsSeen(Message):
    """A signal source reported: the app path and Odoo's health, or the infrastructure command."""

    def __init__(self, *, probes=None, odoo=None, infra=None) -> None:
        super().__init__()
        self.probes, self.odoo, self.infra = probes, odoo, infra
