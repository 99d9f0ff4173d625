"""Sampling one node per tick over a persistent asyncpg connection.

A node that hangs never delays another: each node has its own connection, every
step is bounded by the configured timeouts, and a connection that timed out is
terminated (never politely closed, which would wait on the hung server).
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import asyncpg

from checks.config.conninfo import cached_params
from checks.config.model import Node, Sampling
from checks.config.redact import redact, remember_secret
from checks.errors import CockpitError, error_line
from checks.observe.libpq import asyncpg_args, connection_error
from checks.observe.queries import NODE_SAMPLE
from checks.observe.sample import NodeSample, ReplicationPeer, WalReceiver, iso_utc, utcnow

APPLICATION_NAME = "failover-cockpit"
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 5.0


class SamplerError(CockpitError):
    """A node could not be sampled; the message is already redacted."""


def node_password(node_name: str, password_env: str | None) -> str | None:
    """The password from ``password_env``, remembered for redaction; a missing var is an error."""
    if password_env is None:
        return None
    value = os.environ.get(password_env)
    if value is None:
        raise SamplerError(f"{node_name}: password_env {password_env} is not set")
    remember_secret(value)
    return value


SAMPLE_STATEMENT = "failover_cockpit_node_sample"   # the sample query's name on each sampler connection


class NodeSampler:
    """Samples one node; :meth:`sample` never raises and never outlives its timeouts."""

    def __init__(self, node: Node, sampling: Sampling) -> None:
        self.node = node
        self.sampling = sampling
        self._conn: asyncpg.Connection | None = None
        self._conn_loop: asyncio.AbstractEventLoop | None = None   # the loop it was opened on
        self._backoff_s = 0.0
        self._next_attempt = 0.0
        self._last_error: str | None = None

    @property
    def budget_s(self) -> float:
        """The longest one :meth:`sample` call can take."""
        return self.sampling.connect_timeout_s + self.sampling.statement_timeout_s + 0.5

    async def sample(self, *, retry_now: bool = False) -> NodeSample:
        """One sample. After a failure the next connect waits a backoff (0.5 s doubling to 5 s), so a
        dead node is not hammered every tick; ``retry_now`` connects at once: an action's re-check
        must see a node that came back, not the last failure (it could be writable again)."""
        try:
            conn = await self._connection(retry_now)
        except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001 - every failure is a fact to show
            return self._failed(exc)
        try:
            started = time.monotonic()
            async with asyncio.timeout(self.sampling.statement_timeout_s):    # no task per sample, as wait_for has
                row = await self._fetch(conn)
        except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001
            self._statement = self._statement_conn = None
            return self._failed(exc, query=True)
        latency_ms = (time.monotonic() - started) * 1000
        self._backoff_s = 0.0
        self._last_error = None
        return sample_from_row(self.node.name, row, latency_ms)

    _statement = None
    _statement_conn = None

    async def _fetch(self, conn):
        """The sample query, prepared once per connection as a *named* server-side statement. The
        connection has no statement cache, and without a name asyncpg prepares the unnamed statement,
        which it must parse again (a Parse message, and the server's parse and plan) on every call;
        named, each sample is one Bind/Execute. Node DSNs name servers, never a transaction pooler,
        where a named statement would not outlive its transaction."""
        if self._statement_conn is not conn:
            self._statement = await conn.prepare(NODE_SAMPLE, name=SAMPLE_STATEMENT)
            self._statement_conn = conn
        return await self._statement.fetchrow()

    @property
    def server_pid(self) -> int | None:
        """The backend process serving this sampler's open connection (None when it has none): the
        connection is kept between ticks, so this stays the same until the node goes away."""
        if self._conn is None or self._conn.is_closed():
            return None
        return self._conn.get_server_pid()

    async def close(self) -> None:
        if self._conn is not None and self._conn_loop is not asyncio.get_running_loop():
            self._drop()
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await asyncio.wait_for(conn.close(), timeout=1.0)
            except (Exception, asyncio.TimeoutError):  # noqa: BLE001
                conn.terminate()

    async def _connection(self, retry_now: bool = False) -> asyncpg.Connection:
        if self._conn is not None and self._conn_loop is not asyncio.get_running_loop():
            self._drop()                 # opened on another event loop: a connection belongs to its loop
        if self._conn is not None and not self._conn.is_closed():
            return self._conn
        now = time.monotonic()
        if now < self._next_attempt and not retry_now:
            raise SamplerError(self._last_error or "waiting to reconnect")
        password = node_password(self.node.name, self.node.password_env)
        timeout_ms = int(self.sampling.statement_timeout_s * 1000)
        self._conn_loop = asyncio.get_running_loop()
        self._conn = await asyncio.wait_for(
            asyncpg.connect(
                **asyncpg_args(self.node.dsn, password),
                timeout=self.sampling.connect_timeout_s,
                statement_cache_size=0,
                server_settings={"application_name": APPLICATION_NAME, "statement_timeout": str(timeout_ms)},
            ),
            timeout=self.sampling.connect_timeout_s + 0.5,
        )
        return self._conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.terminate()
            except RuntimeError:         # its event loop is already closed: the socket went with it
                pass

    def _failed(self, exc: BaseException, *, query: bool = False) -> NodeSample:
        self._drop()
        if not isinstance(exc, SamplerError):
            self._backoff_s = min(BACKOFF_MAX_S, max(BACKOFF_FIRST_S, self._backoff_s * 2))
            self._next_attempt = time.monotonic() + self._backoff_s
            self._last_error = describe_error(exc, self.sampling, self.node.dsn, query=query)
        return NodeSample(
            name=self.node.name, observed_at=utcnow(), reachable=False,
            error=self._last_error or redact(str(exc)),
        )


def describe_error(exc: BaseException, sampling: Sampling, dsn: str | None = None, *, query: bool = False) -> str:
    """One redacted line for an exception met while sampling, in libpq's words (checks.observe.libpq):
    one stable text per cause; a query that outlived the statement timeout says so, and one the
    server answered with an error says that (never "connection failed": the connection was made)."""
    if not query:
        return connection_error(exc, dsn)
    where = cached_params(dsn).where if dsn else "server"      # a configured DSN, read at load
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return (f"timeout expired: the {where} accepted the connection but did not answer the sample query "
                f"within {sampling.statement_timeout_s:g} s")
    if isinstance(exc, asyncpg.PostgresError):
        return redact(f"the {where} answered the sample query with an error: {error_line(exc)}")
    return connection_error(exc, dsn)


def sample_from_row(name: str, row: asyncpg.Record, latency_ms: float) -> NodeSample:
    """Build a NodeSample from the NODE_SAMPLE row."""
    receiver = json.loads(row["wal_receiver"]) if row["wal_receiver"] else None
    peers = json.loads(row["replication"]) if row["replication"] else []
    not_replayed = row["bytes_not_replayed"]
    return NodeSample(
        name=name,
        observed_at=utcnow(),
        reachable=True,
        latency_ms=round(latency_ms, 3),
        in_recovery=row["in_recovery"],
        tx_read_only=row["tx_read_only"],
        server_version=row["server_version"],
        cluster_name=row["cluster_name"] or None,
        system_identifier=row["system_identifier"],
        postmaster_start=iso_utc(row["postmaster_start"]) if row["postmaster_start"] else None,
        data_directory=row["data_directory"],
        apply_delay_s=row["apply_delay_s"],
        receive_lsn=row["receive_lsn"],
        replay_lsn=row["replay_lsn"],
        bytes_not_replayed=int(not_replayed) if not_replayed is not None else None,
        raw_replay_delay_s=row["replay_delay_s"],
        replay_paused=row["replay_paused"],
        current_lsn=row["current_lsn"],
        flush_lsn=row["flush_lsn"],
        timeline=row["timeline"],
        wal_receiver=WalReceiver(**receiver) if receiver else None,
        replication=tuple(ReplicationPeer(**peer) for peer in peers),
    )


async def sample_all(samplers: list[NodeSampler], *, retry_now: bool = False) -> list[NodeSample]:
    """One round over every node at once; a slow node costs only its own budget."""
    return list(await asyncio.gather(*(s.sample(retry_now=retry_now) for s in samplers)))

