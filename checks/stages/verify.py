"""Stage 5: prove the new primary serves Odoo, and that nothing still talks to the old one.

Checks (each journaled as evidence): the new primary is writable (``in_recovery = f``,
``transaction_read_only = off``); Odoo login through its XML-RPC API; a business write
probe (a draft ``sale.order`` created, updated and removed, labelled with the incident
id); cron progress (``ir_cron.lastcall`` advancing on the new primary, failed
``queue_job`` rows not spiking); stragglers (``SHOW SERVERS`` on every PgBouncer pointing
at another node, Odoo sessions on the old primary if it answers).

Every run first samples every node again and judges that round
(:func:`checks.runbook.one_writer.confirm_one_writer`): unless exactly the node being verified is
writable, and every other node is reachable and read-only, fenced, or attested down, every
check of the run fails with that sentence. A journal's old pass is never the present.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime

from checks.config.conninfo import with_dbname
from checks.config.model import Node
from checks.config.redact import redact
from checks.errors import error_line
from checks.incident.evidence import Check
from checks.observe.connect import NodeUnreachable, node_connection
from checks.observe.queries import CRON_LASTCALL, FAILED_JOBS_SINCE, HAS_QUEUE_JOB, ODOO_SESSIONS, WRITABLE_CHECK
from checks.observe.sample import utcnow
from checks.runbook.gates import required_checks
from checks.runbook.one_writer import confirm_one_writer
from checks.runbook.operation import Operation
from checks.stages.odoo_rpc import OdooClient, OdooError, in_thread, write_probe
from checks.stages.pgbouncer import PgBouncerError, admin_show


def _on_database(node: Node, db: str) -> Node:
    return node.model_copy(update={"dsn": with_dbname(node.dsn, db)})


async def check_writable(op: Operation, new: Node) -> tuple[bool, str]:
    try:
        async with node_connection(new, op.cluster.sampling, purpose="verify") as conn:
            row = await conn.fetchrow(WRITABLE_CHECK, timeout=op.cluster.sampling.statement_timeout_s)
    except NodeUnreachable as exc:
        return False, str(exc)
    ok = row["in_recovery"] is False and row["tx_read_only"] == "off"
    return ok, f"{new.name}: in_recovery = {'t' if row['in_recovery'] else 'f'}, transaction_read_only = {row['tx_read_only']}"


async def check_cron(op: Operation, new: Node, since: datetime) -> tuple[bool, str]:
    odoo = op.cluster.odoo
    target = _on_database(new, odoo.db)
    deadline = time.monotonic() + odoo.cron_wait_s
    try:
        async with node_connection(target, op.cluster.sampling, purpose="verify") as conn:
            naive_since = since.replace(tzinfo=None)     # Odoo stores UTC in timestamp without time zone
            while True:
                last = await conn.fetchval(CRON_LASTCALL)
                if last is not None and last >= naive_since:
                    break
                if time.monotonic() > deadline:
                    return False, f"ir_cron.lastcall did not advance past {since:%H:%M:%SZ} within {odoo.cron_wait_s:g}s (last: {last})"
                await asyncio.sleep(0.5)
            failed = await conn.fetchval(FAILED_JOBS_SINCE, naive_since) if await conn.fetchval(HAS_QUEUE_JOB) else None
    except NodeUnreachable as exc:
        return False, str(exc)
    except Exception as exc:  # noqa: BLE001 - e.g. no ir_cron table: a fact to report
        return False, f"cannot read cron progress on {new.name}/{odoo.db}: {redact(error_line(exc))}"
    if failed is not None and failed > odoo.max_failed_jobs:
        return False, f"{failed} queue_job rows failed since promotion (more than {odoo.max_failed_jobs})"
    jobs = "no queue_job table" if failed is None else f"{failed} failed queue_job since promotion"
    return True, f"ir_cron.lastcall {last:%H:%M:%S} is after promotion; {jobs}"


async def check_stragglers(op: Operation, new: Node) -> tuple[bool, str]:
    others = [n for n in op.cluster.nodes if n.name != new.name]
    old_addrs = {(n.host, n.port): n.name for n in others}
    problems, lines = [], []
    for pgb in op.cluster.pgbouncers:
        try:
            servers = await admin_show(pgb, "servers")
            clients = await admin_show(pgb, "clients")
        except PgBouncerError as exc:
            problems.append(str(exc))
            continue
        stale = [s for s in servers if (s.get("addr"), int(s.get("port") or 0)) in old_addrs]
        if stale:
            problems.append(f"{pgb.name}: {len(stale)} server connection(s) still to {old_addrs[(stale[0]['addr'], int(stale[0]['port']))]}")
        lines.append(f"{pgb.name}: {len(servers)} server and {len(clients)} client connection(s), none to an old node"
                     if not stale else "")
    db = op.cluster.odoo.db if op.cluster.odoo else None
    for node in others:
        try:
            async with node_connection(node, op.cluster.sampling, purpose="verify") as conn:
                count = await conn.fetchval(ODOO_SESSIONS, db, timeout=op.cluster.sampling.statement_timeout_s)
        except NodeUnreachable:
            lines.append(f"{node.name} unreachable: no sessions can reach it through this path")
            continue
        if count:
            problems.append(f"{count} Odoo session(s) still on {node.name}")
        else:
            lines.append(f"{node.name}: no Odoo sessions")
    return not problems, "; ".join(problems) if problems else "; ".join(line for line in lines if line)


async def verify_all(op: Operation, target: str | None = None, *, context: dict | None = None) -> bool:
    """Every stage 5 check against the new primary (or ``target``, in a rollback), journaled.
    First, one sampling round: no other writer, nothing unaccounted for, else every check fails."""
    # a rollback re-verifies an incident that may be closed already (it is the incident's aftermath)
    state = op.require(5, "verify", closed_ok=target is not None)
    new = op.cluster.node(target or state.candidate)
    promoted_at = _promoted_at(op)
    results: dict[str, tuple[bool, str]] = {}
    run = uuid.uuid4().hex[:12]

    def record(check: str, result: tuple[bool, str]) -> None:
        """Journal each check as it ends: the operator sees verification progress, and a slow
        Odoo login (PgBouncer's server_login_retry) does not hide the checks already done."""
        results[check] = passed, text = result
        op.log("evidence", f"{check}: {'pass' if passed else 'FAIL'}: {text}", stage=5,
               data={"check": check, "passed": passed, "node": new.name, "verify_run": run, **(context or {})})

    problem = await confirm_one_writer(op, new.name)
    if problem:
        for check in required_checks(op.cluster):
            record(check, (False, problem))
        return False
    record("new_primary_writable", await check_writable(op, new))
    if op.cluster.odoo:
        label = f"incident {op.journal.incident_id}"
        try:
            client = OdooClient(op.cluster.odoo)
            uid, tries, waited = await login_with_retry(client)
            record("odoo_login", (True, f"common.authenticate as {op.cluster.odoo.login}: uid {uid}"
                                        + (f" after {tries} tries in {waited:.1f}s" if tries > 1 else "")
                                        + superuser_note(uid)))
            started = time.monotonic()
            line = await in_thread(write_probe, client, label)
            record("write_probe", (True, f"{line} in {(time.monotonic() - started) * 1000:.0f} ms"))
        except OdooError as exc:
            for check in ("odoo_login", "write_probe"):
                if check not in results:
                    record(check, (False, str(exc)))
        record("cron_progress", await check_cron(op, new, promoted_at))
    record("stragglers", await check_stragglers(op, new))
    return all(passed for passed, _ in results.values())


def superuser_note(uid: int) -> str:
    """uid 1 is Odoo's superuser (it skips access rules) and uid 2 usually admin (it holds every
    right): a probe logged in as either cannot catch an access problem, so the evidence says so."""
    if uid not in (1, 2):
        return ""
    who = "Odoo's superuser, which skips every access rule" if uid == 1 else "usually admin, which holds every right"
    return (f"; note: uid {uid} is {who}, so this probe cannot catch an access problem: log in as a dedicated "
            "probe user (README: Odoo probe user)")


async def login_with_retry(client: OdooClient) -> tuple[int, int, float]:
    """Odoo's first login after a cutover can wait on PgBouncer's ``server_login_retry`` (15 s by
    default) when its pool last failed against the dead primary: retry, bounded, then give up."""
    started = time.monotonic()
    tries = 0
    while True:
        tries += 1
        try:
            return await in_thread(client.authenticate), tries, time.monotonic() - started
        except OdooError as exc:
            if "Access Denied" in str(exc) or "refused on database" in str(exc) or \
                    time.monotonic() - started > LOGIN_RETRY_S:
                raise
            await asyncio.sleep(login_retry_step(time.monotonic() - started))


LOGIN_RETRY_S = 20.0
LOGIN_RETRY_FAST_S = 2.0


def login_retry_step(elapsed_s: float) -> float:
    """The wait before the next login try. PgBouncer refuses such a login at once, so short steps
    end the wait soon after its retry delay does (the RTO ends at this check's write probe): every
    0.1 s for the first two seconds, which covers a short ``server_login_retry``; then every second,
    so that the default 15 s does not meet ten logins a second on an Odoo just cut over."""
    return 0.1 if elapsed_s < LOGIN_RETRY_FAST_S else 1.0


def _promoted_at(op: Operation) -> datetime:
    events = [e for e in op.journal.events(kinds={"evidence"}) if e.stage == 3 and e.data.get("check") == Check.PROMOTED]
    return events[-1].at if events else utcnow()
