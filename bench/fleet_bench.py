"""The fleet on real servers: 50 clusters of 3 nodes from labs this bench starts itself (issue 17).

Ten labs (``tests.lab_fixture.make_lab``: a primary, two streaming standbys, PgBouncer and the Odoo
stand-in each) give 30 distinct PostgreSQL servers, reached on their own ports (a lab's DSNs go through
the proxy its fault tests cut; a bastion reaches its servers directly); the config lists each lab's cluster five times
under other names (``lab01``, ``lab01-b`` ... ``lab01-e``), so the fleet samples 150 nodes over 150
connections, 30 servers answering five connections each. Then, from :mod:`bench.fleet_screen_bench`:

- ``fleet_sampling_cpu_pct_150_nodes``: the FleetSampler alone in this process at 1 Hz;
- ``fleet_first_frame_s``: ``run --all`` in tmux to the first complete fleet frame;
- ``fleet_rss_mb``: that process after five minutes on screen (one with ``--quick``: the key says so).

    .venv/bin/python -m bench.fleet_bench [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
import tomllib
from pathlib import Path

import tomli_w

LABS = 10
COPIES = ("", "-b", "-c", "-d", "-e")


def fleet_config(labs: list, path: Path) -> tuple[Path, int]:
    """One config of every lab's cluster listed len(COPIES) times; returns it and the distinct servers."""
    clusters, servers = {}, set()
    for i, lab in enumerate(labs, 1):
        status = lab.status()
        cluster = tomllib.loads(Path(status["config"]).read_text())["clusters"]["lab"]
        for node in cluster["nodes"]:       # straight to the server, as a bastion is, not through the lab's
            ports = next(n for n in status["nodes"] if n["name"] == node["name"])   # fault-injecting proxy
            node["dsn"] = node["dsn"].replace(f":{ports['proxy_port']}/", f":{ports['port']}/")
            servers.add(node["dsn"].split("@")[1].split("/")[0])
        for suffix in COPIES:
            clusters[f"lab{i:02d}{suffix}"] = cluster
    path.write_text(tomli_w.dumps({"clusters": clusters}))
    return path, len(servers)


def fleet_figures(make_lab, root: Path, quick: bool) -> dict:
    from bench.fleet_screen_bench import fleet_first_frame_s, fleet_process_figures, fleet_sampling_cpu_pct

    labs, started = [], time.monotonic()
    try:
        for _ in range(LABS):
            labs.append(make_lab(root, replicas=2))
        up = time.monotonic() - started
        config, distinct = fleet_config(labs, Path(tempfile.mkdtemp(prefix="ofc-fleet-", dir=root)) / "fleet.toml")
        sampling = fleet_sampling_cpu_pct(str(config), 20 if quick else 60)
        first = sorted(fleet_first_frame_s(str(config)) for _ in range(3))[1]      # a median of three
        minutes = 1 if quick else 5
        screen = fleet_process_figures(str(config), minutes * 60)
    finally:
        for lab in labs:
            lab.down()
    return {
        "fleet_sampling_cpu_pct_150_nodes": sampling["fleet_sampling_cpu_pct"],
        "fleet_first_frame_s": first,
        "fleet_rss_mb": screen["fleet_rss_mb"],
        "fleet_rss_minutes": minutes,
        "fleet_screen_cpu_pct": screen["fleet_screen_cpu_pct"],
        "fleet_note": (f"Fleet: {sampling['clusters']} clusters, {sampling['nodes']} nodes on {distinct} distinct "
                       f"PostgreSQL servers ({LABS} labs started in {up:.0f} s, each cluster listed "
                       f"{len(COPIES)} times), {sampling['cluster_rounds']} cluster rounds in the sampling window; "
                       f"RSS after {minutes} min on screen."),
    }


if __name__ == "__main__":
    from tests.lab_fixture import make_lab

    bench_root = Path(tempfile.mkdtemp(prefix="ofc-bench-", dir="/tmp"))
    bench_root.chmod(0o755)
    print(fleet_figures(make_lab, bench_root, "--quick" in sys.argv))
