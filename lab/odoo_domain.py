"""Odoo search domains as SQL, for the stand-in: leaves ``[field, operator, value]`` joined in prefix
(Polish) notation by ``'&'``, ``'|'`` and ``'!'``, terms side by side ANDed, ``(1, '=', 1)`` and
``(0, '=', 1)`` as true and false. Like Odoo, ``'!'`` is pushed down to the leaves (``=`` becomes
``!=``, which keeps the empty values), and records with ``active = false`` are left out unless the
domain names ``active`` or the context says ``active_test: False``. Only the model's own fields
(no ``partner_id.name`` paths, no ``child_of`` or ``any``)."""

from __future__ import annotations

import re
from typing import Any

from lab.odoo_fields import Model

LEAF_OPERATORS = {"=", "!=", "<>", "<", "<=", ">", ">=", "in", "not in", "like", "ilike", "not like",
                  "not ilike", "=like", "=ilike"}
NEGATION = {"=": "!=", "!=": "=", "<>": "=", "<": ">=", ">=": "<", ">": "<=", "<=": ">", "in": "not in",
            "not in": "in", "like": "not like", "not like": "like", "ilike": "not ilike", "not ilike": "ilike"}
ORDER_TERM = re.compile(r"^\s*([a-z_][a-z0-9_]*)(?:\s+(asc|desc))?\s*$", re.IGNORECASE)
OPERATORS = ("&", "|", "!")


class _Parser:
    def __init__(self, model: Model, domain: list) -> None:
        self.model = model
        self.terms = list(domain)
        self.pos = 0
        self.named: set[str] = set()

    def parse(self) -> tuple[str, list]:
        parts: list[tuple[str, list]] = []
        while self.pos < len(self.terms):
            parts.append(self.term(False))
        return _join(" AND ", parts) if parts else ("TRUE", [])

    def term(self, negate: bool) -> tuple[str, list]:
        if self.pos >= len(self.terms):
            raise ValueError(f"Invalid domain {self.terms!r}: an operator lacks its operands")
        term = self.terms[self.pos]
        self.pos += 1
        if term == "!":
            return self.term(not negate)
        if term in ("&", "|"):
            left, right = self.term(negate), self.term(negate)
            conjunction = (term == "&") != negate  # De Morgan under a '!'
            return _join(" AND " if conjunction else " OR ", [left, right])
        return self.leaf(term, negate)

    def leaf(self, term: Any, negate: bool) -> tuple[str, list]:
        if not isinstance(term, (list, tuple)) or len(term) != 3:
            raise ValueError(f"Invalid leaf {term!r}")
        name, operator, value = term
        if name in (0, 1) and operator == "=" and value == 1:  # Odoo's FALSE_LEAF and TRUE_LEAF
            return ("TRUE" if (name == 1) != negate else "FALSE"), []
        operator = str(operator).lower()
        if name not in self.model.fields:
            raise ValueError(f"Invalid field {self.model.name}.{name} in leaf {list(term)!r}")
        if operator not in LEAF_OPERATORS:
            raise ValueError(f"Invalid leaf {list(term)!r}: unknown operator {operator!r}")
        self.named.add(name)
        if negate and operator in NEGATION:
            operator, negate = NEGATION[operator], False
        clause, params = leaf_sql(self.model, name, operator, value)
        return (f"(NOT {clause})" if negate else clause), params


def _join(joiner: str, parts: list[tuple[str, list]]) -> tuple[str, list]:
    if len(parts) == 1:
        return parts[0]
    params: list = []
    for _, extra in parts:
        params += extra
    return "(" + joiner.join(clause for clause, _ in parts) + ")", params


def where(model: Model, domain: Any, context: dict, active_test: bool = True) -> tuple[str, list]:
    """(SQL condition over alias t, its parameters) for ``domain``. Raises ValueError."""
    if domain in (None, False):
        domain = []
    if not isinstance(domain, (list, tuple)):
        raise ValueError(f"Invalid domain: {domain!r}")
    parser = _Parser(model, domain)
    clause, params = parser.parse()
    if (active_test and "active" in model.fields and "active" not in parser.named
            and context.get("active_test", True)):
        clause = "t.active" if clause == "TRUE" else f"{clause} AND t.active"
    return clause, params


def leaf_sql(model: Model, name: str, operator: str, value: Any) -> tuple[str, list]:
    spec = model.fields[name]
    col = model.sql(name)
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


def order_by(model: Model, order: Any) -> str:
    if not order:
        return model.order
    terms = []
    for part in str(order).split(","):
        match = ORDER_TERM.match(part)
        if not match or match.group(1) not in model.fields:
            raise ValueError(f"Invalid \"order\" specified ({order!r})")
        terms.append(f"{model.sql(match.group(1))} {(match.group(2) or 'asc').upper()}")
    return ", ".join(terms)
