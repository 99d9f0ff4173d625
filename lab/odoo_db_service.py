"""The stand-in's ``db`` service: ``list`` (the one database it serves, or Odoo's Access Denied
when ``odoo.conf`` says ``list_db = False``), ``server_version``, ``db_exist`` and ``list_lang``.
The methods that need Odoo's master password (``admin_passwd``) check it and then say that the lab
does not manage databases: the lab's database is made by ``failover-cockpit lab up``."""

from __future__ import annotations

import hmac
from typing import Any

from lab.odoo_db import SECRETS, SERVER_VERSION, AccessDenied, ConfFile, UserError

MASTER_METHODS = {"create_database", "duplicate_database", "drop", "dump", "restore", "rename",
                  "change_admin_password", "migrate_databases"}
TRUE_WORDS = ("true", "1", "yes", "on")


def db_service(conf: ConfFile, method: str, params: tuple) -> Any:
    args = list(params)
    served, _ = conf.current()
    if method == "server_version":
        return SERVER_VERSION
    if method == "list":
        if str(conf.options.get("list_db", "True")).strip().lower() not in TRUE_WORDS:
            raise AccessDenied()  # as Odoo answers when list_db is off
        return [served.name]
    if method == "db_exist":
        return bool(args) and args[0] == served.name
    if method == "list_lang":
        return [["en_US", "English (US)"]]
    if method in MASTER_METHODS:
        given = args[0] if args and isinstance(args[0], str) else ""
        SECRETS.add(given)
        admin = str(conf.options.get("admin_passwd") or "")
        if not admin or not hmac.compare_digest(given.encode(), admin.encode()):
            raise AccessDenied()
        raise UserError(f"The lab stand-in does not {method.replace('_', ' ')} databases: the lab's database "
                        f"is made by failover-cockpit lab up.")
    raise LookupError(f"Method not found: {method}")
