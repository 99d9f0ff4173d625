"""The per-node sampling loop, driver-agnostic: anything with ``async sample()`` can be ticked."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Protocol


class Sampler(Protocol):
    async def sample(self) -> Any: ...


async def sample_forever(sampler: Sampler, interval_s: float, emit: Callable[[Any], None], wake: asyncio.Event | None = None) -> None:
    """Sample one node every ``interval_s`` and hand each sample to ``emit``, forever.

    Ticks are anchored to the loop's clock, so a slow round trip shortens the next
    sleep instead of drifting; a node slower than the interval is sampled back to
    back. ``wake`` (optional) triggers an immediate sample ("sample now").
    """
    loop = asyncio.get_running_loop()
    next_tick = loop.time()
    while True:
        emit(await sampler.sample())
        next_tick = max(next_tick + interval_s, loop.time())
        delay = next_tick - loop.time()
        if wake is None:
            await asyncio.sleep(delay)
            continue
        try:
            await asyncio.wait_for(wake.wait(), timeout=delay)
            wake.clear()
            next_tick = loop.time()
        except asyncio.TimeoutError:
            pass
