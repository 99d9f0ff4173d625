"""What the stand-in answers when a call fails, in both of Odoo's shapes: an XML-RPC fault (code 1
server error, 2 user error, 3 access denied, 4 access error) and a JSON-RPC error
(``{"code": 200, "message": "Odoo Server Error", "data": {"name": "odoo.exceptions.AccessError",
"message": ..., "arguments": [...], "context": {}, "debug": ...}}``). Where Odoo sends a whole
traceback (the fault string of code 1, ``data.debug``), the stand-in sends one line."""

from __future__ import annotations

import logging
import xmlrpc.client

import psycopg
from psycopg import errors as pg_errors

from lab.odoo_db import (
    FAULT_ACCESS_DENIED, FAULT_ACCESS_ERROR, FAULT_SERVER_ERROR, FAULT_WARNING, SECRETS, AccessDenied, AccessError,
    UserError, error_name, one_line
)

log = logging.getLogger("odoo.standin")
SERVER_ERROR = (200, "Odoo Server Error")
SESSION_EXPIRED = (100, "Odoo Session Expired")
EXPECTED = (psycopg.Error, ValueError, TypeError, KeyError, AttributeError)


class SessionExpired(Exception):
    """No valid session cookie for a route that needs one (Odoo's SessionExpiredException)."""


def classify(what: str, exc: BaseException) -> tuple[int, str, str]:
    """(XML-RPC fault code, Odoo's exception name, one message) for a failed call."""
    if isinstance(exc, xmlrpc.client.Fault):
        return exc.faultCode, "odoo.exceptions.UserError", str(exc.faultString)
    if isinstance(exc, AccessDenied):
        return FAULT_ACCESS_DENIED, "odoo.exceptions.AccessDenied", "Access Denied"
    if isinstance(exc, AccessError):
        return FAULT_ACCESS_ERROR, "odoo.exceptions.AccessError", SECRETS.scrub(str(exc))
    if isinstance(exc, UserError):
        return FAULT_WARNING, "odoo.exceptions.UserError", SECRETS.scrub(str(exc))
    if isinstance(exc, SessionExpired):
        return FAULT_SERVER_ERROR, "odoo.http.SessionExpiredException", "Session expired"
    if isinstance(exc, pg_errors.NotNullViolation):
        return FAULT_WARNING, "odoo.exceptions.ValidationError", (
            f"The operation cannot be completed: a mandatory field is not set ({one_line(exc)})")
    if isinstance(exc, pg_errors.ForeignKeyViolation):
        return FAULT_WARNING, "odoo.exceptions.ValidationError", (
            "The operation cannot be completed: another model requires the record being deleted or "
            f"referenced ({one_line(exc)})")
    if not isinstance(exc, EXPECTED):
        log.exception("%s: unexpected error", what)
    cls = type(exc)
    return FAULT_SERVER_ERROR, f"{cls.__module__}.{cls.__name__}", one_line(exc)


def xmlrpc_fault(what: str, exc: BaseException) -> xmlrpc.client.Fault:
    if isinstance(exc, xmlrpc.client.Fault):
        return exc
    code, _, message = classify(what, exc)
    if code == FAULT_SERVER_ERROR:  # Odoo sends the traceback, whose last line names the exception
        message = f"{error_name(exc)}: {message}"
    return xmlrpc.client.Fault(code, message)


def json_error(what: str, exc: BaseException) -> dict:
    """The ``error`` member of a JSON-RPC answer, as Odoo's JSON-RPC dispatcher builds it."""
    _, name, message = classify(what, exc)
    code, title = SESSION_EXPIRED if isinstance(exc, SessionExpired) else SERVER_ERROR
    return {"code": code, "message": title,
            "data": {"name": name, "debug": f"{name}: {message.splitlines()[0] if message else ''}",
                     "message": message, "arguments": [message], "context": {}}}
