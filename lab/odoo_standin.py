"""A small stand-in for Odoo's external API and its health check, for the LAB only (not Odoo).

Run as ``python -m lab.odoo_standin --config DIR/odoo/odoo.conf [--port P]``.

It serves the ``common`` (``version``, ``login``, ``authenticate``), ``object`` (``execute_kw`` and
``execute``: :mod:`lab.odoo_models`) and ``db`` (``list``, ``server_version``, ``db_exist``,
``list_lang``) services over XML-RPC (``/xmlrpc/2/<service>``, ``/xmlrpc/<service>``) and JSON-RPC
(``/jsonrpc`` and the web session routes: :mod:`lab.odoo_jsonrpc`), and ``GET /web/health``
(:mod:`lab.odoo_health`), over Odoo's own tables in the database that ``odoo.conf`` names
(``db_host``, ``db_port``, ``db_name``, ``db_user``, ``db_password`` in ``[options]``). Like Odoo,
every call checks the password again, checks the user's model access rights
(:mod:`lab.odoo_security`; the superuser, uid 1, skips them) and runs in one database
transaction, so a call fails exactly when the database path fails; unlike Odoo, it re-reads
``odoo.conf`` when the file changes, so a rewritten ``db_host``/``db_port`` takes effect without
a restart (a restart works too). What still differs from Odoo: docs/odoo-standin.md.

Failures take Odoo's shapes (:mod:`lab.odoo_faults`) with one line where Odoo sends a traceback.
A thread ticks ``ir_cron.lastcall`` every second. Logs go to stderr (the lab sends them to
``DIR/odoo/standin.log``); passwords and session ids never do.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xmlrpc.server import MultiPathXMLRPCServer, SimpleXMLRPCDispatcher, SimpleXMLRPCRequestHandler

import psycopg

from lab.odoo_db import (  # noqa: F401 - moved there, still importable from here
    CRON_PERIOD_S, FAULT_ACCESS_DENIED, FAULT_ACCESS_ERROR, FAULT_SERVER_ERROR, FAULT_WARNING, PROTOCOL_VERSION,
    SECRETS, SERVER_SERIE, SERVER_VERSION, VERSION_INFO, AccessDenied, AccessError, ConfFile, Database, ScrubFilter,
    UserError, error_name, log, one_line
)
from lab.odoo_db_service import db_service
from lab.odoo_faults import SessionExpired, classify, xmlrpc_fault
from lab.odoo_health import HEADERS, health_answer
from lab.odoo_jsonrpc import Sessions, answer, is_json_path
from lab.odoo_models import METHODS, MODELS, Env
from lab.odoo_schema import CRON_TICK, NOW_UTC, check_password
from lab.odoo_security import SETTINGS, check_access, operation_of

SERVICES = ("common", "object", "db")
JSON_BODY_MAX = 16 * 1024 * 1024


class StandIn:
    """The common, object and db services and the cron ticker, over one Database."""

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

    def run(self, what: str, fn: Callable[[], Any]) -> Any:
        """fn(), logged with its time; a failure is logged in one line and raised as it is."""
        started = time.monotonic()
        try:
            result = fn()
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            code, _, message = classify(what, exc)
            log.info("%s: fault %s: %s (%.1f ms)", what, code, (message.splitlines() or [""])[0],
                     (time.monotonic() - started) * 1000)
            raise
        log.info("%s: ok (%.1f ms)", what, (time.monotonic() - started) * 1000)
        return result

    def dispatch(self, service: str, method: str, params: tuple) -> Any:
        """One call of a service (XML-RPC or /jsonrpc); raises what failed."""
        if service == "common":
            return self.common(method, params)
        if service == "object":
            return self.object(method, params)
        if service == "db":
            return self.db_service(method, params)
        raise LookupError(f"No such service: {service}")

    # -- common --

    def version(self) -> dict:
        return {"server_version": SERVER_VERSION, "server_version_info": VERSION_INFO,
                "server_serie": SERVER_SERIE, "protocol_version": PROTOCOL_VERSION}

    def common(self, method: str, params: tuple) -> Any:
        if method == "version":
            return self.version()
        if method == "about":
            return "LAB stand-in for Odoo's external API (not Odoo)"
        if method in ("authenticate", "login"):
            args = list(params) + [None] * (4 - len(params))
            db, login, password = args[0], args[1], args[2]
            return self.run(f"common.{method} {login!r}", lambda: self._authenticate(db, login, password))
        raise LookupError(f"Method not found: {method}")

    def _authenticate(self, db: Any, login: Any, password: Any) -> int | bool:
        try:
            return self._login_row(db, login, password)["uid"]
        except AccessDenied:
            return False

    def login_user(self, db: Any, login: Any, password: Any) -> dict:
        """The user's row for a good login (as /web/session/authenticate needs it); AccessDenied else."""
        return self.run(f"session.authenticate {login!r}", lambda: self._login_row(db, login, password))

    def _login_row(self, db: Any, login: Any, password: Any) -> dict:
        SECRETS.add(password)
        self._check_db(db)

        def work(conn: psycopg.Connection) -> dict | None:
            cur = conn.cursor()
            cur.execute("SELECT u.id, u.password, u.login, u.partner_id, p.name, "
                        "EXISTS (SELECT 1 FROM res_groups_users_rel r JOIN res_groups g ON g.id = r.gid "
                        "        WHERE r.uid = u.id AND g.name->>'en_US' = %s) "
                        "FROM res_users u JOIN res_partner p ON p.id = u.partner_id "
                        "WHERE u.login = %s AND u.active ORDER BY u.id LIMIT 1", [SETTINGS, login])
            row = cur.fetchone()
            if row is None or not isinstance(password, str) or not check_password(password, row[1]):
                return None
            # Odoo writes a res_users_log row on every successful login: a login needs a writable database
            cur.execute(f"INSERT INTO res_users_log (create_uid, write_uid, create_date, write_date) "
                        f"VALUES (%s, %s, {NOW_UTC}, {NOW_UTC})", [row[0], row[0]])
            return {"uid": int(row[0]), "login": row[2], "partner_id": row[3], "name": row[4],
                    "is_system": bool(row[5])}

        user = self.db.run(work)
        if user is None:
            log.info("Login failed for db:%s login:%s", db, login)
            raise AccessDenied()
        log.info("Login successful for db:%s login:%s (uid %s)", db, login, user["uid"])
        return user

    # -- object --

    def object(self, method: str, params: tuple) -> Any:
        if method == "execute_kw":
            if len(params) < 6:
                raise TypeError("execute_kw() takes at least 6 arguments")
            db, uid, password, model, name, args = params[:6]
            kwargs = params[6] if len(params) > 6 else {}
        elif method == "execute":
            if len(params) < 5:
                raise TypeError("execute() takes at least 5 arguments")
            db, uid, password, model, name = params[:5]
            args, kwargs = list(params[5:]), {}
        else:
            raise LookupError(f"Method not found: {method}")
        SECRETS.add(password)
        return self.run(f"{model}.{name} uid={uid}", lambda: self._execute(
            db, lambda cur: self._uid_password(cur, uid, password), model, name, args, kwargs))

    def call_as(self, db: Any, uid: int, model: Any, method: Any, args: Any, kwargs: Any) -> Any:
        """A call for a logged-in session's user (/web/dataset/call_kw): no password, the user still active."""
        def still_active(cur: psycopg.Cursor) -> int:
            cur.execute("SELECT 1 FROM res_users WHERE id = %s AND active", [uid])
            if cur.fetchone() is None:
                raise SessionExpired("Session expired")
            return uid

        return self._execute(db, still_active, model, method, args, kwargs)

    def _execute(self, db: Any, auth: Callable[[psycopg.Cursor], int], model_name: Any, method: Any, args: Any,
                 kwargs: Any) -> Any:
        self._check_db(db)
        if not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
            raise TypeError("execute_kw() takes args as a list and kwargs as a dict")
        kwargs = dict(kwargs)
        context = kwargs.pop("context", None) or {}

        def work(conn: psycopg.Connection) -> Any:
            env_cur = conn.cursor()
            uid = auth(env_cur)  # every call, as Odoo does
            model = MODELS.get(model_name)
            if model is None:
                raise UserError(f"Object {model_name} doesn't exist")
            if isinstance(method, str) and method.startswith("_"):
                raise AccessError(f"Private methods (such as {model_name}.{method}) cannot be called remotely.")
            if method not in METHODS:
                raise AttributeError(f"The method '{method}' does not exist on the model '{model_name}'")
            operation = operation_of(method)
            if operation:
                check_access(env_cur, uid, model.name, model.description, operation)
            env = Env(conn, uid, model, context)
            return getattr(env, method)(*args, **kwargs)

        return self.db.run(work)

    def db_service(self, method: str, params: tuple) -> Any:
        return db_service(self.conf, method, params)

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
    def __init__(self, standin: StandIn, service: str) -> None:
        super().__init__(allow_none=False, encoding="utf-8")
        self._standin = standin
        self._service = service

    def _dispatch(self, method: str, params: tuple) -> Any:
        try:
            return self._standin.dispatch(self._service, method, params)
        except Exception as exc:  # noqa: BLE001 - every failure is an Odoo fault
            raise xmlrpc_fault(f"{self._service}.{method}", exc) from None


class RequestHandler(SimpleXMLRPCRequestHandler):
    rpc_paths = tuple(f"{version}/{service}" for version in ("/xmlrpc/2", "/xmlrpc") for service in SERVICES)

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        if not is_json_path(self.path):
            super().do_POST()
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= JSON_BODY_MAX:
            self.send_error(413 if length > JSON_BODY_MAX else 400)
            return
        standin: StandIn = self.server.standin
        status, headers, body = answer(standin, self.server.sessions, self.path, self.rfile.read(length),
                                            self.headers.get("Cookie"))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

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
    server.sessions = Sessions()
    for version in ("/xmlrpc/2", "/xmlrpc"):
        for service in SERVICES:
            server.add_dispatcher(f"{version}/{service}", Dispatcher(standin, service))
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.odoo_standin",
                                     description="LAB stand-in for Odoo's external XML-RPC and JSON-RPC API")
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
