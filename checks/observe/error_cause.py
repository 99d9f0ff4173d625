"""Why a node did not answer, in a word or two: the cause of a libpq / asyncpg / socket error text.

Pure. A panel 22 columns wide cannot hold ``[Errno 111] Connect call failed ('127.0.0.1', 5432)``;
it can hold ``refused``, with the full text on a line of its own. The words are the ones an SRE
would say: ``refused`` (nothing listens: the server or its host is down), ``timeout`` (no answer in
time: a hung server, a dropped packet), ``reset`` / ``closed`` (the connection was cut), ``login
refused`` (the server answered and said no), ``unknown host``, ``no route``, ``shutting down``,
``starting up``, ``too many clients``, ``TLS failed``. A text it does not know is ``error``.
"""

from __future__ import annotations

import re

CAUSES: tuple[tuple[str, str], ...] = (
    # most specific first: "connection refused: fenced at ..." is a refusal, whatever follows
    (r"password authentication failed|authentication failed|pg_hba\.conf|no pg_hba|role \S+ does not exist"
     r"|database \S+ does not exist|permission denied for database|not permitted to log in|invalidauthorization",
     "login refused"),
    (r"too many clients|remaining connection slots", "too many clients"),
    (r"shutting down|terminating connection due to administrator command|admin_shutdown", "shutting down"),
    (r"starting up|in recovery mode|not yet accepting connections|cannot_connect_now", "starting up"),
    (r"refused|errno 111\b|econnrefused|connect call failed", "refused"),
    (r"reset by peer|errno 104\b|econnreset|broken pipe|errno 32\b", "reset"),
    (r"timed out|timeout|no answer|errno 110\b|etimedout", "timeout"),
    (r"name or service not known|nodename nor servname|temporary failure in name resolution|errno -[23]\b"
     r"|getaddrinfo", "unknown host"),
    (r"no route to host|network is unreachable|errno 113\b|errno 101\b|ehostunreach|enetunreach", "no route"),
    (r"ssl|tls|certificate", "TLS failed"),
    (r"connection closed|connection was closed|connection_lost|unexpected eof|server closed the connection",
     "closed"),
)
_COMPILED = tuple((re.compile(pattern, re.IGNORECASE), cause) for pattern, cause in CAUSES)


def error_cause(text: str | None) -> str:
    """The cause of a connection error text in a word or two (``refused``, ``timeout``, ...);
    ``no answer`` for no text at all, ``error`` for a text it does not know."""
    if not text or not text.strip():
        return "no answer"
    for pattern, cause in _COMPILED:
        if pattern.search(text):
            return cause
    return "error"
