"""The stand-in's plumbing: Odoo's fault codes, its odoo.conf (re-read when it changes), and its database connections through PgBouncer."""

from __future__ import annotations

import configparser
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from lab.odoo_security import AccessError  # noqa: F401 - Odoo's AccessError, fault code 4

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

