"""What one node looked like at one moment (docs/design.md section 2.1)."""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, field_serializer

from checks.observe.lsn import lsn_diff


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso_utc(moment: datetime) -> str:
    """``2026-12-01T08:12:21.123456Z``: UTC with microseconds and an explicit zone."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")[:-6] + "Z"   # strftime's %f, faster


def parse_iso(text: str) -> datetime:
    """The inverse of :func:`iso_utc`."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class ReplicationPeer(BaseModel):
    """One row of the primary's pg_stat_replication."""

    model_config = ConfigDict(frozen=True)

    application_name: str | None = None
    client_addr: str | None = None
    state: str | None = None
    sync_state: str | None = None
    sent_lsn: str | None = None
    write_lsn: str | None = None
    flush_lsn: str | None = None
    replay_lsn: str | None = None
    write_lag_s: float | None = None
    flush_lag_s: float | None = None
    replay_lag_s: float | None = None


class WalReceiver(BaseModel):
    """The standby's pg_stat_wal_receiver row."""

    model_config = ConfigDict(frozen=True)

    status: str | None = None
    sender_host: str | None = None
    sender_port: int | None = None
    received_tli: int | None = None
    slot_name: str | None = None


class NodeSample(BaseModel):
    """The raw facts of one sampling round trip; derived facts live in checks.observe.assess."""

    model_config = ConfigDict(frozen=True)

    name: str
    observed_at: datetime
    reachable: bool
    error: str | None = None
    latency_ms: float | None = None
    in_recovery: bool | None = None
    tx_read_only: str | None = None
    server_version: str | None = None
    cluster_name: str | None = None
    system_identifier: str | None = None
    postmaster_start: str | None = None        # UTC ISO; with system_identifier and data_directory: which server
    data_directory: str | None = None
    apply_delay_s: float | None = None         # a standby's recovery_min_apply_delay
    receive_lsn: str | None = None
    replay_lsn: str | None = None
    bytes_not_replayed: int | None = None
    raw_replay_delay_s: float | None = None
    replay_paused: bool | None = None
    current_lsn: str | None = None
    flush_lsn: str | None = None       # primary: WAL flushed locally, i.e. committed work
    timeline: int | None = None
    wal_receiver: WalReceiver | None = None
    replication: tuple[ReplicationPeer, ...] = ()

    @field_serializer("observed_at")
    def _ser_time(self, value: datetime) -> str:
        return iso_utc(value)

    @property
    def server_identity(self) -> tuple | None:
        """What makes a server one server: two node entries with the same identity reach the same
        postmaster (a DSN typo or a proxy pointing at the wrong port)."""
        if not self.reachable or not self.system_identifier or self.postmaster_start is None:
            return None
        return (self.system_identifier, self.postmaster_start, self.data_directory)

    @property
    def writable(self) -> bool:
        """Accepts writes: reachable and out of recovery (a read-only default is no fence)."""
        return self.reachable and self.in_recovery is False

    def read_only_words(self) -> str:
        """Why a reachable node that is not writable refuses writes, in words: "in recovery (a standby)",
        or a primary's read-only default ("not in recovery, transaction_read_only = on")."""
        if self.in_recovery:
            return "in recovery (a standby)"
        if self.in_recovery is False:
            return f"not in recovery, transaction_read_only = {self.tx_read_only or 'unknown'}"
        return "its recovery state unknown"

    @property
    def held_lsn(self) -> str | None:
        """The furthest WAL a standby holds: after a restart ``pg_last_wal_receive_lsn()`` starts
        again at the segment where streaming resumed, which can be behind what was replayed."""
        if self.receive_lsn is None or self.replay_lsn is None:
            return self.receive_lsn or self.replay_lsn
        return self.receive_lsn if (lsn_diff(self.receive_lsn, self.replay_lsn) or 0) >= 0 else self.replay_lsn

    @property
    def caught_up(self) -> bool:
        """A standby that has replayed everything it holds."""
        return (self.in_recovery is True and self.replay_lsn is not None
                and (lsn_diff(self.held_lsn, self.replay_lsn) or 0) <= 0)

    @property
    def replay_delay_s(self) -> float | None:
        """Replay delay that is zero when caught up: on an idle primary
        ``now() - pg_last_xact_replay_timestamp()`` keeps growing though nothing is missing."""
        if self.in_recovery is not True:
            return None
        if self.caught_up:
            return 0.0
        if self.raw_replay_delay_s is None:
            return None
        return max(0.0, self.raw_replay_delay_s)

    @property
    def wal_lsn(self) -> str | None:
        """The furthest WAL this node holds: current on a primary, received on a standby."""
        return self.current_lsn if self.in_recovery is False else self.held_lsn
