"""The stand-in's answer to ``GET /web/health``, as real Odoo gives it (LAB only).

Odoo's ``Home.health`` (``addons/web/controllers/home.py``): ``200`` with ``{"status": "pass"}``,
``Content-Type: application/json`` and ``Cache-Control: no-store``, without a session. Odoo 17
and later also take ``?db_server_status=...``: any non-empty value makes the server open a
database cursor; it adds ``"db_server_status": true``, or answers ``500`` with ``{"status":
"fail", "db_server_status": false}`` when the database does not answer. (Odoo opens the
``postgres`` database; the stand-in runs ``SELECT 1`` through its own Database, the path its
calls take.) Odoo 16's route takes no parameter, and the cockpit's probe sends none.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

HEALTH_PATHS = ("/web/health",)
HEADERS = (("Content-Type", "application/json"), ("Cache-Control", "no-store"))


def health_answer(path: str, db_answers: Callable[[], bool]) -> tuple[int, bytes] | None:
    """(status, body) for a GET of ``path`` (with its query), or None when it is not a health path.
    ``db_answers`` is called only when ``db_server_status`` asks for it."""
    parts = urlsplit(path)
    if parts.path.rstrip("/") not in HEALTH_PATHS:
        return None
    info: dict[str, object] = {"status": "pass"}
    status = 200
    if any(value for value in parse_qs(parts.query, keep_blank_values=True).get("db_server_status", [])):
        if db_answers():
            info["db_server_status"] = True
        else:
            info["db_server_status"] = False
            info["status"] = "fail"
            status = 500
    return status, json.dumps(info).encode("utf-8")
