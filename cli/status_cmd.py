"""``failover-cockpit status``: one sampling round, a table or JSON, a monitoring-plugin exit code."""

from __future__ import annotations

import asyncio
import json

from checks.config.model import Cluster
from checks.observe.signal_round import signal_round
from checks.observe.status import exit_code, status_json, status_table


def run_status(cluster_name: str, cluster: Cluster, as_json: bool) -> int:
    view, board = asyncio.run(signal_round(cluster_name, cluster))
    if as_json:
        print(json.dumps(status_json(view, board), indent=2))
    else:
        print(status_table(view, board))
    return exit_code(view)
