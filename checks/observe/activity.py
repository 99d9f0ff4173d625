"""The activity view's facts (key a): one node's sessions, asked on demand, pg_activity's habit.

:func:`sample_activity` asks one node :data:`~checks.observe.queries.ACTIVITY` (one round trip, JSON
aggregates) on a short connection of its own (``application_name`` ``failover-cockpit activity``) and
never raises: a node that does not answer is a :class:`NodeActivity` whose ``error`` is a sentence.
Everything else here is pure: parsing the row, the summary sentence, and what Odoo's sessions on the
node mean (:func:`odoo_verdict`): on a standby, or on a node that is not the one writer, they are
stragglers.

Query texts are hostile: one can hold a password (``ALTER ROLE odoo PASSWORD '...'``) or terminal
control sequences. :func:`clean_query` masks a ``PASSWORD`` literal and everything after it (a quoted
literal can hold quotes, semicolons and line breaks, so cutting at its end would guess at SQL's
quoting), passes the rest through :func:`checks.config.redact.redact` (inline passwords, registered
secrets), escapes control characters (:func:`checks.config.text.visible`) and keeps the first line.
Every other text of a session (user, application, state) is redacted and escaped too.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from checks.config.model import Node, Sampling
from checks.config.redact import MASK, redact
from checks.config.text import visible
from checks.observe.connect import node_connection
from checks.observe.error_cause import error_cause
from checks.observe.lsn import human_seconds
from checks.observe.queries import ACTIVITY
from checks.observe.sample import utcnow

ROWS = 20
"""The most rows of each list (longest transactions, lock waits, Odoo sessions, groups)."""
QUERY_CHARS = 1000
"""How much of each query text the node sends (``left(query, ...)``)."""
QUERY_SHOWN = 200
"""How much of a query's first line is kept; the screen cuts it again to its width."""
WORD_MAX = 64
HIDDEN_QUERY = "<insufficient privilege>"

# A word holding PASSWORD or PASSWD (ALTER/CREATE ROLE, USER MAPPING options, ``password_crypt = '...'`` in
# an UPDATE) followed by a string literal: '...', E'...', U&'...' or $tag$...$tag$. A double quote is an
# identifier, not a literal; a parameter ($1) holds no text.
_PASSWORD_LITERAL = re.compile(r"(?is)\b\w*(?:password|passwd)\w*\s*(?::?=\s*)?(?=(?:E|U&)?'|\$\w*\$)")
_ADDRESS_TUPLE = re.compile(r"\('([^']*)', (\d+)\)")
_SPACES = re.compile(r"\s+")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class SessionGroup(_Frozen):
    """How many client sessions one application has in one state."""

    application: str
    state: str
    sessions: int


class Blocker(_Frozen):
    """A backend holding a lock a session waits for (from ``pg_blocking_pids``)."""

    pid: int
    user: str = ""
    application: str = ""
    state: str = ""
    backend: str = ""               # pg_stat_activity.backend_type: client backend, startup, ...

    def describe(self) -> str:
        """``4242 (odoo, idle in transaction)``; ``77 (startup)`` for a backend that is not a client's."""
        if self.backend and self.backend != "client backend":
            return f"{self.pid} ({self.backend})"
        words = [w for w in (self.application, self.state) if w]
        return f"{self.pid} ({', '.join(words)})" if words else str(self.pid)


class ActivitySession(_Frozen):
    """One client session, its texts made safe to show."""

    pid: int
    user: str = ""
    application: str = ""
    state: str = ""
    client: str = ""                # the client's address, "local" for a Unix socket
    database: str = ""
    wait_event: str = ""            # "Lock: transactionid", "Client: ClientRead"
    xact_age_s: float | None = None
    query_age_s: float | None = None
    backend_age_s: float | None = None
    wait_age_s: float | None = None
    blocked_by: tuple[int, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    query: str = ""                 # the first line, masked, redacted, control characters escaped, cut

    def blocked_by_text(self) -> str:
        """Who holds the lock, as one phrase: ``4242 (odoo, idle in transaction), 4250 (startup)``."""
        known = {b.pid: b for b in self.blockers}
        return ", ".join(known[pid].describe() if pid in known else str(pid) for pid in self.blocked_by)


class NodeActivity(_Frozen):
    """What one node's sessions were doing at one moment, or why the node did not say."""

    name: str
    observed_at: datetime
    reachable: bool
    error: str | None = None        # a sentence, when it did not answer
    latency_ms: float | None = None
    in_recovery: bool | None = None
    sessions: int = 0               # client sessions, the view's own excluded
    states: dict[str, int] = {}
    hidden_queries: int = 0         # sessions whose query text the cockpit's role may not read
    groups: tuple[SessionGroup, ...] = ()
    longest: tuple[ActivitySession, ...] = ()
    waiting_sessions: int = 0
    waiting: tuple[ActivitySession, ...] = ()
    odoo_sessions: int = 0
    odoo: tuple[ActivitySession, ...] = ()

    @property
    def summary(self) -> str:
        return summary_sentence(self)


class OdooVerdict(_Frozen):
    """What Odoo's sessions on a node mean, in one sentence; ``stragglers`` when it should have none."""

    stragglers: bool
    sentence: str


# -- hostile text ------------------------------------------------------------------------------

def mask_passwords(text: str) -> str:
    """``ALTER ROLE odoo PASSWORD 'x'`` -> ``ALTER ROLE odoo PASSWORD '*****'``: a password literal and
    everything after it is masked."""
    match = _PASSWORD_LITERAL.search(text)
    return text if match is None else f"{text[:match.end()]}'{MASK}'"


def clean_word(value: Any, limit: int = WORD_MAX) -> str:
    """A user, application or state name, safe to show on one line."""
    if value is None:
        return ""
    text = visible(redact(str(value)), multiline=False).strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def clean_query(text: Any, limit: int = QUERY_SHOWN) -> str:
    """A query text's first non-blank line, its password literals masked, redacted, escaped, cut."""
    if text is None:
        return ""
    text = str(text)
    if text == HIDDEN_QUERY:
        return "(not visible to the cockpit's role)"
    safe = visible(redact(mask_passwords(text)))
    line = next((ln for ln in safe.split("\n") if ln.strip()), "")
    line = _SPACES.sub(" ", line).strip()
    more = len([ln for ln in safe.split("\n") if ln.strip()]) > 1
    if len(line) > limit:
        return line[:limit - 1] + "…"
    return line + " …" if more else line


# -- parsing -----------------------------------------------------------------------------------

def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    return json.loads(value) if isinstance(value, str) else value


def _session(row: Mapping[str, Any]) -> ActivitySession:
    kind, event = row.get("wait_event_type"), row.get("wait_event")
    wait = f"{kind}: {event}" if kind and event else (kind or event or "")
    return ActivitySession(
        pid=int(row["pid"]), user=clean_word(row.get("usename")), application=clean_word(row.get("application_name")),
        state=clean_word(row.get("state")), client=clean_word(row.get("client_addr")) or "local",
        database=clean_word(row.get("datname")), wait_event=clean_word(wait),
        xact_age_s=row.get("xact_age_s"), query_age_s=row.get("query_age_s"),
        backend_age_s=row.get("backend_age_s"), wait_age_s=row.get("wait_age_s"),
        blocked_by=tuple(int(p) for p in row.get("blocked_by") or ()),
        blockers=tuple(Blocker(pid=int(b["pid"]), user=clean_word(b.get("usename")),
                               application=clean_word(b.get("application_name")), state=clean_word(b.get("state")),
                               backend=clean_word(b.get("backend_type"))) for b in row.get("blockers") or ()),
        query=clean_query(row.get("query")),
    )


def parse_activity(name: str, row: Mapping[str, Any], *, observed_at: datetime,
                   latency_ms: float | None = None) -> NodeActivity:
    """The :data:`~checks.observe.queries.ACTIVITY` row of ``name`` as a :class:`NodeActivity`."""
    return NodeActivity(
        name=name, observed_at=observed_at, reachable=True, latency_ms=latency_ms,
        in_recovery=row["in_recovery"], sessions=row["sessions"] or 0,
        states={clean_word(k): int(v) for k, v in _json(row["states"], {}).items()},
        hidden_queries=row["hidden_queries"] or 0,
        groups=tuple(SessionGroup(application=clean_word(g["application_name"]), state=clean_word(g["state"]),
                                  sessions=int(g["sessions"])) for g in _json(row["groups"], [])),
        longest=tuple(_session(s) for s in _json(row["longest"], [])),
        waiting_sessions=row["waiting_sessions"] or 0,
        waiting=tuple(_session(s) for s in _json(row["waiting"], [])),
        odoo_sessions=row["odoo_sessions"] or 0,
        odoo=tuple(_session(s) for s in _json(row["odoo"], [])),
    )


def unanswered(name: str, text: str | None, *, observed_at: datetime) -> NodeActivity:
    """A node that did not answer: its sentence names the cause in a word, then the redacted text."""
    detail = redact(str(text or "").strip().splitlines()[0] if str(text or "").strip() else "no answer")
    if detail.startswith(f"{name}: "):
        detail = detail[len(name) + 2:]
    detail = visible(_ADDRESS_TUPLE.sub(r"\1:\2", detail), multiline=False).rstrip(".")
    sentence = f"{name} did not answer the activity query ({error_cause(detail)}): {detail}."
    return NodeActivity(name=name, observed_at=observed_at, reachable=False, error=sentence)


# -- sentences ---------------------------------------------------------------------------------

def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def summary_sentence(activity: NodeActivity) -> str:
    """One sentence on the node's sessions: how many, in which states, lock waits, the longest transaction."""
    if not activity.reachable:
        return activity.error or f"{activity.name} did not answer the activity query (no answer)."
    role = "in recovery" if activity.in_recovery else "writable"
    took = f" in {activity.latency_ms:.0f} ms" if activity.latency_ms is not None else ""
    head = f"{activity.name} ({role}) answered{took}"
    if not activity.sessions:
        return f"{head}: no client session but the cockpit's own."
    states = sorted(activity.states.items(), key=lambda kv: (-kv[1], kv[0]))
    parts = [f"{_count(activity.sessions, 'client session')} ({', '.join(f'{n} {s}' for s, n in states)})"]
    if activity.waiting_sessions:
        parts.append(f"{activity.waiting_sessions} waiting on a lock")
    tail = ""
    if activity.longest and activity.longest[0].xact_age_s is not None:
        top = activity.longest[0]
        who = ", ".join(w for w in (top.application, top.state) if w)
        tail = f"; the longest transaction has run {human_seconds(top.xact_age_s)} (pid {top.pid}{', ' + who if who else ''})"
    hidden = ""
    if activity.hidden_queries:
        hidden = (f" The query text of {_count(activity.hidden_queries, 'session')} is hidden from the cockpit's "
                  "role: grant it pg_monitor to see them.")
    return f"{head}: {', '.join(parts)}{tail}.{hidden}"


def odoo_verdict(activity: NodeActivity, *, role: str | None = None,
                 writable: tuple[str, ...] = ()) -> OdooVerdict | None:
    """What Odoo's sessions on this node mean. ``role`` is the node's role in the cockpit's last round,
    ``writable`` the nodes that round saw accepting writes; the node's own answer (in recovery or not)
    is the fresher fact and wins. None when the node did not answer."""
    if not activity.reachable:
        return None
    name, n = activity.name, activity.odoo_sessions
    sessions = _count(n, "Odoo session")
    standby = activity.in_recovery if activity.in_recovery is not None else role == "standby"
    others = tuple(w for w in writable if w != name)
    if standby:
        if not n:
            return OdooVerdict(stragglers=False, sentence=f"No Odoo session on {name}: as it should be on a standby.")
        writer = f" ({others[0]})" if len(others) == 1 else ""
        return OdooVerdict(stragglers=True, sentence=(
            f"{sessions} on {name}, a standby: stragglers. Odoo must reach only the writer{writer}; these "
            "read a lagging copy and cannot write: find them by client address and point them at the writer."))
    if others:
        writers = ", ".join((name, *others))
        if not n:
            return OdooVerdict(stragglers=False, sentence=(
                f"No Odoo session on {name}, one of {len(others) + 1} writable nodes ({writers}): a split brain."))
        return OdooVerdict(stragglers=True, sentence=(
            f"{sessions} on {name}, one of {len(others) + 1} writable nodes ({writers}): a split brain. "
            f"Unless {name} is the writer kept, they are stragglers writing to the wrong primary."))
    if not n:
        return OdooVerdict(stragglers=False, sentence=(
            f"No Odoo session on {name}, the writer: Odoo is not connected to it (down, or pointed elsewhere: "
            "check PgBouncer)."))
    return OdooVerdict(stragglers=False, sentence=f"{sessions} on {name}, the writer: where Odoo should be.")


def straggler_sentence(activity: NodeActivity, *, role: str | None = None,
                       writable: tuple[str, ...] = ()) -> str | None:
    """The sentence saying Odoo's sessions on this node are stragglers; None when they are not."""
    verdict = odoo_verdict(activity, role=role, writable=writable)
    return verdict.sentence if verdict is not None and verdict.stragglers else None


# -- asking the node ---------------------------------------------------------------------------

async def sample_activity(node: Node, sampling: Sampling, *, odoo_db: str | None = None,
                          rows: int = ROWS) -> NodeActivity:
    """Ask ``node`` for its activity: one connection, one round trip, bounded by the sampling timeouts;
    never raises (a node that does not answer is a :class:`NodeActivity` with its sentence)."""
    observed_at = utcnow()
    try:
        async with node_connection(node, sampling, purpose="activity") as conn:
            started = time.perf_counter()
            row = await asyncio.wait_for(
                conn.fetchrow(ACTIVITY, odoo_db, rows, QUERY_CHARS, timeout=sampling.statement_timeout_s),
                timeout=sampling.statement_timeout_s + 0.5)
            latency_ms = (time.perf_counter() - started) * 1000
    except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001 - every failure is a sentence
        text = str(exc).strip()
        if isinstance(exc, asyncio.TimeoutError) or not text:
            text = f"no answer within {sampling.statement_timeout_s:g} s"
        return unanswered(node.name, text, observed_at=observed_at)
    return parse_activity(node.name, row, observed_at=observed_at, latency_ms=latency_ms)
