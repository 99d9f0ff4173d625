"""What every command prints on failure: one line on stderr. Light on purpose (no heavy imports)."""

from __future__ import annotations

import sys

UNKNOWN = 3  # the monitoring-plugin exit code for "cannot tell" (bad config, unknown cluster)


def print_error(message: str) -> None:
    print(f"failover-cockpit: {message}", file=sys.stderr)
