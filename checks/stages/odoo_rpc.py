"""Odoo's external XML-RPC API for stage 5: the business write probe, as the dedicated probe user
(not admin: see README, "Odoo probe user").

The client itself (:class:`OdooClient`, :func:`probe_secret`, :class:`OdooError`) lives in
:mod:`checks.observe.odoo_rpc`, below the stages, so the Odoo health probe uses it too; it is
importable from here as before.
"""

from __future__ import annotations

import asyncio

from checks.observe.odoo_rpc import LoginRefused, OdooClient, OdooError, probe_secret

__all__ = ["LoginRefused", "OdooClient", "OdooError", "in_thread", "probe_secret", "write_probe"]


def write_probe(client: OdooClient, label: str) -> str:
    """Create, update and remove a draft sale.order labelled ``label`` for the probe user's own
    partner; a line saying what happened. It needs no right but those on sale.order (and the
    reading of its own user record every Odoo user has), so the probe user need not be an admin."""
    if client.uid is None:
        client.authenticate()
    users = client.execute_kw("res.users", "read", [[client.uid]], {"fields": ["partner_id"]})
    partner = users[0].get("partner_id") if users else None
    if not partner:
        raise OdooError(f"res.users {client.uid} (the probe user) has no partner to put on a sale.order")
    partner_id = partner[0] if isinstance(partner, list) else partner
    order = client.execute_kw("sale.order", "create", [{"partner_id": partner_id, "client_order_ref": label}])
    try:
        client.execute_kw("sale.order", "write", [[order], {"note": f"updated by failover probe {label}"}])
        found = client.execute_kw("sale.order", "search_read", [[["id", "=", order]]], {"fields": ["state", "note"]})
        state = found[0].get("state") if found else None
        if state != "draft":
            raise OdooError(f"sale.order {order} did not read back as a draft "
                            f"({'its state is ' + str(state) if state else 'the search found nothing'})")
    finally:
        client.execute_kw("sale.order", "unlink", [[order]])
    return f"sale.order {order} created, updated, read back as draft and removed (label {label})"


async def in_thread(fn, *args):
    return await asyncio.to_thread(fn, *args)
