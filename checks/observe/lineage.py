"""Which timeline history a candidate is on, compared with the writer it replaces.

LSNs are comparable only along one timeline history. A standby that kept following a
dead primary on timeline 1 can report a received LSN far *ahead* of a new primary's
position on timeline 2, and still lack everything timeline 2 wrote after it forked off.
:func:`judge_branch` (pure) places the candidate on the writer's history;
:func:`read_branch` reads the timeline history files it needs from the nodes
(``pg_read_file``, as :mod:`checks.observe.divergence` does) and, where the writer answers and
``pg_walinspect`` is installed, counts the transactions it committed past the fork.
"""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel, ConfigDict

from checks.config.model import Cluster
from checks.observe.connect import NodeUnreachable, node_connection
from checks.observe.divergence import read_history
from checks.observe.lsn import format_lsn, parse_lsn
from checks.observe.queries import COMMITS_BETWEEN
from checks.observe.sample import NodeSample
from checks.observe.timeline_history import DivergenceError, HistoryEntry, fork_point, timeline_path


class Branch(BaseModel):
    """Where the candidate's history leaves the writer's, or why that cannot be told."""

    model_config = ConfigDict(frozen=True)

    writer: str
    writer_timeline: int
    candidate_timeline: int
    fork_lsn: str | None = None        # the last LSN both histories share
    diverged: bool = False             # the candidate holds WAL past the fork, on another timeline
    error: str | None = None           # the histories could not be read: the risk is unknown
    commits_after_fork: int | None = None   # transactions the writer committed past the fork

    def common_lsn(self, held: str) -> str:
        """How far the candidate's WAL is also the writer's: its own position, or the fork."""
        if self.diverged and self.fork_lsn is not None:
            return self.fork_lsn
        return held


def judge_branch(candidate: str, held: str, candidate_tli: int, candidate_history: list[HistoryEntry],
                 writer: str, writer_tli: int, writer_history: list[HistoryEntry]) -> Branch:
    base = dict(writer=writer, writer_timeline=writer_tli, candidate_timeline=candidate_tli)
    fork = fork_point(timeline_path(writer_history, writer_tli), timeline_path(candidate_history, candidate_tli))
    if fork is None or fork[1] is None:
        return Branch(**base, error=f"the timeline histories of {candidate} (timeline {candidate_tli}) and "
                                    f"{writer} (timeline {writer_tli}) share no timeline")
    fork_lsn = fork[1]
    return Branch(**base, fork_lsn=format_lsn(fork_lsn), diverged=(parse_lsn(held) or 0) > fork_lsn)


async def read_timeline_history(cluster: Cluster, tli: int, readers: list[str], samples: dict[str, NodeSample],
                   journaled: dict[int, list[HistoryEntry]]) -> list[HistoryEntry]:
    """Timeline ``tli``'s history: journaled (this incident's own promotion), else from the first
    reachable node of ``readers`` whose pg_wal holds it."""
    if tli <= 1:
        return []
    if tli in journaled:
        return journaled[tli]
    errors = []
    for name in readers:
        sample = samples.get(name)
        if sample is None or not sample.reachable or (sample.timeline or 0) < tli:
            continue
        try:
            async with node_connection(cluster.node(name), cluster.sampling, purpose="lineage") as conn:
                return await read_history(conn, name, "", tli, cluster.sampling.statement_timeout_s)
        except (DivergenceError, NodeUnreachable) as exc:
            errors.append(str(exc))
    why = "; ".join(errors) or "no node that answers is on it"
    raise DivergenceError(f"the history of timeline {tli} cannot be read ({why})")


async def read_branch(cluster: Cluster, candidate: NodeSample, writer: str, writer_tli: int | None,
                      writer_lsn: str, samples: dict[str, NodeSample],
                      journaled: dict[int, list[HistoryEntry]]) -> Branch | None:
    """None when there is nothing to compare (same timeline, or a timeline unknown); else the Branch."""
    cand_tli = candidate.timeline
    if not cand_tli or not writer_tli or cand_tli == writer_tli or candidate.held_lsn is None:
        return None
    readers = [writer, candidate.name, *sorted(n for n in samples if n not in (writer, candidate.name))]
    try:
        writer_history = await read_timeline_history(cluster, writer_tli, readers, samples, journaled)
        cand_history = await read_timeline_history(cluster, cand_tli, [candidate.name, *readers], samples, journaled)
    except DivergenceError as exc:
        return Branch(writer=writer, writer_timeline=writer_tli, candidate_timeline=cand_tli, error=str(exc))
    branch = judge_branch(candidate.name, candidate.held_lsn, cand_tli, cand_history, writer, writer_tli,
                          writer_history)
    if branch.fork_lsn and (parse_lsn(writer_lsn) or 0) > (parse_lsn(branch.fork_lsn) or 0):
        commits = await count_commits(cluster, writer, samples.get(writer), branch.fork_lsn, writer_lsn)
        branch = branch.model_copy(update={"commits_after_fork": commits})
    return branch


async def count_commits(cluster: Cluster, node: str, sample: NodeSample | None, start: str, end: str) -> int | None:
    """Commit records in ``node``'s WAL between two LSNs, through pg_walinspect; None when that
    cannot be read (the node does not answer, the extension is not installed, no privilege)."""
    if sample is None or not sample.reachable:
        return None
    try:
        async with node_connection(cluster.node(node), cluster.sampling, purpose="lineage") as conn:
            return await conn.fetchval(COMMITS_BETWEEN, start, end, timeout=cluster.sampling.statement_timeout_s)
    except (NodeUnreachable, asyncpg.PostgresError, OSError):
        return None
