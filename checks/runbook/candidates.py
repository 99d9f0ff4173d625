"""Stage 1: which standby to promote, in order, and why the others are not candidates."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from checks.config.model import Cluster
from checks.observe.assess import ClusterView
from checks.observe.lsn import parse_lsn


class Candidate(BaseModel):
    """A standby that could be promoted, or the reason it cannot."""

    model_config = ConfigDict(frozen=True)

    name: str
    eligible: bool
    reason: str = ""            # why it is not a candidate (empty when eligible)
    receive_lsn: str | None = None     # the WAL it holds (received, or replayed when further)
    bytes_not_replayed: int | None = None
    priority: int = 0

    def summary(self) -> str:
        """One ranking line: "node2: eligible (holds WAL up to 0/3000148)", "node1: unreachable (...)"."""
        held = f" (holds WAL up to {self.receive_lsn})" if self.receive_lsn else ""
        return f"{self.name}: {'eligible' if self.eligible else self.reason}{held}"


def rank_candidates(view: ClusterView, cluster: Cluster) -> list[Candidate]:
    """Eligible standbys first: most WAL received, then least replay backlog (it costs
    promotion time), then highest configured priority; then the others with their reason."""
    priority = {n.name: n.priority for n in cluster.nodes}
    eligible, others = [], []
    for node in view.nodes:
        s = node.sample
        base = dict(name=node.name, receive_lsn=s.held_lsn, bytes_not_replayed=s.bytes_not_replayed,
                    priority=priority.get(node.name, 0))
        reason = _not_a_candidate(node.role, s)
        if reason:
            others.append(Candidate(eligible=False, reason=reason, **base))
        else:
            eligible.append(Candidate(eligible=True, **base))
    eligible.sort(key=lambda c: (-(parse_lsn(c.receive_lsn) or 0), c.bytes_not_replayed or 0, -c.priority, c.name))
    return eligible + others


def _not_a_candidate(role: str, sample) -> str:
    if role == "unreachable":
        return f"unreachable ({sample.error})"
    if role == "duplicate":
        return "it reaches the same server as another entry of the config (fix its DSN)"
    if role == "foreign":
        return "belongs to another cluster (different system identifier)"
    if role == "primary":
        return "it is writable already (a primary, not a standby)"
    if role != "standby":
        return "its recovery state is unknown"
    if sample.replay_paused:
        return "WAL replay is paused on it (resume replay first)"
    if sample.receive_lsn is None:
        return "it has received no WAL"
    return ""
