"""The fleet: one row per cluster of the config, worst first (issue 17's ``run --all``).

Pure: no I/O. A :class:`FleetRow` is what the fleet screen shows of one cluster's latest round (its
verdict, its primary, the worst replay delay and the largest data at risk among its standbys, split
brain, how long it has been bad, and a sentence when it cannot be reached at all);
:class:`FleetTracker` keeps across rounds the one thing a round cannot know, since when each cluster
has been bad. The sampling itself is :mod:`checks.observe.fleet_sampler` (the widgets import this
module, never the sampler).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from checks.observe.assess import ClusterView
from checks.observe.error_cause import error_cause

SEVERITY = {"ok": 0, "warning": 1, "unknown": 2, "critical": 3}
"""How bad a verdict is, to order the fleet (an unknown cluster is not yet proven broken): the same
order for ``status --all`` and the fleet screen."""

NOT_SAMPLED = "waiting for its first round"


class FleetRow(BaseModel):
    """One cluster on the fleet screen, from its latest round (or none yet: ``sampled`` False)."""

    model_config = ConfigDict(frozen=True)

    cluster: str
    verdict: str = "unknown"
    sampled: bool = False              # a round has come back (reachable or not)
    observed_at: datetime | None = None
    primary: str | None = None         # the one writable node; None with none, or with two (split brain)
    writable: tuple[str, ...] = ()
    nodes: int = 0
    reachable: int = 0
    replay_delay_s: float | None = None   # the worst among its standbys (None: no standby says)
    data_risk_bytes: int | None = None    # the largest among its standbys: WAL it never received
    split_brain: bool = False
    bad_since: datetime | None = None     # the first round whose verdict was not ok, in this run of bad ones
    problem: str | None = None            # the round's first problem sentence
    error: str | None = None              # a sentence when the cluster cannot be reached at all
    cause: str | None = None              # with ``error``: why, in a word or two (refused, timeout, ...)

    @property
    def severity(self) -> int:
        return SEVERITY.get(self.verdict, SEVERITY["unknown"])

    def bad_for_s(self, now: datetime) -> float | None:
        """How long it has been bad at ``now`` (None while it is ok, or not sampled yet)."""
        if self.bad_since is None:
            return None
        return max(0.0, (now - self.bad_since).total_seconds())


def waiting_row(cluster: str, nodes: int) -> FleetRow:
    """A cluster whose first round has not come back yet."""
    return FleetRow(cluster=cluster, nodes=nodes, problem=NOT_SAMPLED)


def unreachable_sentence(view: ClusterView) -> str | None:
    """A sentence when no node of the cluster answers (None when one does): the first node's error,
    which is libpq's words for the cause (refused, timed out, no such host)."""
    if not view.nodes or any(n.sample.reachable for n in view.nodes):
        return None
    first = view.nodes[0].sample
    count = len(view.nodes)
    who = "its only node" if count == 1 else f"none of its {count} nodes"
    verb = "does not answer" if count == 1 else "answers"
    error = first.error or "no answer"
    said = error if error.startswith(f"{first.name}: ") else f"{first.name}: {error}"    # a sampler's own refusal names it
    return f"cluster {view.cluster} cannot be reached: {who} {verb} ({said})"


def row_from_view(view: ClusterView, bad_since: datetime | None = None) -> FleetRow:
    """The fleet's row for one judged round; ``bad_since`` is :class:`FleetTracker`'s memory."""
    standbys = [n for n in view.nodes if n.role == "standby"]
    delays = [d for d in (n.sample.replay_delay_s for n in standbys) if d is not None]
    risks = [n.data_risk_bytes for n in standbys if n.data_risk_bytes is not None]
    error = unreachable_sentence(view)
    cause = error_cause(view.nodes[0].sample.error) if error else None
    return FleetRow(
        cluster=view.cluster, verdict=view.verdict, sampled=True, observed_at=view.observed_at,
        primary=view.writable[0] if len(view.writable) == 1 else None, writable=view.writable,
        nodes=len(view.nodes), reachable=sum(1 for n in view.nodes if n.sample.reachable),
        replay_delay_s=max(delays) if delays else None, data_risk_bytes=max(risks) if risks else None,
        split_brain=view.split_brain, bad_since=bad_since,
        problem=view.problems[0] if view.problems else None, error=error, cause=cause,
    )


def failed_row(cluster: str, nodes: int, error: str, observed_at: datetime,
               bad_since: datetime | None = None) -> FleetRow:
    """A round that could not run at all (its sentence): unknown, and says why."""
    return FleetRow(cluster=cluster, verdict="unknown", sampled=True, observed_at=observed_at, nodes=nodes,
                    bad_since=bad_since, problem=error, error=error)


class FleetTracker:
    """Since when each cluster has been bad: the first round whose verdict was not ok, kept until a
    round is ok again (an unknown round, a cluster that cannot be reached, counts as bad)."""

    def __init__(self) -> None:
        self.bad_since: dict[str, datetime] = {}

    def seen(self, cluster: str, verdict: str, at: datetime) -> datetime | None:
        """Note one round's verdict; returns since when the cluster has been bad (None: it is ok)."""
        if verdict == "ok":
            self.bad_since.pop(cluster, None)
            return None
        return self.bad_since.setdefault(cluster, at)

    def row(self, view: ClusterView) -> FleetRow:
        return row_from_view(view, self.seen(view.cluster, view.verdict, view.observed_at))

    def failed(self, cluster: str, nodes: int, error: str, at: datetime) -> FleetRow:
        return failed_row(cluster, nodes, error, at, self.seen(cluster, "unknown", at))


def worst_first(rows: Iterable[FleetRow]) -> list[FleetRow]:
    """Critical, unknown, warning, ok; a split brain first among the critical; then by name (a
    row moves only when its verdict changes)."""
    return sorted(rows, key=lambda r: (-r.severity, not r.split_brain, r.cluster))


def fleet_counts(rows: Iterable[FleetRow]) -> dict[str, int]:
    """How many clusters have each verdict, worst first; the not sampled yet under ``waiting``."""
    counts = {verdict: 0 for verdict in sorted(SEVERITY, key=SEVERITY.__getitem__, reverse=True)}
    counts["waiting"] = 0
    for row in rows:
        counts[row.verdict if row.sampled else "waiting"] += 1
    return counts
