"""Which cluster a replay shows: the incident's config if it still loads, else one rebuilt from the journal (its nodes, approvers and freeze commands, default SLOs)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import ValidationError

from checks.config.errors import ConfigError
from checks.config.model import Cluster, load_config
from checks.errors import CockpitError
from checks.incident.events import Event
from checks.incident.evidence import Step
from checks.observe.sample import NodeSample
from checks.runbook.gates import roles_of

PLACEHOLDER_DSN = "postgresql://replay.invalid/postgres"
ODOO_CHECKS = ("odoo_login", "write_probe", "cron_progress")


class ReplayError(CockpitError):
    """One line: why this directory cannot be replayed."""


def _natural(name: str) -> tuple:
    """``node2`` before ``node10``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def cluster_for_replay(cluster_name: str, config_path: str | None, samples: Sequence[NodeSample],
                       events: Sequence[Event]) -> tuple[Cluster, str | None]:
    """The journal's config if it still loads and has every recorded node, else one rebuilt from
    the journal; with None, or the sentence that says which and why."""
    names = sorted({s.name for s in samples}, key=_natural)
    reason = "the journal names no config"
    if config_path:
        try:
            _, cluster = load_config(config_path).cluster(cluster_name)
        except ConfigError as exc:
            reason = str(exc)
        else:
            missing = [n for n in names if n not in {node.name for node in cluster.nodes}]
            if not missing:
                return cluster, None
            reason = f"{config_path} no longer has node{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
    cluster = rebuilt_cluster(names, events)
    return cluster, (f"config not used ({reason}): nodes, approvers and freeze commands rebuilt "
                     "from the journal, default SLOs")


def rebuilt_cluster(node_names: Sequence[str], events: Sequence[Event]) -> Cluster:
    """A minimal cluster for judging a recording without its config: the recorded nodes (never
    connected to), the approvers and freeze commands the events name, Odoo checks if verified."""
    approvers: list[str] = []
    for event in events:
        who = event.data.get("approved_by") if event.kind == "approval" else None
        if isinstance(who, str) and who and who not in approvers:
            approvers.append(who)
    approver = roles_of(events).get("approver")
    if approver and approver not in approvers:
        approvers.append(approver)
    freeze: list[str] = []
    for event in events:
        name = event.data.get("name")
        if (event.kind == "action" and event.stage == 0 and event.data.get("step") == Step.FREEZE
                and isinstance(name, str) and name.strip() and name not in freeze):
            freeze.append(name[:120])
    verified_odoo = any(e.kind == "evidence" and e.stage == 5 and e.data.get("check") in ODOO_CHECKS for e in events)
    document: dict = {
        "nodes": [{"name": n, "dsn": PLACEHOLDER_DSN} for n in node_names] or [{"name": "unknown", "dsn": PLACEHOLDER_DSN}],
        "approvers": approvers,
        "freeze": [{"name": n, "command": ["replay"]} for n in freeze],
    }
    if verified_odoo:
        document["odoo"] = {"url": "http://replay.invalid", "db": "odoo", "login": "replay",
                            "password_env": "REPLAY_HAS_NO_SECRET"}
    try:
        return Cluster.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ReplayError(f"the recording cannot be judged without its config: {where}: {first.get('msg')}") from None
