"""Fixed PgBouncer probes for the PgBouncer panel's Pilot tests and snapshots (no PgBouncer needed).

The cluster is :data:`tests.fixtures_samples.CLUSTER` (node1..node3 on 127.0.0.1:5432..5434) with
two PgBouncers: ``pgb1`` (databases ``odoo`` and ``odoo_reports``) and ``pgb2`` (``odoo``).
"""

from __future__ import annotations

from checks.config.model import Cluster
from checks.observe.pooler import PoolProbe
from tests.fixtures_samples import CLUSTER

PGB_CLUSTER = Cluster.model_validate({
    **CLUSTER.model_dump(mode="json", exclude={"pgbouncers"}),
    "pgbouncers": [
        {"name": "pgb1", "admin_dsn": "postgresql://pgbouncer@127.0.0.1:6432/pgbouncer",
         "databases": ["odoo", "odoo_reports"]},
        {"name": "pgb2", "admin_dsn": "postgresql://pgbouncer@127.0.0.1:6433/pgbouncer", "databases": ["odoo"]},
    ],
})

CONSOLE_REFUSED = ('pgb2: cannot reach the admin console: connection failed: connection to server at "127.0.0.1", '
                   "port 6433 failed: Connection refused")


def probe(pgbouncer: str = "pgb1", database: str = "odoo", **facts) -> PoolProbe:
    """A probe of a healthy path to node1 unless ``facts`` say otherwise."""
    base = {"upstream": "127.0.0.1:5432", "reaches": "node1", "connected": True, "writable": True,
            "cl_active": 12, "cl_waiting": 0, "maxwait_s": 0.0, "avg_wait_ms": 0.4, "latency_ms": 3.2}
    return PoolProbe(pgbouncer=pgbouncer, database=database, **{**base, **facts})


def writable() -> PoolProbe:
    return probe()


def queued() -> PoolProbe:
    """Clients queue for a server: 7 waiting, the oldest for 4.2 s."""
    return probe(database="odoo_reports", cl_active=20, cl_waiting=7, maxwait_s=4.2, avg_wait_ms=850.0)


def paused() -> PoolProbe:
    return probe(paused=True, connected=False, writable=None, latency_ms=None, cl_active=0, cl_waiting=5,
                 maxwait_s=12.5, error="paused (PAUSE): a new client waits until RESUME")


def dead_upstream() -> PoolProbe:
    """PgBouncer points at a port where nothing listens, which no node of the config has."""
    return probe(pgbouncer="pgb2", upstream="127.0.0.1:6000", reaches=None, connected=False, writable=None,
                 error="pgbouncer cannot connect to server", cl_active=0, cl_waiting=2, maxwait_s=1.5,
                 latency_ms=15.0)


def read_only() -> PoolProbe:
    return probe(upstream="127.0.0.1:5433", reaches="node2", writable=False)


def console_down() -> PoolProbe:
    """pgb2 is down: its console does not answer, nor does a new client (in libpq's words, as the probe says it)."""
    return PoolProbe(pgbouncer="pgb2", database="odoo", console_error=CONSOLE_REFUSED, connected=False,
                     error=('connection to server at "127.0.0.1", port 6433 failed: Connection refused (is the '
                            "server running on that host and accepting TCP/IP connections?)"), latency_ms=0.8)


def cutover_stall() -> list[PoolProbe]:
    """Both PgBouncers during a stalled cutover: pgb1 writes for odoo, queues for odoo_reports; pgb2
    points at a dead port."""
    return [writable(), queued(), dead_upstream()]
