"""A small stand-in for Odoo's external XML-RPC API and its health check, for the LAB only.

Run as ``python -m lab.odoo_standin --config DIR/odoo/odoo.conf [--port P]``.

It answers ``GET /web/health`` as real Odoo does (``200``, ``{"status": "pass"}``, JSON, no
session; with ``?db_server_status=1`` it runs ``SELECT 1`` through its Database and answers
``500`` ``{"status": "fail", "db_server_status": false}`` when that fails: see
:mod:`lab.odoo_health`), and serves ``/xmlrpc/2/common`` (``version``, ``authenticate``, ``login``) and
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
import signal
import socketserver
import sys
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

import psycopg
from psycopg import errors as pg_errors

from lab.odoo_db import (  # noqa: F401 - moved there, still importable from here
    CRON_PERIOD_S, FAULT_ACCESS_DENIED, FAULT_ACCESS_ERROR, FAULT_SERVER_ERROR, FAULT_WARNING, PROTOCOL_VERSION,
    SECRETS, SERVER_SERIE, SERVER_VERSION, VERSION_INFO, AccessDenied, AccessError, ConfFile, Database, ScrubFilter,
    UserError, error_name, log, one_line
)
from lab.odoo_health import HEADERS, health_answer
from lab.odoo_models import METHODS, MODELS, Env
from lab.odoo_schema import CRON_TICK, NOW_UTC, check_password


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

    # -- /web/health --

    def db_answers(self) -> bool:
        """Whether the database answers ``SELECT 1`` now (for ``db_server_status``)."""
        try:
            self.db.run(lambda conn: conn.execute("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - the answer is "no", logged
            log.info("health: the database does not answer: %s: %s", error_name(exc), one_line(exc))
            return False
        return True

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

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        standin: StandIn | None = getattr(self.server, "standin", None)
        answer = health_answer(self.path, standin.db_answers if standin else lambda: False)
        if answer is None:
            self.report_404()
            return
        status, body = answer
        self.send_response(status)
        for name, value in HEADERS:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        log.debug("%s %s", self.address_string(), format % args)


class Server(socketserver.ThreadingMixIn, MultiPathXMLRPCServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(standin: StandIn, host: str, port: int) -> Server:
    server = Server((host, port), requestHandler=RequestHandler, logRequests=False, allow_none=False,
                    encoding="utf-8")
    server.standin = standin
    for version in ("/xmlrpc/2", "/xmlrpc"):
        server.add_dispatcher(f"{version}/common", Dispatcher(standin.common))
        server.add_dispatcher(f"{version}/object", Dispatcher(standin.object))
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.odoo_standin",
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
