"""The signals that justify evaluating a failover, each with its evidence (docs/design.md section 13).

Pure: no I/O. :class:`SignalBoard` takes what the sources saw (the cluster view from the node
samples, the app path and pooler probes, Odoo's health, the infrastructure command's report)
whenever each has something new, keeps each signal's first and last time seen, and says which
signals started or ended on that update: the cockpit journals those, ``status`` shows one round.

A signal *fires* when it is bad news. ``app_path_writable`` fires when Odoo's path does **not**
reach a writer; ``primary_unreachable`` never fires for a server that answered and refused the
login (it is up: the cockpit's credentials are the problem, and the signal says so).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, field_serializer

from checks.config.model import Cluster
from checks.observe.assess import ClusterView
from checks.observe.error_cause import error_cause
from checks.observe.lsn import human_seconds
from checks.observe.pooler import PoolProbe
from checks.observe.sample import iso_utc, parse_iso, utcnow

if TYPE_CHECKING:
    from checks.observe.infra_events import InfraReport
    from checks.observe.odoo_health import OdooHealth

SIGNAL_NAMES = ("primary_unreachable", "primary_restarts", "app_path_writable", "pooler_waiting", "rto_budget",
                "infrastructure_event")
ANSWERED = frozenset({"login refused", "too many clients", "starting up", "shutting down"})
"""Causes that mean the server answered: it is up, whatever it said."""


class Signal(BaseModel):
    """One signal about one subject (a node, a PgBouncer's database, Odoo), as last seen."""

    model_config = ConfigDict(frozen=True)

    name: str
    subject: str | None = None
    firing: bool
    since: datetime | None = None        # when it started firing (this episode)
    last_seen: datetime | None = None    # the last update that saw it firing
    text: str                            # a sentence with its figure
    evidence: dict[str, Any] = {}

    @field_serializer("since", "last_seen")
    def _ser(self, value: datetime | None) -> str | None:
        return iso_utc(value) if value is not None else None

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.name, self.subject)

    def as_json(self) -> dict:
        """The ``status --json`` form (docs/design.md section 6.2)."""
        return {"name": self.name, "subject": self.subject, "firing": self.firing,
                "since": iso_utc(self.since) if self.since else None,
                "last_seen": iso_utc(self.last_seen) if self.last_seen else None,
                "text": self.text, "evidence": self.evidence}


class Change(BaseModel):
    """A signal that started or ended firing on one update."""

    model_config = ConfigDict(frozen=True)

    started: bool
    signal: Signal

    @property
    def sentence(self) -> str:
        if self.started:
            return f"signal {self.signal.name} started: {self.signal.text}"
        return f"signal {self.signal.name} ended: {self.signal.text}"


def primary_of(view: ClusterView | None, probes: Iterable[PoolProbe] = ()) -> str | None:
    """The node that is (or was last seen as) the primary: the one writer, else the last writer
    seen, else the node Odoo's pooler points at."""
    if view is not None and len(view.writable) == 1:
        return view.writable[0]
    if view is not None and view.last_primary is not None:
        return view.last_primary.node
    return next((p.reaches for p in probes if p.reaches), None)


def _unreachable(view: ClusterView, primary: str | None) -> tuple[bool, str]:
    if primary is None:
        return False, "no node has been seen as the primary yet"
    try:
        sample = view.node(primary).sample
    except StopIteration:
        return False, f"{primary} is not sampled"
    if sample.reachable:
        return False, f"the primary {primary} answers the bastion"
    cause = error_cause(sample.error)
    if cause in ANSWERED:
        return False, (f"the primary {primary} is reachable: it answered and refused the cockpit ({cause}: "
                       f"{sample.error}); it is up, not unreachable")
    return True, f"the bastion cannot reach the primary {primary} ({cause}: {sample.error or 'no answer'})"


class SignalBoard:
    """Signals over time for one cluster; ``update`` with whatever source has news."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.signals: dict[tuple[str, str | None], Signal] = {}
        self.first_bad_at: datetime | None = None
        self.probes: list[PoolProbe] = []
        self.warnings: list[str] = []
        self._starts: dict[str, list[datetime]] = {}   # node -> the distinct postmaster start times seen
        self._view: ClusterView | None = None

    # -- reading ---------------------------------------------------------------------------------
    def firing(self) -> list[Signal]:
        """The firing signals, newest first."""
        return sorted((s for s in self.signals.values() if s.firing),
                      key=lambda s: s.since or utcnow(), reverse=True)

    def get(self, name: str, subject: str | None = None) -> Signal | None:
        return self.signals.get((name, subject))

    def all(self) -> list[Signal]:
        """Every signal, in the order of :data:`SIGNAL_NAMES`, then subject."""
        return sorted(self.signals.values(), key=lambda s: (SIGNAL_NAMES.index(s.name), s.subject or ""))

    # -- feeding ---------------------------------------------------------------------------------
    def update(self, *, view: ClusterView | None = None, probes: list[PoolProbe] | None = None,
               odoo: OdooHealth | None = None, infra: InfraReport | None = None,
               now: datetime | None = None) -> list[Change]:
        """Take what the sources saw; return the signals that started or ended firing."""
        now = now or utcnow()
        found: list[Signal] = []
        if probes is not None:               # first: the primary may be known only from where the pooler points
            self.probes = list(probes)
            found += [_app_path(p) for p in probes] + [_pooler(p) for p in probes]
        if view is not None:
            self._view = view
            found += self._primary_signals(view, now)
        elif probes is not None and self._view is not None:
            found += self._primary_signals(self._view, now)
        if odoo is not None:
            found.append(_odoo(odoo, self.cluster))
        if infra is not None:
            self.warnings = list(infra.warnings)
            found += self._infra(infra)
        changes = [c for s in found if (c := self._put(s, now))]
        bad = [s.since for s in self.signals.values() if s.firing and s.name != "rto_budget" and s.since]
        if view is not None and view.first_bad_at is not None:
            bad.append(view.first_bad_at)
        if bad and self.first_bad_at is None:
            self.first_bad_at = min(bad)
        if self.cluster.rto_s is not None:
            change = self._put(self._rto(now), now)
            changes += [change] if change else []
        return changes

    def _put(self, signal: Signal, now: datetime) -> Change | None:
        old = self.signals.get(signal.key)
        was = bool(old and old.firing)
        since = (old.since if was and old and old.since else (signal.since or now)) if signal.firing else None
        signal = signal.model_copy(update={"since": since, "last_seen": now if signal.firing else
                                           (old.last_seen if old else None)})
        self.signals[signal.key] = signal
        if signal.firing != was:
            return Change(started=signal.firing, signal=signal)
        return None

    def _primary_signals(self, view: ClusterView, now: datetime) -> list[Signal]:
        for n in view.nodes:
            start = n.sample.postmaster_start
            if n.sample.reachable and start:
                moment = parse_iso(start)
                seen = self._starts.setdefault(n.name, [])
                if not seen or moment > seen[-1]:
                    seen.append(moment)
        primary = primary_of(view, self.probes)
        firing, text = _unreachable(view, primary)
        sample = view.node(primary).sample if primary and any(n.name == primary for n in view.nodes) else None
        evidence = {"node": primary, "cause": error_cause(sample.error) if sample and not sample.reachable else None,
                    "error": sample.error if sample else None,
                    "reachable": bool(sample and (sample.reachable or error_cause(sample.error) in ANSWERED))}
        if firing and view.last_primary and view.last_primary.node == primary and view.last_primary.lost_at:
            lost = view.last_primary.lost_at
            evidence["lost_at"] = iso_utc(lost)
            text += f", for {human_seconds((now - lost).total_seconds())}"
        if firing and primary and view.node(primary).fenced:
            evidence["fenced"] = True
            text += "; this incident fenced it"
        signals = [Signal(name="primary_unreachable", subject=primary, firing=firing, text=text, evidence=evidence,
                          since=view.last_primary.lost_at if firing and view.last_primary else None)]
        signals.append(self._restarts(primary, now))
        for key, old in self.signals.items():           # the primary moved: what was said of the old one ends
            if key[0] in ("primary_unreachable", "primary_restarts") and key[1] != primary and old.firing:
                signals.append(old.model_copy(update={
                    "firing": False, "text": f"{key[1]} is no longer the primary ({primary or 'none'} is)"}))
        return signals

    def _restarts(self, primary: str | None, now: datetime) -> Signal:
        cfg = self.cluster.signals
        starts = self._starts.get(primary or "", [])
        window = [s for s in starts if s >= now - timedelta(seconds=cfg.crash_loop_window_s)]
        last = starts[-1] if starts else None
        age = (now - last).total_seconds() if last else None
        evidence = {"node": primary, "starts_in_window": len(window), "window_s": cfg.crash_loop_window_s,
                    "last_start": iso_utc(last) if last else None, "restarts_seen": max(0, len(starts) - 1)}
        if len(window) >= cfg.crash_loop_restarts:
            text = (f"the primary {primary} is in a crash loop: {len(window)} starts in the last "
                    f"{human_seconds(cfg.crash_loop_window_s)}, the last {human_seconds(age or 0)} ago")
            return Signal(name="primary_restarts", subject=primary, firing=True, text=text, evidence=evidence,
                          since=window[cfg.crash_loop_restarts - 1])
        if last is not None and age is not None and age <= cfg.recent_start_s:
            text = f"the primary {primary} started {human_seconds(age)} ago (at {iso_utc(last)[11:19]}Z)"
            return Signal(name="primary_restarts", subject=primary, firing=True, text=text, evidence=evidence,
                          since=last)
        text = f"the primary {primary} has not restarted recently" if primary else "no primary seen yet"
        return Signal(name="primary_restarts", subject=primary, firing=False, text=text, evidence=evidence)

    def _infra(self, report: InfraReport) -> list[Signal]:
        by_subject: dict[str | None, list] = {}
        for event in report.events:
            by_subject.setdefault(event.node, []).append(event)
        signals = []
        for subject, events in by_subject.items():
            newest = max(events, key=lambda e: e.at)
            where = f"{subject}: " if subject else ""
            signals.append(Signal(name="infrastructure_event", subject=subject, firing=True, since=min(e.at for e in events),
                                  text=f"infrastructure: {where}{newest.text}",
                                  evidence={"node": subject, "at": iso_utc(newest.at), "text": newest.text,
                                            "events": len(events)}))
        for key, old in self.signals.items():          # a subject the command no longer reports has ended
            if key[0] == "infrastructure_event" and old.firing and key[1] not in by_subject:
                signals.append(old.model_copy(update={"firing": False, "text": f"{old.text} (no longer reported)"}))
        return signals

    def _rto(self, now: datetime) -> Signal:
        rto = float(self.cluster.rto_s or 0)
        if self.first_bad_at is None:
            return Signal(name="rto_budget", firing=False, text=f"RTO {human_seconds(rto)}: no bad signal yet",
                          evidence={"rto_s": rto})
        used = max(0.0, (now - self.first_bad_at).total_seconds())
        left = rto - used
        words = (f"{human_seconds(left)} left" if left >= 0 else f"exceeded by {human_seconds(-left)}")
        return Signal(name="rto_budget", firing=True, since=self.first_bad_at,
                      text=f"RTO {human_seconds(rto)}: {human_seconds(used)} since the first bad signal, {words}",
                      evidence={"rto_s": rto, "used_s": round(used, 1), "left_s": round(left, 1),
                                "first_bad_at": iso_utc(self.first_bad_at)})


def _app_path(p: PoolProbe) -> Signal:
    subject = f"{p.pgbouncer}/{p.database}"
    evidence = {"pgbouncer": p.pgbouncer, "database": p.database, "reaches": p.reaches, "upstream": p.upstream,
                "writable": p.writable, "error": p.error, "latency_ms": p.latency_ms}
    return Signal(name="app_path_writable", subject=subject, firing=not p.writes, evidence=evidence,
                  text=f"Odoo's path: {p.path_sentence()}")


def _pooler(p: PoolProbe) -> Signal:
    subject = f"{p.pgbouncer}/{p.database}"
    evidence = {"pgbouncer": p.pgbouncer, "database": p.database, "cl_waiting": p.cl_waiting,
                "cl_active": p.cl_active, "maxwait_s": p.maxwait_s, "avg_wait_ms": p.avg_wait_ms,
                "paused": p.paused, "console_error": p.console_error}
    if p.console_error:
        return Signal(name="pooler_waiting", subject=subject, firing=False, evidence=evidence,
                      text=f"{p.console_error}: its queue is not known")
    waiting = p.cl_waiting or 0
    if waiting:
        paused = " (PAUSED)" if p.paused else ""
        return Signal(name="pooler_waiting", subject=subject, firing=True, evidence=evidence,
                      text=f"{waiting} client{'s' if waiting != 1 else ''} wait in {p.pgbouncer} ({p.database}){paused}, "
                           f"the longest {human_seconds(p.maxwait_s or 0)}")
    return Signal(name="pooler_waiting", subject=subject, firing=False, evidence=evidence,
                  text=f"no client waits in {p.pgbouncer} ({p.database})")


def _odoo(health: OdooHealth, cluster: Cluster) -> Signal:
    url = cluster.odoo.url if cluster.odoo else "Odoo"
    evidence = {"url": url, "http_ok": health.http_ok, "http_status": health.http_status, "health": health.health,
                "login_ok": health.login_ok, "uid": health.uid, "error": health.error,
                "latency_ms": health.latency_ms}
    if health.http_ok and health.login_ok is not False:
        login = f", and the probe user logs in (uid {health.uid})" if health.login_ok else ""
        return Signal(name="app_path_writable", subject="odoo", firing=False, evidence=evidence,
                      text=f"Odoo answers its health check at {url}{login}")
    return Signal(name="app_path_writable", subject="odoo", firing=True, evidence=evidence,
                  text=f"Odoo at {url} fails: {health.error or 'no answer'}")
