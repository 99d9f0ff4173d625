"""Messages the cockpit's workers post to the screen."""

from __future__ import annotations

from textual.message import Message

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
