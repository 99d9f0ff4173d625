"""``bench/run``: every figure measured on a fresh lab, printed as a table or one JSON object."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checks.config.model import load_config

TARGETS = {
    "sampling_cpu_pct_10_nodes": ("<=", 3.0),
    "sampling_cpu_pct_10_nodes_signals": ("<=", 3.0),
    "hung_node_other_refresh_ms": ("<=", 1500.0),
    "first_frame_s": ("<=", 1.5),
    "promote_to_writable_ms": ("<=", 60.0),
    "failover_rto_s": ("<=", 2.0),
    "journal_bytes_per_node_hour": ("<=", 5 * 1024 * 1024),
    "cutover_failed_txns_pause": ("<=", 0),
    "cutover_stall_ms": ("<=", 150.0),      # 500 until issue 17
    "long_incident_resume_s": ("<=", 2.0),
    "long_incident_close_ms": ("<=", 300.0),
    "record_render_ms_10k": ("<=", 500.0),
    "replay_seek_ms_24h": ("<=", 100.0),
    "fleet_sampling_cpu_pct_150_nodes": ("<=", 5.0),
    "fleet_first_frame_s": ("<=", 2.0),
    "replay_seek_ms": ("<=", 100.0),
    "guided_failover_s": ("<=", 10.0),
    "guided_failover_keys": ("<=", 11),     # 9 before issue 15's evaluation, which is ⏎ y of its own
}


def measure(quick: bool) -> dict:
    from bench.cutover import cutover_figures
    from bench.failover import failover_rto_s, promotion_figures
    from bench.first_frame import first_frame_s
    from bench.fleet_bench import fleet_figures
    from bench.guided import guided_figures  # the human loop, and its peer by the documented keys
    from bench.journal_bench import journal_bytes_per_node_hour
    from bench.long_incident import long_incident_figures
    from bench.memory import rss_mb_10_nodes_fresh
    from bench.patroni_peer import patroni_figures  # the peer, measured here (None + note when absent)
    from bench.replay_bench import replay_seek_ms, replay_seek_ms_24h
    from bench.repmgr_peer import repmgr_promote_ms  # the peer of our promotion (None + note when absent)
    from bench.sampling import hung_node_other_refresh_ms, sampling_cpu_pct_10_nodes
    from tests.lab_fixture import make_lab

    figures: dict = {}
    root = Path(tempfile.mkdtemp(prefix="ofc-bench-", dir="/tmp"))
    root.chmod(0o755)
    started = time.monotonic()
    lab = make_lab(root, replicas=2)
    figures["lab_up_s"] = round(time.monotonic() - started, 2)
    try:
        config = lab.status()["config"]
        _, cluster = load_config(config).cluster(None)
        figures["sampling_cpu_pct_10_nodes"] = sampling_cpu_pct_10_nodes(cluster, 5 if quick else 30)
        figures["sampling_cpu_pct_10_nodes_signals"] = sampling_cpu_pct_10_nodes(cluster, 5 if quick else 30,
                                                                                 signals=True)
        refresh = hung_node_other_refresh_ms(cluster, lab.hang, lab.resume, 5 if quick else 20)
        figures["hung_node_other_refresh_ms"] = refresh["max"]
        figures["hung_node_other_refresh_median_ms"] = refresh["median"]
        runs = [first_frame_s(config) for _ in range(3 if quick else 5)]  # a median: one start is noisy
        figures["first_frame_s"] = sorted(runs)[len(runs) // 2]
    finally:
        lab.down()
    figures.update(promotion_figures(make_lab, root, 5))
    figures.update(repmgr_promote_ms(make_lab, root, 3 if quick else 5))
    figures.update(failover_rto_s(make_lab, root))
    figures.update(guided_figures(make_lab, root, 1 if quick else 3))
    figures["journal_bytes_per_node_hour"] = journal_bytes_per_node_hour(10 if quick else 60)
    figures["replay_seek_ms"] = replay_seek_ms(60)  # a one-hour journal even with --quick: that is the figure
    figures.update(replay_seek_ms_24h())           # a 24-hour journal even with --quick
    figures.update(long_incident_figures())        # the eight-hour journal even with --quick: that is the figure
    figures.update(cutover_figures(make_lab, root, 9 if quick else 20))
    figures.update(patroni_figures(root, quick))
    figures.update(fleet_figures(make_lab, root, quick))
    minutes = 5 if quick else 30
    figures.update(rss_mb_10_nodes_fresh(minutes))
    figures["rss_minutes_of_samples"] = minutes
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="a short run that still measures every figure")
    args = parser.parse_args(argv)
    from lab.errors import LabError

    try:
        figures = measure(args.quick)
    except (LabError, RuntimeError, OSError, subprocess.SubprocessError) as exc:   # a lab or tool failed here
        print(f"bench/run: stopped: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"{'figure':<36} {'value':>10}  target")
    for key, value in figures.items():
        if isinstance(value, str) or value is None:  # a note on its own line; a figure not had
            print(value if isinstance(value, str) else f"{key:<36} {'n/a':>10}"); continue
        op, target = TARGETS.get(key, ("", None))
        verdict = "" if target is None else ("ok" if value <= target else "MISSED")
        print(f"{key:<36} {value:>10}  {op} {target if target is not None else ''} {verdict}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
