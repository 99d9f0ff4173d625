"""Keeping secrets off the screen, the journal, the record and the logs.

Every string that leaves the domain (an error text, a command's output, a DSN)
goes through :func:`redact` or :func:`mask_dsn` first.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "*****"

_KNOWN: set[str] = set()

# password=... in libpq keyword strings and query strings; user:pass@ in URIs.
_KV = re.compile(r"(?i)\b(password|passwd|pwd|api_key|apikey|secret|token)(\s*[=:]\s*)('[^']*'|\"[^\"]*\"|[^\s&'\",;]+)")
_URI_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]+):([^@\s/]+)@")


def remember_secret(value: str | None) -> None:
    """Register a secret (from an env var or a passfile) so it is masked wherever it shows up."""
    if value and len(value) >= 3:
        _KNOWN.add(value)


def redact(text: str | None) -> str:
    """Mask inline passwords, URI credentials and every registered secret."""
    if not text:
        return text or ""
    out = _URI_USERINFO.sub(lambda m: f"{m.group(1)}:{MASK}@", text)
    out = _KV.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    for secret in sorted(_KNOWN, key=len, reverse=True):
        out = out.replace(secret, MASK)
    return out


def dsn_password(dsn: str) -> str | None:
    """The password written inline in a DSN (a URI, or ``password=`` in a keyword/value string), if any."""
    if "://" not in dsn:                 # keyword/value: libpq reads it (quotes, escapes and all)
        from checks.config.conninfo import DsnError, parse_dsn

        try:
            return parse_dsn(dsn).get("password") or None
        except DsnError:
            return None
    parts = urlsplit(dsn)
    if parts.password:
        return parts.password
    for pair in parts.query.split("&"):
        key, _, value = pair.partition("=")
        if key == "password" and value:
            return value
    return None


def mask_dsn(dsn: str) -> str:
    """The DSN with any inline password replaced by the mask."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostinfo}"
    query = "&".join(
        f"password={MASK}" if pair.startswith("password=") else pair
        for pair in parts.query.split("&")
    ) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
