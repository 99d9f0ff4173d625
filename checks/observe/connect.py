"""Opening one short-lived asyncpg connection to a configured node, bounded and redacted."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from checks.config.model import Node, Sampling
from checks.errors import CockpitError
from checks.observe.libpq import asyncpg_args, connection_error
from checks.observe.sampler import APPLICATION_NAME, node_password


class NodeUnreachable(CockpitError):
    """A node could not be reached; the message is one redacted line naming it."""


async def connect_node(node: Node, sampling: Sampling, *, purpose: str = "action"):
    """A new asyncpg connection to ``node`` (the caller terminates it); NodeUnreachable in libpq's words."""
    password = node_password(node.name, node.password_env)
    try:
        return await asyncio.wait_for(
            asyncpg.connect(**asyncpg_args(node.dsn, password), timeout=sampling.connect_timeout_s,
                            statement_cache_size=0,
                            server_settings={"application_name": f"{APPLICATION_NAME} {purpose}"}),
            timeout=sampling.connect_timeout_s + 0.5,
        )
    except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001
        raise NodeUnreachable(f"{node.name}: {connection_error(exc, node.dsn)}") from None


@contextlib.asynccontextmanager
async def node_connection(node: Node, sampling: Sampling, *, purpose: str = "action"):
    conn = await connect_node(node, sampling, purpose=purpose)
    try:
        yield conn
    finally:
        conn.terminate()


@contextlib.asynccontextmanager
async def connection_opening(node: Node, sampling: Sampling, *, purpose: str = "action"):
    """Start opening a connection to ``node`` now, in the background, while the caller does other
    work; yields the task (awaiting it gives the connection or raises NodeUnreachable). Whatever
    happens, the connection is closed at the end, and an opening not yet done is cancelled."""
    task = asyncio.ensure_future(connect_node(node, sampling, purpose=purpose))
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        try:
            conn = await task
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - unreachable or cancelled: nothing to close
            conn = None
        if conn is not None:
            conn.terminate()
