"""``failover-cockpit exporter``: a long-running Prometheus exporter (docs/design.md section 6.5).

One sampler per node, kept open across rounds as the cockpit keeps them (a dead node is retried
with its backoff, never hammered); a :class:`~checks.observe.assess.Watch` remembers the primary's
last position, so a standby's data at risk stays measured after the primary is gone. A round runs
every interval; a scrape reads the last round's view, never waits on a database.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket

from cli.console import UNKNOWN, print_error

# The parser is built for every command: prometheus_client, the drivers and pydantic load in run_exporter.


class ListenError(ValueError):
    """A --listen value that names no address and port; the message is the sentence."""


def add_exporter_parser(sub) -> None:
    from cli.main import _config_args, _positive_float

    exporter = sub.add_parser(
        "exporter", help="serve Prometheus metrics of the cluster on /metrics (runs until stopped)",
        description="Sample the cluster every interval and serve the last round on http://ADDR:PORT/metrics: "
                    "the verdict, split brain, and per node up, in recovery, writable, replay delay, unreplayed "
                    "WAL, data at risk, timeline and sample latency. SIGTERM or Ctrl-C stops it.")
    _config_args(exporter)
    exporter.add_argument("--listen", required=True, metavar="ADDR:PORT",
                          help="where to serve /metrics, such as 127.0.0.1:9841, [::1]:9841 or :9841 "
                               "(every IPv4 address)")
    exporter.add_argument("--interval", type=_positive_float, metavar="S",
                          help="seconds between rounds (default: the config's sampling interval)")


def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:9841"`` -> ``("127.0.0.1", 9841)``; ``"[::1]:9841"``, ``":9841"`` (every IPv4 address)."""
    host, colon, port_text = text.rpartition(":")
    if not colon or not port_text:
        raise ListenError(f"--listen {text}: write ADDR:PORT, such as 127.0.0.1:9841")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ListenError(f"--listen {text}: write an IPv6 address in brackets, such as [::1]:9841")
    if not port_text.isdigit():
        raise ListenError(f"--listen {text}: the port {port_text} is not a number")
    port = int(port_text)
    if not 0 < port < 65536:
        raise ListenError(f"--listen {text}: the port must be from 1 to 65535")
    return host or "0.0.0.0", port


def bind_problem(exc: OSError) -> str:
    """Why the address could not be served, in words (no errno, no repr)."""
    if isinstance(exc, socket.gaierror):
        return f"no such address ({exc.strerror or 'the name does not resolve'})"
    reason = exc.strerror or str(exc) or "the address cannot be served"
    return reason[:1].lower() + reason[1:]


class Exporter:
    """The sampling loop: every round's view replaces the last; ``view`` is what a scrape sees."""

    def __init__(self, cluster_name: str, cluster) -> None:
        from checks.observe.assess import Watch

        self.cluster_name = cluster_name
        self.cluster = cluster
        self.watch = Watch(cluster_name, cluster)
        self.view = None

    async def run(self, interval_s: float, stop: asyncio.Event) -> None:
        from checks.observe.sampler import NodeSampler, sample_all

        samplers = [NodeSampler(node, self.cluster.sampling) for node in self.cluster.nodes]
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                started = loop.time()
                self.view = self.watch.update(*await sample_all(samplers))
                try:
                    await asyncio.wait_for(stop.wait(), timeout=max(0.0, interval_s - (loop.time() - started)))
                except asyncio.TimeoutError:
                    pass
        finally:
            await asyncio.gather(*(s.close() for s in samplers))


async def _serve(exporter: Exporter, interval_s: float) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await exporter.run(interval_s, stop)


def run_exporter(args: argparse.Namespace) -> int:
    from checks.config.model import ConfigError
    from cli.main import _load_cluster

    try:
        host, port = parse_listen(args.listen)
    except ListenError as exc:
        print_error(str(exc))
        return 2
    try:
        name, cluster = _load_cluster(args.config, args.cluster)
    except ConfigError as exc:
        print_error(str(exc))
        return UNKNOWN
    from prometheus_client import start_wsgi_server

    from checks.observe.metrics import registry_for

    exporter = Exporter(name, cluster)
    try:
        httpd, _thread = start_wsgi_server(port, host, registry_for(lambda: exporter.view, cluster.slo))
    except OSError as exc:
        print_error(f"--listen {args.listen}: {bind_problem(exc)}")
        return 2
    interval = args.interval or cluster.sampling.interval_s
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    print(f"failover-cockpit: exporter of cluster {name} serves http://{where}/metrics, a round every {interval:g}s",
          flush=True)
    try:
        asyncio.run(_serve(exporter, interval))
    finally:
        httpd.shutdown()
        httpd.server_close()
    return 0
