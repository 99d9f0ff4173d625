"""From the app path probes (``checks.observe.pooler.PoolProbe``) to what a PgBouncer panel draws
(``widgets.pgbouncer_panel.PoolLine``): plain data, in words a person reads.

The widget may not import the probe's module (it opens connections); the app converts here. The
probes' errors are already in libpq's words (checks.observe.libpq): they are shown as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from widgets.pgbouncer_panel import PoolLine

if TYPE_CHECKING:
    from checks.observe.pooler import PoolProbe

def console_words(error: str | None, pgbouncer: str) -> str | None:
    """The console's error without the PgBouncer's name in front (the panel's title says it), nor
    "cannot reach the admin console" (the panel says "admin console did not answer")."""
    if not error:
        return None
    for prefix in (f"{pgbouncer}: ", "cannot reach the admin console: "):
        error = error[len(prefix):] if error.startswith(prefix) else error
    return error


def pool_line(probe: PoolProbe, roles: Mapping[str, str] | None = None) -> PoolLine:
    """One probe as the panel shows it; ``roles`` are the nodes' roles in the cockpit's view."""
    roles = roles or {}
    return PoolLine(
        database=probe.database, upstream=probe.upstream, node=probe.reaches,
        node_role=roles.get(probe.reaches) if probe.reaches else None, paused=probe.paused,
        connected=probe.connected, writable=probe.writable, error=probe.error,
        cl_active=probe.cl_active, cl_waiting=probe.cl_waiting, maxwait_s=probe.maxwait_s,
        avg_wait_ms=probe.avg_wait_ms, latency_ms=probe.latency_ms,
    )


def pooler_lines(probes: Iterable[PoolProbe], roles: Mapping[str, str] | None = None
                 ) -> dict[str, tuple[tuple[PoolLine, ...], str | None]]:
    """By PgBouncer: its databases' lines in probe order, and its console's error in words (or None)."""
    found: dict[str, tuple[list[PoolLine], str | None]] = {}
    for probe in probes:
        lines, console = found.setdefault(probe.pgbouncer, ([], console_words(probe.console_error, probe.pgbouncer)))
        lines.append(pool_line(probe, roles))
    return {name: (tuple(lines), console) for name, (lines, console) in found.items()}
