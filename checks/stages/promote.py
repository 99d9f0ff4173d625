"""Stage 3: promotion with ``pg_promote(wait => false)`` and fast polling.

``pg_promote(wait => true)`` and ``pg_ctl promote`` poll at 100 ms, so they never
return sooner; the server is writable ~40 ms after the call, so we poll every
``poll_s`` (10 ms) ourselves. Promoting a node that is already out of recovery
is harmless: it is reported as already promoted, and nothing is sent.
"""

from __future__ import annotations

import asyncio
import time

from pydantic import BaseModel, ConfigDict

from checks.observe.queries import IN_RECOVERY, PROMOTE_NO_WAIT, WRITABLE_CHECK


class PromotionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    node: str
    promoted: bool              # out of recovery and read-write at the end
    already: bool = False       # it was out of recovery before we sent anything
    promote_to_writable_ms: float | None = None
    error: str | None = None

    def sentence(self) -> str:
        if self.error:
            return f"promoting {self.node} failed: {self.error}"
        if self.already:
            return f"{self.node} was already promoted: nothing sent"
        return f"{self.node} promoted: writable {self.promote_to_writable_ms:.0f} ms after pg_promote"


async def promote_on(conn, name: str, statement_timeout_s: float, *, poll_s: float = 0.01,
                     timeout_s: float = 60.0) -> PromotionResult:
    """Promote over an open connection: nothing is sent to a node already out of recovery."""
    t = statement_timeout_s
    try:
        if not await conn.fetchval(IN_RECOVERY, timeout=t):
            return PromotionResult(node=name, promoted=True, already=True)
        started = time.monotonic()
        accepted = await conn.fetchval(PROMOTE_NO_WAIT, timeout=t)
        if accepted is False:
            return PromotionResult(node=name, promoted=False, error="pg_promote() returned false")
        deadline = started + timeout_s
        while True:
            row = await conn.fetchrow(WRITABLE_CHECK, timeout=t)
            if not row["in_recovery"] and row["tx_read_only"] == "off":
                ms = round((time.monotonic() - started) * 1000, 1)
                return PromotionResult(node=name, promoted=True, promote_to_writable_ms=ms)
            if time.monotonic() > deadline:
                return PromotionResult(node=name, promoted=False, error=f"still in recovery {timeout_s:g}s after pg_promote")
            await asyncio.sleep(poll_s)
    except (asyncio.TimeoutError, TimeoutError):
        return PromotionResult(node=name, promoted=False,
                               error=f"{name} stopped answering ({t:g}s statement timeout) during promotion")
    except Exception as exc:  # noqa: BLE001 - a server error is a result to journal, not a crash
        return PromotionResult(node=name, promoted=False, error=str(exc).splitlines()[0])
