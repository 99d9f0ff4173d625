"""The activity view (key a) against a real lab: Odoo stragglers on a standby, a real lock wait on the primary.

The sessions are real: connections with application_name 'odoo' on node2 (a standby), and on node1 a
transaction that holds a row lock (and ran an ALTER ROLE ... PASSWORD, the secret the view must mask)
while another session waits for it. Everything is undone: the holder rolls back (the role it created
never existed), the waiter ends, the connections close, the table is dropped.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from contextlib import asynccontextmanager

import asyncpg
import pytest

from checks.config.model import load_config
from checks.observe.activity import odoo_verdict, sample_activity
from tests.conftest import psql

pytestmark = pytest.mark.lab


def cluster_of(lab, **sampling):
    name, cluster = load_config(lab.status()["config"]).cluster(None)
    if sampling:
        cluster = cluster.model_copy(update={"sampling": cluster.sampling.model_copy(update=sampling)})
    return name, cluster


@asynccontextmanager
async def real_sessions(cluster):
    """Odoo's stragglers on node2, and on node1 a lock holder (an 'odoo' worker idle in transaction, its
    last statement an ALTER ROLE with a password) and a session waiting for its row."""
    tag = secrets.token_hex(4)
    table, role, secret = f"activity_lab_{tag}", f"activity_lab_{tag}", f"lab-secret-{secrets.token_hex(8)}"
    node1, node2 = cluster.node("node1"), cluster.node("node2")
    opened: list[asyncpg.Connection] = []

    async def connect(node, application_name):
        conn = await asyncpg.connect(node.dsn, server_settings={"application_name": application_name})
        opened.append(conn)
        return conn

    admin = await connect(node1, "activity-lab-admin")
    await admin.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, v int); INSERT INTO {table} VALUES (1, 0)")
    holder = waiter_task = None
    try:
        idle, busy = await connect(node2, "odoo"), await connect(node2, "odoo")
        await idle.execute("SELECT 1")
        await busy.execute("BEGIN READ ONLY; SELECT count(*) FROM pg_class")
        holder = await connect(node1, "odoo")
        await holder.execute(f"BEGIN; UPDATE {table} SET v = v + 1 WHERE id = 1")
        await holder.execute(f"CREATE ROLE {role}")
        await holder.execute(f"ALTER ROLE {role} PASSWORD '{secret}'")
        waiter = await connect(node1, "activity-lab-waiter")
        waiter_task = asyncio.create_task(waiter.execute(f"UPDATE {table} SET v = v + 1 WHERE id = 1"))
        pids = {"stragglers": {idle.get_server_pid(), busy.get_server_pid()}, "holder": holder.get_server_pid(),
                "waiter": waiter.get_server_pid()}
        yield {"pids": pids, "secret": secret, "role": role, "table": table}
    finally:
        if holder is not None:
            await holder.execute("ROLLBACK")           # the role it created never existed
        if waiter_task is not None:
            await asyncio.wait_for(waiter_task, 10)     # the lock is gone: the wait ends
        for conn in opened[1:]:
            await conn.close()                          # a transaction still open (the standby's) ends with it
        await admin.execute(f"DROP TABLE IF EXISTS {table}")
        await admin.close()


async def until(check, timeout: float = 10.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(step)


def test_activity_shows_the_lock_wait_its_blocker_and_odoo_stragglers_on_a_standby(lab):
    _name, cluster = cluster_of(lab)
    st = lab.status()

    async def scenario():
        async with real_sessions(cluster) as made:
            pids = made["pids"]

            async def waiting():
                a = await sample_activity(cluster.node("node1"), cluster.sampling, odoo_db="odoo")
                return a if any(s.pid == pids["waiter"] for s in a.waiting) else None

            primary = await until(waiting)
            standby = await sample_activity(cluster.node("node2"), cluster.sampling, odoo_db="odoo")
            return made, primary, standby

    made, primary, standby = asyncio.run(scenario())
    pids = made["pids"]
    assert primary is not None, "the lock wait never showed"
    assert primary.reachable and primary.in_recovery is False and primary.waiting_sessions >= 1
    wait = next(s for s in primary.waiting if s.pid == pids["waiter"])
    assert wait.blocked_by == (pids["holder"],) and wait.wait_event.startswith("Lock: ")
    assert wait.blocked_by_text() == f"{pids['holder']} (odoo, idle in transaction)"
    assert wait.wait_age_s is not None and wait.wait_age_s >= 0
    holder = next(s for s in primary.longest if s.pid == pids["holder"])
    assert holder.state == "idle in transaction" and holder.application == "odoo"
    assert holder.query == f"ALTER ROLE {made['role']} PASSWORD '*****'"
    assert made["secret"] not in primary.model_dump_json() and made["secret"] not in primary.summary
    assert any(g.application == "odoo" and g.state == "idle in transaction" for g in primary.groups)
    assert "1 waiting on a lock" in primary.summary or "waiting on a lock" in primary.summary
    assert not odoo_verdict(primary, role="primary", writable=("node1",)).stragglers

    assert standby.reachable and standby.in_recovery is True
    assert pids["stragglers"] <= {s.pid for s in standby.odoo} and standby.odoo_sessions >= 2
    verdict = odoo_verdict(standby, role="standby", writable=("node1",))
    assert verdict.stragglers
    assert verdict.sentence.startswith(f"{standby.odoo_sessions} Odoo sessions on node2, a standby: stragglers.")
    # undone: the role never existed, the table is gone, no session of the test is left
    assert psql(st, "node1", f"SELECT count(*) FROM pg_roles WHERE rolname = '{made['role']}'") == "0"
    assert psql(st, "node1", f"SELECT to_regclass('{made['table']}') IS NULL") == "t"
    assert psql(st, "node1", "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'activity-lab%'") == "0"


def test_the_cockpit_view_asks_at_its_rate_only_while_open_and_names_the_stragglers(lab):
    from checks.observe.sampler import NodeSampler
    from tests.pilot.test_activity_screen import screen_text
    from tui.app import CockpitApp
    from widgets.activity_screen import ActivityScreen

    name, cluster = cluster_of(lab, activity_interval_s=1.0)
    st = lab.status()
    seen: dict = {}

    def activity_sessions() -> int:
        return int(psql(st, "node1", "SELECT count(*) FROM pg_stat_activity "
                                     "WHERE application_name = 'failover-cockpit activity'"))

    async def scenario():
        async with real_sessions(cluster):
            app = CockpitApp(name, cluster, samplers={n.name: NodeSampler(n, cluster.sampling) for n in cluster.nodes})
            async with app.run_test(size=(80, 24)) as pilot:
                while app.cluster_view is None or app.cluster_view.writable != ("node1",) or any(
                        n.role == "unknown" for n in app.cluster_view.nodes):
                    await pilot.pause(0.2)
                await pilot.press("a")
                screen = app.screen
                assert isinstance(screen, ActivityScreen) and screen.node == "node1"   # the writer first
                while "node1" not in screen.answers:
                    await pilot.pause(0.1)
                first = screen.answered
                await pilot.pause(3.2)
                seen["rate"] = screen.answered - first
                seen["node1"] = screen_text(screen)
                await pilot.press("right")
                while "node2" not in screen.answers:
                    await pilot.pause(0.1)
                await pilot.pause(0.2)
                seen["node2"] = screen_text(screen)
                await pilot.press("escape")
                await pilot.pause(0.2)
                seen["closed"] = not isinstance(app.screen, ActivityScreen)
                seen["workers"] = [w.name for w in app.workers if w.group == "activity" and not w.is_finished]
                closed_at = screen.answered
                counts = []
                for _ in range(15):
                    counts.append(activity_sessions())
                    await pilot.pause(0.2)
                seen["after_close"] = screen.answered - closed_at
                seen["server_sessions_after_close"] = max(counts)

    asyncio.run(scenario())
    assert 2 <= seen["rate"] <= 5, seen["rate"]          # one question a second, for 3.2 s
    assert "node1 (writable) answered in" in seen["node1"] and "waiting on a lock" in seen["node1"]
    assert "Odoo sessions on node2, a standby: stragglers." in seen["node2"]
    assert seen["closed"] and seen["workers"] == []
    assert seen["after_close"] == 0 and seen["server_sessions_after_close"] == 0
