"""Opening one short-lived asyncpg connection to a configured node, bounded and redacted."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from checks.config.model import Node, Sampling
from checks.config.redact import redact
from checks.errors import CockpitError
from checks.observe.sampler import APPLICATION_NAME, node_password


class NodeUnreachable(CockpitError):
    """A node could not be reached; the message is one redacted line naming it."""


@contextlib.asynccontextmanager
async def node_connection(node: Node, sampling: Sampling, *, purpose: str = "action"):
    password = node_password(node.name, node.password_env)
    try:
        conn = await asyncio.wait_for(
            asyncpg.connect(dsn=node.dsn, password=password, timeout=sampling.connect_timeout_s,
                            statement_cache_size=0,
                            server_settings={"application_name": f"{APPLICATION_NAME} {purpose}"}),
            timeout=sampling.connect_timeout_s + 0.5,
        )
    except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NodeUnreachable(f"{node.name}: {redact(text) if text != 'TimeoutError' else 'no answer'}") from None
    try:
        yield conn
    finally:
        conn.terminate()
