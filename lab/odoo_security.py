"""Who may do what on the stand-in, in Odoo's own tables: users 1 (``__system__``, the superuser,
inactive so nobody logs in as it) and 2 (``admin``, no password in the lab), the probe user after
them, groups (``res_groups``, ``res_groups_users_rel``), models (``ir_model``) and model access
rights (``ir_model_access``).

As in Odoo, every RPC call of a user other than the superuser is checked against the access rights
of the groups it is in (or of no group, a right for everyone): one without the right gets Odoo's
AccessError, ``You are not allowed to create 'Contact' (res.partner) records.`` with the groups that
have it. The probe user is an Internal User (read on res.partner, res.users and ir.model) in the
group ``Failover probe``, whose only right is read, write, create and delete on sale.order; it
has no right on ir.cron (only ``Settings``, admin's group, has). Record rules are not modelled.
"""

from __future__ import annotations

from typing import Any

SUPERUSER_ID = 1
NOW_UTC = "(now() at time zone 'utc')"
INTERNAL, SETTINGS, PROBE_GROUP = "Internal User", "Settings", "Failover probe"
MODEL_NAMES = [("res.partner", "Contact"), ("res.users", "User"), ("sale.order", "Sales Order"),
               ("ir.cron", "Scheduled Actions"), ("ir.model", "Models")]
# (name, model, group, read, write, create, unlink), as ir.model.access.csv lines would give them
ACCESS = [
    ("res_partner group_user", "res.partner", INTERNAL, True, False, False, False),
    ("res_users group_user", "res.users", INTERNAL, True, False, False, False),
    ("ir_model group_user", "ir.model", INTERNAL, True, False, False, False),
    ("sale_order failover_probe", "sale.order", PROBE_GROUP, True, True, True, True),
    *[(f"{model.replace('.', '_')} group_system", model, SETTINGS, True, True, True, True)
      for model, _ in MODEL_NAMES],
]
OPERATIONS = {"read": ("perm_read", "access"), "write": ("perm_write", "modify"),
              "create": ("perm_create", "create"), "unlink": ("perm_unlink", "delete")}

TABLES = [
    """CREATE TABLE IF NOT EXISTS res_groups (
        id serial PRIMARY KEY,
        name jsonb NOT NULL,
        create_uid integer,
        create_date timestamp without time zone,
        write_uid integer,
        write_date timestamp without time zone)""",
    """CREATE TABLE IF NOT EXISTS res_groups_users_rel (
        gid integer NOT NULL REFERENCES res_groups(id) ON DELETE CASCADE,
        uid integer NOT NULL REFERENCES res_users(id) ON DELETE CASCADE,
        PRIMARY KEY (gid, uid))""",
    """CREATE TABLE IF NOT EXISTS ir_model (
        id serial PRIMARY KEY,
        model varchar NOT NULL UNIQUE,
        name jsonb NOT NULL,
        state varchar DEFAULT 'base')""",
    """CREATE TABLE IF NOT EXISTS ir_model_access (
        id serial PRIMARY KEY,
        name varchar NOT NULL,
        active boolean DEFAULT true,
        model_id integer NOT NULL REFERENCES ir_model(id) ON DELETE CASCADE,
        group_id integer REFERENCES res_groups(id) ON DELETE RESTRICT,
        perm_read boolean,
        perm_write boolean,
        perm_create boolean,
        perm_unlink boolean)""",
]


def _user(uid: int, login: str, partner: str, active: bool) -> tuple[str, tuple]:
    return (f"WITH partner AS ("
            f"  INSERT INTO res_partner (name, active, create_date, write_date) "
            f"  SELECT %s, true, {NOW_UTC}, {NOW_UTC} WHERE NOT EXISTS (SELECT 1 FROM res_users WHERE id = %s) "
            f"  RETURNING id) "
            f"INSERT INTO res_users (id, login, password, active, partner_id, create_date, write_date) "
            f"SELECT %s, %s, NULL, %s, id, {NOW_UTC}, {NOW_UTC} FROM partner",
            (partner, uid, uid, login, active))


def users_before_probe() -> list[tuple[str, tuple]]:
    """The superuser and admin, made before the probe user so that it is never uid 1 or 2. A lab
    made when the probe user was uid 1 has that row turned into ``__system__`` (the probe user
    is made again after it)."""
    return [
        (f"UPDATE res_users SET login = '__system__', password = NULL, active = false, write_date = {NOW_UTC} "
         "WHERE id = %s AND login <> '__system__'", (SUPERUSER_ID,)),
        _user(SUPERUSER_ID, "__system__", "OdooBot", False),
        _user(2, "admin", "Administrator", True),
        ("SELECT setval('res_users_id_seq', GREATEST((SELECT max(id) FROM res_users), 2))", ()),
    ]


def statements(probe_login: str) -> list[tuple[str, tuple]]:
    """Groups, models, access rights and memberships (after the users exist). Idempotent."""
    steps: list[tuple[str, tuple]] = [(sql, ()) for sql in TABLES]
    for group in (INTERNAL, SETTINGS, PROBE_GROUP):
        steps.append((f"INSERT INTO res_groups (name, create_date, write_date) "
                      f"SELECT jsonb_build_object('en_US', %s::text), {NOW_UTC}, {NOW_UTC} "
                      f"WHERE NOT EXISTS (SELECT 1 FROM res_groups WHERE name->>'en_US' = %s)", (group, group)))
    for model, description in MODEL_NAMES:
        steps.append(("INSERT INTO ir_model (model, name) VALUES (%s, jsonb_build_object('en_US', %s::text)) "
                      "ON CONFLICT (model) DO NOTHING", (model, description)))
    for name, model, group, read, write, create, unlink in ACCESS:
        steps.append(("INSERT INTO ir_model_access (name, model_id, group_id, perm_read, perm_write, perm_create, "
                      "perm_unlink) SELECT %s, m.id, g.id, %s, %s, %s, %s FROM ir_model m, res_groups g "
                      "WHERE m.model = %s AND g.name->>'en_US' = %s "
                      "AND NOT EXISTS (SELECT 1 FROM ir_model_access WHERE name = %s)",
                      (name, read, write, create, unlink, model, group, name)))
    for login, group in (("admin", INTERNAL), ("admin", SETTINGS), (probe_login, INTERNAL),
                         (probe_login, PROBE_GROUP)):
        steps.append(("INSERT INTO res_groups_users_rel (gid, uid) SELECT g.id, u.id FROM res_groups g, res_users u "
                      "WHERE g.name->>'en_US' = %s AND u.login = %s ON CONFLICT DO NOTHING", (group, login)))
    return steps


class AccessError(Exception):
    """Odoo's AccessError, fault code 4: no right on a model, or a private method called."""


def operation_of(method: str) -> str | None:
    """The access right an ORM method needs (None: no model right, e.g. fields_get)."""
    if method in ("create", "write", "unlink"):
        return method
    if method in ("fields_get", "context_get"):
        return None
    return "read"


def check_access(cur: Any, uid: int, model: str, description: str, operation: str) -> None:
    """Raise AccessError unless ``uid`` has ``operation`` on ``model`` (the superuser always has)."""
    if uid == SUPERUSER_ID:
        return
    column, verb = OPERATIONS[operation]
    cur.execute(f"SELECT coalesce(bool_or(a.{column}), false) FROM ir_model_access a "
                f"JOIN ir_model m ON m.id = a.model_id WHERE m.model = %s AND a.active AND (a.group_id IS NULL OR "
                f"a.group_id IN (SELECT gid FROM res_groups_users_rel WHERE uid = %s))", [model, uid])
    if cur.fetchone()[0]:
        return
    cur.execute(f"SELECT DISTINCT g.name->>'en_US' FROM ir_model_access a JOIN ir_model m ON m.id = a.model_id "
                f"JOIN res_groups g ON g.id = a.group_id WHERE m.model = %s AND a.active AND a.{column} "
                f"ORDER BY 1", [model])
    groups = [row[0] for row in cur.fetchall()]
    text = f"You are not allowed to {verb} '{description}' ({model}) records."
    if groups:
        text += "\n\nThis operation is allowed for the following groups:\n" + "\n".join(f"\t- {g}" for g in groups)
    else:
        text += "\n\nNo group currently allows this operation."
    raise AccessError(text + "\n\nContact your administrator to request access if necessary.")
