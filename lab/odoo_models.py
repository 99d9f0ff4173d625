"""The stand-in's Odoo models: the fields of res.partner, sale.order and res.users over Odoo's own tables, domains, and execute_kw's methods."""

from __future__ import annotations

import re
import xmlrpc.client
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg

from lab.odoo_db import UserError
from lab.odoo_schema import NOW_UTC

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
