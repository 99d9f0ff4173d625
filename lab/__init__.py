"""A local PostgreSQL + PgBouncer lab for demos, training, drills and tests.

It is a LAB: loopback only, throwaway passwords, never production.
"""

from __future__ import annotations

from .errors import LabError
from .lab import Lab

__all__ = ["Lab", "LabError"]
