"""Incident directories: naming a new one, and the login name as the default author."""

from __future__ import annotations

import getpass
from pathlib import Path

from checks.sample import utcnow


def new_incident_dir(cluster: str, base: Path = Path("incidents")) -> Path:
    """``incidents/<UTC date>-<cluster>-<n>/``, with the first free n."""
    day = utcnow().strftime("%Y-%m-%d")
    n = 1
    while (base / f"{day}-{cluster}-{n}").exists():
        n += 1
    return base / f"{day}-{cluster}-{n}"


def login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
