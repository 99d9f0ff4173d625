"""The data-risk statement: what promoting a candidate can lose, in numbers and in words.

Data at risk is WAL the candidate never received (unreplayed WAL is not lost: a
promoted standby replays it first, which only costs time). The risk is *known* only
when it can be proven: the candidate was a synchronous standby at the last primary
sample, or the old primary is verified stopped or read-only with a final LSN we read.
Otherwise it is a lower bound plus an unknown window, or plainly unknown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from checks.assess import PrimaryMark
from checks.config import Slo
from checks.lsn import human_bytes, human_seconds, lsn_diff
from checks.sample import NodeSample, iso_utc

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
) -> DataRisk:
    """The risk of promoting ``candidate``. ``final_lsn`` is the old primary's last LSN, read
    after it was verified stopped or read-only (the fence sequence provides it)."""
    name = candidate.name
    received = candidate.held_lsn
    if received is None:
        return _risk(name, "unknown", "no-receive-lsn", slo,
                     statement=f"promoting {name} loses an unknown amount of committed work: it reports no received WAL")
    if final_lsn is not None:
        missing = max(0, lsn_diff(final_lsn, received) or 0)
        old = final_node or "the old primary"
        if missing == 0:
            return _risk(name, "zero", "final-lsn", slo, bytes_=0, seconds=0.0,
                         statement=f"promoting {name} loses no committed work: {old} is verified stopped "
                                   f"at {final_lsn}, and {name} has received up to {received}")
        return _risk(name, "known", "final-lsn", slo, bytes_=missing, seconds=None,
                     statement=f"promoting {name} loses exactly {human_bytes(missing)} of committed WAL: "
                               f"{old} stopped at {final_lsn}, {name} received only up to {received}")
    if mark is None:
        return _risk(name, "unknown", "no-primary-sample", slo,
                     statement=f"promoting {name} loses an unknown amount of committed work: "
                               "this cockpit never saw the primary's WAL position")
    if mark.lost_at is not None and name in mark.sync_standbys and (lsn_diff(mark.lsn, received) or 0) <= 0:
        return _risk(name, "zero", "sync-standby", slo, bytes_=0, seconds=0.0,
                     statement=f"promoting {name} loses no committed work: it was a synchronous standby "
                               f"of {mark.node} at its last sample ({iso_utc(mark.observed_at)})")
    missing = max(0, lsn_diff(mark.lsn, received) or 0)
    lag = mark.standby_lag_s.get(name, 0.0) if missing else 0.0
    if primary_alive and mark.lost_at is None:
        return DataRisk(
            candidate=name, kind="at_least", basis="pending-fence", bytes=missing, unknown_after=mark.observed_at,
            within_slo=True, pending_fence=True,
            statement=(f"{mark.node} is still writable (a planned switchover): stage 2 pauses PgBouncer, waits until "
                       f"{name} has received {mark.node}'s final LSN, then fences it, so nothing is lost; "
                       f"promotion re-checks that proof before it acts"))
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
    statement = (f"promoting {name} loses at least {human_bytes(missing)} of committed WAL "
                 f"(behind {mark.node}'s {mark.lsn}); {tail}")
    return _risk(name, "at_least", "last-sample", slo, bytes_=missing, seconds=seconds,
                 unknown_after=mark.observed_at, statement=statement)


def _risk(name: str, kind: Kind, basis: str, slo: Slo, *, statement: str, bytes_: int | None = None,
          seconds: float | None = None, unknown_after: datetime | None = None) -> DataRisk:
    if kind == "unknown":
        within = False
    elif kind == "zero":
        within = True
    else:
        within = (bytes_ is not None and bytes_ <= slo.max_data_risk_bytes
                  and (kind == "known" or (seconds is not None and seconds <= slo.max_data_risk_s)))
    if not within:
        statement += f"; over the SLO ({human_bytes(slo.max_data_risk_bytes)} / {human_seconds(slo.max_data_risk_s)}) or unknown: promotion needs an approver"
    return DataRisk(candidate=name, kind=kind, basis=basis, bytes=bytes_, seconds=seconds,
                    unknown_after=unknown_after, within_slo=within, statement=statement)
