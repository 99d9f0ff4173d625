"""The stand-in's ORM methods (what ``execute_kw`` calls) over the models of :mod:`lab.odoo_fields`,
with domains from :mod:`lab.odoo_domain`: create, write, unlink, read, search, search_read,
search_count, fields_get, name_search, name_get, default_get and res.users' context_get."""

from __future__ import annotations

from typing import Any

import psycopg

from lab.odoo_db import UserError
from lab.odoo_domain import order_by, where
from lab.odoo_fields import DISPLAY, MODELS, Model, describe, from_rpc, to_rpc  # noqa: F401 - MODELS re-exported
from lab.odoo_schema import NOW_UTC

METHODS = {"create", "write", "unlink", "read", "search", "search_read", "search_count", "fields_get",
           "name_search", "name_get", "default_get", "context_get"}
NAME_SEARCH_OPERATORS = {"=", "!=", "like", "ilike", "not like", "not ilike", "=like", "=ilike"}


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
        return where(self.model, domain, self.context, active_test)

    def order_by(self, order: Any) -> str:
        return order_by(self.model, order)

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
               limit: Any = None, offset: Any = 0, classic_read: bool = True) -> list[dict]:
        exprs = ["t.id"]
        for name in fields:
            spec = self.model.fields[name]
            ref = self.model.sql(name)
            exprs.append(ref)
            if spec.kind == "many2one":
                exprs.append(DISPLAY[spec.comodel].format(ref=ref))
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
                    record[name] = to_rpc(spec, row[i], row[i + 1], classic_read)
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
        if self.model.read_only:
            raise UserError(f"The lab stand-in serves {self.model.name} for reading only.")
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
        if self.model.read_only:
            raise UserError(f"The lab stand-in serves {self.model.name} for reading only.")
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
        records = self.select("t.id = ANY(%s)", [ids], self.field_names(fields), "t.id",
                              classic_read=load == "_classic_read")
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


    # -- what clients ask of a model --

    def fields_get(self, allfields: Any = None, attributes: Any = None) -> dict[str, dict]:
        names = [n for n in self.model.fields if not allfields or n in allfields]
        out = {}
        for name in names:
            info = describe(self.model, name, self.model.fields[name])
            out[name] = {k: v for k, v in info.items() if k in attributes} if attributes else info
        return out

    def name_search(self, name: Any = "", args: Any = None, operator: str = "ilike", limit: Any = 100) -> list:
        """[[id, display_name], ...] of the records whose name matches (``args`` is a domain)."""
        if operator not in NAME_SEARCH_OPERATORS:
            raise ValueError(f"Invalid operator {operator!r} for name_search")
        domain = list(args or [])  # terms side by side are ANDed: the name leaf goes first
        if name or operator not in ("ilike", "like"):
            domain = [[self.model.rec_name, operator, name or ""], *domain]
        clause, params = self.where(domain)
        rows = self.select(clause, params, ["display_name"], self.order_by(None), limit or None)
        return [[r["id"], r["display_name"] or ""] for r in rows]

    def name_get(self, ids: Any) -> list:
        return [[r["id"], r["display_name"] or ""] for r in self.read(ids, ["display_name"])]

    def default_get(self, fields_list: Any = None) -> dict:
        defaults = {"sale.order": {"state": "draft"}}.get(self.model.name, {})
        wanted = fields_list or list(self.model.fields)
        out = {name: value for name, value in defaults.items() if name in wanted}
        if "active" in self.model.fields and "active" in wanted:
            out["active"] = True
        return out

    def context_get(self) -> dict:
        if self.model.name != "res.users":
            raise AttributeError(f"The method 'context_get' does not exist on the model '{self.model.name}'")
        return {"lang": "en_US", "tz": "UTC", "uid": self.uid}
