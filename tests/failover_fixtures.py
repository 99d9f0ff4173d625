"""A crash failover of the lab cluster, stage by stage, as fixed journal events and fixed samples.

node1, the primary, stops answering at 07:21:10Z (connection refused); node2 (16 kB behind) is
chosen, node1 is fenced at 07:24:03Z by ``fence node1`` (exit 0), node2 promoted, Odoo cut over and
verified; node3 is re-pointed at node2 and the incident closed. Every time is on 2026-12-01, so a
screen built from these is the same on every run: the cockpit (a real operator Session on a journal
written here with a pinned clock) shows each stage in :data:`STAGES` at that stage's moment.

The events carry the data the gates read (checks.runbook.gates), with the texts the stage functions
journal; stage 2's checks are judged by the real rule (checks.runbook.others.judge_others) and the
data risk by the real statement (checks.runbook.risk.data_risk), from the samples below.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

from checks.config.model import Cluster
from checks.incident.journal import Journal
from checks.observe.assess import Watch
from checks.observe.sample import NodeSample, iso_utc
from checks.runbook.others import judge_others
from checks.runbook.risk import data_risk
from checks.runbook.session import Session
from tests.fixtures_samples import REFUSED, StepClock, down, lsn_plus, peer, primary, standby
from tui.app import CockpitApp
from tui.messages import NodeSampled

T0 = datetime(2026, 12, 1, 7, 20, 0, tzinfo=timezone.utc)
CRASH_S = 70.0                     # node1's first failed sample: 07:21:10Z
FENCE_S = 243.4                    # node1 fenced: 07:24:03.4Z
INCIDENT = "2026-12-01-lab-1"
LSN = "0/7C000000"                 # node1's last flush LSN seen
NEW_LSN = "0/7C200000"             # node2, once promoted
FENCE_ARGV = ["/usr/local/bin/fence-node", "node1"]
VERIFY_RUN = "3f9c0a1b2c4d"

CLUSTER = Cluster.model_validate({
    "approvers": ["dave"],
    "nodes": [{"name": f"node{i}", "dsn": f"postgresql://cockpit@127.0.0.1:{5431 + i}/postgres",
               "fence": ["/usr/local/bin/fence-node", f"node{i}"]} for i in (1, 2, 3)],
    "pgbouncers": [{"name": "pgb1", "admin_dsn": "postgresql://pgbouncer@127.0.0.1:6432/pgbouncer",
                    "databases": ["odoo"]}],
    "odoo": {"url": "http://127.0.0.1:8069", "db": "odoo", "login": "cockpit-probe",
             "password_env": "ODOO_PROBE_PASSWORD"},
    "sampling": {"interval_s": 1.0},
})


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# -- samples ---------------------------------------------------------------------------------------------

def healthy(seconds: float) -> list[NodeSample]:
    when = at(seconds)
    lsn = lsn_plus(LSN, -int((CRASH_S - 10 - seconds) * 4096))
    return [primary("node1", when, lsn, (peer("node2", lsn, behind=16 * 1024), peer("node3", lsn, behind=3 << 20))),
            standby("node2", when, lsn_plus(lsn, -16 * 1024), lsn_plus(lsn, -16 * 1024)),
            standby("node3", when, lsn_plus(lsn, -(3 << 20)), lsn_plus(lsn, -(3 << 20)), delay_s=0.8, latency_ms=2.1)]


def crashed(seconds: float) -> list[NodeSample]:
    """node1 refuses connections; the standbys lost their WAL receiver with it."""
    when = at(seconds)
    return [down("node1", when, REFUSED),
            standby("node2", when, lsn_plus(LSN, -16 * 1024), lsn_plus(LSN, -16 * 1024), receiver=None),
            standby("node3", when, lsn_plus(LSN, -(3 << 20)), lsn_plus(LSN, -(3 << 20)), receiver=None,
                    latency_ms=2.3)]


def promoted(seconds: float, *, node3_repointed: bool = False) -> list[NodeSample]:
    """node2 writable on timeline 2; node3 still follows node1 (no WAL receiver), or streams from node2."""
    when = at(seconds)
    node3 = (standby("node3", when, NEW_LSN, NEW_LSN, timeline=2, sender_port=5433, latency_ms=2.2)
             if node3_repointed else
             standby("node3", when, lsn_plus(LSN, -(3 << 20)), lsn_plus(LSN, -(3 << 20)), receiver=None,
                     latency_ms=2.3))
    peers = (peer("node3", NEW_LSN),) if node3_repointed else ()
    return [down("node1", when, REFUSED), primary("node2", when, NEW_LSN, peers, timeline=2), node3]


ROUNDS: tuple[tuple[float, list[NodeSample]], ...] = (
    (0.0, healthy(0)), (30.0, healthy(30)), (60.0, healthy(60)),
    (CRASH_S, crashed(CRASH_S)), (100.0, crashed(100)), (170.0, crashed(170)), (250.0, crashed(250)),
    (290.0, promoted(290)), (330.0, promoted(330)), (360.0, promoted(360)),
    (430.0, promoted(430, node3_repointed=True)),
)
"""Every sampling round the cockpit is shown, at its second after T0."""


def _risk_statement() -> dict:
    """The data risk of promoting node2, stated from the rounds up to the choice."""
    watch = Watch("lab", CLUSTER)
    view = None
    for seconds, samples in ROUNDS[:6]:
        view = watch.update(*samples, now=at(seconds))
    node2 = view.node("node2").sample
    risk = data_risk(node2, view.last_primary, CLUSTER.slo, at(158), others=[view.node("node3").sample])
    return risk.model_dump(mode="json")


def _others(seconds: float, fenced: set[str]) -> tuple[str, dict]:
    samples = {s.name: s for s in crashed(seconds)}
    evidence = judge_others(CLUSTER, "node2", samples, old_primary="node1", seen_as_standby={"node2", "node3"},
                            fenced=fenced)
    return "; ".join(evidence["lines"]), evidence


# -- events ----------------------------------------------------------------------------------------------

def _stage(number: int, name: str) -> dict:
    return {"stage": number, "name": name}


def events() -> list[tuple]:
    """Every event of the incident: (seconds after T0, seat, author, kind, stage, text, data)."""
    risk = _risk_statement()
    check1, evidence1 = _others(205, set())
    check2, evidence2 = _others(243.6, {"node1"})

    def verify(seconds: float, check: str, text: str) -> tuple:
        return (seconds, "operator", "alice", "evidence", 5, f"{check}: pass: {text}",
                {"check": check, "passed": True, "node": "node2", "verify_run": VERIFY_RUN})

    return [
        (0.4, "operator", "alice", "role", None, "alice joined as operator", {"joined": True}),
        (3.1, "scribe", "carol", "role", None, "carol joined as scribe", {"joined": True}),
        (9.0, "scribe", "carol", "note", None, "Odoo answers slowly since 07:19; checking the database", {}),
        (CRASH_S + 0.6, "operator", "alice", "status", None,
         "first bad signal: no writable node: the cluster has no primary", {"first_bad_at": iso_utc(at(CRASH_S))}),
        # -- after choosing
        (112.0, "operator", "alice", "role", 0, "roles: operator alice, scribe carol, approver dave",
         {"roles": {"operator": "alice", "scribe": "carol", "approver": "dave"}}),
        (112.1, "operator", "alice", "stage", 0, "stage 0 Stabilize is open", _stage(0, "Stabilize")),
        (131.0, "operator", "alice", "decision", 0, "freeze skipped: Odoo is already down (502 since 07:21)",
         {"skip_freeze": True, "reason": "Odoo is already down (502 since 07:21)", "proposed_by": "alice"}),
        (131.1, "operator", "alice", "stage", 1, "stage 1 Replica freshness is open", _stage(1, "Replica freshness")),
        (158.0, "operator", "alice", "decision", 1, f"candidate node2: {risk['statement']}",
         {"candidate": "node2", "old_primary": "node1", "old_primary_timeline": 1, "data_risk": risk,
          "proposed_by": "alice", "ranking": ["node2: eligible (received 0/7BFFC000)",
                                              "node3: eligible (received 0/7BD00000)"]}),
        (158.1, "operator", "alice", "stage", 2, "stage 2 Old primary is open", _stage(2, "Old primary")),
        (164.0, "scribe", "carol", "decision", None, "promote node2 once node1 is fenced", {"proposed_by": "carol"}),
        # -- after the check and the fence
        (205.0, "operator", "alice", "evidence", 2, check1, evidence1),
        (FENCE_S, "operator", "alice", "action", 2, "fence node1: exit 0 in 212 ms",
         {"step": "fence", "node": "node1", "name": "fence node1", "argv": FENCE_ARGV, "exit_code": 0,
          "output": "node1: powered off via IPMI", "duration_ms": 212.4, "error": None}),
        (243.6, "operator", "alice", "evidence", 2, check2, evidence2),
        (243.7, "operator", "alice", "stage", 3, "stage 3 Promote is open", _stage(3, "Promote")),
        # -- after the promotion
        (281.0, "operator", "alice", "evidence", 3, f"re-check before promotion: {risk['statement']}",
         {"check": "pre_promote", "data_risk": risk}),
        (281.1, "operator", "alice", "evidence", 3, "node2 promoted: writable 41 ms after pg_promote",
         {"check": "promoted", "passed": True, "node": "node2", "already": False, "promote_to_writable_ms": 41.0,
          "error": None}),
        (281.2, "operator", "alice", "evidence", 3, "node2 is on timeline 2, switched from timeline 1 at 0/7BFFC000",
         {"check": "timeline_switch", "node": "node2", "position": {"timeline": 2}, "history": []}),
        (281.3, "operator", "alice", "stage", 4, "stage 4 Cut over is open", _stage(4, "Cut over")),
        # -- after the cutover
        (318.0, "operator", "alice", "action", 4, "pgbouncer:pgb1: PAUSE odoo; odoo = host=127.0.0.1 port=5433; "
         "RELOAD; SHOW DATABASES: odoo at 127.0.0.1:5433; RESUME odoo",
         {"target": "pgbouncer:pgb1", "exit_code": 0, "steps": ["PAUSE odoo", "RELOAD", "RESUME odoo"]}),
        (318.3, "operator", "alice", "evidence", 4, "every target points at node2 (127.0.0.1:5433)",
         {"check": "targets", "passed": True, "host": "127.0.0.1", "port": 5433, "node": "node2",
          "targets": {"pgbouncer:pgb1": "ok"}}),
        (318.4, "operator", "alice", "stage", 5, "stage 5 Verify is open", _stage(5, "Verify")),
        # -- verified
        verify(341.0, "new_primary_writable", "node2: in_recovery = f, transaction_read_only = off"),
        verify(343.5, "odoo_login", "uid 2 on odoo after 2.3 s (PgBouncer's server_login_retry)"),
        verify(344.1, "write_probe", "res.partner and draft sale.order labelled incident 2026-12-01-lab-1: "
                                     "created, updated, read back as draft, removed"),
        verify(346.0, "cron_progress", "ir_cron.lastcall past the promotion for 3 jobs; 0 failed queue_job rows"),
        verify(346.4, "stragglers", "pgb1: 4 server and 12 client connection(s), none to an old node; node1 "
                                    "unreachable: no sessions can reach it through this path; node3: no Odoo sessions"),
        (346.5, "operator", "alice", "stage", None, "every stage passed", _stage(6, "Close")),
        # -- re-pointed and closed
        (380.0, "operator", "alice", "evidence", None, "re-pointing standbys at node2: node3 (not streaming, "
         "follows node1); node1: unreachable: re-protect it (key h) once it is fenced or stopped",
         {"check": "repoint_plan", "step": "repoint", "primary": "node2", "repoint": ["node3"],
          "left_alone": {"node1": "unreachable"}}),
        (402.0, "operator", "alice", "evidence", None, "node3 re-pointed at node2: streaming from it",
         {"check": "repointed", "step": "repoint", "node": "node3", "primary": "node2", "passed": True}),
        (402.1, "operator", "alice", "evidence", None, "standbys re-pointed at node2: node3 streaming",
         {"check": "standbys_repointed", "step": "repoint", "primary": "node2", "passed": True}),
        (421.0, "operator", "alice", "close", None, "incident verified: RTO 274.1 s; RPO at least 16.0 kB "
         "(a lower bound: node1 was not measured)", {"verified": True, "rto_s": 274.1}),
    ]


@dataclass(frozen=True)
class Stage:
    """One moment of the failover: the screen at ``seconds`` after T0, every event and round up to it."""

    name: str
    seconds: float
    title: str

    @property
    def moment(self) -> datetime:
        return at(self.seconds)

    def events(self) -> list[tuple]:
        return [e for e in events() if e[0] <= self.seconds]

    def rounds(self) -> list[tuple[datetime, list[NodeSample]]]:
        return [(at(s), samples) for s, samples in ROUNDS if s <= self.seconds]


STAGES = {
    "crashed": Stage("crashed", 100.0, "stage 0: node1 just crashed"),
    "chosen": Stage("chosen", 170.0, "stage 2: node2 chosen"),
    "fenced": Stage("fenced", 250.0, "stage 3: node1 checked and fenced"),
    "promoted": Stage("promoted", 290.0, "stage 4: node2 promoted"),
    "cut_over": Stage("cut_over", 330.0, "stage 5: Odoo cut over"),
    "verified": Stage("verified", 360.0, "every stage passed"),
    "closed": Stage("closed", 430.0, "node3 re-pointed, incident closed"),
}


@contextmanager
def journal_clock(start: datetime):
    """Journal.append stamps events with ``checks.incident.journal.utcnow``: pinned to the events' own times."""
    clock = {"now": start}
    with mock.patch("checks.incident.journal.utcnow", lambda: clock["now"]):
        yield clock


def write_journal(root: Path, stage: Stage) -> Path:
    """``root/2026-12-01-lab-1``: the incident's journal with every event up to ``stage``, at their times."""
    directory = root / INCIDENT
    journal = Journal.create(directory, incident_id=INCIDENT, cluster="lab")
    with journal_clock(T0) as clock:
        for seconds, seat, author, kind, number, text, data in stage.events():
            clock["now"] = at(seconds)
            journal.append(kind, text, seat=seat, author=author, stage=number, data=data)
    journal.close()
    return directory


class QuietSession(Session):
    """The operator's seat on the fixed journal, journaling nothing more: the cockpit's own entries
    (its first bad signal) would carry the clock of the run, and the record is not what is shown."""

    def note(self, kind: str, text: str, *, stage: int | None = None, data: dict | None = None):
        return None

    def record_sample(self, sample: NodeSample) -> None:
        return None

    def write_record(self) -> None:
        return None


def open_seat(root: Path, stage: Stage) -> QuietSession:
    """The operator seat (alice) on the stage's journal."""
    return QuietSession("lab", CLUSTER, write_journal(root, stage), seat="operator", name="alice", announce=False)


def cockpit_at(session: QuietSession, stage: Stage) -> tuple[CockpitApp, StepClock, Callable]:
    """The operator's cockpit on ``session``, its clock, and ``run_before(pilot)``: every round of the
    stage fed at its time, the clock at the stage's moment and every journal event shown."""
    rounds = stage.rounds()
    clock = StepClock(rounds[0][0])
    app = CockpitApp("lab", session.cluster, fixed_samples=rounds[0][1], clock=clock, session=session,
                     interval_s=3600)
    app.animation_level = "none"
    expected = len(stage.events())

    async def run_before(pilot) -> None:
        await pilot.pause()
        for when, samples in rounds[1:]:
            clock.set(when)
            for sample in samples:
                app.post_message(NodeSampled(sample))
            await pilot.pause()
        clock.set(stage.moment)
        for _ in range(100):              # the journal feed's thread delivers the events (0.3 s polls)
            if len(app.panes.events) >= expected:
                break
            await pilot.pause(0.05)
        assert len(app.panes.events) == expected
        await pilot.pause()

    return app, clock, run_before
