"""Starting, checking, partitioning and stopping the per-node proxies (see proxy.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .errors import LabError
from .layout import LabPaths, NodeSpec
from .processes import give_away, last_line, proc_cmdline, proc_state, reap, send, terminate

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the folder holding the `lab` package
MODULE = "lab.proxy"


def read_state(paths: LabPaths, node: NodeSpec) -> dict:
    try:
        return dict(json.loads(paths.proxy_state(node.name).read_text()))
    except (OSError, ValueError, TypeError):
        return {}


def is_running(paths: LabPaths, node: NodeSpec, pid: int | None) -> bool:
    """pid is alive and really is this node's proxy (guards against pid reuse)."""
    if not pid or proc_state(pid) is None:
        return False
    argv = proc_cmdline(pid)
    return MODULE in argv and str(paths.proxy_state(node.name)) in argv


def launch(paths: LabPaths, node: NodeSpec) -> subprocess.Popen:
    """Start the proxy detached; it acknowledges by writing its pid to the state file."""
    paths.proxy_dir.mkdir(mode=0o755, exist_ok=True)
    give_away(paths.proxy_dir)
    log_path = paths.proxy_log(node.name)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    argv = [sys.executable, "-m", MODULE, "--listen", str(node.proxy_port), "--target", str(node.port),
            "--state-file", str(paths.proxy_state(node.name))]
    with open(log_path, "a") as log:
        give_away(log_path)
        return subprocess.Popen(argv, cwd=paths.root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(paths: LabPaths, node: NodeSpec, proc: subprocess.Popen, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while read_state(paths, node).get("pid") != proc.pid:
        if proc.poll() is not None:
            raise LabError(f"proxy for {node.name} on port {node.proxy_port} exited: "
                           f"{last_line(paths.proxy_log(node.name).read_text(errors='replace'))}")
        if time.monotonic() > deadline:
            proc.kill()
            raise LabError(f"proxy for {node.name} on port {node.proxy_port} not ready after {timeout:g} s; "
                           f"see {paths.proxy_log(node.name)}")
        time.sleep(0.02)
    return proc.pid


def start_all(paths: LabPaths, nodes: list[NodeSpec]) -> dict[str, int]:
    """Start several proxies at once; return their pids by node name."""
    launched = [(node, launch(paths, node)) for node in nodes]
    return {node.name: wait_ready(paths, node, proc) for node, proc in launched}


def set_partitioned(paths: LabPaths, node: NodeSpec, pid: int | None, partitioned: bool) -> None:
    """Signal the proxy (SIGUSR1 partition, SIGUSR2 heal) and wait for its acknowledgement."""
    if not is_running(paths, node, pid):
        raise LabError(f"the proxy for {node.name} (port {node.proxy_port}) is not running; "
                       f"run `lab up --dir {paths.root}` first")
    assert pid is not None
    want = "partitioned" if partitioned else "healed"
    if read_state(paths, node).get("state") == want and read_state(paths, node).get("pid") == pid:
        return
    send(pid, signal.SIGUSR1 if partitioned else signal.SIGUSR2)
    deadline = time.monotonic() + 5.0
    while read_state(paths, node).get("state") != want:
        if time.monotonic() > deadline:
            raise LabError(f"the proxy for {node.name} (pid {pid}) did not confirm {want} within 5 s; "
                           f"see {paths.proxy_log(node.name)}")
        time.sleep(0.01)


def stop(paths: LabPaths, node: NodeSpec, pid: int | None) -> None:
    if is_running(paths, node, pid):
        assert pid is not None
        terminate([pid], timeout=3.0)
    if pid:
        reap(pid)
