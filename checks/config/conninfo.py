"""DSNs as libpq reads them: URIs and keyword/value strings, ``service=``, sockets, ``PG*`` defaults.

libpq itself parses (psycopg's ``conninfo_to_dict``, which calls ``PQconninfoParse``), and libpq
itself fills what the DSN leaves out, in its own order: the service file's entry (``service=`` or
``PGSERVICE``; ``PGSERVICEFILE``, else ``~/.pg_service.conf``, then ``PGSYSCONFDIR``), then the
``PG*`` environment, then its compiled defaults (``PQconndefaults`` with the service named). What
the DSN says itself always wins. The result is handed to asyncpg faithfully: every parameter
asyncpg knows goes into a URI it parses, the password (never in that URI) and the passfile as
arguments. A node is one server: a host list is refused with a sentence, as is a DSN that names
no server at all.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict

# Parameters asyncpg reads from a URI's query (the rest of libpq's are not used by it).
ASYNCPG_QUERY = ("sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword", "ssl_min_protocol_version",
                 "ssl_max_protocol_version", "target_session_attrs", "krbsrvname", "gsslib")
_ENV_LOCK = threading.Lock()          # PGSERVICE is set for the one call that resolves a service


class DsnError(ValueError):
    """A DSN libpq refuses, or that does not name one server: the message is one sentence."""


class ConnParams(BaseModel):
    """One server's connection parameters, as libpq resolved them (the password is never kept here)."""

    model_config = ConfigDict(frozen=True)

    host: str                        # a host name, an address, or a socket directory (starts with /)
    port: int
    user: str | None = None
    dbname: str | None = None
    passfile: str | None = None
    has_password: bool = False       # the DSN (or PGPASSWORD) carries one: asyncpg gets it as an argument
    options: dict[str, str] = {}     # sslmode and the certificate options, target_session_attrs, ...

    @property
    def socket(self) -> bool:
        return self.host.startswith("/")

    @property
    def where(self) -> str:
        """The server as libpq's messages name it."""
        if self.socket:
            return f'server on socket "{self.host.rstrip("/")}/.s.PGSQL.{self.port}"'
        return f'server at "{self.host}", port {self.port}'

    def asyncpg_dsn(self, *, dbname: str | None = None) -> str:
        """A URI asyncpg parses to the same server, user, database and TLS options (no password)."""
        query = {"host": self.host, "port": str(self.port)}
        if self.user:
            query["user"] = self.user
        query.update({k: v for k, v in self.options.items() if k in ASYNCPG_QUERY})
        database = dbname or self.dbname or self.user or ""
        return f"postgresql:///{quote(database, safe='')}?{urlencode(query)}"

    def asyncpg_passfile(self) -> str:
        """The passfile libpq would read: the DSN's or ``PGPASSFILE`` (an empty one means the default,
        as libpq has it), else ``~/.pgpass``. Always given to asyncpg, which would otherwise read an
        empty ``PGPASSFILE`` as the current directory and warn."""
        return self.passfile or str(Path.home() / ".pgpass")


def parse_dsn(dsn: str) -> dict[str, str]:
    """libpq's parse of ``dsn`` (only what it says itself); DsnError with libpq's sentence."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except ProgrammingError as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else "libpq cannot parse it"
        raise DsnError(f"libpq cannot read the DSN: {text}") from None


def _defaults(service: str | None) -> dict[str, str]:
    """libpq's defaults for what a DSN leaves out: the service's entry, the PG* environment, compiled."""
    from psycopg import pq

    with _ENV_LOCK:
        saved = os.environ.get("PGSERVICE")
        try:
            if service is not None:
                os.environ["PGSERVICE"] = service
            options = pq.Conninfo.get_defaults()
        finally:
            if service is not None:
                if saved is None:
                    os.environ.pop("PGSERVICE", None)
                else:
                    os.environ["PGSERVICE"] = saved
    return {o.keyword.decode(): o.val.decode() for o in options if o.val is not None
            and not (o.compiled is not None and o.val == o.compiled)}    # libpq's compiled defaults are asyncpg's too


def _without_service(defaults: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in defaults.items() if k != "service"}


def conn_params(dsn: str) -> ConnParams:
    """What libpq would connect to for ``dsn``; DsnError with one sentence when it cannot be one server."""
    if not isinstance(dsn, str) or not dsn.strip():
        raise DsnError("the DSN is empty")
    given = parse_dsn(dsn)
    service = given.get("service") or os.environ.get("PGSERVICE") or None
    defaults = _defaults(service)
    # libpq ignores a service it cannot find: found, its entry changes what libpq fills in
    if service is not None and _without_service(defaults) == _without_service(_defaults("")):
        where = os.environ.get("PGSERVICEFILE") or "~/.pg_service.conf"
        raise DsnError(f"service '{service}' is not defined in {where} (PGSERVICEFILE) nor in the system "
                       "pg_service.conf (PGSYSCONFDIR)")
    params = {**defaults, **given}
    host = params.get("host") or params.get("hostaddr")
    if not host:
        raise DsnError("the DSN names no server: give host= (a name, an address, or a socket directory such as "
                       "host=/run/postgresql), a service with a host, or PGHOST")
    for key in ("host", "hostaddr", "port"):
        if "," in params.get(key, ""):
            raise DsnError(f"the DSN lists several servers ({key}={params[key]}): a node is one server; list each "
                           "as its own node")
    try:
        port = int(params.get("port") or 5432)
    except ValueError:
        raise DsnError(f"the DSN's port is not a number: {params.get('port')}") from None
    if not 0 < port < 65536:
        raise DsnError(f"the DSN's port is out of range: {port}")
    kept = {k: v for k, v in params.items() if k in ASYNCPG_QUERY}
    return ConnParams(host=host, port=port, user=params.get("user"), dbname=params.get("dbname"),
                      passfile=params.get("passfile") or None, has_password=bool(params.get("password")),
                      options=kept)


@functools.lru_cache(maxsize=512)
def cached_params(dsn: str) -> ConnParams:
    """:func:`conn_params`, once per DSN and process (the environment is read at the first call)."""
    return conn_params(dsn)


def with_dbname(dsn: str, dbname: str) -> str:
    """The same DSN on another database (every other parameter, the password too, kept as written)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dsn, dbname=dbname)


def dsn_password_of(dsn: str) -> str | None:
    """The password the DSN itself (or PGPASSWORD) carries, as libpq reads it (None without one)."""
    try:
        return parse_dsn(dsn).get("password") or os.environ.get("PGPASSWORD") or None
    except DsnError:
        return None
