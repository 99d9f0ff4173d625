"""PgBouncer's admin console, and rewriting the ``[databases]`` entries of its ini file.

One psycopg session does both the commands (PAUSE, RELOAD, RESUME) and the reads (``SHOW``): the
console speaks only the simple query protocol, which psycopg sends for a query without
parameters (asyncpg cannot read ``SHOW`` there). A planned switchover opens the session before
its PAUSE and keeps it to the cutover's RESUME (:attr:`Operation.consoles`), so no connection and
no SCRAM exchange (~10 ms each) is made while Odoo's requests wait.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager

from checks.config.model import PgBouncer
from checks.observe.pooler import PgBouncerError, console_close, console_connect, console_show, pooler_error, show_on

__all__ = ["PgBouncerError", "AdminConsole", "admin_console", "admin_execute", "admin_show", "entry_target",
           "open_console", "preload_show_driver", "resume", "rewrite_databases"]


class AdminConsole:
    """One session on the admin console (see :func:`open_console`)."""

    def __init__(self, pgb: PgBouncer, conn, timeout_s: float) -> None:
        self.pgb, self.conn, self.timeout_s = pgb, conn, timeout_s

    @property
    def usable(self) -> bool:
        """Still open and not broken (a held session may have been cut since it was opened)."""
        return not self.conn.closed and not self.conn.broken

    async def answers(self) -> bool:
        """One round trip (``SHOW VERSION``) proves a held session still works; a server that went
        away or a cut connection says no within a second."""
        if not self.usable:
            return False
        try:
            await asyncio.wait_for(self.conn.execute("SHOW VERSION"), timeout=1.0)
            return True
        except (Exception, asyncio.TimeoutError):  # noqa: BLE001 - any failure: open a new session
            return False

    async def execute(self, command: str, timeout_s: float | None = None) -> None:
        """PAUSE/RESUME/RELOAD...; ``already paused`` and ``not paused`` count as done."""
        try:
            await asyncio.wait_for(self.conn.execute(command), timeout=timeout_s or self.timeout_s)
        except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001
            text = pooler_error(exc)
            if "already paused" in text and command.upper().startswith("PAUSE"):
                return
            if "not paused" in text and command.upper().startswith("RESUME"):
                return
            raise PgBouncerError(f"{self.pgb.name}: {command} failed: {text}") from None

    async def show(self, whats: tuple[str, ...], timeout_s: float | None = None) -> dict[str, list[dict]]:
        """``SHOW <what>`` for each of ``whats`` on this session, by name."""
        return await show_on(self.conn, self.pgb, whats, timeout_s or self.timeout_s)

    async def close(self) -> None:
        await console_close(self.conn)


async def open_console(pgb: PgBouncer, timeout_s: float = 10.0) -> AdminConsole:
    """A session on PgBouncer's admin console; PgBouncerError with one line when it cannot be had."""
    return AdminConsole(pgb, await console_connect(pgb, timeout_s), timeout_s)


@asynccontextmanager
async def admin_console(pgb: PgBouncer, timeout_s: float = 10.0, held: AdminConsole | None = None):
    """A session on PgBouncer's admin console: ``held`` when it still answers (it is left open for
    its owner), else one of its own, closed at the end."""
    if held is not None and await held.answers():
        yield held
        return
    console = await open_console(pgb, timeout_s)
    try:
        yield console
    finally:
        await console.close()


async def admin_execute(pgb: PgBouncer, command: str, timeout_s: float = 10.0) -> None:
    """One command on a session of its own."""
    async with admin_console(pgb, timeout_s) as console:
        await console.execute(command)


async def resume(pgb: PgBouncer, db: str, held: AdminConsole | None = None) -> None:
    """RESUME ``db`` on the held session; if that fails in any way, once more on a session of its own:
    Odoo must never stay paused because one session broke. PgBouncerError when both fail."""
    if held is not None and held.usable:
        try:
            await held.execute(f"RESUME {db}", timeout_s=10)
            return
        except PgBouncerError:
            pass
    await admin_execute(pgb, f"RESUME {db}")


def preload_show_driver() -> None:
    """Import psycopg now (about 0.1 s the first time), before a pause window opens."""
    import psycopg  # noqa: F401 - the import is the point


async def admin_show(pgb: PgBouncer, what: str, timeout_s: float = 10.0) -> list[dict]:
    """``SHOW <what>`` (DATABASES, SERVERS, CLIENTS, POOLS) as a list of dicts."""
    return (await console_show(pgb, (what,), timeout_s))[what.lower()]


_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_ENTRY = re.compile(r"^(\s*)([^=\s;#][^=]*?)(\s*=\s*)(.*?)(\s*)$")


def rewrite_databases(ini_text: str, databases: list[str], host: str, port: int) -> tuple[str, list[str]]:
    """Point the named ``[databases]`` entries at host:port; every other byte stays as it was.

    Returns the new text and the names that were rewritten (a name not found is the caller's error).
    """
    out, section, done = [], None, []
    for line in ini_text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        header = _SECTION.match(body)
        if header:
            section = header.group(1).strip().lower()
            out.append(line)
            continue
        entry = _ENTRY.match(body) if section == "databases" else None
        if entry and entry.group(2).strip() in databases:
            indent, name, eq, value, trail = entry.groups()
            out.append(f"{indent}{name}{eq}{_set_host_port(value, host, port)}{trail}{ending}")
            done.append(name.strip())
            continue
        out.append(line)
    return "".join(out), done


def _set_host_port(value: str, host: str, port: int) -> str:
    parts = value.split()
    keep = [p for p in parts if not p.startswith(("host=", "port="))]
    return " ".join([f"host={host}", f"port={port}", *keep])


def entry_target(show_databases: list[dict], database: str) -> tuple[str | None, int | None]:
    """Where ``SHOW DATABASES`` says ``database`` points."""
    for row in show_databases:
        if row.get("name") == database:
            port = row.get("port")
            return row.get("host"), int(port) if port is not None else None
    return None, None
