"""What a node panel marks and titles: the values whose change since the last tick is marked, the role words."""

from __future__ import annotations

from typing import Any

from checks.observe.assess import NodeView
from checks.observe.lsn import lsn_diff, parse_lsn
from checks.observe.sample import NodeSample

LONG_LABELS_FROM = 34
"""Content width (columns) from which the long labels fit beside an LSN."""

ROLE_TITLES = {
    "primary": "PRIMARY", "standby": "STANDBY", "unreachable": "UNREACHABLE",
    "foreign": "FOREIGN", "unknown": "UNKNOWN",
}
HEALTH = ("within", "over", "down", "fenced")
"""The panel's border: within the SLO, over it (or a problem), down (unreachable, foreign), fenced as decided."""


def role_title(view: NodeView) -> str:
    """``FENCED`` for a node this incident fenced that does not answer; else its role in capitals."""
    if view.fenced:
        return "FENCED"
    return ROLE_TITLES.get(view.role, view.role.upper())


def health(view: NodeView) -> str:
    if view.fenced:
        return "fenced"
    if view.role in ("unreachable", "foreign"):
        return "down"
    return "over" if (view.over_slo or view.problems) else "within"


def change_mark(old: Any, new: Any) -> str:
    """``▲``/``▼`` for a number that went up/down, ``◆`` for any other change, ``''`` if unchanged."""
    if old == new:
        return ""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
    if numbers:
        return "▲" if new > old else "▼"
    return "◆"


def tracked_values(view: NodeView) -> dict[str, Any]:
    """The values whose changes from one tick to the next are marked."""
    s = view.sample
    return {
        "role": (view.role, view.fenced), "writable": s.writable, "paused": s.replay_paused,
        "delay": s.replay_delay_s, "unreplayed": s.bytes_not_replayed,
        "receive": parse_lsn(s.receive_lsn), "replay": parse_lsn(s.replay_lsn),
        "current": parse_lsn(s.current_lsn), "timeline": s.timeline, "risk": view.data_risk_bytes,
        "upstream": (view.upstream, view.streaming),
    }


def worst_peer_lag(sample: NodeSample) -> int | None:
    """On a primary: bytes between its current LSN and the furthest-behind standby's replay LSN."""
    lags = [lsn_diff(sample.current_lsn, peer.replay_lsn) for peer in sample.replication]
    known = [max(0, lag) for lag in lags if lag is not None]
    return max(known) if known else None
