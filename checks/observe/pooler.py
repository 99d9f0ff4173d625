"""Odoo's own path to the database: what each PgBouncer points at, who waits in it, and whether a
new client can write through it (docs/design.md section 13).

The bastion's view of a node is not Odoo's: a primary cut off from the bastion may still serve
Odoo through PgBouncer. So, for every configured PgBouncer and each of its databases, one round
reads the admin console (``SHOW DATABASES``, ``SHOW POOLS``, ``SHOW STATS``, on one session) and
opens a new client connection through the pooler, as a new Odoo worker would, asking
``pg_is_in_recovery()`` of the server it lands on. A failure keeps its text ("pgbouncer cannot
connect to server", a reset, a timeout): it is the error Odoo's workers see too.

asyncpg cannot read the admin console (it sends the extended query protocol, which the console
refuses for SHOW); psycopg reads it, and is imported only when a console is first read.
"""

from __future__ import annotations

import asyncio
import re
import time

import asyncpg
from pydantic import BaseModel, ConfigDict

from checks.config.conninfo import with_dbname
from checks.config.model import Cluster, PgBouncer
from checks.config.redact import redact
from checks.errors import CockpitError, error_line
from checks.observe.libpq import asyncpg_args, connection_error
from checks.observe.sample import NodeSample
from checks.observe.sampler import APPLICATION_NAME, node_password

APP_PATH_QUERY = """
SELECT pg_is_in_recovery() AS in_recovery,
       current_setting('transaction_read_only') AS tx_read_only,
       inet_server_port() AS server_port,
       (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
       pg_postmaster_start_time() AS postmaster_start
"""


class PgBouncerError(CockpitError):
    """A PgBouncer could not be read or commanded: one redacted line naming the instance."""


class PoolProbe(BaseModel):
    """One database of one PgBouncer, as one round saw it."""

    model_config = ConfigDict(frozen=True)

    pgbouncer: str
    database: str
    console_error: str | None = None     # the admin console did not answer: nothing below but the client path
    upstream: str | None = None          # host:port its [databases] entry points at (SHOW DATABASES)
    paused: bool = False                 # PAUSEd: a new client waits, so the client path is not tried
    reaches: str | None = None           # the config's node that upstream (or the server it lands on) is
    connected: bool = False              # a new client connection and the query worked
    writable: bool | None = None         # what it landed on accepts writes (None: not known)
    error: str | None = None             # why the client path failed, in the server's or pooler's words
    cl_active: int | None = None
    cl_waiting: int | None = None        # clients queued for a server connection
    maxwait_s: float | None = None       # how long the oldest of them has waited
    avg_wait_ms: float | None = None     # SHOW STATS avg_wait_time (over PgBouncer's stats_period)
    latency_ms: float | None = None

    @property
    def target_words(self) -> str:
        return self.reaches or self.upstream or "an unknown server"

    @property
    def writes(self) -> bool:
        """A new client of this database reached a server that accepts writes."""
        return self.connected and bool(self.writable)

    def path_sentence(self) -> str:
        """What a new client of this database met, in one sentence: the signals, the stage 2
        evidence, ``status`` and the headline all say it in these words."""
        where = f"a new client of {self.pgbouncer} ({self.database})"
        if self.writes:
            return f"{where} writes to {self.target_words}"
        if self.connected:
            return f"{where} lands on {self.target_words}, which is read-only (in recovery)"
        return f"{where} cannot write: {self.error or 'no answer'}"


def pooler_error(exc: BaseException, dsn: str | None = None) -> str:
    """One redacted line for an exception met on a PgBouncer ("timeout expired" for a timeout); with
    the ``dsn`` it was connecting to, libpq's sentence for the cause (checks.observe.libpq)."""
    if dsn is not None:
        return connection_error(exc, dsn)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timeout expired"
    return redact(error_line(exc))


async def console_connect(pgb: PgBouncer, timeout_s: float = 10.0):
    """A psycopg session (autocommit) on ``pgb``'s admin console; PgBouncerError with one line."""
    import psycopg  # only the console needs it: not loaded at cockpit start-up

    try:
        password = node_password(pgb.name, pgb.password_env)
    except CockpitError as exc:              # password_env not set: one line, as any console failure
        raise PgBouncerError(f"{pgb.name}: cannot reach the admin console: {exc}") from None
    kwargs = {"password": password} if password else {}
    try:
        return await asyncio.wait_for(
            psycopg.AsyncConnection.connect(pgb.admin_dsn, autocommit=True, connect_timeout=max(1, int(timeout_s)),
                                            **kwargs),
            timeout=timeout_s + 0.5)
    except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001
        raise PgBouncerError(f"{pgb.name}: cannot reach the admin console: {pooler_error(exc)}") from None


async def show_on(conn, pgb: PgBouncer, whats: tuple[str, ...], timeout_s: float = 10.0) -> dict[str, list[dict]]:
    """``SHOW <what>`` for each of ``whats`` on an open console session, by name."""
    for what in whats:
        if not re.fullmatch(r"[A-Za-z_]+", what):
            raise ValueError(f"not a SHOW target: {what!r}")
    from psycopg.rows import dict_row

    shown: dict[str, list[dict]] = {}
    async with conn.cursor(row_factory=dict_row) as cur:
        for what in whats:
            try:
                await asyncio.wait_for(cur.execute(f"SHOW {what.upper()}"), timeout=timeout_s)
                shown[what.lower()] = list(await cur.fetchall())
            except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001
                raise PgBouncerError(f"{pgb.name}: SHOW {what.upper()} failed: {pooler_error(exc)}") from None
    return shown


async def console_close(conn) -> None:
    """Close a console session, never waiting more than a second on a server that went away."""
    try:
        await asyncio.wait_for(conn.close(), timeout=1.0)
    except (Exception, asyncio.TimeoutError):  # noqa: BLE001
        pass


async def console_show(pgb: PgBouncer, whats: tuple[str, ...], timeout_s: float = 10.0) -> dict[str, list[dict]]:
    """``SHOW <what>`` for each of ``whats`` (DATABASES, POOLS, STATS, SERVERS, CLIENTS) on one
    admin session of its own, by name; PgBouncerError with one line otherwise."""
    conn = await console_connect(pgb, timeout_s)
    try:
        return await show_on(conn, pgb, whats, timeout_s)
    finally:
        await console_close(conn)


def client_dsn(pgb: PgBouncer, database: str) -> str:
    """The admin DSN with the database swapped: the same user, password and options, through the pooler."""
    return with_dbname(pgb.admin_dsn, database)


def node_at(cluster: Cluster, host: str | None, port: int | None) -> str | None:
    """The config's node applications reach at host:port (``app_host``/``app_port``, else the DSN's)."""
    if host is None or port is None:
        return None
    return next((n.name for n in cluster.nodes if n.host == host and n.port == port), None)


def node_by_identity(samples: dict[str, NodeSample], row) -> str | None:
    """The node whose last sample is the same server (system identifier and start time)."""
    for name, s in samples.items():
        if (s.reachable and s.system_identifier == row["system_identifier"] and s.postmaster_start
                and row["postmaster_start"] is not None
                and s.postmaster_start[:19] == row["postmaster_start"].strftime("%Y-%m-%dT%H:%M:%S")):
            return name
    return None


SERVER_STATES = ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")
NOT_CONNECTING = ("pgbouncer cannot connect to server: it holds no server connection for {db} and is not opening "
                  "one (it waits to retry after a failed connect), so a new client waits")


NOT_CONNECTING_STEP_S = 0.05    # a crash failover probes the client path three times before it promotes


async def _not_connecting(pgb: PgBouncer, database: str, timeout_s: float) -> bool:
    """True once PgBouncer's own counters say a waiting client will get no server: clients wait for
    the database and it holds no server connection in any state, not even one logging in, twice in a
    row. A live server PgBouncer can reach shows a connection logging in (``sv_login``) or one in use
    within milliseconds, so this never cuts a slow but working path short. Returns False at the end
    of ``timeout_s`` (the client path's own timeout then says it)."""
    deadline = time.monotonic() + timeout_s
    # its chance to start connecting, as it does for any new client: PgBouncer counts a server
    # connection as sv_login from its connect() on, so 50 ms is many round trips even to a remote server
    await asyncio.sleep(NOT_CONNECTING_STEP_S)
    seen = 0
    while time.monotonic() < deadline:
        try:
            rows = [r for r in (await console_show(pgb, ("pools",), timeout_s))["pools"] if r.get("database") == database]
        except PgBouncerError:
            return False
        waiting = sum(int(r.get("cl_waiting") or 0) for r in rows)
        servers = sum(int(r.get(k) or 0) for r in rows for k in SERVER_STATES)
        seen = seen + 1 if rows and waiting and not servers else 0
        if seen >= 2:
            return True
        await asyncio.sleep(NOT_CONNECTING_STEP_S)
    return False


async def _client_path(pgb: PgBouncer, database: str, cluster: Cluster) -> tuple[dict | None, str | None, float]:
    """A new client through the pooler, as a new Odoo worker: what it lands on, or why it cannot.
    While it waits, PgBouncer's console is read: a pooler that is not even connecting ends the wait."""
    started = time.monotonic()
    client = asyncio.ensure_future(_new_client(pgb, database, cluster))
    watch = asyncio.ensure_future(_not_connecting(
        pgb, database, cluster.sampling.connect_timeout_s + cluster.sampling.statement_timeout_s))
    try:
        done, _ = await asyncio.wait({client, watch}, return_when=asyncio.FIRST_COMPLETED)
        if client in done or not watch.result():
            row, error = await client
            return row, error, (time.monotonic() - started) * 1000
        return None, NOT_CONNECTING.format(db=database), (time.monotonic() - started) * 1000
    finally:
        for task in (client, watch):
            if not task.done():
                task.cancel()
        await asyncio.gather(client, watch, return_exceptions=True)


async def _new_client(pgb: PgBouncer, database: str, cluster: Cluster) -> tuple[dict | None, str | None]:
    sampling = cluster.sampling
    conn, phase = None, "connect"
    try:
        conn = await asyncio.wait_for(
            asyncpg.connect(**asyncpg_args(client_dsn(pgb, database), node_password(pgb.name, pgb.password_env)),
                            timeout=sampling.connect_timeout_s, statement_cache_size=0,
                            server_settings={"application_name": f"{APPLICATION_NAME} app path"}),
            timeout=sampling.connect_timeout_s + 0.5)
        phase = "query"
        row = await asyncio.wait_for(conn.fetchrow(APP_PATH_QUERY), timeout=sampling.statement_timeout_s)
        return dict(row), None
    except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001 - the failure is the finding
        timed_out = isinstance(exc, (asyncio.TimeoutError, TimeoutError))
        text = pooler_error(exc, client_dsn(pgb, database) if phase == "connect" and not timed_out else None)
        if timed_out and phase == "connect":
            text = f"timeout expired: {pgb.name} did not let a new client in within {sampling.connect_timeout_s:g} s"
        elif timed_out:
            text = (f"timeout expired: a new client got no server within {sampling.statement_timeout_s:g} s "
                    f"(PgBouncer cannot reach the server it points at, or every server connection is busy)")
        return None, text
    finally:
        if conn is not None:
            conn.terminate()


def pool_queue(shown: dict[str, list[dict]], database: str) -> dict:
    """The database's pools summed over users (one row per database and user in SHOW POOLS)."""
    rows = [r for r in shown.get("pools", []) if r.get("database") == database]
    if not rows:
        return {}
    wait = max(float(r.get("maxwait") or 0) + float(r.get("maxwait_us") or 0) / 1e6 for r in rows)
    return {"cl_active": sum(int(r.get("cl_active") or 0) for r in rows),
            "cl_waiting": sum(int(r.get("cl_waiting") or 0) for r in rows), "maxwait_s": round(wait, 3)}


async def probe_pgbouncer(pgb: PgBouncer, cluster: Cluster, samples: dict[str, NodeSample] | None = None
                          ) -> list[PoolProbe]:
    """One round over one PgBouncer: its console once, then a client through it per database."""
    samples = samples or {}
    timeout = cluster.sampling.connect_timeout_s + cluster.sampling.statement_timeout_s
    try:
        shown, console_error = await console_show(pgb, ("databases", "pools", "stats"), timeout), None
    except PgBouncerError as exc:
        shown, console_error = {}, str(exc)

    async def one(database: str) -> PoolProbe:
        entry = next((r for r in shown.get("databases", []) if r.get("name") == database), None)
        host = entry.get("host") if entry else None
        port = int(entry["port"]) if entry and entry.get("port") is not None else None
        paused = bool(entry and int(entry.get("paused") or 0))
        stats = next((r for r in shown.get("stats", []) if r.get("database") == database), {})
        facts = {"pgbouncer": pgb.name, "database": database, "console_error": console_error,
                 "upstream": f"{host}:{port}" if host else None, "paused": paused,
                 "reaches": node_at(cluster, host, port), **pool_queue(shown, database),
                 "avg_wait_ms": round(float(stats["avg_wait_time"]) / 1000, 3) if stats.get("avg_wait_time")
                 is not None else None}
        if paused:
            return PoolProbe(**facts, error="paused (PAUSE): a new client waits until RESUME")
        row, error, latency = await _client_path(pgb, database, cluster)
        if row is None:
            return PoolProbe(**facts, error=error, latency_ms=round(latency, 3))
        reaches = facts["reaches"] or node_by_identity(samples, row) or node_at(cluster, host, row["server_port"])
        return PoolProbe(**{**facts, "reaches": reaches}, connected=True, latency_ms=round(latency, 3),
                         writable=row["in_recovery"] is False)

    return list(await asyncio.gather(*(one(db) for db in pgb.databases)))


async def probe_app_path(cluster: Cluster, samples: dict[str, NodeSample] | None = None) -> list[PoolProbe]:
    """Every PgBouncer at once; one that hangs costs only its own timeouts."""
    rounds = await asyncio.gather(*(probe_pgbouncer(p, cluster, samples) for p in cluster.pgbouncers))
    return [probe for found in rounds for probe in found]


def app_writers(probes: list[PoolProbe]) -> dict[str, str]:
    """Nodes Odoo writes to through a pooler this round: node -> the sentence that says so."""
    found: dict[str, str] = {}
    for p in probes:
        if p.writes and p.reaches:
            found.setdefault(p.reaches, p.path_sentence())
    return found
