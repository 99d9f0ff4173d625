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


@contextlib.asynccontextmanager
async def node_connection(node: Node, sampling: Sampling, *, purpose: str = "action"):
    password = node_password(node.name, node.password_env)
    try:
        conn = await asyncio.wait_for(
            asyncpg.connect(**asyncpg_args(node.dsn, password), timeout=sampling.connect_timeout_s,
                            statement_cache_size=0,
                            server_settings={"application_name": f"{APPLICATION_NAME} {purpose}"}),
            timeout=sampling.connect_timeout_s + 0.5,
        )
    except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001
        raise NodeUnreachable(f"{node.name}: {connection_error(exc, node.dsn)}") from None
    try:
        yield conn
    finally:
        conn.terminate()
