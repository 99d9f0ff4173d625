"""The stand-in's domains (lab.odoo_domain): prefix notation, '!' pushed down to the leaves as Odoo
does, the active test, and bad domains refused with a sentence. What they select on real rows is
tested against the lab by tests/lab/test_odoo_clients_lab.py."""

from __future__ import annotations

import pytest

from lab.odoo_domain import order_by, where
from lab.odoo_fields import MODELS

ORDERS, PARTNERS = MODELS["sale.order"], MODELS["res.partner"]
A, B = ["name", "=", "A"], ["client_order_ref", "=", "B"]


def test_terms_side_by_side_are_anded_and_or_is_prefix() -> None:
    assert where(ORDERS, [A, B], {}) == ("(t.name = %s AND t.client_order_ref = %s)", ["A", "B"])
    assert where(ORDERS, ["|", A, B], {}) == ("(t.name = %s OR t.client_order_ref = %s)", ["A", "B"])
    assert where(ORDERS, ["&", A, B], {}) == where(ORDERS, [A, B], {})
    assert where(ORDERS, ["|", A, "&", B, A], {}) == (
        "(t.name = %s OR (t.client_order_ref = %s AND t.name = %s))", ["A", "B", "A"])
    assert where(ORDERS, [], {}) == ("TRUE", [])


def test_not_is_pushed_down_to_the_leaves() -> None:
    # like Odoo: NOT (name = A) is name != A, which keeps the records without a name
    assert where(ORDERS, ["!", A], {}) == ("(t.name <> %s OR t.name IS NULL)", ["A"])
    assert where(ORDERS, ["!", "|", A, B], {}) == (
        "((t.name <> %s OR t.name IS NULL) AND (t.client_order_ref <> %s OR t.client_order_ref IS NULL))", ["A", "B"])
    assert where(ORDERS, ["!", "!", A], {}) == where(ORDERS, [A], {})
    assert where(ORDERS, ["!", ["note", "=", False]], {}) == ("t.note IS NOT NULL", [])
    assert where(ORDERS, ["!", ["name", "=like", "S%"]], {}) == ("(NOT t.name::text LIKE %s)", ["S%"])
    assert where(ORDERS, ["!", (1, "=", 1)], {}) == ("FALSE", [])


def test_active_records_only_unless_asked() -> None:
    assert where(PARTNERS, [], {}) == ("t.active", [])
    assert where(PARTNERS, [["name", "=", "x"]], {}) == ("t.name = %s AND t.active", ["x"])
    assert where(PARTNERS, [["active", "=", False]], {}) == ("(t.active IS NULL OR NOT t.active)", [])
    assert where(PARTNERS, [], {"active_test": False}) == ("TRUE", [])


@pytest.mark.parametrize(("domain", "said"), [
    (["|", A], "Invalid domain .*an operator lacks its operands"),
    ([["nope", "=", 1]], "Invalid field sale.order.nope in leaf"),
    ([["name", "~", "x"]], "unknown operator '~'"),
    (["name"], "Invalid leaf 'name'"),
    ("name = 1", "Invalid domain"),
])
def test_bad_domains_are_refused_in_a_sentence(domain: object, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        where(ORDERS, domain, {})


def test_order_by_field_names_only() -> None:
    assert order_by(ORDERS, "name desc, id") == "t.name DESC, t.id ASC"
    assert order_by(MODELS["res.users"], None).endswith("t.login")
    with pytest.raises(ValueError, match='Invalid "order"'):
        order_by(ORDERS, "name; drop table sale_order")
