"""PgBouncer's admin console, and rewriting the ``[databases]`` entries of its ini file.

asyncpg cannot read the admin console (it only speaks the extended query protocol,
which the console refuses for SHOW), but its ``execute`` of PAUSE/RELOAD/RESUME works;
psycopg 3 reads ``SHOW ...`` fine. So commands go through asyncpg and reads through psycopg.
"""

from __future__ import annotations

import asyncio
import re
from contextlib import asynccontextmanager

import asyncpg

from checks.config.model import PgBouncer
from checks.errors import CockpitError
from checks.observe.libpq import asyncpg_args
from checks.observe.pooler import PgBouncerError, console_show, error_line
from checks.observe.sampler import node_password

__all__ = ["PgBouncerError", "AdminConsole", "admin_console", "admin_execute", "admin_show", "entry_target",
           "preload_show_driver", "rewrite_databases"]


class AdminConsole:
    """One session on the admin console (see :func:`admin_console`)."""

    def __init__(self, pgb: PgBouncer, conn, timeout_s: float) -> None:
        self.pgb, self.conn, self.timeout_s = pgb, conn, timeout_s

    async def execute(self, command: str, timeout_s: float | None = None) -> None:
        """PAUSE/RESUME/RELOAD...; ``already paused`` and ``not paused`` count as done."""
        try:
            await self.conn.execute(command, timeout=timeout_s or self.timeout_s)
        except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001
            text = error_line(exc)
            if "already paused" in text and command.upper().startswith("PAUSE"):
                return
            if "not paused" in text and command.upper().startswith("RESUME"):
                return
            raise PgBouncerError(f"{self.pgb.name}: {command} failed: {text}") from None


@asynccontextmanager
async def admin_console(pgb: PgBouncer, timeout_s: float = 10.0):
    """A session on PgBouncer's admin console; a switchover runs its commands on one (each new
    session costs a connection and SCRAM, ~14 ms, inside the pause)."""
    try:
        password = node_password(pgb.name, pgb.password_env)
    except CockpitError as exc:              # password_env not set: one line, never a traceback
        raise PgBouncerError(f"{pgb.name}: cannot reach the admin console: {exc}") from None
    try:
        conn = await asyncio.wait_for(
            asyncpg.connect(**asyncpg_args(pgb.admin_dsn, password), timeout=timeout_s, statement_cache_size=0),
            timeout=timeout_s + 0.5)
    except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001
        raise PgBouncerError(f"{pgb.name}: cannot reach the admin console: {error_line(exc, pgb.admin_dsn)}") from None
    try:
        yield AdminConsole(pgb, conn, timeout_s)
    finally:
        conn.terminate()


async def admin_execute(pgb: PgBouncer, command: str, timeout_s: float = 10.0) -> None:
    """One command on a session of its own."""
    async with admin_console(pgb, timeout_s) as console:
        await console.execute(command)


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
