"""From the app path probes (``checks.observe.pooler.PoolProbe``) to what a PgBouncer panel draws
(``widgets.pgbouncer_panel.PoolLine``): plain data, in words a person reads.

The widget may not import the probe's module (it opens connections); the app converts here. A
driver's error keeps its words, but never a Python tuple: asyncpg's ``[Errno 111] Connect call
failed ('127.0.0.1', 6432)`` reads ``connection refused by 127.0.0.1:6432``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from widgets.pgbouncer_panel import PoolLine

if TYPE_CHECKING:
    from checks.observe.pooler import PoolProbe

_ADDRESS = re.compile(r"\('([^'\n]*)', (\d+)(?:, \d+, \d+)?\)")          # ('127.0.0.1', 6432) / IPv6's 4-tuple
_CONNECT_FAILED = re.compile(r"\[Errno (\d+)\] Connect call failed ([\w.:\-\[\]]+)")
_ERRNO_WORDS = {"111": "connection refused by", "110": "connection timed out to", "113": "no route to",
                "101": "network unreachable for", "99": "cannot assign an address for"}


def plain_error(text: str | None) -> str | None:
    """A PgBouncer or driver error as a sentence: addresses as ``host:port``, never a tuple's repr."""
    if not text:
        return text
    text = _ADDRESS.sub(lambda m: f"{m.group(1)}:{m.group(2)}", text)

    def connect(m: re.Match) -> str:
        words = _ERRNO_WORDS.get(m.group(1))
        return f"{words} {m.group(2)}" if words else f"cannot connect to {m.group(2)} (errno {m.group(1)})"

    text = _CONNECT_FAILED.sub(connect, text)
    return text.replace("Multiple exceptions: ", "")


def console_words(error: str | None, pgbouncer: str) -> str | None:
    """The console's error without the PgBouncer's name in front (the panel's title says it), nor
    "cannot reach the admin console" (the panel says "admin console did not answer")."""
    if not error:
        return None
    for prefix in (f"{pgbouncer}: ", "cannot reach the admin console: "):
        error = error[len(prefix):] if error.startswith(prefix) else error
    return plain_error(error)


def pool_line(probe: PoolProbe, roles: Mapping[str, str] | None = None) -> PoolLine:
    """One probe as the panel shows it; ``roles`` are the nodes' roles in the cockpit's view."""
    roles = roles or {}
    return PoolLine(
        database=probe.database, upstream=probe.upstream, node=probe.reaches,
        node_role=roles.get(probe.reaches) if probe.reaches else None, paused=probe.paused,
        connected=probe.connected, writable=probe.writable, error=plain_error(probe.error),
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
