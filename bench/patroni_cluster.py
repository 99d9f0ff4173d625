"""A throwaway three-node Patroni cluster on loopback for the peer bench (bench/patroni_peer.py).

One etcd (Debian's etcd-server, 3.4, spoken to through Patroni's ``etcd3:`` client, which uses
etcd's v3 JSON gateway, so no ``--enable-v2``), three Patroni members of PostgreSQL 15 run as the
``postgres`` user through runuser, every port free at start, every file under one folder. The DCS
settings ttl / loop_wait / retry_timeout are never written, so Patroni's defaults apply.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

PG_BINDIR = Path("/usr/lib/postgresql/15/bin")
PACKAGES = {"patroni": "/usr/bin/patroni", "etcd-server": "/usr/bin/etcd"}
PATRONICTL = "/usr/bin/patronictl"
DEFAULT_KEYS = ("ttl", "loop_wait", "retry_timeout")  # Patroni's own values, written nowhere by us
SCOPE = "bench"
NAMES = ("node1", "node2", "node3")
TABLE = "CREATE TABLE IF NOT EXISTS bench_write(x int)"
INSERT = "INSERT INTO bench_write VALUES (1)"


class PatroniBenchError(Exception):
    """A step of the Patroni bench that failed; its text is one sentence."""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _first_error(text: str) -> str:
    for line in (text or "").splitlines():
        if line.strip().startswith("E:"):
            return line.strip()[2:].strip()
    return _last_line(text)


def _apt(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(["apt-get", *args], capture_output=True, text=True, timeout=300, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 1, "", f"E: apt-get {args[0]} took over 300 s")


def ensure_packages() -> str | None:
    """None when patroni and etcd are there (apt-get installing what is missing, as root), else a
    sentence naming the package that could not be installed and the first line of apt's error."""
    for package, binary in PACKAGES.items():
        if Path(binary).is_file():
            continue
        if os.geteuid() != 0:
            return f"Debian's {package} could not be installed because the bench is not running as root."
        if shutil.which("apt-get") is None:
            return f"Debian's {package} could not be installed because there is no apt-get here."
        proc = _apt("install", "-y", "-qq", package)
        if proc.returncode != 0:
            _apt("update", "-qq")
            proc = _apt("install", "-y", "-qq", package)
        if not Path(binary).is_file():
            why = _first_error(proc.stderr or proc.stdout) if proc.returncode else f"no {binary} after install"
            return f"Debian's {package} could not be installed: {why.rstrip('.')}."
    return None


def versions() -> tuple[str, str]:
    """(Patroni's version, etcd's version), e.g. ("3.0.2", "3.4.23")."""
    def out(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout
    patroni = out(PACKAGES["patroni"], "--version").split()
    etcd = out(PACKAGES["etcd-server"], "--version").splitlines()
    return (patroni[-1] if patroni else "?", etcd[0].split()[-1] if etcd and etcd[0].split() else "?")


def patroni_defaults() -> dict[str, int]:
    """ttl, loop_wait and retry_timeout as the installed Patroni defaults them (read from its code)."""
    code = ("import json; from patroni.config import Config; d = Config._Config__DEFAULT_CONFIG; "
            f"print(json.dumps({{k: d[k] for k in {DEFAULT_KEYS!r}}}))")
    try:
        proc = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=20)
        return json.loads(proc.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {"ttl": 30, "loop_wait": 10, "retry_timeout": 10}  # Patroni 3.x's documented defaults


def _http_json(url: str, timeout: float = 2.0):
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        return json.loads(reply.read().decode())


def _wait(what: str, timeout: float, probe):
    """Call probe until it returns something true, or raise naming what we waited for."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = probe()
            if got:
                return got
        except Exception:  # noqa: BLE001 (not up yet)
            pass
        if time.monotonic() > deadline:
            raise PatroniBenchError(f"{what} did not happen within {timeout:g} s.")
        time.sleep(0.2)


def _kill_now(pids: list[int]) -> None:
    """SIGSTOP every pid (so none outlives the others), then SIGKILL them all: a host that dies."""
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass


class PatroniLab:
    """etcd plus three Patroni nodes under folder; ``stop()`` ends every process it started."""

    def __init__(self, folder: Path):
        from lab.processes import give_away
        from tests.lab_fixture import free_ports

        self.dir = Path(folder)
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        give_away(self.dir)
        ports = free_ports(2 + 2 * len(NAMES))
        self.etcd_port, self.peer_port = ports[0], ports[1]
        self.pg_ports = dict(zip(NAMES, ports[2:2 + len(NAMES)]))
        self.api_ports = dict(zip(NAMES, ports[2 + len(NAMES):]))
        self.etcd: subprocess.Popen | None = None
        self.nodes: dict[str, subprocess.Popen] = {}

    # ---- paths and config ----

    def node_dir(self, name: str) -> Path:
        return self.dir / name

    def data_dir(self, name: str) -> Path:
        return self.node_dir(name) / "data"

    def config(self, name: str) -> Path:
        return self.node_dir(name) / "patroni.yml"

    def _config_text(self, name: str) -> str:
        node = self.node_dir(name)
        conf = {
            "scope": SCOPE, "namespace": "/service/", "name": name,
            "restapi": {"listen": f"127.0.0.1:{self.api_ports[name]}",
                        "connect_address": f"127.0.0.1:{self.api_ports[name]}"},
            "etcd3": {"hosts": [f"127.0.0.1:{self.etcd_port}"]},
            # no ttl / loop_wait / retry_timeout: Patroni's defaults are what is measured
            "bootstrap": {"dcs": {"postgresql": {"use_pg_rewind": True}},
                          "initdb": [{"encoding": "UTF8"}, {"locale": "C"}]},
            "postgresql": {
                "listen": f"127.0.0.1:{self.pg_ports[name]}",
                "connect_address": f"127.0.0.1:{self.pg_ports[name]}",
                "data_dir": str(self.data_dir(name)), "bin_dir": str(PG_BINDIR),
                "pgpass": str(node / "pgpass"),
                "authentication": {"superuser": {"username": "postgres", "password": "bench-only"},
                                   "replication": {"username": "replicator", "password": "bench-only"}},
                "parameters": {"unix_socket_directories": str(node), "max_connections": 50},
                "pg_hba": ["local all all trust", "host all all 127.0.0.1/32 trust",
                           "host replication replicator 127.0.0.1/32 trust"],
            },
        }
        return json.dumps(conf, indent=2) + "\n"  # JSON is YAML

    # ---- processes ----

    def start_etcd(self) -> None:
        data = self.dir / "etcd"
        data.mkdir(mode=0o700, exist_ok=True)
        client, peer = f"http://127.0.0.1:{self.etcd_port}", f"http://127.0.0.1:{self.peer_port}"
        argv = [PACKAGES["etcd-server"], "--name", "bench", "--data-dir", str(data),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"bench={peer}", "--initial-cluster-state", "new",
                "--initial-cluster-token", f"bench-{os.getpid()}"]
        with open(self.dir / "etcd.log", "ab") as log:
            self.etcd = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.dir, start_new_session=True)
        _wait("etcd answering on its health endpoint", 30,
              lambda: self.etcd.poll() is None and _http_json(f"{client}/health").get("health") == "true")

    def start_node(self, name: str) -> None:
        from lab.processes import as_service_user, child_env, give_away, write_file

        node = self.node_dir(name)
        node.mkdir(mode=0o700, exist_ok=True)
        give_away(node)
        write_file(self.config(name), self._config_text(name), 0o600)
        with open(node / "patroni.log", "ab") as log:
            self.nodes[name] = subprocess.Popen(
                as_service_user([PACKAGES["patroni"], str(self.config(name))]), stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=node, env=child_env(),
                start_new_session=True)

    def patroni_pid(self, name: str) -> int | None:
        """The patroni process itself (runuser's child when we are root)."""
        from lab.processes import descendants, proc_cmdline

        proc = self.nodes.get(name)
        if proc is None or proc.poll() is not None:
            return None
        for pid in [proc.pid, *descendants(proc.pid)]:
            if any(Path(arg).name == "patroni" for arg in proc_cmdline(pid)[:2]):
                return pid
        return None

    def postmaster_pid(self, name: str) -> int | None:
        from lab.processes import is_postgres

        try:
            pid = int((self.data_dir(name) / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if is_postgres(pid) else None

    def crash_host(self, name: str) -> list[int]:
        """kill -9, at one instant, everything of that node: runuser, patroni, the postmaster and
        every postgres child of it (backends, walsenders, checkpointer...). The pids killed."""
        from lab.processes import descendants, wait_gone

        proc = self.nodes[name]
        pids = [proc.pid, *descendants(proc.pid)]
        postmaster = self.postmaster_pid(name)
        if postmaster is not None:
            pids += [postmaster, *descendants(postmaster)]
        _kill_now(pids)
        proc.wait(timeout=10)
        wait_gone(pids, 10)
        self._drop_shared_memory(name)
        return pids

    def _drop_shared_memory(self, name: str) -> None:
        """A postmaster killed with -9 leaves its System V segment: remove it (line 7 of postmaster.pid)."""
        try:
            lines = (self.data_dir(name) / "postmaster.pid").read_text().splitlines()
            shmid = lines[6].split()[1]
        except (OSError, IndexError):
            return
        subprocess.run(["ipcrm", "-m", shmid], capture_output=True, timeout=10)

    def rebuild(self, name: str) -> None:
        """A crashed node back as a fresh replica: its data directory wiped, Patroni cloning the leader."""
        shutil.rmtree(self.data_dir(name), ignore_errors=True)
        self.start_node(name)

    def stop(self) -> None:
        """Every process started here ended: Patroni asked first (it stops its PostgreSQL), then
        whatever is left (a postmaster with an immediate shutdown), then etcd."""
        from lab.processes import terminate

        live = {name: proc for name, proc in self.nodes.items() if proc.poll() is None}
        postmasters = [pid for pid in (self.postmaster_pid(name) for name in self.nodes) if pid]
        patronis = [pid for pid in (self.patroni_pid(name) for name in live) if pid]
        terminate(patronis + [proc.pid for proc in live.values()], timeout=15)
        terminate([pid for pid in postmasters], timeout=10)
        for proc in self.nodes.values():
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.etcd is not None and self.etcd.poll() is None:
            self.etcd.terminate()
            try:
                self.etcd.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.etcd.kill()
                self.etcd.wait(timeout=5)

    # ---- state ----

    def cluster(self) -> list[dict]:
        """Members as Patroni's REST API reports them (any live node answers)."""
        for name, port in self.api_ports.items():
            if self.nodes.get(name) is None or self.nodes[name].poll() is not None:
                continue
            try:
                return _http_json(f"http://127.0.0.1:{port}/cluster").get("members", [])
            except Exception:  # noqa: BLE001 (this one not up: ask the next)
                continue
        return []

    def leader(self) -> str | None:
        return next((m["name"] for m in self.cluster() if m.get("role") == "leader"), None)

    def _healthy(self) -> str | None:
        import psycopg

        members = self.cluster()
        leaders = [m for m in members if m.get("role") == "leader" and m.get("state") == "running"]
        replicas = [m for m in members if m.get("role") in ("replica", "sync_standby")
                    and m.get("state") in ("running", "streaming")]
        if len(members) != len(NAMES) or len(leaders) != 1 or len(replicas) != len(NAMES) - 1:
            return None
        leader = leaders[0]["name"]
        with psycopg.connect(host="127.0.0.1", port=self.pg_ports[leader], user="postgres",
                             dbname="postgres", connect_timeout=2, autocommit=True) as conn:
            streaming = conn.execute("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' "
                                     "AND replay_lsn = pg_current_wal_lsn()").fetchone()[0]
            conn.execute(TABLE)
        return leader if streaming == len(NAMES) - 1 else None

    def wait_healthy(self, timeout: float = 120.0) -> str:
        """Wait for one leader and two replicas streaming and caught up; the leader's name."""
        return _wait("a leader with two streaming replicas", timeout, self._healthy)

    def up(self) -> str:
        """etcd, node1 bootstrapping the cluster, then node2 and node3 cloning it; the leader."""
        self.start_etcd()
        self.start_node(NAMES[0])
        _wait(f"{NAMES[0]} bootstrapping as leader", 90, lambda: self.leader() == NAMES[0])
        for name in NAMES[1:]:
            self.start_node(name)
        return self.wait_healthy()

    def log_tail(self, name: str) -> str:
        """The last ERROR or CRITICAL message of the node's Patroni log, else its last line."""
        try:
            lines = (self.node_dir(name) / "patroni.log").read_text(errors="replace")[-20000:].splitlines()
        except OSError:
            return "no log"
        for line in reversed(lines):
            for level in (" ERROR: ", " CRITICAL: ", " FATAL: "):
                if level in line:
                    return line.split(level, 1)[1].strip()
        return _last_line("\n".join(lines))
