"""Divergence: did the old primary write WAL after the new one's timeline forked off (docs/design.md sections 2.5 and 1.4)?

The new primary's timeline history file (``pg_wal/<TLI>.history``, one line per ancestor:
``parentTLI<TAB>switchpoint<TAB>reason``) says where each ancestor timeline ended. The old
node's position (timeline and end LSN) says how far it got. WAL the old node holds past the
point where its timeline stops being shared with the new primary's exists nowhere else.

Whether the old node *wrote* anything of its own past the fork is judged from the WAL records
it holds there, never from where its WAL ends: no transaction commit or abort and no record with a
transaction ID means no committed row exists only on it (a restart's end-of-recovery checkpoint,
running-xacts records and full-page images are not writes). Remotely that is ``pg_walinspect`` on
the old node; without it (not installed, no privilege) the judgement falls back to positions and
transaction counters and says that it could not read the records.

Parsing and judging are pure; :func:`gather_divergence` reads both nodes at once, then the old
node's records past the fork.
"""

from __future__ import annotations

import asyncio
from typing import Literal

import asyncpg
from pydantic import BaseModel, ConfigDict

from checks.config.model import Cluster, Node
from checks.config.redact import redact
from checks.errors import CockpitError, error_line
from checks.observe.connect import NodeUnreachable, node_connection
from checks.observe.lsn import format_lsn, human_bytes, parse_lsn
from checks.observe.queries import DIVERGENCE_POSITION, READ_TIMELINE_HISTORY, WAL_READABLE_UPTO, WAL_RECORDS_AFTER_FORK
from checks.observe.sampler import SamplerError
from checks.observe.timeline_history import (  # noqa: F401  (re-exported: the divergence API)
    DivergenceError, HistoryEntry, TimelinePath, fork_point, history_file, parse_history, timeline_path
)
from checks.observe.wal_records import WalContent, WalGroup

# The keys of ``failover-cockpit divergence --json``, in order.
JSON_KEYS = ("diverged", "switch_timeline", "switch_lsn", "old_timeline", "old_end_lsn", "bytes_after_fork")

# A WAL record starts after the page header when the previous one ended on a page boundary:
# 24 bytes (short header), 40 at the start of a segment (long header).
_MAX_PAGE_HEADER = 40

Kind = Literal["before_fork", "after_fork", "other_branch", "follows", "same_timeline_writer"]


class NodePosition(BaseModel):
    """Where a node's WAL ends, and its latest checkpoint (the DIVERGENCE_POSITION row)."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: str = ""
    in_recovery: bool
    system_identifier: str
    timeline: int
    end_lsn: str
    checkpoint_lsn: str | None = None
    redo_lsn: str | None = None
    checkpoint_timeline: int | None = None
    checkpoint_next_xid: int | None = None   # full 64-bit XID (epoch << 32 | xid)
    xmax: int | None = None                  # pg_current_snapshot() xmax; None on a standby
    xid_locks: int | None = None             # transactions holding an XID right now

    @property
    def writable(self) -> bool:
        return not self.in_recovery


class Divergence(BaseModel):
    """The answer. ``bytes_after_fork`` is WAL only the old node holds (0 when none).
    ``restart_checkpoint_only``: it holds WAL past the fork but wrote nothing of its own there (its
    records hold no transaction: ``wal``; or, when they could not be read, ``wal_unread`` says why and
    positions and transaction counters decided)."""

    model_config = ConfigDict(frozen=True)

    old_node: str
    new_node: str
    new_timeline: int
    kind: Kind
    diverged: bool
    switch_timeline: int
    switch_lsn: str
    old_timeline: int
    old_end_lsn: str
    old_writable: bool
    bytes_after_fork: int
    restart_checkpoint_only: bool = False
    wal: WalContent | None = None          # the records past the fork, when they were read
    wal_unread: str | None = None          # why they could not be read
    explanation: str

    @property
    def commits_after_fork(self) -> int | None:
        """Transactions committed on the old node past the fork: from its records; 0 when it holds
        no WAL there or positions prove it wrote nothing; None when that cannot be told."""
        if self.bytes_after_fork == 0 and not self.diverged:
            return 0
        if self.wal is not None and self.wal.complete:
            return self.wal.commits
        return 0 if self.restart_checkpoint_only else None

    def json_summary(self) -> dict:
        """Exactly the six keys of ``divergence --json``."""
        return {key: getattr(self, key) for key in JSON_KEYS}


def parse_full_xid(text: str | None) -> int | None:
    """``'0:730'`` (pg_control_checkpoint's epoch:xid) or ``'730'`` (xid8) -> 730."""
    if text is None:
        return None
    epoch, _, xid = text.rpartition(":")
    return (int(epoch or 0) << 32) | int(xid)


# ---- pure: the judgement -------------------------------------------------------------------

def assess_divergence(old: NodePosition, new: NodePosition, new_history: list[HistoryEntry],
                      old_history: list[HistoryEntry] | None = None, *, wal: WalContent | None = None,
                      wal_unread: str | None = None) -> Divergence:
    """Judge from both positions and histories (``old_history`` is needed only when the old
    node is past timeline 1) and, when given, the old node's WAL records past the fork (``wal``;
    ``wal_unread``: why they could not be read). Raises DivergenceError when the question makes no sense."""
    if old.system_identifier != new.system_identifier:
        raise DivergenceError(f"{old.name} and {new.name} are not one cluster (system identifier "
                              f"{old.system_identifier} vs {new.system_identifier}): a DSN points at another cluster")
    if not new_history:
        raise DivergenceError(f"{new.name} has no timeline history: it was never promoted "
                              f"(it is on timeline {new.timeline})")
    new_path = timeline_path(new_history, new.timeline)
    old_path = timeline_path(old_history or [], old.timeline)
    fork = fork_point(new_path, old_path)
    if fork is None:
        raise DivergenceError(f"{old.name} (timeline {old.timeline}) and {new.name} (timeline {new.timeline}) "
                              "share no timeline: their histories do not start from the same one")
    end = parse_lsn(old.end_lsn)
    tli, lsn = fork
    if lsn is None:
        # The same timeline with the same history. Both writable means two promotions picked the
        # same timeline ID: they forked where it began. Otherwise the old node follows the new one.
        switch_tli, switch = new_history[-1].parent_tli, parse_lsn(new_history[-1].switch_lsn)
        if old.writable and new.writable:
            kind: Kind = "same_timeline_writer"
            diverged, after = end > switch, max(0, end - switch)
        else:
            kind, diverged, after = "follows", False, 0
    else:
        switch_tli, switch = tli, lsn
        after = max(0, end - switch)
        if tli == old.timeline:          # the old node is still on the timeline the new one left
            diverged = end > switch
            kind = "after_fork" if diverged else "before_fork"
        else:                            # the old node went on to a timeline the new one never had
            kind, diverged = "other_branch", True
    if wal is not None and (parse_lsn(wal.start_lsn) != switch or not wal.complete):
        wal_unread = wal_unread or (f"{old.name}'s WAL could be read only up to {wal.read_to}, not to its end "
                                    f"{format_lsn(end)}" if not wal.complete else
                                    f"the records read start at {wal.start_lsn}, not at the switch point")
        wal = None
    if kind == "after_fork" and wal is not None:
        restart_only = not wal.writes          # judged by what the records hold
    else:
        restart_only = kind == "after_fork" and _restart_checkpoint_only(old, switch)
    result = dict(old_node=old.name, new_node=new.name, new_timeline=new.timeline, kind=kind,
                  diverged=diverged, switch_timeline=switch_tli, switch_lsn=format_lsn(switch),
                  old_timeline=old.timeline, old_end_lsn=format_lsn(end), old_writable=old.writable,
                  bytes_after_fork=after, restart_checkpoint_only=restart_only,
                  wal=wal if diverged else None, wal_unread=wal_unread if diverged else None)
    return Divergence(**result, explanation=explain(result, old, new_path))


def _restart_checkpoint_only(old: NodePosition, switch: int) -> bool:
    """The fallback when the records past the fork cannot be read. True when everything the old node wrote past the switch point is its own end-of-recovery
    checkpoint (a crashed primary writes one when it starts again) and records without a
    transaction: that checkpoint begins at the switch point (or just after a page header), it is
    a shutdown-type one (redo = its own position), and no transaction ID has been handed out
    since (snapshot xmax = the checkpoint's next XID, and no XID is held right now)."""
    ckpt, redo = parse_lsn(old.checkpoint_lsn), parse_lsn(old.redo_lsn)
    if not old.writable or ckpt is None or ckpt != redo or old.checkpoint_timeline != old.timeline:
        return False
    if not 0 <= ckpt - switch <= _MAX_PAGE_HEADER:
        return False
    return (old.xmax is not None and old.xmax == old.checkpoint_next_xid and old.xid_locks == 0)


def held_words(wal: WalContent | None) -> str:
    """`` (3 committed transactions, between T1 and T2, read with pg_walinspect)``; '' unread."""
    if wal is None:
        return ""
    n = wal.commits
    when = (f", between {wal.first_commit_at} and {wal.last_commit_at}" if n > 1 and wal.first_commit_at else
            f", at {wal.first_commit_at}" if n == 1 and wal.first_commit_at else "")
    aborts = f" and {wal.aborts} aborted" if wal.aborts else ""
    return f" ({n} committed transaction{'' if n == 1 else 's'}{aborts}{when}, read with pg_walinspect)"


def explain(r: dict, old: NodePosition, new_path: TimelinePath) -> str:
    """The answer in words, with what to do about it."""
    text = _explain(r, old, new_path)
    if r.get("wal_unread"):
        text += (f" The WAL records past the fork could not be read ({r['wal_unread']}), so whether {r['old_node']} "
                 "wrote anything there is judged from WAL positions and transaction counters alone.")
    return text


def _explain(r: dict, old: NodePosition, new_path: TimelinePath) -> str:
    o, n = r["old_node"], r["new_node"]
    held = held_words(r.get("wal"))
    at, tli, size = r["switch_lsn"], r["switch_timeline"], human_bytes(r["bytes_after_fork"])
    fence = (f" {o} accepts writes right now: fence it before anything else writes to it." if old.writable else "")
    keep = (f"Do not fail back; keep them by dumping the rows changed since {at} from {o} (pg_dump of the "
            f"affected tables, or pg_waldump of {o}'s WAL from {at} to {r['old_end_lsn']} to find which tables "
            f"they touched) before rewinding or rebuilding {o}, and reconcile them into {n}.")
    if r["kind"] == "before_fork":
        return (f"no divergence: {o} stopped at or before the switch point {at} (it is at {r['old_end_lsn']} "
                f"on timeline {tli}): it can be rewound or re-attached as a standby of {n} without losing "
                f"anything.{fence}")
    if r["kind"] == "follows":
        return (f"no divergence: {o} is on {n}'s timeline {r['new_timeline']} with the same history "
                f"(it took over from timeline {tli} at {at}): {o} holds no WAL that {n} lacks.")
    if r["restart_checkpoint_only"] and r.get("wal") is not None:
        return (f"{o} has {size} of WAL after {n} took over at {at} on timeline {tli}, but no transaction: its "
                f"records there (read with pg_walinspect) are only {r['wal'].kinds()}, with no commit, no abort and "
                f"no transaction ID, so no committed row exists only on {o}. Its WAL no longer matches {n}'s history, "
                f"though: rewind it with pg_rewind (or rebuild it) before attaching it as a standby of {n}; never "
                f"fail back to it.{fence}")
    if r["restart_checkpoint_only"]:
        return (f"{o} has {size} of WAL after {n} took over at {at} on timeline {tli}, but no transaction: it is "
                f"{o}'s own end-of-recovery checkpoint at {old.checkpoint_lsn}, written when it started again "
                f"after the crash (no transaction ID was handed out since), so no committed row exists only on "
                f"{o}. Its WAL no longer matches {n}'s history, though: rewind it with pg_rewind (or rebuild it) "
                f"before attaching it as a standby of {n}; never fail back to it.{fence}")
    if r["kind"] == "after_fork":
        return (f"{o} wrote {size} after {n} took over at {at} on timeline {tli}{held}: those writes exist only "
                f"on {o}. {keep}{fence}")
    if r["kind"] == "same_timeline_writer":
        return (f"{o} and {n} were both promoted onto timeline {r['new_timeline']} from {at} on timeline {tli}: "
                f"{o} wrote {size} since then{held} that exist only on {o}. {keep}{fence}")
    known = ", ".join(str(t) for t, _ in new_path)
    return (f"{o} is on timeline {r['old_timeline']}, which is not in {n}'s history (timelines {known}): the two "
            f"histories forked at {at} on timeline {tli}, and {o} wrote {size} since then{held} that exist only "
            f"on {o}. {keep}{fence}")


# ---- reading the nodes ---------------------------------------------------------------------

def _quote_role(role: str) -> str:
    simple = role and (role[0].isalpha() or role[0] == "_") and all(c.isalnum() or c == "_" for c in role)
    return role if simple and role == role.lower() else '"' + role.replace('"', '""') + '"'


async def _fetch(conn, query: str, *args, node: str, timeout_s: float):
    try:
        return await asyncio.wait_for(conn.fetchrow(query, *args), timeout=timeout_s)
    except (asyncio.TimeoutError, TimeoutError):
        raise DivergenceError(f"{node}: no answer within {timeout_s:g}s") from None


async def read_position(conn, node: str, timeout_s: float) -> NodePosition:
    try:
        row = await _fetch(conn, DIVERGENCE_POSITION, node=node, timeout_s=timeout_s)
    except asyncpg.PostgresError as exc:
        raise DivergenceError(f"{node}: cannot read its WAL position: {redact(error_line(exc))}") from None
    return NodePosition(name=node, role=row["role"], in_recovery=row["in_recovery"],
                        system_identifier=row["system_identifier"], timeline=row["timeline"],
                        end_lsn=row["end_lsn"], checkpoint_lsn=row["checkpoint_lsn"], redo_lsn=row["redo_lsn"],
                        checkpoint_timeline=row["checkpoint_timeline"],
                        checkpoint_next_xid=parse_full_xid(row["checkpoint_next_xid"]),
                        xmax=parse_full_xid(row["xmax"]), xid_locks=row["xid_locks"])


async def read_history(conn, node: str, role: str, tli: int, timeout_s: float) -> list[HistoryEntry]:
    """The history file of timeline ``tli`` from the node's pg_wal ([] for timeline 1, which has none)."""
    if tli <= 1:
        return []
    path = history_file(tli)
    try:
        row = await _fetch(conn, READ_TIMELINE_HISTORY, path, node=node, timeout_s=timeout_s)
    except asyncpg.InsufficientPrivilegeError:
        who = _quote_role(role)
        raise DivergenceError(f"{node}: the cockpit role {who} cannot read {path}: GRANT EXECUTE ON FUNCTION "
                              f"pg_read_file(text) TO {who} (or connect as a superuser); "
                              "see README 'Privileges'") from None
    except asyncpg.UndefinedFileError:
        raise DivergenceError(f"{node}: {path} is missing although the node is on timeline {tli}: "
                              "its timeline history was removed") from None
    except asyncpg.PostgresError as exc:
        raise DivergenceError(f"{node}: cannot read {path}: {redact(error_line(exc))}") from None
    return parse_history(row[0] or "", node=node, tli=tli)


async def read_node(node: Node, cluster: Cluster, conn=None) -> tuple[NodePosition, list[HistoryEntry]]:
    """One node's position and its current timeline's history ([] on timeline 1); DivergenceError
    otherwise. On ``conn`` when given (the promotion's own), else on a connection of its own."""
    timeout_s = cluster.sampling.statement_timeout_s

    async def read(conn):
        position = await read_position(conn, node.name, timeout_s)
        return position, await read_history(conn, node.name, position.role, position.timeline, timeout_s)

    try:
        if conn is not None:
            return await read(conn)
        async with node_connection(node, cluster.sampling, purpose="divergence") as own:
            return await read(own)
    except DivergenceError:
        raise
    except (NodeUnreachable, SamplerError) as exc:
        text = str(exc)
        if "connection_lost" in text:  # a proxy or pooler accepted, the server behind it is gone
            text = f"{node.name}: connection closed before the server answered (server down behind a proxy?)"
        raise DivergenceError(f"{text}: its timeline and WAL position cannot be read") from None
    except Exception as exc:  # noqa: BLE001 - e.g. the connection dropped between two queries
        why = redact(error_line(exc))
        raise DivergenceError(f"{node.name}: {why}: its timeline and WAL position cannot be read") from None


class WalUnreadable(CockpitError):
    """The old node's WAL records cannot be read; the message says why, in a few words."""


async def read_wal_content(conn, node: str, role: str, start: str, end: str, timeout_s: float) -> WalContent:
    """The records of ``node``'s WAL from ``start`` up to ``end`` (or as far as it is flushed or
    replayed), grouped; WalUnreadable when pg_walinspect is missing or may not be called."""
    who = _quote_role(role) if role else "the cockpit's role"
    try:
        upto = await asyncio.wait_for(conn.fetchval(WAL_READABLE_UPTO, end), timeout=timeout_s)
        rows = []
        if (parse_lsn(upto) or 0) > (parse_lsn(start) or 0):
            rows = await asyncio.wait_for(conn.fetch(WAL_RECORDS_AFTER_FORK, start, upto),
                                          timeout=max(timeout_s, 30.0))
    except (asyncio.TimeoutError, TimeoutError):
        raise WalUnreadable(f"{node} did not answer within the statement timeout") from None
    except asyncpg.UndefinedFunctionError:
        raise WalUnreadable(f"pg_walinspect is not installed on {node}: CREATE EXTENSION pg_walinspect in the "
                            "database the cockpit connects to; see README 'Privileges'") from None
    except asyncpg.InsufficientPrivilegeError:
        raise WalUnreadable(f"the cockpit role {who} may not call pg_get_wal_records_info on {node}: GRANT "
                            f"pg_read_server_files TO {who}; see README 'Privileges'") from None
    except asyncpg.PostgresError as exc:
        raise WalUnreadable(f"{node}: {redact(error_line(exc))}") from None
    groups = tuple(WalGroup(**{k: row[k] for k in ("resource_manager", "record_type", "records", "with_xid",
                                                    "first_description", "last_description")}) for row in rows)
    return WalContent(start_lsn=format_lsn(parse_lsn(start)), end_lsn=format_lsn(parse_lsn(end)),
                      read_to=format_lsn(parse_lsn(upto)), groups=groups)


async def assess_with_records(cluster: Cluster, old: NodePosition, new: NodePosition,
                              new_history: list[HistoryEntry], old_history: list[HistoryEntry] | None) -> Divergence:
    """Judge from positions, then, when the old node holds WAL past the fork, from its records there
    (on a connection of its own); when they cannot be read, the judgement says why."""
    first = assess_divergence(old, new, new_history, old_history)
    if not first.diverged or first.bytes_after_fork <= 0:
        return first
    timeout_s = cluster.sampling.statement_timeout_s
    try:
        async with node_connection(cluster.node(old.name), cluster.sampling, purpose="divergence") as conn:
            wal = await read_wal_content(conn, old.name, old.role, first.switch_lsn, first.old_end_lsn, timeout_s)
    except WalUnreadable as exc:
        return assess_divergence(old, new, new_history, old_history, wal_unread=str(exc))
    except (NodeUnreachable, SamplerError, OSError) as exc:
        why = redact(error_line(exc))
        return assess_divergence(old, new, new_history, old_history, wal_unread=f"{old.name}: {why}")
    return assess_divergence(old, new, new_history, old_history, wal=wal)


async def gather_divergence(cluster: Cluster, old: str, new: str) -> Divergence:
    """Read both nodes at once and judge, then the old node's records past the fork.
    ``old``/``new`` must name nodes of ``cluster`` (KeyError otherwise)."""
    nodes = cluster.node(old), cluster.node(new)
    results = await asyncio.gather(*(read_node(n, cluster) for n in nodes), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    for error in errors:
        if not isinstance(error, DivergenceError):
            raise error
    if errors:
        raise DivergenceError("; ".join(str(e) for e in errors))
    (old_pos, old_history), (new_pos, new_history) = results
    return await assess_with_records(cluster, old_pos, new_pos, new_history, old_history)
