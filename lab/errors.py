"""The one exception the lab raises."""

from __future__ import annotations


class LabError(Exception):
    """A lab operation failed; the message is one line naming the node, port or file."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)
