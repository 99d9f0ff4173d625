"""``status --format nagios``: one monitoring-plugin line with perfdata (docs/design.md section 6.5).

Pure. The thresholds of ``-w`` and ``-c`` apply to two quantities of every standby: its replay delay
(a time: ``30s``, ``2min``, or a bare number of seconds) and its data at risk, the WAL it never
received (a size: ``16MB``; kB, MB, GB and TB are powers of 1024, as in postgresql.conf). ``-w``
replaces the SLO for this check (a standby over it is a WARNING, as the cockpit says); ``-c`` adds a
critical threshold (a standby over it makes the check CRITICAL). Without them the line says exactly
what ``status`` says, with the same exit code.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from checks.config.model import Cluster, Slo
from checks.errors import CockpitError
from checks.observe.assess import EXIT_CODES, ClusterView, NodeView
from checks.observe.lsn import human_bytes, human_seconds

PLUGIN = "FAILOVER-COCKPIT"
STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}

_TIME_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}
_SIZE_UNITS = {"b": 1, "kb": 1024, "kib": 1024, "mb": 1024 ** 2, "mib": 1024 ** 2, "gb": 1024 ** 3,
               "gib": 1024 ** 3, "tb": 1024 ** 4, "tib": 1024 ** 4}
_ITEM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


class ThresholdError(CockpitError):
    """A ``-w`` or ``-c`` value that cannot be read; the message names the flag."""


class Thresholds(BaseModel):
    """What one flag sets: a replay delay in seconds, data at risk in bytes (None: not set)."""

    model_config = ConfigDict(frozen=True)

    replay_delay_s: float | None = None
    data_risk_bytes: int | None = None

    @property
    def empty(self) -> bool:
        return self.replay_delay_s is None and self.data_risk_bytes is None


def parse_thresholds(text: str | None, flag: str) -> Thresholds:
    """``"30s,16MB"`` -> 30 s of replay delay, 16 MiB of data at risk; a bare number is seconds."""
    if text is None:
        return Thresholds()
    found: dict[str, float | int] = {}
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise ThresholdError(f"{flag} {text}: write a replay delay, a data at risk, or both, "
                                 f"such as {flag} 30s,16MB")
        number, unit = float(match[1]), match[2]
        if unit.lower() in _SIZE_UNITS:
            key, value = "data_risk_bytes", int(number * _SIZE_UNITS[unit.lower()])
        elif unit.lower() in _TIME_UNITS:
            key, value = "replay_delay_s", number * _TIME_UNITS[unit.lower()]
        else:
            raise ThresholdError(f"{flag} {text}: {unit!r} is neither a time unit (s, ms, min, h) nor a size "
                                 f"unit (B, kB, MB, GB, TB)")
        if key in found:
            what = "replay delay" if key == "replay_delay_s" else "data at risk"
            raise ThresholdError(f"{flag} {text}: it gives the {what} twice")
        found[key] = value
    return Thresholds(**found)


def effective_slo(slo: Slo, warning: Thresholds) -> Slo:
    """The SLO with ``-w``'s values in place of the config's."""
    update = {}
    if warning.replay_delay_s is not None:
        update["max_replay_delay_s"] = warning.replay_delay_s
    if warning.data_risk_bytes is not None:
        update["max_data_risk_bytes"] = warning.data_risk_bytes
    return slo.model_copy(update=update)


def checked_cluster(cluster: Cluster, warning: Thresholds, critical: Thresholds) -> Cluster:
    """The cluster as this check judges it (``-w`` in its SLO); a ``-c`` below the warning level is refused."""
    slo = effective_slo(cluster.slo, warning)
    pairs = (("replay delay", critical.replay_delay_s, slo.max_replay_delay_s, warning.replay_delay_s,
              human_seconds),
             ("data at risk", critical.data_risk_bytes, slo.max_data_risk_bytes, warning.data_risk_bytes,
              human_bytes))
    for what, crit, warn, given, words in pairs:
        if crit is not None and crit < warn:
            source = "-w" if given is not None else "the SLO"
            raise ThresholdError(f"-c {words(crit)} is below the warning level for {what} "
                                 f"({words(warn)}, {source}): raise -c or lower the warning level with -w")
    return cluster.model_copy(update={"slo": slo})


def critical_sentences(view: ClusterView, critical: Thresholds) -> list[str]:
    """Each standby over a ``-c`` threshold, in words."""
    found = []
    for node in view.nodes:
        if node.role != "standby":
            continue
        delay = node.sample.replay_delay_s
        if critical.replay_delay_s is not None and delay is not None and delay > critical.replay_delay_s:
            found.append(f"{node.name} replay delay {human_seconds(delay)} is over the critical threshold "
                         f"({human_seconds(critical.replay_delay_s)})")
        risk = node.data_risk_bytes
        if critical.data_risk_bytes is not None and risk is not None and risk > critical.data_risk_bytes:
            found.append(f"{node.name} lacks {human_bytes(risk)} of WAL, over the critical threshold "
                         f"({human_bytes(critical.data_risk_bytes)})")
    return found


def _number(value: float, decimals: int = 3) -> str:
    """No exponent, no trailing zeros: 0.5, 16777216, 13.715."""
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _threshold(value: float | None) -> str:
    return "" if value is None else _number(value, 6)


def _datum(label: str, value: float | None, unit: str, warn: float | None = None, crit: float | None = None) -> str:
    """``'label'=value[UOM];warn;crit;min`` (U when the value does not apply or is unknown)."""
    shown = "U" if value is None else f"{_number(value)}{unit}"
    return f"'{label}'={shown};{_threshold(warn)};{_threshold(crit)};0"


def node_perfdata(node: NodeView, slo: Slo, critical: Thresholds) -> list[str]:
    """Replay delay (s), unreplayed WAL (B), data at risk (B) and sample latency (ms) of one node."""
    s = node.sample
    standby = node.role == "standby"
    delay = s.replay_delay_s if standby else None
    unreplayed = s.bytes_not_replayed if standby else None
    risk = node.data_risk_bytes if standby else None
    latency = s.latency_ms if s.reachable else None
    return [
        _datum(f"{s.name}_replay_delay", delay, "s", slo.max_replay_delay_s, critical.replay_delay_s),
        _datum(f"{s.name}_unreplayed", unreplayed, "B"),
        _datum(f"{s.name}_data_at_risk", risk, "B", slo.max_data_risk_bytes, critical.data_risk_bytes),
        _datum(f"{s.name}_latency", latency, "ms"),
    ]


def _one_line(text: str) -> str:
    """A sentence that cannot break the plugin line: no newline, no perfdata separator."""
    return " ".join(text.replace("|", "/").split())


def plugin_line(view: ClusterView, headline: str, slo: Slo, critical: Thresholds | None = None) -> tuple[str, int]:
    """The line and its exit code. ``headline`` is the verdict sentence
    (:func:`checks.observe.status.headline_text`), ``slo`` the one the view was judged with."""
    critical = critical or Thresholds()
    code = EXIT_CODES[view.verdict]
    sentences = [headline]
    if code in (0, 1):
        over = critical_sentences(view, critical)
        if over:
            code, sentences = 2, [*over, headline]
    perfdata = " ".join(d for node in view.nodes for d in node_perfdata(node, slo, critical))
    return f"{PLUGIN} {STATES[code]} - {_one_line('; '.join(sentences))} | {perfdata}", code


def unknown_line(sentence: str) -> str:
    """What the plugin says when it cannot judge (a bad config, a bad flag): exit 3."""
    return f"{PLUGIN} UNKNOWN - {_one_line(sentence)}"
