"""Connecting as libpq would, and saying why a connection failed in libpq's words.

:func:`asyncpg_args` turns a configured DSN (read by libpq: :mod:`checks.config.conninfo`) into
asyncpg's arguments. :func:`connection_error` turns whatever asyncpg, asyncio or the socket
raised into the sentence libpq would print for that cause, one stable text per cause:
``connection to server at "10.0.0.5", port 5432 failed: Connection refused`` (is the server
running...?), ``... failed: timeout expired``, ``... failed: password authentication failed for
user "cockpit"``, ``server closed the connection unexpectedly``, ``could not translate host name
"db1" to address: Name or service not known``. Never ``[Errno 111] Connect call failed (...)``.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import ssl

from checks.config.conninfo import ConnParams, cached_params, dsn_password_of
from checks.config.redact import redact, remember_secret
from checks.errors import CockpitError

CLOSED = ("server closed the connection unexpectedly: the server (or a proxy or pooler in front of it) terminated "
          "the connection before or while processing the request")
_ERRNO_WORDS = {errno.ECONNREFUSED: "Connection refused", errno.ETIMEDOUT: "timeout expired",
                errno.EHOSTUNREACH: "No route to host", errno.ENETUNREACH: "Network is unreachable",
                errno.ENOENT: "No such file or directory", errno.EACCES: "Permission denied",
                errno.EADDRNOTAVAIL: "Cannot assign requested address"}      # a reset or broken pipe is CLOSED
_ERRNO_IN_TEXT = re.compile(r"\[Errno (-?\d+)\]")


def asyncpg_args(dsn: str, password: str | None = None, *, dbname: str | None = None) -> dict:
    """``dsn=``, ``password=``, ``passfile=`` for ``asyncpg.connect``: libpq's reading of ``dsn``
    (``password``: from ``password_env``, which wins over one written in the DSN)."""
    params = cached_params(dsn)
    password = password or dsn_password_of(dsn)
    remember_secret(password)
    args: dict = {"dsn": params.asyncpg_dsn(dbname=dbname), "passfile": params.asyncpg_passfile()}
    if password:
        args["password"] = password
    return args


def _hint(params: ConnParams, words: str) -> str:
    if words != "Connection refused" and words != "No such file or directory":
        return ""
    if params.socket:
        return " (is the server running locally and accepting connections on that socket?)"
    return " (is the server running on that host and accepting TCP/IP connections?)"


def _errno_of(exc: BaseException) -> int | None:
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc.errno
    found = _ERRNO_IN_TEXT.findall(str(exc))     # asyncpg's "Multiple exceptions: [Errno 111] ..., [Errno 99] ..."
    return int(found[0]) if found else None


def connection_error(exc: BaseException, dsn: str | None = None, *, params: ConnParams | None = None) -> str:
    """libpq's sentence for a failure to connect (or a connection lost), one per cause; redacted."""
    if params is None and dsn:
        try:
            params = cached_params(dsn)
        except ValueError:
            params = None
    if isinstance(exc, CockpitError):            # ours, already a sentence (a password_env that is not set)
        return str(exc)
    where = f"connection to {params.where} failed: " if params is not None else "connection failed: "
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, socket.timeout)):
        return f"{where}timeout expired"
    if isinstance(exc, socket.gaierror):
        host = params.host if params is not None else "?"
        return f'could not translate host name "{host}" to address: {exc.strerror or "Name or service not known"}'
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        reason = getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
        return redact(f"{where}SSL error: {str(reason).lower().replace('_', ' ')}")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    code = _errno_of(exc)
    if code in (errno.ECONNRESET, errno.EPIPE) or isinstance(exc, (ConnectionResetError, BrokenPipeError)) or any(
            s in text for s in ("connection was closed in the middle of operation", "connection_lost",
                                "unexpected connection_lost", "connection is closed")):
        return CLOSED
    if code in _ERRNO_WORDS:
        words = _ERRNO_WORDS[code]
        return f"{where}{words}" + (_hint(params, words) if params is not None else "")
    if code is not None and code < 0:            # a resolver's errno inside asyncpg's text
        host = params.host if params is not None else "?"
        return f'could not translate host name "{host}" to address: Name or service not known'
    if isinstance(exc, OSError) and exc.strerror:
        return redact(f"{where}{exc.strerror}")
    if text:                                     # the server's own words (FATAL: password authentication failed ...)
        return redact(f"{where}{text}")
    return f"{where}{type(exc).__name__}"
