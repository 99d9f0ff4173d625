"""The fleet screen (``run --all``, issue 17): its first complete frame, its memory, and what sampling
the whole fleet costs.

The fleet runs in a real tmux pane, as an operator would see it; the screen is read with
capture-pane. The frame is complete when its summary line counts every cluster of the config and
none is still waiting for its first round (every row has a sampled or an unreachable verdict).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from bench.tmux_pane import Pane

SIZE = (120, 40)


def _clusters(config_path: str) -> int:
    from checks.config.model import load_config

    return len(load_config(config_path).clusters)


def complete_frame(screen: str, clusters: int) -> bool:
    """The summary line (the first) counts every cluster and none waits for its first round."""
    first = screen.splitlines()[0] if screen else ""
    return f"Fleet · {clusters} clusters · " in first and " waiting" not in first


class _Fleet(Pane):
    """``failover-cockpit run --all CONFIG`` in a tmux pane of a private tmux server."""

    def __init__(self, config_path: str) -> None:
        self.config = str(Path(config_path).resolve())
        self.clusters = _clusters(self.config)
        super().__init__([sys.executable, "-m", "cli", "run", "--all", self.config], size=SIZE, name="fleet")

    def wait_complete(self, started: float, timeout_s: float) -> float:
        # each look is a tmux process: looking more often takes the CPU it measures
        return self.wait_until(lambda screen: complete_frame(screen, self.clusters), started, timeout_s,
                               what="a complete fleet frame", poll_s=0.05)


def fleet_first_frame_s(config_path: str, timeout_s: float = 60.0) -> float:
    """Seconds from launching ``run --all CONFIG`` to the first complete fleet frame."""
    fleet = _Fleet(config_path)
    try:
        return fleet.wait_complete(fleet.start(), timeout_s)
    finally:
        fleet.kill()


def _proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")      # utime + stime


def fleet_process_figures(config_path: str, seconds: float, timeout_s: float = 60.0) -> dict:
    """The fleet process after ``seconds`` on screen from its first complete frame: its RSS (MB) and
    its CPU over those seconds (% of one core: the screen and the sampling of every cluster)."""
    fleet = _Fleet(config_path)
    try:
        first = fleet.wait_complete(fleet.start(), timeout_s)
        pid = fleet.pid
        cpu0, wall0 = _proc_cpu_s(pid), time.monotonic()
        time.sleep(seconds)
        cpu = (_proc_cpu_s(pid) - cpu0) / (time.monotonic() - wall0) * 100
        return {"fleet_rss_mb": _proc_rss_mb(pid), "fleet_screen_cpu_pct": round(cpu, 2),
                "fleet_first_frame_s": first}
    finally:
        fleet.kill()


def fleet_rss_mb(config_path: str, seconds: float) -> float:
    """RSS (MB) of the ``run --all CONFIG`` process after ``seconds`` on screen."""
    return fleet_process_figures(config_path, seconds)["fleet_rss_mb"]


def fleet_sampling_cpu_pct(config_path: str, seconds: float) -> dict:
    """The sampler alone, in this process: CPU over wall time (% of one core) while
    :class:`~checks.observe.fleet_sampler.FleetSampler` samples every cluster of the config at its
    interval, from its first complete round on; and how many rounds came back meanwhile."""
    from checks.config.model import load_config
    from checks.observe.fleet_sampler import FleetSampler

    clusters = load_config(config_path).clusters
    rounds = 0

    def counted(_row) -> None:
        nonlocal rounds
        rounds += 1

    sampler = FleetSampler(clusters, on_round=counted).start()
    try:
        deadline = time.monotonic() + 60
        while not sampler.complete and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)                   # every connection is open: steady state from here
        cpu0, wall0, rounds = time.process_time(), time.monotonic(), 0
        time.sleep(seconds)
        pct = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100
    finally:
        sampler.stop()
    nodes = sum(len(c.nodes) for c in clusters.values())
    return {"fleet_sampling_cpu_pct": round(pct, 2), "clusters": len(clusters), "nodes": nodes,
            "cluster_rounds": rounds}
