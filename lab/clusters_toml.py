"""The generated clusters.toml for the lab (schema: docs/config-contract.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

import tomli_w

from .layout import LabPaths, LabState
from .odoo import url as odoo_url
from .odoo_schema import PROBE_LOGIN
from .pgbouncer import admin_dsn
from .processes import LOOPBACK, write_file

CLUSTER = "lab"
HEADER = ("# GENERATED LAB CONFIG: written by `failover-cockpit lab up` for the local lab in {dir}.\n"
          "# This is a LAB on 127.0.0.1 with throwaway passwords (in {dir}/pgpass), not production.\n"
          "# The Odoo stand-in reaches PostgreSQL through PgBouncer, so [clusters.lab.odoo] has no\n"
          "# conf_path: the PgBouncer cutover is what moves Odoo. It logs in as the probe user\n"
          "# failover-probe: a dedicated Odoo user (uid 3; not the superuser, uid 1, nor admin, uid 2)\n"
          "# whose only rights beyond reading are create, write and delete on sale.order.\n\n")


def node_dsn(paths: LabPaths, proxy_port: int) -> str:
    return f"postgresql://cockpit@{LOOPBACK}:{proxy_port}/postgres?passfile={quote(str(paths.pgpass))}"


def lab_command(paths: LabPaths, *verb: str) -> list[str]:
    return [sys.executable, "-m", "cli", "lab", *verb, "--dir", str(paths.root)]


FENCE_SCRIPT = Path(__file__).resolve().parent / "fence.sh"


def lab_fence(paths: LabPaths, name: str) -> list[str]:
    """The node's fence: ``fence.sh``, a POSIX shell script (dash starts in ~1 ms, where even
    ``python -I -S`` takes 17-40 ms), since a planned switchover runs it while PgBouncer holds
    Odoo's requests."""
    return ["/bin/sh", str(FENCE_SCRIPT), str(paths.data_dir(name))]


def is_stale(paths: LabPaths) -> bool:
    """The lab's clusters.toml was written before fence.sh (its fence runs procfs.py)."""
    try:
        return "procfs.py" in paths.config.read_text(encoding="utf-8")
    except OSError:
        return False


def reprotect(paths: LabPaths, name: str) -> dict:
    """Re-protect commands: the cockpit fills {primary_port} with the new primary's real port
    (its app_port), which is where pg_rewind and the standby's walreceiver connect."""
    return {"rewind": lab_command(paths, "rewind", name, "--source-port", "{primary_port}"),
            "start_as_standby": lab_command(paths, "start-standby", name, "--primary-port", "{primary_port}"),
            "start_read_only": lab_command(paths, "start-read-only", name),
            "timeout_s": 120}


def priority(index: int) -> int:
    """node1 100, node2 100, node3 90, node4 80 ... (never below 10)."""
    return 100 if index <= 1 else max(10, 100 - 10 * (index - 1))


def config(paths: LabPaths, state: LabState) -> dict:
    # the cockpit reaches a node through its proxy (dsn); PgBouncer and Odoo reach the real port
    nodes = [{"name": node.name, "dsn": node_dsn(paths, node.proxy_port), "priority": priority(i),
              "fence": lab_fence(paths, node.name),
              "app_host": LOOPBACK, "app_port": node.port, "reprotect": reprotect(paths, node.name)}
             for i, node in enumerate(state.nodes)]
    cluster = {
        "approvers": ["alice", "bob"],
        "sampling": {"interval_s": 1.0, "connect_timeout_s": 2.0, "statement_timeout_s": 1.5},
        "slo": {"max_replay_delay_s": 30.0, "max_data_risk_bytes": 16777216, "max_data_risk_s": 60.0},
        "nodes": nodes,
        "freeze": [{"name": "stop odoo cron (lab)", "command": lab_command(paths, "status"), "timeout_s": 30}],
        "pgbouncers": [{"name": "pgb1", "admin_dsn": admin_dsn(paths, state), "ini_path": str(paths.pgb_ini),
                        "databases": ["odoo"]}],
        # No conf_path on purpose: the lab's odoo.conf points db_host/db_port at PgBouncer, as a real
        # Odoo behind a pooler does, so the PgBouncer cutover is what moves Odoo. With conf_path the
        # cockpit would rewrite odoo.conf to the new primary's real port and route Odoo around
        # PgBouncer. The stand-in still re-reads odoo.conf (for deployments without a pooler), and
        # the restart batch restarts it as a real Odoo would need.
        # the probe user, never admin: stage 5's write probe then meets the access rights Odoo's users do
        "odoo": {"url": odoo_url(state), "db": "odoo", "login": PROBE_LOGIN,
                 "password_file": str(paths.odoo_probe_password),
                 "restart_batches": [lab_command(paths, "odoo-restart")], "cron_wait_s": 10},
    }
    return {"clusters": {CLUSTER: cluster}}


def write(paths: LabPaths, state: LabState) -> None:
    text = HEADER.format(dir=paths.root) + tomli_w.dumps(config(paths, state))
    write_file(paths.config, text, 0o644)
