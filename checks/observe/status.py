"""The ``status`` contract (docs/design.md section 6.2): one JSON object, a readable table, an exit code."""

from __future__ import annotations

from checks.observe.assess import EXIT_CODES, ClusterView, NodeView
from checks.observe.lsn import human_bytes, human_seconds
from checks.observe.sample import iso_utc

NODE_KEYS = (
    "name", "reachable", "in_recovery", "writable", "tx_read_only", "replay_delay_s",
    "receive_lsn", "replay_lsn", "bytes_not_replayed", "current_lsn", "timeline",
    "system_identifier", "latency_ms", "error", "upstream", "streaming",
)
"""Keys are only ever added (other tools read them): ``upstream`` is the config's node a standby's
WAL receiver streams from (null when it streams from nobody, from an address no node of the config
has, or on a primary), ``streaming`` whether that WAL receiver is streaming (false on a primary)."""


def node_json(view: NodeView) -> dict:
    s = view.sample
    delay = s.replay_delay_s
    return {
        "name": s.name,
        "reachable": s.reachable,
        "in_recovery": s.in_recovery,
        "writable": s.writable and not view.foreign,
        "tx_read_only": s.tx_read_only,
        "replay_delay_s": round(delay, 3) if delay is not None else None,
        "receive_lsn": s.receive_lsn,
        "replay_lsn": s.replay_lsn,
        "bytes_not_replayed": s.bytes_not_replayed,
        "current_lsn": s.current_lsn,
        "timeline": s.timeline,
        "system_identifier": s.system_identifier,
        "latency_ms": s.latency_ms,
        "error": s.error,
        "upstream": view.upstream,
        "streaming": view.streaming,
    }


def status_json(view: ClusterView) -> dict:
    return {
        "cluster": view.cluster,
        "observed_at": iso_utc(view.observed_at),
        "verdict": view.verdict,
        "problems": list(view.problems),
        "writable": list(view.writable),
        "nodes": [node_json(n) for n in view.nodes],
    }


def _upstream_cell(view: NodeView) -> str:
    if view.role != "standby":
        return "-"
    if view.streaming:
        return view.upstream or f"{view.sender or '?'} (not in config)"
    return "none (not streaming)"


def exit_code(view: ClusterView) -> int:
    return EXIT_CODES[view.verdict]


def status_table(view: ClusterView) -> str:
    """A plain-text table for a terminal or a ticket."""
    header = ("node", "role", "writable", "delay", "not replayed", "WAL lsn", "tl", "risk", "ms", "upstream")
    rows = [header]
    for n in view.nodes:
        s = n.sample
        rows.append((
            s.name,
            n.role + (" (paused)" if s.replay_paused else ""),
            "-" if not s.reachable else ("yes" if s.writable and not n.foreign else "no"),
            human_seconds(s.replay_delay_s) if s.in_recovery else "-",
            human_bytes(s.bytes_not_replayed) if s.in_recovery else "-",
            s.wal_lsn or "-",
            str(s.timeline) if s.timeline is not None else "-",
            human_bytes(n.data_risk_bytes) if n.data_risk_bytes is not None else "-",
            f"{s.latency_ms:.1f}" if s.latency_ms is not None else "-",
            _upstream_cell(n),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [f"cluster {view.cluster}: {view.verdict.upper()} at {iso_utc(view.observed_at)}"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines += [f"- {p}" for p in view.problems]
    return "\n".join(lines)
