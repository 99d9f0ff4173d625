"""Where a node is reached, spelt one way: the rule the cluster lock and the upstream matching share.

A node has two endpoints: its DSN's host and port (where the cockpit reaches it) and its
application endpoint (``app_host``/``app_port``, where PgBouncer, Odoo and its standbys reach it).
Host names are case-folded, brackets and a trailing dot dropped; every loopback name, a
127.x address and a Unix socket directory are one host, ``localhost``.
"""

from __future__ import annotations

from checks.config.model import Node

LOOPBACK_NAMES = frozenset({"", "localhost", "localhost.localdomain", "ip6-localhost", "::1", "0:0:0:0:0:0:0:1"})


def host_key(host: str | None) -> str:
    host = (host or "").strip().strip("[]").lower().rstrip(".")
    if host in LOOPBACK_NAMES or host.startswith("127.") or host.startswith("/"):
        return "localhost"
    return host


def node_endpoints(node: Node) -> frozenset[tuple[str, int]]:
    """Both endpoints of ``node`` as (host key, port). Asked for each standby of each round (the
    topology), so it is worked out once per DSN and application endpoint."""
    key = (node.dsn, node.app_host, node.app_port)
    found = _ENDPOINTS.get(key)
    if found is None:
        params = node.params              # libpq's reading of the DSN
        found = _ENDPOINTS[key] = frozenset({(host_key(node.host), node.port), (host_key(params.host), params.port)})
    return found


_ENDPOINTS: dict[tuple[str, str | None, int | None], frozenset[tuple[str, int]]] = {}
