"""A long fence says it is still running, and is stopped at its node's own timeout (real processes)."""

from __future__ import annotations

import asyncio

from checks.config.model import Cluster
from checks.stages.fence import run_with_progress


def test_a_long_fence_prints_progress_and_its_timeout_is_the_nodes_own():
    lines: list[str] = []
    result = asyncio.run(run_with_progress("fence node1", ["sleep", "1.3"], 5.0, lines.append, every_s=0.4))
    assert result.ok and len(lines) >= 2
    assert lines[0].startswith("fence node1: still running after 0 s") or "still running after" in lines[0]
    assert "stopped at its timeout, 5 s" in lines[-1]
    killed = asyncio.run(run_with_progress("fence node1", ["sleep", "5"], 0.5, None, every_s=0.2))
    assert not killed.ok and killed.duration_ms < 4000


def test_fence_timeout_is_configured_per_node():
    cluster = Cluster.model_validate({"nodes": [
        {"name": "n1", "dsn": "postgresql://u@h1/postgres", "fence": ["true"], "fence_timeout_s": 7},
        {"name": "n2", "dsn": "postgresql://u@h2/postgres"}]})
    assert cluster.node("n1").fence_timeout_s == 7 and cluster.node("n2").fence_timeout_s == 60
