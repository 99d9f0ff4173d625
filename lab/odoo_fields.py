"""The stand-in's models and their fields over Odoo's own tables: res.partner, res.users, sale.order,
ir.cron and ir.model, with what ``fields_get`` says of each field and how values cross RPC."""

from __future__ import annotations

import xmlrpc.client
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

USERS_DISPLAY = ("(SELECT p.name FROM res_users u JOIN res_partner p ON p.id = u.partner_id "
                 "WHERE u.id = {ref})")
PARTNER_DISPLAY = "(SELECT p.name FROM res_partner p WHERE p.id = {ref})"
DISPLAY = {"res.users": USERS_DISPLAY, "res.partner": PARTNER_DISPLAY}
USER_NAME = "(SELECT p.name FROM res_partner p WHERE p.id = t.partner_id)"


@dataclass(frozen=True)
class Field:
    kind: str  # integer, char, text, boolean, datetime, selection, many2one
    comodel: str | None = None
    writable: bool = True
    column: str | None = None  # None: the field's own name
    expr: str | None = None    # an SQL expression over alias t instead of a column (never writable)
    string: str | None = None  # the label; None: Odoo's default from the name
    required: bool = False


@dataclass(frozen=True)
class Model:
    name: str
    table: str
    description: str
    fields: dict[str, Field]
    order: str
    rec_name: str = "name"
    selections: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    read_only: bool = False  # the stand-in serves it for reading only

    def column(self, name: str) -> str:
        spec = self.fields[name]
        if spec.expr:
            raise ValueError(f"Field {self.name}.{name} is not stored in a column")
        return spec.column or name

    def sql(self, name: str) -> str:
        """The SQL for field ``name`` over alias t."""
        spec = self.fields[name]
        return spec.expr or f"t.{spec.column or name}"

    def allowed(self, name: str) -> tuple[str, ...]:
        return tuple(value for value, _ in self.selections.get(name, ()))


def label(name: str, spec: Field) -> str:
    """The field's label: its own, or Odoo's default (the name without ``_id``, words capitalised)."""
    if spec.string:
        return spec.string
    base = name[:-3] if spec.kind == "many2one" and name.endswith("_id") else name
    return base.replace("_", " ").title()


AUDIT = {
    "create_uid": Field("many2one", "res.users", writable=False, string="Created by"),
    "create_date": Field("datetime", writable=False, string="Created on"),
    "write_uid": Field("many2one", "res.users", writable=False, string="Last Updated by"),
    "write_date": Field("datetime", writable=False, string="Last Updated on"),
}
ID = {"id": Field("integer", writable=False, string="ID")}
MODELS = {
    "res.partner": Model("res.partner", "res_partner", "Contact", {
        **ID,
        "name": Field("char"),
        "display_name": Field("char", writable=False, column="name"),
        "active": Field("boolean"),
        **AUDIT,
    }, order="t.name, t.id DESC"),
    "res.users": Model("res.users", "res_users", "User", {
        **ID,
        "name": Field("char", writable=False, expr=USER_NAME),
        "display_name": Field("char", writable=False, expr=USER_NAME),
        "login": Field("char", writable=False, required=True),
        "partner_id": Field("many2one", "res.partner", writable=False, string="Related Partner", required=True),
        "active": Field("boolean", writable=False),
        **AUDIT,
    }, order=f"{USER_NAME}, t.login", read_only=True),
    "sale.order": Model("sale.order", "sale_order", "Sales Order", {
        **ID,
        "name": Field("char", string="Order Reference", required=True),
        "display_name": Field("char", writable=False, column="name"),
        "partner_id": Field("many2one", "res.partner", string="Customer", required=True),
        "state": Field("selection", string="Status"),
        "client_order_ref": Field("char", string="Customer Reference"),
        "note": Field("text", string="Terms and conditions"),
        "date_order": Field("datetime", string="Order Date", required=True),
        **AUDIT,
    }, order="t.date_order DESC, t.id DESC", selections={"state": (
        ("draft", "Quotation"), ("sent", "Quotation Sent"), ("sale", "Sales Order"), ("cancel", "Cancelled"))}),
    "ir.cron": Model("ir.cron", "ir_cron", "Scheduled Actions", {
        **ID,
        "cron_name": Field("char", string="Name", required=True),
        "display_name": Field("char", writable=False, column="cron_name"),
        "active": Field("boolean"),
        "interval_number": Field("integer", string="Interval Number"),
        "interval_type": Field("selection", string="Interval Unit"),
        "nextcall": Field("datetime", string="Next Execution Date", required=True),
        "lastcall": Field("datetime", string="Last Execution Date"),
        "priority": Field("integer"),
    }, order="t.priority, t.id", rec_name="cron_name", selections={"interval_type": (
        ("minutes", "Minutes"), ("hours", "Hours"), ("days", "Days"), ("weeks", "Weeks"), ("months", "Months"))}),
    "ir.model": Model("ir.model", "ir_model", "Models", {
        **ID,
        "name": Field("char", writable=False, expr="(t.name->>'en_US')", string="Model Description"),
        "display_name": Field("char", writable=False, expr="(t.name->>'en_US')"),
        "model": Field("char", writable=False, required=True),
    }, order="t.model", read_only=True),
}


def describe(model: Model, name: str, spec: Field) -> dict[str, Any]:
    """What ``fields_get`` tells of one field (the attributes clients read)."""
    info: dict[str, Any] = {"type": spec.kind, "string": label(name, spec), "required": spec.required,
                            "readonly": not spec.writable or model.read_only, "store": spec.expr is None,
                            "sortable": True, "searchable": True, "help": False}
    if spec.kind == "many2one":
        info["relation"] = spec.comodel
        info["context"] = {}
        info["domain"] = []
    if spec.kind == "selection":
        info["selection"] = [list(pair) for pair in model.selections.get(name, ())]
    return info


def to_rpc(spec: Field, value: Any, display: Any = None, classic_read: bool = True) -> Any:
    """A column value as Odoo's read() returns it over RPC (False for nothing); a many2one is
    ``[id, name]`` with load ``_classic_read`` (the default), its id alone otherwise."""
    if value is None:
        return False
    if spec.kind == "many2one":
        return [value, display or ""] if classic_read else value
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
        if value not in model.allowed(name):
            raise ValueError(f"Wrong value for {model.name}.{name}: {value!r}")
        return "%s", value
    if spec.kind == "integer":
        return "%s", int(value)
    return "%s", str(value)
