"""`lab load`: Odoo-like writers through PgBouncer, counting what the clients saw.

Each worker connects as role odoo to database odoo through PgBouncer with
application_name "odoo" and loops until the time is up: one transaction that inserts a
res_partner, inserts a sale_order for it and updates that order, then commits. On any
error (a statement, the commit, or the connection itself) it counts one failed
transaction, drops the connection and reconnects after a short backoff.

The result: ``committed`` (transactions whose COMMIT returned), ``failed`` (attempts that
did not commit), ``max_stall_ms`` (the longest time a worker went without a commit,
counted from its start to its end), ``rows`` (this run's sale orders found at the end
through PgBouncer, so a failover that lost acknowledged commits shows rows < committed;
null when that count could not be read).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import LabError
from .layout import LabPaths
from .odoo import pgbouncer_conninfo
from .odoo_schema import NOW_UTC

MAX_LOAD_SECONDS = 3600.0
MAX_LOAD_WORKERS = 64
BACKOFF_START_S = 0.05
BACKOFF_MAX_S = 0.5
STUCK_GRACE_S = 5.0  # after the end, how long a worker blocked in a call may take to notice

INSERT_PARTNER = (f"INSERT INTO res_partner (name, active, create_date, write_date) "
                  f"VALUES (%s, true, {NOW_UTC}, {NOW_UTC}) RETURNING id")
INSERT_ORDER = (f"INSERT INTO sale_order (partner_id, state, client_order_ref, date_order, create_date, write_date) "
                f"VALUES (%s, 'draft', %s, {NOW_UTC}, {NOW_UTC}, {NOW_UTC}) RETURNING id")
UPDATE_ORDER = f"UPDATE sale_order SET note = %s, write_date = {NOW_UTC} WHERE id = %s"
COUNT_ROWS = "SELECT count(*) FROM sale_order WHERE client_order_ref LIKE %s"


@dataclass
class WorkerStats:
    committed: int = 0
    failed: int = 0
    max_stall_s: float = 0.0
    last_commit: float = 0.0
    done: bool = False


def _worker(index: int, tag: str, conninfo: dict, end: float, stats: WorkerStats,
            conns: dict[int, Any]) -> None:
    import psycopg

    conn = None
    backoff = BACKOFF_START_S
    serial = 0
    stats.last_commit = time.monotonic()
    try:
        while time.monotonic() < end:
            serial += 1
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(**conninfo, autocommit=False, prepare_threshold=None)
                    conns[index] = conn
                with conn.cursor() as cur:
                    cur.execute(INSERT_PARTNER, [f"Lab load customer {tag}-{index}-{serial}"])
                    partner = cur.fetchone()[0]
                    cur.execute(INSERT_ORDER, [partner, f"{tag} w{index}"])
                    order = cur.fetchone()[0]
                    cur.execute(UPDATE_ORDER, [f"updated by lab load {tag} worker {index}", order])
                conn.commit()
            except psycopg.Error:
                stats.failed += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(max(0.0, min(backoff, end - time.monotonic())))
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            now = time.monotonic()
            stats.max_stall_s = max(stats.max_stall_s, now - stats.last_commit)
            stats.last_commit = now
            stats.committed += 1
            backoff = BACKOFF_START_S
    finally:
        stats.max_stall_s = max(stats.max_stall_s, time.monotonic() - stats.last_commit)
        stats.done = True
        if conn is not None:
            conn.close()


def _count_rows(conninfo: dict, tag: str, timeout: float = 5.0) -> int | None:
    """This run's sale orders, or None when they cannot be counted within timeout."""
    import psycopg

    found: list[int] = []

    def count() -> None:
        try:
            with psycopg.connect(**conninfo, autocommit=True, prepare_threshold=None) as conn:
                found.append(int(conn.execute(COUNT_ROWS, [f"{tag} w%"]).fetchone()[0]))
        except psycopg.Error:
            pass

    thread = threading.Thread(target=count, name="load-count", daemon=True)
    thread.start()
    thread.join(timeout)  # a hung server must not hang the report
    return found[0] if found else None


def run_load(lab_dir: Path | str, seconds: float = 30.0, workers: int = 4) -> dict[str, Any]:
    """Run `workers` writers for `seconds` against the lab in lab_dir; the counts as a dict
    ``{"committed", "failed", "max_stall_ms", "rows"}``."""
    if not 0 < seconds <= MAX_LOAD_SECONDS:
        raise LabError(f"--seconds must be more than 0 and at most {MAX_LOAD_SECONDS:g}, not {seconds:g}")
    if not 1 <= workers <= MAX_LOAD_WORKERS:
        raise LabError(f"--workers must be between 1 and {MAX_LOAD_WORKERS}, not {workers}")
    paths = LabPaths(Path(lab_dir).expanduser().absolute())
    state = paths.require()
    conninfo = pgbouncer_conninfo(paths, state)
    conninfo["connect_timeout"] = 2
    tag = f"lab-load {secrets.token_hex(4)}"
    end = time.monotonic() + seconds
    stats = [WorkerStats() for _ in range(workers)]
    conns: dict[int, Any] = {}
    threads = [threading.Thread(target=_worker, args=(i, tag, conninfo, end, stats[i], conns),
                                name=f"load-{i}", daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, end - time.monotonic()) + STUCK_GRACE_S)
    for i, thread in enumerate(threads):
        if thread.is_alive():  # blocked in a call (e.g. a hung server): cancel it, count the stall
            conn = conns.get(i)
            if conn is not None:
                try:
                    cancel = getattr(conn, "cancel_safe", None)  # psycopg >= 3.2
                    cancel(timeout=1.0) if cancel else conn.cancel()
                except Exception:  # noqa: BLE001 - best effort; the thread is a daemon
                    pass
            thread.join(timeout=1.0)
            if not stats[i].done:
                stats[i].max_stall_s = max(stats[i].max_stall_s, time.monotonic() - stats[i].last_commit)
    return {"committed": sum(s.committed for s in stats), "failed": sum(s.failed for s in stats),
            "max_stall_ms": round(max(s.max_stall_s for s in stats) * 1000, 1),
            "rows": _count_rows(conninfo, tag)}
