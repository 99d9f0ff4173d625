"""Odoo's external XML-RPC API for stage 5: the business write probe.

The client itself (:class:`OdooClient`, :func:`probe_secret`, :class:`OdooError`) lives in
:mod:`checks.observe.odoo_rpc`, below the stages, so the Odoo health probe uses it too; it is
importable from here as before.
"""

from __future__ import annotations

import asyncio

from checks.observe.odoo_rpc import LoginRefused, OdooClient, OdooError, probe_secret

__all__ = ["LoginRefused", "OdooClient", "OdooError", "in_thread", "probe_secret", "write_probe"]


def write_probe(client: OdooClient, label: str) -> str:
    """Create, update and remove a draft sale.order labelled ``label``; a line saying what happened."""
    partner = client.execute_kw("res.partner", "create", [{"name": f"failover probe {label}"}])
    try:
        order = client.execute_kw("sale.order", "create", [{"partner_id": partner, "client_order_ref": label}])
        client.execute_kw("sale.order", "write", [[order], {"note": f"updated by failover probe {label}"}])
        found = client.execute_kw("sale.order", "search_read", [[["id", "=", order]]], {"fields": ["state", "note"]})
        if not found or found[0].get("state") != "draft":
            raise OdooError(f"sale.order {order} did not read back as a draft: {found}")
        client.execute_kw("sale.order", "unlink", [[order]])
    finally:
        client.execute_kw("res.partner", "unlink", [[partner]])
    return f"sale.order {order} created, updated, read back as draft and removed (label {label})"


async def in_thread(fn, *args):
    return await asyncio.to_thread(fn, *args)
