"""The ``status`` contract (docs/design.md section 6.2): one JSON object, a readable table, an exit code."""

from __future__ import annotations

from checks.observe.assess import EXIT_CODES, ClusterView, NodeView
from checks.observe.headline import verdict_lines
from checks.observe.lsn import human_bytes, human_seconds
from checks.observe.sample import iso_utc
from checks.observe.signals import SignalBoard

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


def pgbouncers_json(board: SignalBoard) -> list[dict]:
    """One entry per PgBouncer: where its (first) database lands, whether a new client can write
    there, and its queue summed over its databases; ``databases`` has each database's own facts."""
    by_name: dict[str, list] = {}
    for p in board.probes:
        by_name.setdefault(p.pgbouncer, []).append(p)
    entries = []
    for name, probes in by_name.items():
        first = probes[0]
        waits = [p.maxwait_s for p in probes if p.maxwait_s is not None]
        counts = [p.cl_waiting for p in probes if p.cl_waiting is not None]
        entries.append({
            "name": name, "reaches": first.reaches, "writable": first.writable if first.connected else None,
            "cl_waiting": sum(counts) if counts else None, "maxwait_s": max(waits) if waits else None,
            "error": first.error or first.console_error,
            "databases": [{"database": p.database, "upstream": p.upstream, "reaches": p.reaches,
                           "writable": p.writable if p.connected else None, "paused": p.paused,
                           "cl_waiting": p.cl_waiting, "maxwait_s": p.maxwait_s, "error": p.error or p.console_error}
                          for p in probes],
        })
    return entries


def headline_text(view: ClusterView, board: SignalBoard | None = None) -> str:
    """The one-line verdict, worded as the cockpit's header words it."""
    lines = verdict_lines(view, board)
    if lines:
        return lines[0]
    fenced = "".join(f"; {f.node} fenced at {f.clock}" for f in view.fences)
    return f"one writer ({', '.join(view.writable)}), every standby within the SLO{fenced}"


def status_json(view: ClusterView, board: SignalBoard | None = None) -> dict:
    """Keys are only ever added: ``headline``, ``signals`` and ``pgbouncers`` came with the signals."""
    return {
        "cluster": view.cluster,
        "observed_at": iso_utc(view.observed_at),
        "verdict": view.verdict,
        "headline": headline_text(view, board),
        "problems": list(view.problems),
        "writable": list(view.writable),
        "nodes": [node_json(n) for n in view.nodes],
        "signals": [s.as_json() for s in board.all()] if board is not None else [],
        "pgbouncers": pgbouncers_json(board) if board is not None else [],
    }


def _upstream_cell(view: NodeView) -> str:
    if view.role != "standby":
        return "-"
    if view.streaming:
        return view.upstream or f"{view.sender or '?'} (not in config)"
    return "none (not streaming)"


def exit_code(view: ClusterView) -> int:
    return EXIT_CODES[view.verdict]


def status_table(view: ClusterView, board: SignalBoard | None = None) -> str:
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
    lines = [f"cluster {view.cluster}: {view.verdict.upper()} at {iso_utc(view.observed_at)}: "
             f"{headline_text(view, board)}"]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines += [f"- {p}" for p in verdict_lines(view, board)[1:]]
    if board is not None:
        for p in board.probes:
            target = f"{p.reaches} ({p.upstream})" if p.reaches else (p.upstream or "unknown")
            state = (("writable" if p.writable else "read-only (in recovery)") if p.connected else
                     (p.error or p.console_error or "no answer"))
            waiting = f", {p.cl_waiting} waiting (longest {human_seconds(p.maxwait_s or 0)})" if p.cl_waiting else ""
            lines.append(f"pgbouncer {p.pgbouncer}/{p.database} -> {target}: {state}{waiting}")
        lines += [f"signal {s.name}: {s.text}" for s in board.firing()]
        lines += [f"warning: {w}" for w in board.warnings]
    return "\n".join(lines)
