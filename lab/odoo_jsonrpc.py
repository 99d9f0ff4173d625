"""The stand-in's JSON-RPC routes, as Odoo's web layer serves them (LAB only).

A request is ``POST`` with ``{"jsonrpc": "2.0", "method": "call", "params": {...}, "id": N}``; the
answer is ``{"jsonrpc": "2.0", "id": N, "result": ...}`` or ``{..., "error": {"code": 200, "message":
"Odoo Server Error", "data": {"name": ..., "message": ...}}}`` (:func:`lab.odoo_faults.json_error`),
HTTP 200 either way. Routes:

- ``/jsonrpc``: ``params`` ``{"service": "common"|"object"|"db", "method": ..., "args": [...]}``,
  the same services as XML-RPC (``odoorpc`` and ``odoo-client-lib`` use it);
- ``/web/session/authenticate`` (``db``, ``login``, ``password``): the session's info (``uid``,
  ``user_context``, ``server_version_info``, ...) and a ``session_id`` cookie;
- ``/web/session/get_session_info``, ``/web/session/destroy``, ``/web/dataset/call_kw[/...]``
  (``model``, ``method``, ``args``, ``kwargs``) with that cookie; without a valid one, Odoo's
  ``Odoo Session Expired`` error (code 100);
- ``/web/webclient/version_info``: what ``common.version`` answers.

Sessions live in the process's memory only: a restarted stand-in has forgotten them (Odoo keeps
them on disk).
"""

from __future__ import annotations

import json
import secrets
import threading
from http.cookies import SimpleCookie
from typing import Any, Protocol

from lab.odoo_db import SECRETS, SERVER_VERSION, VERSION_INFO, UserError
from lab.odoo_faults import SessionExpired, json_error

JSON_PATHS = ("/jsonrpc", "/web/session/authenticate", "/web/session/get_session_info", "/web/session/destroy",
              "/web/webclient/version_info", "/web/dataset/call_kw")
SESSION_MAX_AGE_S = 7 * 24 * 3600
SESSIONS_MAX = 1000


class Served(Protocol):
    def dispatch(self, service: str, method: str, params: Any) -> Any: ...
    def version(self) -> dict: ...
    def login_user(self, db: Any, login: Any, password: Any) -> dict: ...
    def call_as(self, db: str, uid: int, model: Any, method: Any, args: Any, kwargs: Any) -> Any: ...
    def run(self, what: str, fn: Any) -> Any: ...


class Sessions:
    """session_id -> the user's info; in memory, bounded."""

    def __init__(self) -> None:
        self._by_id: dict[str, dict] = {}
        self._lock = threading.Lock()

    def new(self, info: dict) -> str:
        sid = secrets.token_urlsafe(30)
        SECRETS.add(sid)
        with self._lock:
            if len(self._by_id) >= SESSIONS_MAX:
                self._by_id.pop(next(iter(self._by_id)))
            self._by_id[sid] = info
        return sid

    def get(self, sid: str | None) -> dict:
        with self._lock:
            info = self._by_id.get(sid or "")
        if info is None:
            raise SessionExpired("Session expired")
        return info

    def drop(self, sid: str | None) -> None:
        with self._lock:
            self._by_id.pop(sid or "", None)


def is_json_path(path: str) -> bool:
    path = path.split("?", 1)[0].rstrip("/")
    return path in JSON_PATHS or path.startswith("/web/dataset/call_kw/")


def _cookie(header: str | None) -> str | None:
    if not header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # noqa: BLE001 - a malformed cookie is no session
        return None
    morsel = jar.get("session_id")
    return morsel.value if morsel else None


def session_info(db: str, user: dict) -> dict:
    """What Odoo's ``/web/session/authenticate`` answers (the keys clients read)."""
    uid = user["uid"]
    return {"uid": uid, "is_system": user["is_system"], "is_admin": user["is_system"], "db": db,
            "name": user["name"], "username": user["login"], "partner_display_name": user["name"],
            "partner_id": user["partner_id"], "company_id": False,
            "user_context": {"lang": "en_US", "tz": "UTC", "uid": uid},
            "server_version": SERVER_VERSION, "server_version_info": VERSION_INFO,
            "web.base.url": user.get("base_url", ""), "user_companies": False}


def answer(served: Served, sessions: Sessions, path: str, body: bytes,
           cookie_header: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, headers, body) for a POST of ``body`` to the JSON route ``path``."""
    try:
        request = json.loads(body.decode("utf-8"))
        if not isinstance(request, dict):
            raise ValueError("not an object")
    except (UnicodeDecodeError, ValueError):
        return 400, [("Content-Type", "text/plain; charset=utf-8")], b"Invalid JSON data: send a JSON-RPC object.\n"
    params = request.get("params") or {}
    headers = [("Content-Type", "application/json")]
    route = path.split("?", 1)[0].rstrip("/")
    sid = _cookie(cookie_header)
    try:
        if not isinstance(params, dict):
            raise TypeError("params must be a JSON object")
        result = _route(served, sessions, route, params, sid, headers)
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id"), "result": result}
    except Exception as exc:  # noqa: BLE001 - every failure is an Odoo-shaped error
        reply = {"jsonrpc": "2.0", "id": request.get("id"), "error": json_error(route, exc)}
    return 200, headers, json.dumps(reply, default=str).encode("utf-8")


def _route(served: Served, sessions: Sessions, route: str, params: dict, sid: str | None,
           headers: list[tuple[str, str]]) -> Any:
    if route == "/jsonrpc":
        service, method, args = params.get("service"), params.get("method"), params.get("args", [])
        if not isinstance(args, list):
            raise TypeError("args must be a JSON array")
        return served.dispatch(str(service), str(method), tuple(args))
    if route == "/web/webclient/version_info":
        return served.version()
    if route == "/web/session/authenticate":
        db = params.get("db")
        user = served.login_user(db, params.get("login"), params.get("password"))
        info = session_info(db, user)
        sid = sessions.new({"db": db, "uid": user["uid"], "info": info})
        headers.append(("Set-Cookie", f"session_id={sid}; Max-Age={SESSION_MAX_AGE_S}; HttpOnly; Path=/"))
        return info
    if route == "/web/session/destroy":
        sessions.drop(sid)
        return None
    session = sessions.get(sid)
    if route == "/web/session/get_session_info":
        return session["info"]
    if route == "/web/dataset/call_kw" or route.startswith("/web/dataset/call_kw/"):
        model, method = params.get("model"), params.get("method")
        return served.run(f"{model}.{method} uid={session['uid']} (session)", lambda: served.call_as(
            session["db"], session["uid"], model, method, params.get("args", []), params.get("kwargs") or {}))
    raise UserError(f"no JSON route {route}")
