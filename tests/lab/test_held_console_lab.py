"""A planned switchover holds one PgBouncer console session from its PAUSE to the cutover's RESUME
(checks.stages.pgbouncer.AdminConsole on Operation.consoles): nothing is connected inside the pause.
A held session that broke meanwhile must never leave Odoo paused or the cutover half done."""

from __future__ import annotations

import asyncio
import socket

import pytest

from checks.stages.cutover import cut_over
from checks.stages.freshness import choose
from checks.stages.old_primary import fence_old_primary
from checks.stages.pgbouncer import admin_show, entry_target
from checks.stages.promote import promote_candidate
from checks.stages.stabilize import set_roles, skip_freeze
from tests.drill_helpers import writable_nodes
from tests.lab.test_fault_matrix_lab import operation

pytestmark = pytest.mark.lab


def _cut(console) -> None:
    """Cut the held session's TCP connection under psycopg's feet, as a network blip or a PgBouncer
    restart would: psycopg still believes it is open."""
    sock = socket.socket(fileno=console.conn.pgconn.socket)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    finally:
        sock.detach()


async def _paused(pgb) -> bool:
    rows = await admin_show(pgb, "databases")
    return next(int(r["paused"]) for r in rows if r["name"] == "odoo") == 1


@pytest.mark.parametrize("broken", [False, True], ids=["held session", "held session cut before the cutover"])
def test_a_switchover_resumes_odoo_on_the_held_session_or_a_new_one(fresh_lab, tmp_path, broken):
    lab = fresh_lab
    op = operation(lab, tmp_path / "inc")
    pgb = op.cluster.pgbouncers[0]
    node2 = op.cluster.node("node2")

    async def scenario():
        set_roles(op, "olga", "sam", "alice")
        skip_freeze(op, "held console test")
        await choose(op, "node2")
        await fence_old_primary(op, allowed=True)          # node1 writable: PAUSE, final LSN, catch up, fence
        held = op.consoles.get(pgb.name)
        assert held is not None and await held.answers(), "the PAUSE's session is held for the cutover"
        assert await _paused(pgb)
        if broken:
            _cut(held)
            assert not await held.answers()
        await promote_candidate(op, "node2")
        ok = await cut_over(op)
        left = dict(op.consoles)
        still_paused = await _paused(pgb)
        target = entry_target(await admin_show(pgb, "databases"), "odoo")
        await op.close()
        return ok, left, still_paused, target

    ok, left, still_paused, target = asyncio.run(scenario())
    assert ok is True, [e.text for e in op.journal.events(kinds={"action", "evidence"})][-4:]
    assert left == {} and still_paused is False                  # resumed, and nothing held any more
    assert target == (node2.host, node2.port)
    assert writable_nodes(lab) == ["node2"]
    cutover = next(e for e in op.journal.events(kinds={"action"}) if e.data.get("target") == "pgbouncer:pgb1")
    assert cutover.data["exit_code"] == 0 and "RESUME odoo" in cutover.data["steps"]
