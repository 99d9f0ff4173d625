"""From samples to judgement: roles, data at risk, SLOs, split brain and the verdict.

Pure: no I/O. :class:`Watch` keeps the little memory the judgement needs across
ticks (the last primary LSN seen, the first bad signal) and returns a new
:class:`ClusterView` on every update.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from checks.config.model import Cluster
from checks.observe.error_cause import error_cause
from checks.observe.fences import Fence, standing_fences
from checks.observe.lsn import human_bytes, human_seconds, lsn_diff
from checks.observe.sample import NodeSample, utcnow
from checks.observe.topology import match_upstream, sender_text

VERDICTS = ("ok", "warning", "critical", "unknown")
EXIT_CODES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}


class PrimaryMark(BaseModel):
    """The newest WAL position seen on a writable node, when, and what became of it.

    ``lost_at`` is the first failed sample of that node after the mark: the node
    committed nothing we know of after ``observed_at``, and nothing at all after
    ``lost_at`` reached us. ``sync_standbys`` were synchronous at the mark.
    """

    model_config = ConfigDict(frozen=True)

    node: str
    lsn: str
    observed_at: datetime
    timeline: int | None = None
    lost_at: datetime | None = None
    sync_standbys: tuple[str, ...] = ()
    standby_lag_s: dict[str, float] = {}


class NodeView(BaseModel):
    """A sample with the facts derived from it and from its peers."""

    model_config = ConfigDict(frozen=True)

    sample: NodeSample
    role: str  # primary | standby | unreachable | foreign | duplicate | unknown
    foreign: bool = False
    duplicate_of: str | None = None    # another entry of the config reaches this same server
    data_risk_bytes: int | None = None
    data_risk_ref_age_s: float | None = None
    over_slo: bool = False
    problems: tuple[str, ...] = ()
    upstream: str | None = None        # a standby: the config's node its WAL receiver streams from
    streaming: bool = False            # a standby: its WAL receiver's status is "streaming"
    sender: str | None = None          # a standby: the sender's host:port, as pg_stat_wal_receiver says
    followed: str | None = None        # a standby: the node it last streamed from (this round, or remembered)
    fence: Fence | None = None         # unreachable, and fenced by this incident since it last answered

    @property
    def name(self) -> str:
        return self.sample.name

    @property
    def fenced(self) -> bool:
        """FENCED: it does not answer, as this incident's fence decided (not a problem of the cluster)."""
        return self.fence is not None


class ClusterView(BaseModel):
    """Everything the screen and ``status`` show about one cluster at one moment."""

    model_config = ConfigDict(frozen=True)

    cluster: str
    observed_at: datetime
    verdict: str
    problems: tuple[str, ...]
    writable: tuple[str, ...]
    nodes: tuple[NodeView, ...]
    system_identifier: str | None = None
    last_primary: PrimaryMark | None = None
    first_bad_at: datetime | None = None
    stale_writers: tuple[str, ...] = ()   # writable on an older timeline than another member
    duplicates: tuple[tuple[str, str], ...] = ()   # (first entry, second entry) reaching one server
    followed: dict[str, str] = {}     # standby -> the node it last streamed from (Watch's memory)

    @property
    def config_error(self) -> str | None:
        """A sentence when the config cannot be acted on (two entries reach the same server)."""
        if not self.duplicates:
            return None
        return "; ".join(duplicate_sentence(a, b, self.node(b).sample) for a, b in self.duplicates)

    @property
    def split_brain(self) -> bool:
        """Two writers, or one writer on an older timeline (an old primary back after a failover)."""
        return len(self.writable) > 1 or bool(self.stale_writers)

    def node(self, name: str) -> NodeView:
        return next(n for n in self.nodes if n.name == name)

    @property
    def fences(self) -> tuple[Fence, ...]:
        """The fences that stand on nodes that do not answer (FENCED), in config order."""
        return tuple(n.fence for n in self.nodes if n.fence is not None)


class Watch:
    """Feeds samples in, gets views out; remembers what a single sample cannot know.

    ``fences`` (by node: the last fence of this incident that exited 0, from
    :func:`checks.incident.fences.fences_of`) are kept until given again; each stands until its
    node answers after it (:func:`checks.observe.fences.standing_fences`)."""

    def __init__(self, cluster_name: str, cluster: Cluster) -> None:
        self.cluster_name = cluster_name
        self.cluster = cluster
        self.samples: dict[str, NodeSample] = {}
        self.last_primary: PrimaryMark | None = None
        self.first_bad_at: datetime | None = None
        self.followed: dict[str, str] = {}
        self.fences: dict[str, Fence] = {}
        self.answered_at: dict[str, datetime] = {}

    def update(self, *samples: NodeSample, now: datetime | None = None,
               fences: dict[str, Fence] | None = None) -> ClusterView:
        if fences is not None:
            self.fences = dict(fences)
        for sample in samples:
            self.samples[sample.name] = sample
            answered = self.answered_at.get(sample.name)
            if sample.reachable and (answered is None or sample.observed_at > answered):
                self.answered_at[sample.name] = sample.observed_at
        view = assess(self.cluster_name, self.cluster, self.samples, self.last_primary, self.first_bad_at, now=now,
                      followed=self.followed, fences=standing_fences(self.fences, self.answered_at))
        self.last_primary = view.last_primary
        self.first_bad_at = view.first_bad_at
        self.followed = dict(view.followed)
        return view


def reference_system_identifier(cluster: Cluster, samples: dict[str, NodeSample]) -> str | None:
    """The cluster's identity: the identifier most nodes share; on a tie, the writable
    node's, then the first configured node's."""
    ids = [s.system_identifier for s in samples.values() if s.reachable and s.system_identifier]
    if not ids:
        return None
    counts = Counter(ids)
    best = max(counts.values())
    tied = {i for i, c in counts.items() if c == best}
    if len(tied) == 1:
        return tied.pop()
    for sample in samples.values():
        if sample.writable and sample.system_identifier in tied:
            return sample.system_identifier
    for node in cluster.nodes:
        sample = samples.get(node.name)
        if sample and sample.system_identifier in tied:
            return sample.system_identifier
    return None


def duplicate_sentence(first: str, second: str, sample: NodeSample) -> str:
    where = f", data directory {sample.data_directory}" if sample.data_directory else ""
    return (f"config error: {first} and {second} reach the same server (system identifier "
            f"{sample.system_identifier}, started {sample.postmaster_start}{where}): fix the DSN of "
            f"one of them; every action is refused until each entry reaches its own server")


def find_duplicates(ordered: list[NodeSample]) -> dict[str, str]:
    """Entries that reach a server an earlier entry already reaches: {later: earlier}."""
    seen: dict[tuple, str] = {}
    dupes: dict[str, str] = {}
    for sample in ordered:
        identity = sample.server_identity
        if identity is None:
            continue
        if identity in seen:
            dupes[sample.name] = seen[identity]
        else:
            seen[identity] = sample.name
    return dupes


def assess(
    cluster_name: str,
    cluster: Cluster,
    samples: dict[str, NodeSample],
    last_primary: PrimaryMark | None = None,
    first_bad_at: datetime | None = None,
    now: datetime | None = None,
    followed: dict[str, str] | None = None,
    fences: dict[str, Fence] | None = None,
) -> ClusterView:
    """``followed``: the node each standby last streamed from (Watch's memory across rounds);
    ``fences``: the fences that stand (an unreachable node among them is FENCED, not a problem)."""
    now = now or utcnow()
    ref_id = reference_system_identifier(cluster, samples)
    ordered = [samples[n.name] for n in cluster.nodes if n.name in samples]
    foreign = {s.name for s in ordered if s.reachable and ref_id and s.system_identifier != ref_id}
    dupes = find_duplicates(ordered)
    writable = [s for s in ordered if s.writable and s.name not in foreign and s.name not in dupes]
    last_primary = _track_primary(last_primary, writable, samples)

    stale, stale_names = _stale_writers(ordered, foreign, writable)
    views = []
    for sample in ordered:
        if sample.name in dupes:
            view = NodeView(sample=sample, role="duplicate", duplicate_of=dupes[sample.name],
                            problems=(duplicate_sentence(dupes[sample.name], sample.name, sample),))
        else:
            view = _node_view(sample, cluster, sample.name in foreign, ref_id, last_primary, now,
                              (fences or {}).get(sample.name))
        views.append(view)
    views, remembered = _topology(views, cluster, samples, dict(followed or {}),
                                  writable[0].name if len(writable) == 1 else None)
    problems = [p for view in views for p in view.problems]
    missing = [n.name for n in cluster.nodes if n.name not in samples]
    if dupes:
        verdict = "unknown"              # a config error, as status reports a bad config
        problems.sort(key=lambda p: not p.startswith("config error"))
    elif missing:
        # Judging a partial round would raise false alarms (the first sample alone is "no primary").
        verdict = "unknown"
        problems.append(f"waiting for the first sample of {', '.join(missing)}")
    elif len(writable) > 1:
        verdict = "critical"
        problems.insert(0, f"SPLIT BRAIN: {len(writable)} writable nodes: {', '.join(s.name for s in writable)}")
    elif stale:
        verdict = "critical"
        problems.insert(0, stale[0])
    elif not writable:
        verdict = "critical"
        problems.insert(0, "no writable node: the cluster has no primary")
    elif problems:
        verdict = "warning"
    else:
        verdict = "ok"
    if verdict not in ("ok", "unknown") and first_bad_at is None:
        first_bad_at = now
    return ClusterView(
        cluster=cluster_name, observed_at=now, verdict=verdict, problems=tuple(problems),
        writable=tuple(s.name for s in writable), nodes=tuple(views), system_identifier=ref_id,
        last_primary=last_primary, first_bad_at=first_bad_at, stale_writers=stale_names,
        duplicates=tuple((first, later) for later, first in dupes.items()), followed=remembered,
    )


def _topology(views: list[NodeView], cluster: Cluster, samples: dict[str, NodeSample], followed: dict[str, str],
              primary: str | None) -> tuple[list[NodeView], dict[str, str]]:
    """Each standby's upstream and whether it streams, said in its problems; the one primary's
    lack of any streaming standby said in its own. Returns the views and the memory of upstreams."""
    by_name = {v.name: v for v in views}
    out = []
    for view in views:
        if view.role != "standby":
            out.append(view)
            continue
        s = view.sample
        streaming = s.wal_receiver is not None and s.wal_receiver.status == "streaming"
        upstream = match_upstream(s, cluster, samples)
        if upstream is not None:
            followed[view.name] = upstream
        last = upstream or followed.get(view.name)
        problems = list(view.problems)
        lead = by_name.get(last) if last else None
        down = lead is not None and lead.role == "unreachable"
        repoint = f"; re-point it at the primary {primary}" if primary and primary != last else ""
        if not streaming:
            state = s.wal_receiver.status if s.wal_receiver and s.wal_receiver.status else "no WAL receiver"
            if down:
                gone = "fenced" if lead.fenced else "down"
                problems.append(f"{view.name} follows {last}, which is {gone}: it is not streaming ({state}){repoint}")
            elif last:
                problems.append(f"{view.name} is not streaming ({state}); it last streamed from {last}{repoint}")
            else:
                problems.append(f"{view.name} is not streaming ({state}){repoint}")
        elif down and lead.fenced:
            problems.append(f"{view.name} streams from {last}, which this incident fenced at {lead.fence.clock}: "
                            f"{last} is alive, its fence did not stop it")
        elif down:
            problems.append(f"{view.name} streams from {last}, which the cockpit cannot reach: {last} is alive "
                            f"(unreachable is not dead)")
        out.append(view.model_copy(update={"upstream": upstream if streaming else None, "streaming": streaming,
                                           "sender": sender_text(s), "followed": last,
                                           "problems": tuple(problems)}))
    if primary is not None and len(cluster.nodes) > 1:
        lead = next(v for v in out if v.name == primary)
        direct = [p for p in lead.sample.replication if p.state == "streaming"]
        # a standby that streams from an address the config cannot name may be streaming from it
        maybe = [v for v in out if v.role == "standby" and v.streaming and v.upstream in (None, primary)]
        if not direct and not maybe:
            others = [f"{v.name} {_standby_state(v)}" for v in out if v.name != primary]
            sentence = f"{primary} (primary) has no streaming standby" + (f": {', '.join(others)}" if others else "")
            out = [v.model_copy(update={"problems": (*v.problems, sentence)}) if v.name == primary else v for v in out]
    return out, followed


def _standby_state(view: NodeView) -> str:
    if view.role == "unreachable":
        return "fenced" if view.fenced else "unreachable"
    if view.role != "standby":
        return view.role
    if view.streaming:
        return f"streams from {view.upstream or view.sender or 'an unknown sender'}"
    return f"follows {view.followed}" if view.followed else "not streaming"


def _stale_writers(ordered: list[NodeSample], foreign: set[str], writable: list[NodeSample]) -> tuple[list[str], tuple[str, ...]]:
    """Writers on a timeline older than another member's: after a failover the old primary came back
    and takes writes that the new timeline will never see."""
    timelines = {s.name: s.timeline for s in ordered if s.reachable and s.name not in foreign and s.timeline}
    if not timelines:
        return [], ()
    newest_name = max(timelines, key=lambda n: timelines[n])
    newest = timelines[newest_name]
    stale = [s for s in writable if s.timeline is not None and s.timeline < newest]
    lines = [f"SPLIT BRAIN: {s.name} is writable on timeline {s.timeline}, older than {newest_name}'s timeline "
             f"{newest}: an old primary is back and taking writes" for s in stale]
    return lines, tuple(s.name for s in stale)


def _track_primary(mark: PrimaryMark | None, writable: list[NodeSample], samples: dict[str, NodeSample]) -> PrimaryMark | None:
    """Move the mark only while there is exactly one writer: in a split brain the two nodes'
    LSNs are on different timelines and "the primary's WAL" has no single meaning."""
    for sample in writable if len(writable) == 1 else ():
        committed = sample.flush_lsn or sample.current_lsn
        if committed and (mark is None or sample.observed_at >= mark.observed_at):
            peers = sample.replication
            mark = PrimaryMark(
                node=sample.name, lsn=committed, observed_at=sample.observed_at, timeline=sample.timeline,
                sync_standbys=tuple(p.application_name for p in peers
                                    if p.application_name and p.sync_state in ("sync", "quorum")),
                standby_lag_s={p.application_name: p.flush_lag_s or 0.0 for p in peers if p.application_name},
            )
    if mark is not None and mark.lost_at is None:
        latest = samples.get(mark.node)
        if latest is not None and latest.observed_at > mark.observed_at and not latest.writable:
            mark = mark.model_copy(update={"lost_at": latest.observed_at})
    return mark


def _node_view(
    sample: NodeSample, cluster: Cluster, foreign: bool, ref_id: str | None,
    last_primary: PrimaryMark | None, now: datetime, fence: Fence | None = None,
) -> NodeView:
    slo = cluster.slo
    name = sample.name
    if not sample.reachable and fence is not None:
        return NodeView(sample=sample, role="unreachable", fence=fence)    # as this incident decided
    if not sample.reachable:
        return NodeView(sample=sample, role="unreachable",
                        problems=(f"{name} unreachable ({error_cause(sample.error)}): {sample.error}",))
    if foreign:
        return NodeView(
            sample=sample, role="foreign", foreign=True,
            problems=(f"{name} belongs to another cluster (system identifier {sample.system_identifier}, "
                      f"expected {ref_id}): check its DSN",),
        )
    if sample.in_recovery is False:
        return NodeView(sample=sample, role="primary")
    if sample.in_recovery is not True:
        return NodeView(sample=sample, role="unknown", problems=(f"{name}: recovery state unknown",))
    problems = []
    risk = age = None
    if last_primary is not None and sample.held_lsn is not None:
        risk = max(0, lsn_diff(last_primary.lsn, sample.held_lsn) or 0)
        age = max(0.0, (now - last_primary.observed_at).total_seconds())
    delay = sample.replay_delay_s
    over = False
    if delay is not None and delay > slo.max_replay_delay_s:
        over = True
        problems.append(f"{name} replay delay {human_seconds(delay)} is over the SLO ({human_seconds(slo.max_replay_delay_s)})")
    if risk is not None and risk > slo.max_data_risk_bytes:
        over = True
        problems.append(f"{name} lacks {human_bytes(risk)} of WAL, over the SLO ({human_bytes(slo.max_data_risk_bytes)})")
    if sample.replay_paused:
        problems.append(f"{name} has WAL replay paused")
    # whether it streams, and from which node, is said by _topology, which sees every node
    return NodeView(
        sample=sample, role="standby", data_risk_bytes=risk, data_risk_ref_age_s=age,
        over_slo=over, problems=tuple(problems),
    )
