"""A local PostgreSQL + PgBouncer lab for demos, training, drills and tests.

It is a LAB: loopback only, throwaway passwords, never production.
"""

from __future__ import annotations

from .errors import LabError

__all__ = ["Lab", "LabError"]


def __getattr__(name: str):
    """``Lab`` is imported when first asked for: a process that needs one module of the lab (the Odoo
    stand-in, restarted inside a failover's RTO) does not pay for all of it (~0.1 s)."""
    if name == "Lab":
        from .lab import Lab

        return Lab
    raise AttributeError(f"module 'lab' has no attribute {name!r}")
