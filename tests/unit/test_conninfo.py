"""DSNs as libpq reads them (checks.config.conninfo) and errors in libpq's words (checks.observe.libpq).
libpq itself parses here (psycopg's conninfo); the lab tests connect through each form."""

from __future__ import annotations

import asyncio
import errno
import socket

import pytest

from checks.config.conninfo import DsnError, conn_params, dsn_password_of, with_dbname
from checks.config.redact import dsn_password
from checks.observe.libpq import CLOSED, asyncpg_args, connection_error


@pytest.mark.parametrize("dsn, host, port, user, dbname", [
    ("postgresql://cockpit@db1:5433/postgres", "db1", 5433, "cockpit", "postgres"),
    ("host=db1 port=5433 user=cockpit dbname=postgres", "db1", 5433, "cockpit", "postgres"),
    ("postgresql:///postgres?host=/run/postgresql&user=cockpit", "/run/postgresql", 5432, "cockpit", "postgres"),
    ("host=10.0.0.5 dbname='odoo db'", "10.0.0.5", 5432, None, "odoo db"),
])
def test_uris_keyword_strings_and_sockets_read_as_libpq_reads_them(dsn, host, port, user, dbname):
    params = conn_params(dsn)
    assert (params.host, params.port, params.dbname) == (host, port, dbname)
    assert user is None or params.user == user


def test_a_service_and_the_environment_fill_what_the_dsn_leaves_out(tmp_path, monkeypatch):
    services = tmp_path / "pg_service.conf"
    services.write_text("[prod-db1]\nhost=db1.internal\nport=6543\nuser=cockpit\ndbname=postgres\nsslmode=verify-full\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    params = conn_params("service=prod-db1 port=7000")                # the DSN's own word wins
    assert (params.host, params.port, params.user, params.options["sslmode"]) == ("db1.internal", 7000, "cockpit",
                                                                                 "verify-full")
    monkeypatch.setenv("PGHOST", "db9.internal")
    monkeypatch.setenv("PGUSER", "reader")
    assert (conn_params("dbname=x").host, conn_params("dbname=x").user) == ("db9.internal", "reader")
    with pytest.raises(DsnError, match="service 'nope' is not defined in .*pg_service.conf"):
        conn_params("service=nope")


@pytest.mark.parametrize("dsn, words", [
    ("host=db1,db2 dbname=x", "a node is one server; list each as its own node"),
    ("postgresql://db1:5432,db2:5432/x", "a node is one server"),
    ("dbname=x", "the DSN names no server"),
    ("host=db1 port=99999", "the DSN's port is out of range: 99999"),
    ("host=db1 port", 'libpq cannot read the DSN: missing "=" after "port" in connection info string'),
    ("", "the DSN is empty"),
])
def test_what_cannot_be_one_server_is_one_sentence(dsn, words, monkeypatch):
    monkeypatch.delenv("PGHOST", raising=False)
    with pytest.raises(DsnError, match=words.replace("(", r"\(")):
        conn_params(dsn)


def test_asyncpg_gets_the_same_server_tls_options_and_never_the_password_in_the_uri(tmp_path):
    dsn = f"host=db1 port=5433 user=cockpit dbname=postgres password='s3 cr3t' sslmode=verify-ca sslrootcert={tmp_path}/ca.pem"
    args = asyncpg_args(dsn)
    assert args["password"] == "s3 cr3t" and "s3" not in args["dsn"]
    assert args["dsn"].startswith("postgresql:///postgres?host=db1&port=5433&user=cockpit&sslmode=verify-ca")
    assert "sslrootcert=" in args["dsn"] and args["passfile"].endswith(".pgpass")
    assert asyncpg_args(dsn, "from-env")["password"] == "from-env"       # password_env wins
    assert dsn_password(dsn) == dsn_password_of(dsn) == "s3 cr3t"
    moved = with_dbname(dsn, "odoo")
    assert conn_params(moved).dbname == "odoo" and dsn_password(moved) == "s3 cr3t"


def test_an_empty_pgpassfile_means_the_default_as_in_libpq(monkeypatch):
    monkeypatch.setenv("PGPASSFILE", "")
    assert asyncpg_args("host=db1 dbname=x")["passfile"].endswith("/.pgpass")


def test_connection_errors_read_like_libpq_one_text_per_cause():
    dsn = "host=10.0.0.5 port=5432 dbname=postgres"
    at = 'connection to server at "10.0.0.5", port 5432 failed: '
    assert connection_error(ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), dsn) == (
        at + "Connection refused (is the server running on that host and accepting TCP/IP connections?)")
    multiple = OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 5432, 0, 0), "
                       "[Errno 99] Cannot assign requested address")
    assert connection_error(multiple, dsn).startswith(at + "Connection refused")
    assert connection_error(asyncio.TimeoutError(), dsn) == at + "timeout expired"
    assert connection_error(ConnectionResetError(errno.ECONNRESET, "reset"), dsn) == CLOSED
    assert connection_error(Exception("unexpected connection_lost() call"), dsn) == CLOSED
    assert connection_error(socket.gaierror(-2, "Name or service not known"), "host=db9 dbname=x") == (
        'could not translate host name "db9" to address: Name or service not known')
    assert connection_error(OSError(errno.EHOSTUNREACH, "No route to host"), dsn) == at + "No route to host"
    sock = connection_error(FileNotFoundError(errno.ENOENT, "No such file"), "host=/run/postgresql dbname=x")
    assert sock == ('connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed: No such file or '
                    "directory (is the server running locally and accepting connections on that socket?)")
    server = Exception('password authentication failed for user "cockpit"')
    assert connection_error(server, dsn) == at + 'password authentication failed for user "cockpit"'
    for text in (connection_error(e, dsn) for e in (ConnectionRefusedError(111, "x"), multiple, asyncio.TimeoutError())):
        assert "Errno" not in text and "(" not in text.split("failed: ")[0]


def test_a_probe_logged_in_as_the_superuser_or_admin_is_said_to_prove_little():
    from checks.stages.verify import superuser_note

    assert superuser_note(3) == ""
    assert "uid 1 is Odoo's superuser, which skips every access rule" in superuser_note(1)
    assert "uid 2 is usually admin" in superuser_note(2) and "dedicated probe user" in superuser_note(2)
