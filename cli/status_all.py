"""``failover-cockpit status --all``: every cluster of the config in one round, worst first.

Each cluster's round runs at the same time as the others' (one task each, every node of each
bounded by its own sampling timeouts), so a cluster that cannot be reached at all is a cluster
whose table or JSON says so, never a stall of the rest. The exit code is the worst cluster's, by
the same rule as one cluster's: 0 ok, 1 warning, 2 critical, 3 unknown, a critical cluster being
worse than an unknown one (issue 17: the fleet).
"""

from __future__ import annotations

import asyncio
import json

from checks.observe.fleet import SEVERITY  # the fleet screen's order too (an unknown cluster is not yet proven broken)
from cli.console import UNKNOWN, print_error


async def _rounds(clusters: dict) -> list:
    from checks.observe.signal_round import signal_round

    return await asyncio.gather(*(signal_round(name, cluster) for name, cluster in clusters.items()),
                                return_exceptions=True)


def run_status_all(config: str, fmt: str) -> int:
    from checks.config.model import ConfigError, load_config
    from checks.errors import CockpitError
    from checks.observe.assess import EXIT_CODES
    from checks.observe.status import status_json, status_table

    if fmt not in ("table", "json"):
        print_error(f"status --all prints a table or JSON, not {fmt}: run one --cluster at a time for {fmt}")
        return 2
    try:
        loaded = load_config(config)
    except ConfigError as exc:
        print_error(str(exc))
        return UNKNOWN
    for warning in loaded.warnings:
        print_error(f"warning: {warning}")
    found = asyncio.run(_rounds(loaded.clusters))
    rounds, failed = [], []
    for name, result in zip(loaded.clusters, found):
        if isinstance(result, CockpitError):            # a round that cannot run: that cluster's sentence
            failed.append((name, str(result)))
        elif isinstance(result, BaseException):
            raise result
        else:
            rounds.append(result)
    rounds.sort(key=lambda r: (-SEVERITY[r[0].verdict], r[0].cluster))
    verdicts = [v.verdict for v, _ in rounds] + ["unknown"] * len(failed)
    worst = EXIT_CODES[max(verdicts, key=SEVERITY.__getitem__)] if verdicts else UNKNOWN
    if fmt == "json":
        print(json.dumps({"clusters": [status_json(v, b) for v, b in rounds],
                          "not_sampled": [{"cluster": n, "error": e} for n, e in failed],
                          "exit_code": worst}, indent=2))
    else:
        parts = [status_table(v, b) for v, b in rounds]
        parts += [f"cluster {n}: UNKNOWN: not sampled: {e}" for n, e in failed]
        print("\n\n".join(parts))
    return worst
