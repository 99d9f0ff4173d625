"""A small stand-in for Odoo's external XML-RPC API, for the LAB only.

Run as ``python -m tui.lab.odoo_standin --config DIR/odoo/odoo.conf [--port P]``.

It serves ``/xmlrpc/2/common`` (``version``, ``authenticate``, ``login``) and
``/xmlrpc/2/object`` (``execute_kw`` / ``execute`` on ``res.partner`` and ``sale.order``:
``create``, ``write``, ``unlink``, ``read``, ``search``, ``search_read``, ``search_count``)
over Odoo's own tables in the database that ``odoo.conf`` names (``db_host``, ``db_port``,
``db_name``, ``db_user``, ``db_password`` in ``[options]``). Like Odoo, every call checks
the password again and runs in one database transaction, so a call fails exactly when
the database path fails; unlike Odoo, it re-reads ``odoo.conf`` when the file changes,
so a rewritten ``db_host``/``db_port`` takes effect without a restart (a restart works too).

Faults follow Odoo's codes (1 server error, 2 user error, 3 access denied, 4 access
error) with a one-line message where Odoo would send a whole traceback. A thread ticks
``ir_cron.lastcall`` every second. Logs go to stderr (the lab sends them to
``DIR/odoo/standin.log``); passwords never do.
"""

from __future__ import annotations

import argparse
import configparser
import logging
import os
import random
import re
import signal
import socketserver
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

import psycopg
from psycopg import errors as pg_errors

from tui.lab.odoo_schema import CRON_TICK, NOW_UTC, check_password

SERVER_VERSION = "17.0-lab-standin"
SERVER_SERIE = "17.0"
VERSION_INFO = [17, 0, 0, "final", 0, "lab-standin"]
PROTOCOL_VERSION = 1

# Odoo's XML-RPC fault codes (odoo/addons/base/controllers/rpc.py)
FAULT_SERVER_ERROR = 1
FAULT_WARNING = 2
FAULT_ACCESS_DENIED = 3
FAULT_ACCESS_ERROR = 4

CRON_PERIOD_S = 1.0
CONCURRENCY_RETRIES = 5  # Odoo retries a call on serialization failures and deadlocks
APPLICATION_NAME = "odoo"

log = logging.getLogger("odoo.standin")


# ---- errors Odoo's RPC layer understands -----------------------------------

class UserError(Exception):
    """Odoo's UserError (and MissingError, ValidationError): fault code 2."""


class AccessDenied(Exception):
    """Wrong login or password: fault code 3, "Access Denied"."""


class AccessError(Exception):
    """Not allowed (e.g. a private method): fault code 4."""


# ---- secrets and log hygiene -----------------------------------------------

class Secrets:
    """Every secret the process has seen; scrubbed from logs and faults."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: object) -> None:
        if isinstance(value, str) and len(value) >= 4:
            with self._lock:
                if len(self._values) < 1000:
                    self._values.add(value)

    def scrub(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            text = text.replace(value, "***")
        return text


SECRETS = Secrets()


class ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = SECRETS.scrub(record.getMessage())
        record.args = None
        return True


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return SECRETS.scrub(text[0] if text else type(exc).__name__)


def error_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__name__}"


# ---- odoo.conf ---------------------------------------------------------------

@dataclass(frozen=True)
class DbParams:
    host: str
    port: int
    name: str
    user: str
    password: str
    maxconn: int

    def conninfo(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "dbname": self.name, "user": self.user,
                "password": self.password, "application_name": APPLICATION_NAME, "connect_timeout": 5}

    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.name}"


def read_conf(path: Path) -> tuple[DbParams, dict[str, str]]:
    """The [options] of odoo.conf: db params, and the rest as text. Raises ValueError/OSError."""
    parser = configparser.ConfigParser(interpolation=None)
    with open(path, encoding="utf-8") as handle:
        parser.read_file(handle)
    if not parser.has_section("options"):
        raise ValueError(f"{path} has no [options] section")
    options = dict(parser.items("options"))
    for key in ("admin_passwd", "db_password"):
        SECRETS.add(options.get(key))
    port_text = options.get("db_port", "5432")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{path}: db_port {port_text!r} is not a port")
    params = DbParams(host=options.get("db_host") or "127.0.0.1", port=int(port_text),
                      name=options.get("db_name") or "odoo", user=options.get("db_user") or "odoo",
                      password=options.get("db_password") or "",
                      maxconn=int(options.get("db_maxconn", "16") or 16))
    return params, options


class ConfFile:
    """odoo.conf, re-read whenever its mtime, inode or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp = self._stat()
        self.params, self.options = read_conf(path)
        self.generation = 1

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_ino, st.st_size

    def current(self) -> tuple[DbParams, int]:
        stamp = self._stat()
        if stamp is not None and stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._reload(stamp)
        return self.params, self.generation

    def _reload(self, stamp: tuple[int, int, int]) -> None:
        try:
            params, options = read_conf(self.path)
        except (OSError, ValueError, configparser.Error) as exc:
            log.warning("odoo.conf changed but cannot be read (%s); keeping %s", one_line(exc), self.params.where())
            self._stamp = stamp
            return
        self._stamp = stamp
        self.options = options
        if params != self.params:
            log.info("odoo.conf changed: database now %s (was %s)", params.where(), self.params.where())
            self.params = params
            self.generation += 1


# ---- the database path ---------------------------------------------------------

class Database:
    """A small pool of psycopg connections; one transaction per call."""

    MAX_IDLE = 8

    def __init__(self, conf: ConfFile) -> None:
        self.conf = conf
        self._idle: list[tuple[int, psycopg.Connection]] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, conf.params.maxconn))

    def _connect(self, params: DbParams) -> psycopg.Connection:
        # prepare_threshold=None: no server-side prepared statements behind PgBouncer (transaction mode)
        return psycopg.connect(**params.conninfo(), autocommit=False, prepare_threshold=None)

    def _take(self, params: DbParams, generation: int) -> tuple[psycopg.Connection, bool]:
        stale: list[psycopg.Connection] = []
        found: psycopg.Connection | None = None
        with self._lock:
            while self._idle:
                gen, conn = self._idle.pop()
                if gen == generation and not conn.closed:
                    found = conn
                    break
                stale.append(conn)
        for conn in stale:
            conn.close()
        if found is not None:
            return found, True
        return self._connect(params), False

    def _give_back(self, conn: psycopg.Connection, generation: int) -> None:
        _, current = self.conf.current()
        if conn.closed or conn.broken or generation != current:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < self.MAX_IDLE:
                self._idle.append((generation, conn))
                return
        conn.close()

    def run(self, work: Callable[[psycopg.Connection], Any]) -> Any:
        """Run work(conn) in one transaction and commit; retried on concurrency errors like Odoo.
        A pooled connection found dead at its first statement is replaced once (it was idle)."""
        with self._slots:
            tries = 0
            while True:
                params, generation = self.conf.current()
                conn, reused = self._take(params, generation)
                if reused and not self._alive(conn):
                    conn.close()
                    conn, reused = self._connect(params), False
                try:
                    result = work(conn)
                    conn.commit()
                except BaseException as exc:
                    self._abandon(conn)
                    if (isinstance(exc, (pg_errors.SerializationFailure, pg_errors.DeadlockDetected))
                            and tries < CONCURRENCY_RETRIES):
                        tries += 1
                        time.sleep(random.uniform(0.0, 0.1 * 2 ** tries))
                        continue
                    raise
                self._give_back(conn, generation)
                return result

    @staticmethod
    def _alive(conn: psycopg.Connection) -> bool:
        try:
            conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def _abandon(self, conn: psycopg.Connection) -> None:
        try:
            if not conn.closed and not conn.broken:
                conn.rollback()
        except psycopg.Error:
            pass
        conn.close()  # after an error: never reuse a connection in an unknown state

    def close_all(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for _, conn in idle:
            conn.close()


# ---- models ----------------------------------------------------------------------

USERS_DISPLAY = ("(SELECT p.name FROM res_users u JOIN res_partner p ON p.id = u.partner_id "
                 "WHERE u.id = t.{col})")
PARTNER_DISPLAY = "(SELECT p.name FROM res_partner p WHERE p.id = t.{col})"
DISPLAY = {"res.users": USERS_DISPLAY, "res.partner": PARTNER_DISPLAY}


@dataclass(frozen=True)
class Field:
    kind: str  # integer, char, text, boolean, datetime, selection, many2one
    comodel: str | None = None
    writable: bool = True
    column: str | None = None  # None: the field's own name; display_name maps to name


@dataclass(frozen=True)
class Model:
    name: str
    table: str
    description: str
    fields: dict[str, Field]
    order: str
    selections: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def column(self, name: str) -> str:
        spec = self.fields[name]
        return spec.column or name


AUDIT = {
    "create_uid": Field("many2one", "res.users", writable=False),
    "create_date": Field("datetime", writable=False),
    "write_uid": Field("many2one", "res.users", writable=False),
    "write_date": Field("datetime", writable=False),
}
MODELS = {
    "res.partner": Model("res.partner", "res_partner", "Contact", {
        "id": Field("integer", writable=False),
        "name": Field("char"),
        "display_name": Field("char", writable=False, column="name"),
        "active": Field("boolean"),
        **AUDIT,
    }, order="t.name, t.id DESC"),
    "sale.order": Model("sale.order", "sale_order", "Sales Order", {
        "id": Field("integer", writable=False),
        "name": Field("char"),
        "display_name": Field("char", writable=False, column="name"),
        "partner_id": Field("many2one", "res.partner"),
        "state": Field("selection"),
        "client_order_ref": Field("char"),
        "note": Field("text"),
        "date_order": Field("datetime"),
        **AUDIT,
    }, order="t.date_order DESC, t.id DESC", selections={"state": ("draft", "sent", "sale", "cancel")}),
}
METHODS = {"create", "write", "unlink", "read", "search", "search_read", "search_count"}
LEAF_OPERATORS = {"=", "!=", "<>", "<", "<=", ">", ">=", "in", "not in", "like", "ilike", "not like",
                  "not ilike", "=like", "=ilike"}
ORDER_TERM = re.compile(r"^\s*([a-z_][a-z0-9_]*)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)


def to_rpc(spec: Field, value: Any, display: Any = None) -> Any:
    """A column value as Odoo's read() returns it over XML-RPC (False for nothing)."""
    if value is None:
        return False
    if spec.kind == "many2one":
        return [value, display or ""]
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return value


def from_rpc(model: Model, name: str, value: Any) -> tuple[str, Any]:
    """(SQL placeholder, parameter) for one value given to create/write."""
    spec = model.fields[name]
    if value is False and spec.kind != "boolean":
        return "%s", None
    if spec.kind == "many2one":
        if isinstance(value, (list, tuple)) and value:
            value = value[0]
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"Wrong value for {model.name}.{name}: {value!r}")
        return "%s", value
    if spec.kind == "datetime":
        if isinstance(value, xmlrpc.client.DateTime):
            value = datetime.strptime(value.value, "%Y%m%dT%H:%M:%S")
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%d %H:%M:%S")
        if not isinstance(value, str):
            raise ValueError(f"Wrong value for {model.name}.{name}: {value!r}")
        return "%s::timestamp", value
    if spec.kind == "boolean":
        return "%s", bool(value)
    if spec.kind == "selection":
        allowed = model.selections.get(name, ())
        if value not in allowed:
            raise ValueError(f"Wrong value for {model.name}.{name}: {value!r}")
        return "%s", value
    if spec.kind == "integer":
        return "%s", int(value)
    return "%s", str(value)


def ids_of(value: Any) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(dict.fromkeys(value))
    raise ValueError(f"expected a list of record ids, got {value!r}")


class Env:
    """One call: its connection, its user, its model."""

    def __init__(self, conn: psycopg.Connection, uid: int, model: Model, context: dict) -> None:
        self.cur = conn.cursor()
        self.uid = uid
        self.model = model
        self.context = context or {}

    def sql(self, query: str, params: list | tuple = ()) -> list[tuple]:
        self.cur.execute(query, list(params) or None)
        return self.cur.fetchall() if self.cur.description else []

    # -- domains and orders --

    def where(self, domain: Any, active_test: bool = True) -> tuple[str, list]:
        if domain in (None, False):
            domain = []
        if not isinstance(domain, (list, tuple)):
            raise ValueError(f"Invalid domain: {domain!r}")
        clauses: list[str] = []
        params: list = []
        named: set[str] = set()
        for term in domain:
            if term == "&":
                continue  # leaves are ANDed anyway
            if term in ("|", "!"):
                raise ValueError(f"the lab stand-in supports AND domains only, not {term!r}")
            if not isinstance(term, (list, tuple)) or len(term) != 3:
                raise ValueError(f"Invalid leaf {term!r}")
            name, operator, value = term
            operator = str(operator).lower()
            if name not in self.model.fields:
                raise ValueError(f"Invalid field {self.model.name}.{name} in leaf {list(term)!r}")
            if operator not in LEAF_OPERATORS:
                raise ValueError(f"Invalid leaf {list(term)!r}: unknown operator {operator!r}")
            named.add(name)
            clause, extra = self._leaf(name, operator, value)
            clauses.append(clause)
            params += extra
        if (active_test and "active" in self.model.fields and "active" not in named
                and self.context.get("active_test", True)):
            clauses.append("t.active")
        return (" AND ".join(clauses) or "TRUE"), params

    def _leaf(self, name: str, operator: str, value: Any) -> tuple[str, list]:
        spec = self.model.fields[name]
        col = f"t.{self.model.column(name)}"
        if operator == "<>":
            operator = "!="
        if spec.kind == "many2one" and isinstance(value, (list, tuple)) and operator in ("=", "!="):
            value = value[0] if value else False
        if operator in ("in", "not in"):
            if not isinstance(value, (list, tuple)):
                value = [value]
            values = [v for v in value if v is not False]
            with_null = len(values) != len(value)
            if operator == "in":
                parts = [f"{col} = ANY(%s)"] if values else []
                if with_null:
                    parts.append(f"{col} IS NULL")
                return (f"({' OR '.join(parts)})" if parts else "FALSE"), ([list(values)] if values else [])
            parts = [f"{col} <> ALL(%s)"] if values else []
            parts.append(f"{col} IS NOT NULL" if with_null else f"{col} IS NULL")
            joiner = " AND " if with_null else " OR "
            return f"({joiner.join(parts)})", ([list(values)] if values else [])
        if spec.kind == "boolean" and operator in ("=", "!="):
            truth = bool(value) == (operator == "=")
            return (f"{col}" if truth else f"({col} IS NULL OR NOT {col})"), []
        if value is False and operator in ("=", "!="):
            return f"{col} IS {'NOT ' if operator == '!=' else ''}NULL", []
        if operator in ("like", "ilike", "not like", "not ilike", "=like", "=ilike"):
            pattern = str(value) if operator.startswith("=") else f"%{value}%"
            sql_op = {"like": "LIKE", "ilike": "ILIKE", "not like": "NOT LIKE", "not ilike": "NOT ILIKE",
                      "=like": "LIKE", "=ilike": "ILIKE"}[operator]
            clause = f"{col}::text {sql_op} %s"
            if operator.startswith("not"):
                clause = f"({clause} OR {col} IS NULL)"
            return clause, [pattern]
        if isinstance(value, (list, tuple, dict)):
            raise ValueError(f"Invalid leaf [{name!r}, {operator!r}, {value!r}]")
        placeholder = "%s::timestamp" if spec.kind == "datetime" else "%s"
        if operator == "!=":
            return f"({col} <> {placeholder} OR {col} IS NULL)", [value]
        return f"{col} {operator} {placeholder}", [value]

    def order_by(self, order: Any) -> str:
        if not order:
            return self.model.order
        terms = []
        for part in str(order).split(","):
            match = ORDER_TERM.match(part)
            if not match or match.group(1) not in self.model.fields:
                raise ValueError(f"Invalid \"order\" specified ({order!r})")
            terms.append(f"t.{self.model.column(match.group(1))} {(match.group(2) or 'asc').upper()}")
        return ", ".join(terms)

    # -- reading --

    def field_names(self, fields: Any) -> list[str]:
        if not fields:
            return [name for name in self.model.fields if name != "id"]
        if isinstance(fields, str):
            fields = [fields]
        unknown = [f for f in fields if f not in self.model.fields]
        if unknown:
            raise ValueError(f"Invalid field {unknown[0]!r} on model {self.model.name!r}")
        return [f for f in dict.fromkeys(fields) if f != "id"]

    def select(self, where: str, params: list, fields: list[str], order: str,
               limit: Any = None, offset: Any = 0) -> list[dict]:
        exprs = ["t.id"]
        for name in fields:
            spec = self.model.fields[name]
            col = self.model.column(name)
            exprs.append(f"t.{col}")
            if spec.kind == "many2one":
                exprs.append(DISPLAY[spec.comodel].format(col=col))
        query = f"SELECT {', '.join(exprs)} FROM {self.model.table} t WHERE {where} ORDER BY {order}"
        query_params = list(params)
        if limit:
            query += " LIMIT %s"
            query_params.append(int(limit))
        if offset:
            query += " OFFSET %s"
            query_params.append(int(offset))
        records = []
        for row in self.sql(query, query_params):
            record: dict[str, Any] = {"id": row[0]}
            i = 1
            for name in fields:
                spec = self.model.fields[name]
                if spec.kind == "many2one":
                    record[name] = to_rpc(spec, row[i], row[i + 1])
                    i += 2
                else:
                    record[name] = to_rpc(spec, row[i])
                    i += 1
            records.append(record)
        return records

    # -- the ORM methods --

    def create(self, vals_list: Any) -> Any:
        single = isinstance(vals_list, dict)
        batch = [vals_list] if single else vals_list
        if not isinstance(batch, list) or not all(isinstance(v, dict) for v in batch):
            raise ValueError("create() takes a dict of values or a list of them")
        ids = [self._create_one(vals) for vals in batch]
        return ids[0] if single else ids

    def _check_writable(self, vals: dict) -> None:
        for name in vals:
            spec = self.model.fields.get(name)
            if spec is None:
                raise ValueError(f"Invalid field {name!r} on model {self.model.name!r}")
            if not spec.writable:
                raise ValueError(f"Field {self.model.name}.{name} is not writable")

    def _create_one(self, vals: dict) -> int:
        self._check_writable(vals)
        vals = dict(vals)
        if self.model.name == "sale.order" and vals.get("name") in (None, False, "New"):
            vals.pop("name", None)  # the sequence gives S00001, S00002, ...
        columns, placeholders, params = [], [], []
        for name, value in vals.items():
            placeholder, param = from_rpc(self.model, name, value)
            columns.append(self.model.column(name))
            placeholders.append(placeholder)
            params.append(param)
        columns += ["create_uid", "write_uid", "create_date", "write_date"]
        placeholders += ["%s", "%s", NOW_UTC, NOW_UTC]
        params += [self.uid, self.uid]
        rows = self.sql(f"INSERT INTO {self.model.table} ({', '.join(columns)}) "
                        f"VALUES ({', '.join(placeholders)}) RETURNING id", params)
        return rows[0][0]

    def write(self, ids: Any, vals: Any) -> bool:
        ids = ids_of(ids)
        if not isinstance(vals, dict):
            raise ValueError("write() takes a dict of values")
        self._check_writable(vals)
        sets, params = [], []
        for name, value in vals.items():
            placeholder, param = from_rpc(self.model, name, value)
            sets.append(f"{self.model.column(name)} = {placeholder}")
            params.append(param)
        sets += ["write_uid = %s", f"write_date = {NOW_UTC}"]
        params.append(self.uid)
        if not ids:
            return True
        self.sql(f"UPDATE {self.model.table} SET {', '.join(sets)} WHERE id = ANY(%s)", params + [ids])
        if self.cur.rowcount != len(ids):
            raise UserError(f"Record does not exist or has been deleted.\n"
                            f"(Record: {self.model.name}({', '.join(map(str, ids))},), User: {self.uid})")
        return True

    def unlink(self, ids: Any) -> bool:
        ids = ids_of(ids)
        if not ids:
            return True
        if self.model.name == "sale.order":
            locked = self.sql("SELECT id FROM sale_order WHERE id = ANY(%s) AND state NOT IN ('draft', 'cancel')",
                              [ids])
            if locked:
                raise UserError("You can not delete a sent quotation or a confirmed sales order. "
                                "You must first cancel it.")
        # a record already gone is no error for unlink (as in Odoo)
        self.sql(f"DELETE FROM {self.model.table} WHERE id = ANY(%s)", [ids])
        return True

    def read(self, ids: Any, fields: Any = None, load: str = "_classic_read") -> list[dict]:
        ids = ids_of(ids)
        if not ids:
            return []
        records = self.select("t.id = ANY(%s)", [ids], self.field_names(fields), "t.id")
        by_id = {r["id"]: r for r in records}
        return [by_id[i] for i in ids if i in by_id]  # deleted records are skipped, as in Odoo

    def search(self, domain: Any = None, offset: int = 0, limit: Any = None, order: Any = None) -> list[int]:
        where, params = self.where(domain)
        return [r["id"] for r in self.select(where, params, [], self.order_by(order), limit, offset)]

    def search_read(self, domain: Any = None, fields: Any = None, offset: int = 0, limit: Any = None,
                    order: Any = None) -> list[dict]:
        where, params = self.where(domain)
        return self.select(where, params, self.field_names(fields), self.order_by(order), limit, offset)

    def search_count(self, domain: Any = None, limit: Any = None) -> int:
        where, params = self.where(domain)
        query = f"SELECT count(*) FROM (SELECT 1 FROM {self.model.table} t WHERE {where}"
        query += " LIMIT %s)" if limit else ")"
        rows = self.sql(query + " AS found", params + ([int(limit)] if limit else []))
        return int(rows[0][0])


# ---- the services ----------------------------------------------------------------

class StandIn:
    """The two XML-RPC services and the cron ticker, over one Database."""

    def __init__(self, conf: ConfFile, db: Database) -> None:
        self.conf = conf
        self.db = db
        self.stopping = threading.Event()

    # -- helpers --

    def _check_db(self, db: Any) -> None:
        params, _ = self.conf.current()
        if db != params.name:
            raise UserError(f"database {db!r} is not served here (odoo.conf db_name is {params.name!r})")

    @staticmethod
    def _uid_password(cur: psycopg.Cursor, uid: Any, password: Any) -> int:
        SECRETS.add(password)
        if not isinstance(uid, int) or isinstance(uid, bool) or not isinstance(password, str):
            raise AccessDenied()
        cur.execute("SELECT password FROM res_users WHERE id = %s AND active", [uid])
        row = cur.fetchone()
        if row is None or not check_password(password, row[0]):
            raise AccessDenied()
        return uid

    def fault(self, what: str, exc: BaseException) -> xmlrpc.client.Fault:
        if isinstance(exc, xmlrpc.client.Fault):
            return exc
        if isinstance(exc, AccessDenied):
            return xmlrpc.client.Fault(FAULT_ACCESS_DENIED, "Access Denied")
        if isinstance(exc, AccessError):
            return xmlrpc.client.Fault(FAULT_ACCESS_ERROR, SECRETS.scrub(str(exc)))
        if isinstance(exc, UserError):
            return xmlrpc.client.Fault(FAULT_WARNING, SECRETS.scrub(str(exc)))
        if isinstance(exc, pg_errors.NotNullViolation):
            return xmlrpc.client.Fault(FAULT_WARNING, "The operation cannot be completed: a mandatory field "
                                                      f"is not set ({one_line(exc)})")
        if isinstance(exc, pg_errors.ForeignKeyViolation):
            return xmlrpc.client.Fault(FAULT_WARNING, "The operation cannot be completed: another model "
                                                      f"requires the record being deleted or referenced "
                                                      f"({one_line(exc)})")
        if not isinstance(exc, (psycopg.Error, ValueError, TypeError, KeyError, AttributeError)):
            log.exception("%s: unexpected error", what)
        return xmlrpc.client.Fault(FAULT_SERVER_ERROR, f"{error_name(exc)}: {one_line(exc)}")

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            result = fn()
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            fault = self.fault(what, exc)
            log.info("%s: fault %s: %s (%.1f ms)", what, fault.faultCode, fault.faultString.splitlines()[0],
                     (time.monotonic() - started) * 1000)
            raise fault from None
        log.info("%s: ok (%.1f ms)", what, (time.monotonic() - started) * 1000)
        return result

    # -- /xmlrpc/2/common --

    def common(self, method: str, params: tuple) -> Any:
        if method == "version":
            return {"server_version": SERVER_VERSION, "server_version_info": VERSION_INFO,
                    "server_serie": SERVER_SERIE, "protocol_version": PROTOCOL_VERSION}
        if method in ("authenticate", "login"):
            args = list(params) + [None] * (4 - len(params))
            db, login, password = args[0], args[1], args[2]
            return self._call(f"common.{method} {login!r}", lambda: self._authenticate(db, login, password))
        raise xmlrpc.client.Fault(FAULT_SERVER_ERROR, f"Exception: Method not found: {method}")

    def _authenticate(self, db: Any, login: Any, password: Any) -> int | bool:
        SECRETS.add(password)
        self._check_db(db)

        def work(conn: psycopg.Connection) -> int | bool:
            cur = conn.cursor()
            cur.execute("SELECT id, password FROM res_users WHERE login = %s AND active ORDER BY id LIMIT 1",
                        [login])
            row = cur.fetchone()
            if row is None or not isinstance(password, str) or not check_password(password, row[1]):
                return False
            # Odoo writes a res_users_log row on every successful login: a login needs a writable database
            cur.execute(f"INSERT INTO res_users_log (create_uid, write_uid, create_date, write_date) "
                        f"VALUES (%s, %s, {NOW_UTC}, {NOW_UTC})", [row[0], row[0]])
            return int(row[0])

        uid = self.db.run(work)
        if uid is False:
            log.info("Login failed for db:%s login:%s", db, login)
        else:
            log.info("Login successful for db:%s login:%s (uid %s)", db, login, uid)
        return uid

    # -- /xmlrpc/2/object --

    def object(self, method: str, params: tuple) -> Any:
        if method == "execute_kw":
            if len(params) < 6:
                raise xmlrpc.client.Fault(FAULT_SERVER_ERROR, "TypeError: execute_kw() takes at least 6 arguments")
            db, uid, password, model, name, args = params[:6]
            kwargs = params[6] if len(params) > 6 else {}
        elif method == "execute":
            if len(params) < 5:
                raise xmlrpc.client.Fault(FAULT_SERVER_ERROR, "TypeError: execute() takes at least 5 arguments")
            db, uid, password, model, name = params[:5]
            args, kwargs = list(params[5:]), {}
        else:
            raise xmlrpc.client.Fault(FAULT_SERVER_ERROR, f"Exception: Method not found: {method}")
        return self._call(f"{model}.{name} uid={uid}",
                          lambda: self._execute(db, uid, password, model, name, args, kwargs))

    def _execute(self, db: Any, uid: Any, password: Any, model_name: Any, method: Any, args: Any,
                 kwargs: Any) -> Any:
        SECRETS.add(password)
        self._check_db(db)
        if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
            raise TypeError("execute_kw() takes args as a list and kwargs as a dict")
        kwargs = dict(kwargs)
        context = kwargs.pop("context", None) or {}

        def work(conn: psycopg.Connection) -> Any:
            env_cur = conn.cursor()
            self._uid_password(env_cur, uid, password)  # every call, as Odoo does
            model = MODELS.get(model_name)
            if model is None:
                raise UserError(f"Object {model_name} doesn't exist")
            if isinstance(method, str) and method.startswith("_"):
                raise AccessError(f"Private methods (such as {model_name}.{method}) cannot be called remotely.")
            if method not in METHODS:
                raise AttributeError(f"The method '{method}' does not exist on the model '{model_name}'")
            env = Env(conn, uid, model, context)
            return getattr(env, method)(*args, **kwargs)

        return self.db.run(work)

    # -- cron --

    def cron_loop(self) -> None:
        failing = False
        while True:  # a tick at start, then one every CRON_PERIOD_S
            try:
                self.db.run(lambda conn: conn.execute(CRON_TICK))
            except Exception as exc:  # noqa: BLE001 - logged, retried next tick
                if not failing:
                    log.warning("cron tick failed (retrying every %.0f s): %s: %s", CRON_PERIOD_S,
                                error_name(exc), one_line(exc))
                failing = True
            else:
                if failing:
                    log.info("cron ticking again")
                failing = False
            if self.stopping.wait(CRON_PERIOD_S):
                return


class Dispatcher(SimpleXMLRPCDispatcher):
    def __init__(self, handle: Callable[[str, tuple], Any]) -> None:
        super().__init__(allow_none=False, encoding="utf-8")
        self._handle = handle

    def _dispatch(self, method: str, params: tuple) -> Any:
        return self._handle(method, params)


class RequestHandler(SimpleXMLRPCRequestHandler):
    rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object", "/xmlrpc/common", "/xmlrpc/object")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)


class Server(socketserver.ThreadingMixIn, MultiPathXMLRPCServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(standin: StandIn, host: str, port: int) -> Server:
    server = Server((host, port), requestHandler=RequestHandler, logRequests=False, allow_none=False,
                    encoding="utf-8")
    for version in ("/xmlrpc/2", "/xmlrpc"):
        server.add_dispatcher(f"{version}/common", Dispatcher(standin.common))
        server.add_dispatcher(f"{version}/object", Dispatcher(standin.object))
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tui.lab.odoo_standin",
                                     description="LAB stand-in for Odoo's external XML-RPC API")
    parser.add_argument("--config", type=Path, required=True, help="odoo.conf ([options] db_host, db_port, ...)")
    parser.add_argument("--port", type=int, help="HTTP port (default: http_port of odoo.conf, else 8069)")
    args = parser.parse_args(argv)
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubFilter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    try:
        conf = ConfFile(args.config)
    except (OSError, ValueError, configparser.Error) as exc:
        log.error("cannot read %s: %s", args.config, one_line(exc))
        return 2
    host = conf.options.get("http_interface") or "127.0.0.1"
    port = args.port or int(conf.options.get("http_port") or 8069)
    db = Database(conf)
    standin = StandIn(conf, db)
    try:
        server = make_server(standin, host, port)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", host, port, exc.strerror)
        return 2

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    cron = threading.Thread(target=standin.cron_loop, name="cron", daemon=True)
    cron.start()
    log.info("Odoo stand-in %s (LAB, not Odoo) on http://%s:%s, database %s", SERVER_VERSION, host, port,
             conf.params.where())
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        standin.stopping.set()
        server.server_close()
        db.close_all()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
