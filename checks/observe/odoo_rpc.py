"""Odoo's external XML-RPC API (``/xmlrpc/2/common``, ``/xmlrpc/2/object``), with timeouts.

The same calls a real Odoo answers: ``version``, ``authenticate`` and ``execute_kw``.
Calls are blocking (stdlib xmlrpc.client), so async callers run them in a thread.

Here, below the stages, so that both the Odoo health probe (:mod:`checks.observe.odoo_health`)
and stage 5 (:mod:`checks.stages.verify`, through :mod:`checks.stages.odoo_rpc`) use it.
A failure is an :class:`OdooError` whose text says what failed in words
(:func:`error_words`: ``connection refused``, never ``[Errno 111] ...``); a login the server
answered and refused is a :class:`LoginRefused`.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import xmlrpc.client
from pathlib import Path

from checks.config.model import Odoo
from checks.config.redact import redact, remember_secret
from checks.errors import CockpitError

FAULT_SERVER_ERROR = 1    # Odoo's fault code for an unexpected error: the string is a traceback
FAULT_ACCESS_DENIED = 3   # Odoo's fault code for a refused login or password (odoo.exceptions.AccessDenied)


class OdooError(CockpitError):
    """One redacted line about an Odoo call."""


class LoginRefused(OdooError):
    """Odoo answered and refused the login (``authenticate`` returned no user, or Access Denied)."""


def error_words(exc: BaseException, timeout_s: float | None = None) -> str:
    """What a network error means, in words: ``connection refused``, ``connection reset``,
    ``timeout expired after 2 s``, ``name lookup failed: ...``; never an errno string."""
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"timeout expired after {timeout_s:g} s" if timeout_s else "timeout expired"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, BrokenPipeError):
        return "connection closed while sending (broken pipe)"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, socket.gaierror):
        return f"name lookup failed: {(exc.strerror or 'unknown host').lower()}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS failed: {exc.verify_message or 'certificate verify failed'}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {(exc.reason or 'handshake failed').lower().replace('_', ' ')}"
    if isinstance(exc, xmlrpc.client.ProtocolError):
        return f"HTTP {exc.errcode} {exc.errmsg}".strip()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    if isinstance(exc, http.client.HTTPException):
        return "the answer is not HTTP"
    text = str(exc).strip()
    return text.splitlines()[-1] if text else type(exc).__name__


def _transport(https: bool, timeout: float) -> xmlrpc.client.Transport:
    base = xmlrpc.client.SafeTransport if https else xmlrpc.client.Transport

    class WithTimeout(base):
        def make_connection(self, host):
            conn = super().make_connection(host)
            conn.timeout = timeout
            return conn

    return WithTimeout()


def probe_secret(odoo: Odoo) -> str:
    """The probe user's password or API key, from its env var or file; remembered for redaction."""
    if odoo.password_env:
        value = os.environ.get(odoo.password_env)
        if value is None:
            raise OdooError(f"odoo.password_env {odoo.password_env} is not set")
    else:
        try:
            value = Path(odoo.password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise OdooError(f"odoo.password_file {odoo.password_file}: {exc.strerror}") from None
    remember_secret(value)
    return value


class OdooClient:
    def __init__(self, odoo: Odoo, timeout_s: float = 10.0) -> None:
        self.odoo = odoo
        self.timeout_s = timeout_s
        self._secret = probe_secret(odoo)
        self.uid: int | None = None

    def _proxy(self, endpoint: str) -> xmlrpc.client.ServerProxy:
        url = self.odoo.url.rstrip("/") + endpoint
        transport = _transport(url.startswith("https"), self.timeout_s)
        return xmlrpc.client.ServerProxy(url, transport=transport, allow_none=True)

    def _call(self, what: str, fn, *args):
        try:
            return fn(*args)
        except xmlrpc.client.Fault as exc:
            lines = [line for line in str(exc.faultString).strip().splitlines() if line.strip()]
            lines = lines or [f"code {exc.faultCode}"]
            error = LoginRefused if exc.faultCode == FAULT_ACCESS_DENIED else OdooError
            # a server error (code 1) is a traceback, its last line names the exception; an access
            # error (4) or a user error (2) is a message whose first line says it
            said = lines[-1] if exc.faultCode == FAULT_SERVER_ERROR else lines[0]
            raise error(f"{what}: Odoo fault: {redact(said.strip())}") from None
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
            raise OdooError(f"{what}: {redact(error_words(exc, self.timeout_s))}") from None

    def version(self) -> dict:
        return self._call("common.version", self._proxy("/xmlrpc/2/common").version)

    def authenticate(self) -> int:
        uid = self._call("common.authenticate", self._proxy("/xmlrpc/2/common").authenticate,
                         self.odoo.db, self.odoo.login, self._secret, {})
        if not uid:
            raise LoginRefused(f"common.authenticate: login {self.odoo.login!r} refused on database {self.odoo.db!r}")
        self.uid = int(uid)
        return self.uid

    def execute_kw(self, model: str, method: str, args: list, kwargs: dict | None = None):
        if self.uid is None:
            self.authenticate()
        return self._call(f"{model}.{method}", self._proxy("/xmlrpc/2/object").execute_kw,
                          self.odoo.db, self.uid, self._secret, model, method, args, kwargs or {})
