"""What a fence did, as the assessment needs it: which nodes this incident fenced, and whether each fence still stands.

Pure. The journal's fence actions become :class:`Fence` records in
:func:`checks.incident.fences.fences_of`; :class:`~checks.observe.assess.Watch` keeps them and
applies the one rule of this module, :func:`standing_fences`: a fence stands while its node
has not answered since. A node that stands fenced and does not answer is FENCED, as decided:
not a problem of the cluster (docs/design.md section 2.3).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict


class Fence(BaseModel):
    """One fence command this incident ran on ``node`` that exited 0 (the last such one of the node)."""

    model_config = ConfigDict(frozen=True)

    node: str
    at: datetime                   # when the command ended (its journal entry)
    name: str                      # the command's name, "fence node1"
    argv: tuple[str, ...] = ()
    exit_code: int = 0
    author: str | None = None
    duration_ms: float | None = None

    @property
    def clock(self) -> str:
        """``07:24:03Z``: when it was fenced, in UTC to the second."""
        moment = self.at.astimezone(timezone.utc) if self.at.tzinfo else self.at
        return moment.strftime("%H:%M:%SZ")

    @property
    def command(self) -> str:
        """The command as it ran, quoted for a shell to read (its name when no argv was journaled)."""
        return shlex.join(self.argv) if self.argv else self.name

    def sentence(self) -> str:
        """``fenced 07:24:03Z by `fence node1` (exit 0)``."""
        return f"fenced {self.clock} by `{self.name}` (exit {self.exit_code})"


def standing_fences(fences: Mapping[str, Fence], answered_at: Mapping[str, datetime]) -> dict[str, Fence]:
    """The fences that still stand: a node that answered after its fence is back (re-protected, or
    started again by hand) and is judged by its samples alone again."""
    return {name: fence for name, fence in fences.items()
            if answered_at.get(name) is None or answered_at[name] <= fence.at}
