"""Stage 4: point Odoo's path at the new primary. Poolers first, then the app workers.

For each PgBouncer: PAUSE each database, rewrite its ``[databases]`` entries (the rest
of the ini as it was), RELOAD, verify with SHOW DATABASES, RESUME. Then ``odoo.conf``
(``db_host``/``db_port``), the generic commands (``{host}``/``{port}``), and Odoo's
restart batches in order. Every step is journaled with its exit code.
"""

from __future__ import annotations

from pathlib import Path

from checks.config.files import write_atomic
from checks.config.model import Node, PgBouncer
from checks.errors import CockpitError
from checks.incident.evidence import Check, Step
from checks.observe.lsn import human_seconds
from checks.observe.pooler import pool_queue
from checks.runbook.commands import CommandResult, fill_placeholders, run_command
from checks.runbook.operation import Operation
from checks.stages.inifile import set_keys
from checks.stages.pgbouncer import (
    AdminConsole, PgBouncerError, admin_console, entry_target, preload_show_driver, resume, rewrite_databases
)
from checks.stages.promote import journal_timeline_if_missing


class StepFailed(CockpitError):
    pass


async def cutover_pgbouncer(pgb: PgBouncer, host: str, port: int, queued: dict | None = None,
                            held: AdminConsole | None = None) -> list[str]:
    """The PAUSE/rewrite/RELOAD/verify/RESUME driver; raises StepFailed with one line. Returns step lines.
    ``queued`` receives, per database, the clients waiting and the longest wait just before RESUME
    (``SHOW POOLS`` on the session that verifies ``SHOW DATABASES``): the stall Odoo's users felt.
    ``held``: the session a switchover opened before its PAUSE, used when it still works."""
    preload_show_driver()
    lines = []
    async with admin_console(pgb, timeout_s=15, held=held) as console:
        try:                             # a PAUSE that fails on the second database still resumes the first
            for db in pgb.databases:
                await console.execute(f"PAUSE {db}")
                lines.append(f"PAUSE {db}")
            if pgb.ini_path:
                path = Path(pgb.ini_path)
                text, done = rewrite_databases(path.read_text(encoding="utf-8"), pgb.databases, host, port)
                missing = sorted(set(pgb.databases) - set(done))
                if missing:
                    raise StepFailed(f"{pgb.name}: {path} has no [databases] entry for {', '.join(missing)}")
                write_atomic(path, text, keep_owner=True)
                lines.append(f"rewrote {', '.join(done)} in {path}")
            await console.execute("RELOAD", timeout_s=10)
            lines.append("RELOAD")
            seen = await console.show(("databases", "pools"))
            shown = seen["databases"]
            for db in pgb.databases:
                queue = pool_queue(seen, db)
                if queued is not None and queue:
                    queued[db] = queue
                    lines.append(queue_line(db, queue))
                target = entry_target(shown, db)
                if target != (host, port):
                    raise StepFailed(f"{pgb.name}: SHOW DATABASES has {db} -> {target[0]}:{target[1]}, "
                                     f"not {host}:{port}")
            lines.append(f"SHOW DATABASES: {', '.join(pgb.databases)} -> {host}:{port}")
        finally:
            for db in pgb.databases:
                lines.append(await _resume(console, db))
    return lines


def queue_line(db: str, queue: dict) -> str:
    """What waited in PgBouncer just before RESUME, in one line."""
    waiting = queue.get("cl_waiting") or 0
    if not waiting:
        return f"no client of {db} was waiting at RESUME"
    return (f"{waiting} client{'s' if waiting != 1 else ''} of {db} waited at RESUME, the longest "
            f"{human_seconds(queue.get('maxwait_s') or 0)}")


async def _resume(console: AdminConsole, db: str) -> str:
    """RESUME on the driver's session, or on a new one if that fails: never leave Odoo paused."""
    try:
        await resume(console.pgb, db, console)
    except PgBouncerError as exc:
        return f"RESUME {db} failed: {exc}"
    return f"RESUME {db}"


def cutover_odoo_conf(path: Path, host: str, port: int) -> str:
    path = Path(path)
    write_atomic(path, keep_owner=True, text=set_keys(path.read_text(encoding="utf-8"), "options",
                                {"db_host": host, "db_port": str(port)}))
    return f"{path}: db_host = {host}, db_port = {port}"


def odoo_conf_target(path: Path) -> tuple[str | None, int | None]:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding="utf-8")
    host = parser.get("options", "db_host", fallback=None)
    port = parser.get("options", "db_port", fallback=None)
    return host, int(port) if port and port.isdigit() else None


async def cut_over(op: Operation, target: str | None = None, *, context: dict | None = None) -> bool:
    """Run every configured driver for the new primary (or ``target``, in a rollback); journal each
    step and the final verdict. ``context`` is added to every journaled entry (``{"rollback": True}``)."""
    state = op.require(4, "cut over", closed_ok=target is not None)   # a rollback may follow the close
    new: Node = op.cluster.node(target or state.candidate)
    extra = dict(context or {})
    host, port = new.host, new.port
    ok = True
    targets: dict[str, str] = {}
    for pgb in op.cluster.pgbouncers:
        target = f"pgbouncer:{pgb.name}"
        queued: dict[str, dict] = {}
        held = op.consoles.pop(pgb.name, None)    # opened before a switchover's PAUSE (fence_sequence)
        try:
            lines = await cutover_pgbouncer(pgb, host, port, queued, held=held)
            op.log("action", f"{target}: " + "; ".join(lines), stage=4,
                   data={"target": target, "exit_code": 0, "steps": lines, "queued_at_resume": queued, **extra})
            targets[target] = "ok"
        except (PgBouncerError, StepFailed, OSError) as exc:
            ok = False
            targets[target] = str(exc)
            op.log("action", f"{target}: FAILED: {exc}", stage=4, data={"target": target, "exit_code": 1, **extra})
        finally:
            if held is not None:                  # resumed (or failed): nothing is held paused any more
                await held.close()
    await journal_timeline_if_missing(op, new.name)     # a switchover's promotion left it for after RESUME
    odoo = op.cluster.odoo
    if ok and odoo and odoo.conf_path:
        try:
            line = cutover_odoo_conf(odoo.conf_path, host, port)
            op.log("action", f"odoo.conf: {line}", stage=4, data={"target": "odoo.conf", "exit_code": 0, **extra})
            targets["odoo.conf"] = "ok"
        except OSError as exc:
            ok = False
            targets["odoo.conf"] = str(exc)
            op.log("action", f"odoo.conf: FAILED: {exc}", stage=4, data={"target": "odoo.conf", "exit_code": 1, **extra})
    if ok:
        for command in op.cluster.cutover_commands:
            argv = fill_placeholders(command.command, {"host": host, "port": str(port)})
            result = await run_command(command.name, argv, command.timeout_s)
            op.log_command(result, stage=4, step=Step.CUTOVER, target=f"command:{command.name}", **extra)
            targets[f"command:{command.name}"] = "ok" if result.ok else result.summary()
            ok = ok and result.ok
    if ok and odoo:
        for i, argv in enumerate(odoo.restart_batches, start=1):
            result: CommandResult = await run_command(f"restart odoo batch {i}", argv, 300)
            op.log_command(result, stage=4, step=Step.CUTOVER, target=f"restart:batch{i}", **extra)
            targets[f"restart:batch{i}"] = "ok" if result.ok else result.summary()
            ok = ok and result.ok
    verdict = (f"every target points at {new.name} ({host}:{port})" if ok else
               "cutover incomplete: " + "; ".join(f"{t}: {v}" for t, v in targets.items() if v != "ok"))
    op.log("evidence", verdict, stage=4, data={"check": Check.TARGETS, "passed": ok, "host": host, "port": port,
                                              "node": new.name, "targets": targets, **extra})
    return ok
