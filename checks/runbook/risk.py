"""The data-risk statement: what promoting a candidate can lose, in numbers and in words.

Data at risk is WAL the candidate never received (unreplayed WAL is not lost: a
promoted standby replays it first, which only costs time). The risk is *known* only
when positions prove it: the old primary verified stopped or read-only with a final
LSN that was read, compared along one timeline history (:mod:`checks.observe.lineage`).
Being listed in ``synchronous_standby_names`` proves nothing by itself (any session may
lower ``synchronous_commit``): it narrows the words about the unknown window, never the
comparison. Otherwise the risk is a lower bound plus an unknown window, or unknown. A
standby that holds more WAL than the candidate is always named.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict

from checks.config.model import Slo
from checks.observe.assess import PrimaryMark
from checks.observe.lineage import Branch
from checks.observe.lsn import human_bytes, human_seconds, lsn_diff
from checks.observe.sample import NodeSample, iso_utc

Kind = Literal["zero", "known", "at_least", "unknown"]


class DataRisk(BaseModel):
    """What promoting ``candidate`` can lose, and whether that needs an approval."""

    model_config = ConfigDict(frozen=True)

    candidate: str
    kind: Kind
    basis: str
    bytes: int | None = None           # exact (zero/known) or a lower bound (at_least)
    seconds: float | None = None       # seconds of committed work at risk, when bounded
    unknown_after: datetime | None = None
    within_slo: bool = False
    pending_fence: bool = False        # old primary alive: stage 2's fence sequence settles it
    other_branch: bool = False         # the candidate is on another timeline branch than the writer
    ahead: tuple[str, ...] = ()        # standbys holding more WAL than the candidate
    statement: str = ""

    @property
    def needs_approval(self) -> bool:
        return not self.within_slo


def data_risk(
    candidate: NodeSample,
    mark: PrimaryMark | None,
    slo: Slo,
    now: datetime,
    *,
    final_lsn: str | None = None,
    final_node: str | None = None,
    primary_alive: bool = False,
    branch: Branch | None = None,
    others: Sequence[NodeSample] = (),
) -> DataRisk:
    """The risk of promoting ``candidate``. ``final_lsn`` is the old primary's last LSN, read
    after it was verified stopped or read-only (the fence sequence provides it); ``branch``
    places the candidate on the writer's timeline history when their timelines differ;
    ``others`` are the other nodes' samples (a standby ahead of the candidate is named)."""
    risk = _core(candidate, mark, slo, now, final_lsn=final_lsn, final_node=final_node,
                 primary_alive=primary_alive, branch=branch)
    parts = [risk.statement, _apply_delay(candidate), _ahead_sentence(candidate, others)]
    if not risk.within_slo:
        parts.append(f"over the SLO ({human_bytes(slo.max_data_risk_bytes)} / {human_seconds(slo.max_data_risk_s)}) "
                     "or unknown: promotion needs an approver")
    return risk.model_copy(update={"statement": "; ".join(p for p in parts if p),
                                   "ahead": tuple(s.name for s in _ahead_of(candidate, others))})


def _core(candidate: NodeSample, mark: PrimaryMark | None, slo: Slo, now: datetime, *, final_lsn: str | None,
          final_node: str | None, primary_alive: bool, branch: Branch | None) -> DataRisk:
    name = candidate.name
    received = candidate.held_lsn
    if received is None:
        return _risk(name, "unknown", "no-receive-lsn", slo,
                     statement=f"promoting {name} loses an unknown amount of committed work: it reports no received WAL")
    if branch is not None and branch.error:
        return _risk(name, "unknown", "timeline-unknown", slo,
                     statement=f"promoting {name} loses an unknown amount of committed work: {name} is on timeline "
                               f"{branch.candidate_timeline} and {branch.writer} wrote on timeline "
                               f"{branch.writer_timeline}, and {branch.error}")
    common = branch.common_lsn(received) if branch else received
    fork = _fork_words(name, received, branch)
    if final_lsn is not None:
        missing = max(0, lsn_diff(final_lsn, common) or 0)
        old = final_node or "the old primary"
        if missing == 0:
            return _risk(name, "zero", "final-lsn", slo, bytes_=0, seconds=0.0,
                         statement=f"promoting {name} loses no committed work: {old} is verified stopped "
                                   f"at {final_lsn}, and {name} has received up to {received}")
        if fork:
            return _risk(name, "known", "other-branch", slo, bytes_=missing, other_branch=True,
                         statement=f"promoting {name} loses exactly {human_bytes(missing)} of committed WAL"
                                   f"{_commits(branch)}: {old} stopped at {final_lsn} on timeline "
                                   f"{branch.writer_timeline}; {fork}")
        return _risk(name, "known", "final-lsn", slo, bytes_=missing, seconds=None,
                     statement=f"promoting {name} loses exactly {human_bytes(missing)} of committed WAL: "
                               f"{old} stopped at {final_lsn}, {name} received only up to {received}")
    if mark is None:
        return _risk(name, "unknown", "no-primary-sample", slo,
                     statement=f"promoting {name} loses an unknown amount of committed work: "
                               "this cockpit never saw the primary's WAL position")
    missing = max(0, lsn_diff(mark.lsn, common) or 0)
    lag = mark.standby_lag_s.get(name, 0.0) if missing else 0.0
    if primary_alive and mark.lost_at is None and not fork:
        return DataRisk(
            candidate=name, kind="at_least", basis="pending-fence", bytes=missing, unknown_after=mark.observed_at,
            within_slo=True, pending_fence=True,
            statement=(f"{mark.node} is still writable (a planned switchover): stage 2 pauses PgBouncer, waits until "
                       f"{name} has received {mark.node}'s final LSN, then fences it; nothing is lost only if "
                       f"{name} catches up, and promotion re-checks that proof before it acts"))
    if mark.lost_at is None:
        window = (now - mark.observed_at).total_seconds()
        tail = (f"{mark.node} was still answering {human_seconds(window)} ago: whatever it commits "
                "until it is fenced is at risk too")
        seconds = None
    else:
        window = (mark.lost_at - mark.observed_at).total_seconds()
        seconds = round(window + lag, 3)
        tail = (f"what {mark.node} committed after {iso_utc(mark.observed_at)}, in the "
                f"{human_seconds(window)} before it stopped answering, is unknown")
        if name in mark.sync_standbys:
            tail += (f" ({name} was a synchronous standby then, which covers only transactions committed with "
                     "synchronous_commit on: any session may lower it)")
    if fork:
        statement = (f"promoting {name} loses at least {human_bytes(missing)} of committed WAL{_commits(branch)}: "
                     f"{mark.node} was at {mark.lsn} on timeline {branch.writer_timeline}; {fork}; {tail}")
    else:
        statement = (f"promoting {name} loses at least {human_bytes(missing)} of committed WAL "
                     f"(behind {mark.node}'s {mark.lsn}); {tail}")
    return _risk(name, "at_least", "other-branch" if fork else "last-sample", slo, bytes_=missing, seconds=seconds,
                 unknown_after=mark.observed_at, statement=statement, other_branch=bool(fork))


def _fork_words(name: str, received: str, branch: Branch | None) -> str:
    """The sentence part for a candidate that left the writer's history ('' when it did not)."""
    if branch is None or not branch.diverged:
        return ""
    return (f"{name} is on another branch: it followed timeline {branch.candidate_timeline} up to {received}, past "
            f"{branch.fork_lsn} where {branch.writer}'s timeline {branch.writer_timeline} forked off, so it has "
            f"none of what {branch.writer} wrote after the fork")


def _commits(branch: Branch | None) -> str:
    n = branch.commits_after_fork if branch else None
    return "" if n is None else f" ({n} committed transaction{'' if n == 1 else 's'} after the fork)"


def _ahead_of(candidate: NodeSample, others: Sequence[NodeSample]) -> list[NodeSample]:
    mine = candidate.held_lsn
    return [s for s in others if s.name != candidate.name and s.reachable and s.in_recovery
            and s.held_lsn and mine and s.timeline == candidate.timeline and (lsn_diff(s.held_lsn, mine) or 0) > 0]


def _ahead_sentence(candidate: NodeSample, others: Sequence[NodeSample]) -> str:
    ahead = _ahead_of(candidate, others)
    return "; ".join(f"{s.name} holds more WAL than {candidate.name} ({s.held_lsn} against {candidate.held_lsn}, "
                     f"{human_bytes(lsn_diff(s.held_lsn, candidate.held_lsn))} more)" for s in ahead)


def _apply_delay(candidate: NodeSample) -> str:
    delay = candidate.apply_delay_s
    if not delay:
        return ""
    backlog = candidate.bytes_not_replayed
    held = f", and holds {human_bytes(backlog)} not yet replayed" if backlog else ""
    return (f"{candidate.name} applies WAL {human_seconds(delay)} late (recovery_min_apply_delay){held}: "
            "promotion replays all of it first, so it takes longer, and the node's data is that much older until then")


def _risk(name: str, kind: Kind, basis: str, slo: Slo, *, statement: str, bytes_: int | None = None,
          seconds: float | None = None, unknown_after: datetime | None = None, other_branch: bool = False) -> DataRisk:
    if kind == "unknown":
        within = False
    elif kind == "zero":
        within = True
    else:
        within = (bytes_ is not None and bytes_ <= slo.max_data_risk_bytes
                  and (kind == "known" or (seconds is not None and seconds <= slo.max_data_risk_s)))
    return DataRisk(candidate=name, kind=kind, basis=basis, bytes=bytes_, seconds=seconds,
                    unknown_after=unknown_after, within_slo=within, other_branch=other_branch, statement=statement)
