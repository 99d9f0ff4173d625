"""Odoo's external XML-RPC API (``/xmlrpc/2/common``, ``/xmlrpc/2/object``), with timeouts.

The same calls a real Odoo answers: ``version``, ``authenticate`` and ``execute_kw``.
Calls are blocking (stdlib xmlrpc.client), so async callers run them in a thread.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import xmlrpc.client
from pathlib import Path

from checks.config.model import Odoo
from checks.config.redact import redact, remember_secret
from checks.errors import CockpitError


class OdooError(CockpitError):
    """One redacted line about an Odoo call."""


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
            raise OdooError(f"{what}: Odoo fault: {redact(str(exc.faultString).strip().splitlines()[-1])}") from None
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
            raise OdooError(f"{what}: {redact(str(exc)) or type(exc).__name__}") from None

    def version(self) -> dict:
        return self._call("common.version", self._proxy("/xmlrpc/2/common").version)

    def authenticate(self) -> int:
        uid = self._call("common.authenticate", self._proxy("/xmlrpc/2/common").authenticate,
                         self.odoo.db, self.odoo.login, self._secret, {})
        if not uid:
            raise OdooError(f"common.authenticate: login {self.odoo.login!r} refused on database {self.odoo.db!r}")
        self.uid = int(uid)
        return self.uid

    def execute_kw(self, model: str, method: str, args: list, kwargs: dict | None = None):
        if self.uid is None:
            self.authenticate()
        return self._call(f"{model}.{method}", self._proxy("/xmlrpc/2/object").execute_kw,
                          self.odoo.db, self.uid, self._secret, model, method, args, kwargs or {})


def write_probe(client: OdooClient, label: str) -> str:
    """Create, update and remove a draft sale.order labelled ``label``; a line saying what happened."""
    partner = client.execute_kw("res.partner", "create", [{"name": f"failover probe {label}"}])
    try:
        order = client.execute_kw("sale.order", "create", [{"partner_id": partner, "client_order_ref": label}])
        client.execute_kw("sale.order", "write", [[order], {"note": f"updated by failover probe {label}"}])
        found = client.execute_kw("sale.order", "search_read", [[["id", "=", order]]], {"fields": ["state", "note"]})
        if not found or found[0].get("state") != "draft":
            raise OdooError(f"sale.order {order} did not read back as a draft: {found}")
        client.execute_kw("sale.order", "unlink", [[order]])
    finally:
        client.execute_kw("res.partner", "unlink", [[partner]])
    return f"sale.order {order} created, updated, read back as draft and removed (label {label})"


async def in_thread(fn, *args):
    return await asyncio.to_thread(fn, *args)
