"""Odoo's side of the ``app_path_writable`` signal: does Odoo answer, and can its probe user log in?

:func:`odoo_health` asks ``GET {odoo.url}/web/health`` and, with ``login``, logs in through
XML-RPC ``common.authenticate`` (the client of :mod:`checks.observe.odoo_rpc`, the one stage 5
uses). It never raises: every failure is one sentence in :attr:`OdooHealth.error` that keeps the
failure's text in words (``could not connect to http://127.0.0.1:8069: connection refused``,
``timeout expired after 2 s``, ``HTTP 503 ...``, ``login refused: Access Denied ...``), so
:func:`checks.observe.error_cause.error_cause` finds its cause word. Blocking HTTP runs in a
thread (:func:`asyncio.to_thread`) under :func:`asyncio.wait_for`, and the socket has the same
timeout, so a hung Odoo costs at most ``timeout_s`` per request.

What real Odoo answers at ``/web/health`` (its ``addons/web/controllers/home.py``, ``Home.health``,
``type='http', auth='none', save_session=False``; read in Odoo's public sources): Odoo 15 and 16
always answer ``200`` with the body ``{"status": "pass"}`` and the headers ``Content-Type:
application/json`` and ``Cache-Control: no-store``; the route takes no parameter. Later
versions (the 17.x and 18.0 sources) take an optional ``db_server_status`` query parameter: given,
the server opens and closes a cursor on the ``postgres`` database and adds
``"db_server_status": true``, or answers ``500`` with ``{"status": "fail", "db_server_status":
false}`` when it cannot. This probe asks without the parameter, so it means the same on every
version (16 has no such parameter); the database path is the PgBouncer probe's part of the signal.
Older versions (14 and before) have no such route and answer 404: that is reported as it is.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import ssl
import time
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from checks.config.model import Odoo
from checks.config.redact import redact
from checks.config.text import visible
from checks.observe.odoo_rpc import LoginRefused, OdooClient, OdooError, error_words

HEALTH_PATH = "/web/health"
BODY_MAX = 64 * 1024       # a health answer is a few bytes: read no more than this
TEXT_MAX = 200


class OdooHealth(BaseModel):
    """One probe of Odoo. ``login_ok`` is None when no login was tried."""

    model_config = ConfigDict(frozen=True)

    url: str                        # what was asked: {odoo.url}/web/health
    http_ok: bool                   # 200 with {"status": "pass"}
    http_status: int | None = None  # None: no HTTP answer at all
    health: str | None = None       # the status word of the JSON body ("pass", "fail")
    login_ok: bool | None = None
    uid: int | None = None
    error: str | None = None        # one sentence; None when everything asked passed
    latency_ms: float | None = None  # the /web/health round trip, when Odoo answered

    @property
    def ok(self) -> bool:
        return self.http_ok and self.login_ok is not False


def _clean(text: object, limit: int = TEXT_MAX) -> str:
    """Untrusted text (a server's words) made safe for a terminal: redacted, control characters
    shown as escapes, one line, at most ``limit`` characters."""
    out = visible(redact(str(text)), multiline=False).strip()
    return out if len(out) <= limit else out[:limit - 1].rstrip() + "…"


def _base(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class _NoAnswer(Exception):
    """No HTTP answer: ``connecting`` says whether the connection itself failed."""

    def __init__(self, exc: BaseException, connecting: bool) -> None:
        super().__init__(str(exc))
        self.exc = exc
        self.connecting = connecting


def _get_health(url: str, timeout_s: float) -> tuple[int, str, bytes, float]:
    """Blocking ``GET url``: (status, reason, the first BODY_MAX bytes of the body, latency ms)."""
    parts = urlsplit(url)
    port = parts.port
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, port, timeout=timeout_s, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, port, timeout=timeout_s)
    started = time.monotonic()
    try:
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as exc:
            raise _NoAnswer(exc, connecting=True) from None
        try:
            conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                         headers={"Accept": "application/json", "Connection": "close",
                                  "User-Agent": "failover-cockpit health probe"})
            response = conn.getresponse()
            body = response.read(BODY_MAX)
        except (OSError, http.client.HTTPException) as exc:
            raise _NoAnswer(exc, connecting=False) from None
        return response.status, response.reason or "", body, (time.monotonic() - started) * 1000
    finally:
        conn.close()


def _status_word(body: bytes) -> str | None:
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(doc, dict) and isinstance(doc.get("status"), str):
        return _clean(doc["status"], 32)
    return None


async def _http(url: str, shown: str, timeout_s: float) -> OdooHealth:
    try:
        status, reason, body, latency = await asyncio.wait_for(
            asyncio.to_thread(_get_health, url, timeout_s), timeout_s)
    except (asyncio.TimeoutError, TimeoutError):
        return OdooHealth(url=shown, http_ok=False, error=f"GET {shown}: timeout expired after {timeout_s:g} s")
    except _NoAnswer as exc:
        words = _clean(error_words(exc.exc, timeout_s))
        where = f"could not connect to {_base(shown)}" if exc.connecting else f"GET {shown}"
        return OdooHealth(url=shown, http_ok=False, error=f"{where}: {words}")
    except Exception as exc:  # noqa: BLE001 - never raise: say what it was
        return OdooHealth(url=shown, http_ok=False, error=f"GET {shown} failed: {_clean(error_words(exc, timeout_s))}")
    word = _status_word(body)
    ok = status == 200 and word == "pass"
    error = None
    if not ok:
        said = f"HTTP {status} {_clean(reason, 60)}".rstrip()
        if word is not None:
            error = f"{said} from {shown}: Odoo says its status is {word}"
        elif status == 200:
            error = f"{said} from {shown}, but the answer is not Odoo's health JSON (no \"status\")"
        else:
            error = f"{said} from {shown}"
    return OdooHealth(url=shown, http_ok=ok, http_status=status, health=word, error=error,
                      latency_ms=round(latency, 1))


def _login(odoo: Odoo, timeout_s: float) -> int:
    return OdooClient(odoo, timeout_s).authenticate()


async def _try_login(odoo: Odoo, timeout_s: float) -> tuple[bool, int | None, str | None]:
    try:
        uid = await asyncio.wait_for(asyncio.to_thread(_login, odoo, timeout_s), timeout_s)
    except (asyncio.TimeoutError, TimeoutError):
        return False, None, f"login through XML-RPC: timeout expired after {timeout_s:g} s"
    except LoginRefused:   # authenticate returned no user, or an Access Denied fault (code 3)
        return False, None, (f"login refused: Access Denied: Odoo authentication failed for login "
                             f"{_clean(odoo.login, 64)} on database {odoo.db}")
    except OdooError as exc:
        return False, None, f"login failed: {_clean(exc)}"
    except Exception as exc:  # noqa: BLE001 - never raise: say what it was
        return False, None, f"login failed: {_clean(error_words(exc, timeout_s))}"
    return True, uid, None


async def odoo_health(odoo: Odoo, *, timeout_s: float, login: bool) -> OdooHealth:
    """Probe Odoo's ``/web/health`` and, with ``login``, its XML-RPC login; never raises.

    The login is not tried when Odoo gave no HTTP answer at all (refused, reset, timeout): the
    same server would not answer XML-RPC either, and the probe stays within one ``timeout_s``."""
    url = odoo.url.rstrip("/") + HEALTH_PATH
    shown = _clean(url)      # what people read: credentials in the URL masked
    try:
        result = await _http(url, shown, timeout_s)
        if not login or result.http_status is None:
            return result
        login_ok, uid, login_error = await _try_login(odoo, timeout_s)
        error = "; ".join(e for e in (result.error, login_error) if e) or None
        return result.model_copy(update={"login_ok": login_ok, "uid": uid, "error": error})
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the probe never raises
        return OdooHealth(url=shown, http_ok=False, error=f"the Odoo probe failed: {_clean(error_words(exc))}")
