"""Topology: which node of the config a standby streams from (``repmgr cluster show``'s upstream)."""

from __future__ import annotations

from checks.config.endpoints import host_key, node_endpoints
from checks.config.model import Cluster
from checks.observe.sample import NodeSample


def match_upstream(standby: NodeSample, cluster: Cluster, samples: dict[str, NodeSample]) -> str | None:
    """The config's node that ``standby``'s WAL receiver names as its sender, or None.

    By address first: the sender's host and port against every other node's DSN and application
    endpoints (loopback names are one host). Several matches are narrowed to the nodes sharing
    the standby's system identifier. Unmatched (a DSN that names the host differently from
    primary_conninfo), a streaming standby is found in the one reachable node whose
    pg_stat_replication lists it as streaming by its name or cluster_name."""
    receiver = standby.wal_receiver
    if receiver is None:
        return None
    if receiver.sender_host and receiver.sender_port:
        sender = (host_key(receiver.sender_host), receiver.sender_port)
        found = [n.name for n in cluster.nodes if n.name != standby.name and sender in node_endpoints(n)]
        if len(found) > 1 and standby.system_identifier:
            same = [n for n in found if (s := samples.get(n)) is None or not s.reachable
                    or s.system_identifier in (None, standby.system_identifier)]
            found = same or found
        if len(found) == 1:
            return found[0]
    if receiver.status != "streaming":
        return None
    names = {standby.name, *((standby.cluster_name,) if standby.cluster_name else ())}
    listing = [s.name for s in samples.values() if s.reachable and s.name != standby.name
               and any(p.application_name in names and p.state == "streaming" for p in s.replication)]
    return listing[0] if len(listing) == 1 else None


def sender_text(sample: NodeSample) -> str | None:
    receiver = sample.wal_receiver
    if receiver is None or not receiver.sender_host:
        return None
    return f"{receiver.sender_host}:{receiver.sender_port}" if receiver.sender_port else receiver.sender_host
