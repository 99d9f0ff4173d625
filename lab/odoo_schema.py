"""The lab's `odoo` database: Odoo's own table names, with the columns real Odoo has for
what the cockpit and the stand-in use, and one probe user (`failover-probe`), never the
superuser: uid 1 is `__system__` and 2 is `admin`, as in Odoo; its rights are in
:mod:`lab.odoo_security`.

Times are UTC in `timestamp without time zone`, as Odoo stores them. The SQL is
idempotent (`IF NOT EXISTS`, upserts), runs as role `odoo` through PgBouncer, and can
be run again on every `lab up`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from lab import odoo_security

PROBE_LOGIN = "failover-probe"
HASH_SCHEME = "pbkdf2-sha256"
HASH_ROUNDS = 1000  # a lab: cheap enough to re-check on every call, like Odoo does
NOW_UTC = "(now() at time zone 'utc')"

# Order matters: res_partner before res_users (partner_id), both before sale_order.
TABLES = [
    """CREATE TABLE IF NOT EXISTS res_partner (
        id serial PRIMARY KEY,
        name varchar,
        active boolean DEFAULT true,
        create_uid integer,
        create_date timestamp without time zone,
        write_uid integer,
        write_date timestamp without time zone)""",
    """CREATE TABLE IF NOT EXISTS res_users (
        id serial PRIMARY KEY,
        login varchar NOT NULL UNIQUE,
        password varchar,
        active boolean DEFAULT true,
        partner_id integer NOT NULL REFERENCES res_partner(id) ON DELETE RESTRICT,
        create_uid integer,
        create_date timestamp without time zone,
        write_uid integer,
        write_date timestamp without time zone)""",
    # Odoo records every successful login here (res.users._update_last_login): a login writes
    """CREATE TABLE IF NOT EXISTS res_users_log (
        id serial PRIMARY KEY,
        create_uid integer REFERENCES res_users(id) ON DELETE SET NULL,
        create_date timestamp without time zone,
        write_uid integer REFERENCES res_users(id) ON DELETE SET NULL,
        write_date timestamp without time zone)""",
    "CREATE SEQUENCE IF NOT EXISTS sale_order_name_seq",
    f"""CREATE TABLE IF NOT EXISTS sale_order (
        id serial PRIMARY KEY,
        name varchar NOT NULL DEFAULT ('S' || lpad(nextval('sale_order_name_seq')::text, 5, '0')),
        partner_id integer NOT NULL REFERENCES res_partner(id) ON DELETE RESTRICT,
        state varchar DEFAULT 'draft',
        client_order_ref varchar,
        note text,
        date_order timestamp without time zone NOT NULL DEFAULT {NOW_UTC},
        create_uid integer REFERENCES res_users(id) ON DELETE SET NULL,
        create_date timestamp without time zone,
        write_uid integer REFERENCES res_users(id) ON DELETE SET NULL,
        write_date timestamp without time zone)""",
    "CREATE INDEX IF NOT EXISTS sale_order_partner_id_index ON sale_order (partner_id)",
    "CREATE INDEX IF NOT EXISTS sale_order_client_order_ref_index ON sale_order (client_order_ref)",
    """CREATE TABLE IF NOT EXISTS ir_cron (
        id serial PRIMARY KEY,
        cron_name varchar NOT NULL,
        active boolean DEFAULT true,
        interval_number integer DEFAULT 1,
        interval_type varchar DEFAULT 'months',
        nextcall timestamp without time zone NOT NULL,
        lastcall timestamp without time zone,
        priority integer DEFAULT 5)""",
]

# (cron_name, interval_number, interval_type); interval_type is one of Odoo's units,
# all of them valid PostgreSQL interval units too.
CRONS = [
    ("Lab: sale order housekeeping", 1, "minutes"),
    ("Mail: Email Queue Manager", 1, "hours"),
]

# The stand-in's ticker. Real Odoo runs only jobs that are due; the lab ticks every
# active job each second so that `ir_cron.lastcall` visibly advances.
CRON_TICK = (f"UPDATE ir_cron SET lastcall = {NOW_UTC}, "
             f"nextcall = {NOW_UTC} + (interval_number || ' ' || interval_type)::interval WHERE active")


def hash_password(password: str, salt: str | None = None, rounds: int = HASH_ROUNDS) -> str:
    """`$pbkdf2-sha256$ROUNDS$SALT$HEX`: salted, never the password itself."""
    salt = salt or secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), rounds).hex()
    return f"${HASH_SCHEME}${rounds}${salt}${digest}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored or not password:
        return False
    try:
        _, scheme, rounds, salt, _digest = stored.split("$")
        if scheme != HASH_SCHEME:
            return False
        expected = hash_password(password, salt, int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(expected, stored)


def statements(probe_password: str) -> list[tuple[str, tuple]]:
    """Every statement (with its parameters) that makes the schema and the probe user."""
    steps: list[tuple[str, tuple]] = [(sql, ()) for sql in TABLES]
    for name, number, unit in CRONS:
        steps.append((f"INSERT INTO ir_cron (cron_name, active, interval_number, interval_type, nextcall) "
                      f"SELECT %s, true, %s, %s, {NOW_UTC} "
                      f"WHERE NOT EXISTS (SELECT 1 FROM ir_cron WHERE cron_name = %s)",
                      (name, number, unit, name)))
    steps += odoo_security.users_before_probe()
    steps.append((f"WITH partner AS ("
                  f"  INSERT INTO res_partner (name, active, create_date, write_date) "
                  f"  SELECT %s, true, {NOW_UTC}, {NOW_UTC} "
                  f"  WHERE NOT EXISTS (SELECT 1 FROM res_users WHERE login = %s) RETURNING id) "
                  f"INSERT INTO res_users (login, password, active, partner_id, create_date, write_date) "
                  f"SELECT %s, %s, true, id, {NOW_UTC}, {NOW_UTC} FROM partner",
                  ("Failover Probe", PROBE_LOGIN, PROBE_LOGIN, hash_password(probe_password))))
    # on a second run: the password file is the truth, and the probe user stays usable
    steps.append((f"UPDATE res_users SET password = %s, active = true, write_date = {NOW_UTC} WHERE login = %s",
                  (hash_password(probe_password), PROBE_LOGIN)))
    return steps + odoo_security.statements(PROBE_LOGIN)


def create(conninfo: dict, probe_password: str) -> None:
    """Run `statements` in one transaction as the connecting role (odoo, via PgBouncer).
    Raises psycopg.Error."""
    import psycopg

    with psycopg.connect(**conninfo, autocommit=False, prepare_threshold=None) as conn:
        with conn.cursor() as cur:
            for sql, params in statements(probe_password):
                cur.execute(sql, params or None)
        conn.commit()
