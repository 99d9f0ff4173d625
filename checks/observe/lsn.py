"""PostgreSQL LSNs and human-readable sizes."""

from __future__ import annotations

from typing import Any


def parse_lsn(text: str | None) -> int | None:
    """``'16/B374D848'`` -> byte position; ``None`` stays ``None``."""
    if text is None:
        return None
    high, _, low = text.partition("/")
    if not low:
        raise ValueError(f"not an LSN: {text!r}")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(pos: int | None) -> str | None:
    if pos is None:
        return None
    return f"{pos >> 32:X}/{pos & 0xFFFFFFFF:X}"


def lsn_diff(a: str | None, b: str | None) -> int | None:
    """Bytes from ``b`` to ``a`` (``a - b``), or ``None`` when either is unknown."""
    pa, pb = parse_lsn(a), parse_lsn(b)
    if pa is None or pb is None:
        return None
    return pa - pb


_UNITS = ("B", "kB", "MB", "GB", "TB")


def human_bytes(n: float | None) -> str:
    """1536 -> '1.5 kB' (powers of 1024, PostgreSQL's pg_size_pretty spelling)."""
    if n is None:
        return "?"
    value, unit = float(n), 0
    while abs(value) >= 1024 and unit < len(_UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{int(value)} B"
    return f"{value:.1f} {_UNITS[unit]}"


def human_seconds(s: float | None) -> str:
    """3725 -> '1h02m05s', 4.2 -> '4.2s'."""
    if s is None:
        return "?"
    if s < 60:
        return f"{s:.1f}s" if s < 10 else f"{s:.0f}s"
    minutes, sec = divmod(int(s), 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{sec:02d}s"


def human_ms(ms: Any) -> str:
    """A duration in milliseconds as a person reads it ("850 ms", "2.3 s"; "?" when unknown)."""
    if not isinstance(ms, (int, float)):
        return "?"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
