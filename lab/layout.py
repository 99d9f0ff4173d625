"""Where everything lives in a lab folder, and the lab.json record (no passwords)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import LabError
from .processes import write_file

STATE_VERSION = 1
PROXY_OFFSET = 100
PGBOUNCER_OFFSET = 200
ODOO_OFFSET = 201
MAX_REPLICAS = 20
SOCKET_PATH_MAX = 107  # sun_path is 108 bytes on Linux, NUL included


@dataclass(frozen=True)
class NodeSpec:
    """One node: its name, its real port and its proxy's port."""

    name: str
    port: int
    proxy_port: int


@dataclass
class LabState:
    """What lab.json records: the plan (ports, names) and the proxies' pids."""

    base_port: int
    replicas: int
    nodes: list[NodeSpec]
    pgbouncer_port: int
    odoo_port: int
    status: str = "building"  # "building" until `up` has finished once
    proxies: dict[str, int] = field(default_factory=dict)
    odoo_pid: int | None = None  # the Odoo stand-in

    @classmethod
    def plan(cls, base_port: int, replicas: int) -> "LabState":
        if not 0 <= replicas <= MAX_REPLICAS:
            raise LabError(f"--replicas must be between 0 and {MAX_REPLICAS}, not {replicas}")
        if not 1024 <= base_port <= 65535 - ODOO_OFFSET:
            raise LabError(f"--base-port must be between 1024 and {65535 - ODOO_OFFSET}, not {base_port}")
        nodes = [NodeSpec(f"node{i + 1}", base_port + i, base_port + PROXY_OFFSET + i)
                 for i in range(replicas + 1)]
        return cls(base_port, replicas, nodes, base_port + PGBOUNCER_OFFSET, base_port + ODOO_OFFSET)

    def ports(self) -> list[tuple[int, str]]:
        """Every port the lab uses, with what it is for."""
        used = [(n.port, f"{n.name}") for n in self.nodes]
        used += [(n.proxy_port, f"{n.name}'s proxy") for n in self.nodes]
        used += [(self.pgbouncer_port, "PgBouncer"), (self.odoo_port, "the Odoo stand-in")]
        return used

    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def to_json(self) -> str:
        body = {"version": STATE_VERSION, **asdict(self)}
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: Path) -> "LabState":
        try:
            raw = json.loads(text)
            nodes = [NodeSpec(str(n["name"]), int(n["port"]), int(n["proxy_port"])) for n in raw["nodes"]]
            return cls(int(raw["base_port"]), int(raw["replicas"]), nodes, int(raw["pgbouncer_port"]),
                       int(raw["odoo_port"]), str(raw.get("status", "building")),
                       {str(k): int(v) for k, v in raw.get("proxies", {}).items()},
                       int(raw["odoo_pid"]) if raw.get("odoo_pid") else None)
        except (ValueError, KeyError, TypeError) as exc:
            raise LabError(f"{source} is not a lab record ({exc.__class__.__name__}: {exc})") from None


class LabPaths:
    """File layout of one lab folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.lab_json = root / "lab.json"
        self.config = root / "clusters.toml"
        self.pgpass = root / "pgpass"
        self.run = root / "run"
        self.proxy_dir = root / "proxy"
        self.pgb_dir = root / "pgbouncer"
        self.pgb_ini = self.pgb_dir / "pgbouncer.ini"
        self.pgb_userlist = self.pgb_dir / "userlist.txt"
        self.pgb_log = self.pgb_dir / "pgbouncer.log"
        self.pgb_pid = self.pgb_dir / "pgbouncer.pid"
        self.odoo_dir = root / "odoo"
        self.odoo_conf = self.odoo_dir / "odoo.conf"
        self.odoo_probe_password = self.odoo_dir / "probe-password"
        self.odoo_log = self.odoo_dir / "standin.log"

    def node_dir(self, name: str) -> Path:
        return self.root / name

    def data_dir(self, name: str) -> Path:
        return self.root / name / "data"

    def log_dir(self, name: str) -> Path:
        return self.root / name / "log"

    def log_file(self, name: str) -> Path:
        return self.log_dir(name) / "postgresql.log"

    def proxy_state(self, name: str) -> Path:
        return self.proxy_dir / f"{name}.state"

    def proxy_log(self, name: str) -> Path:
        return self.proxy_dir / f"{name}.log"

    def check_socket_paths(self, state: LabState) -> None:
        longest = max(p for p, _ in state.ports())
        sock = self.run / f".s.PGSQL.{longest}.lock"
        if len(str(sock).encode()) > SOCKET_PATH_MAX:
            raise LabError(f"{self.root} is too deep for a Unix socket path ({sock} is over "
                           f"{SOCKET_PATH_MAX} bytes); choose a shorter --dir")

    def load(self) -> LabState | None:
        try:
            text = self.lab_json.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LabError(f"cannot read {self.lab_json}: {exc.strerror}") from None
        return LabState.from_json(text, self.lab_json)

    def require(self) -> LabState:
        state = self.load()
        if state is None:
            raise LabError(f"no lab in {self.root} (no lab.json); run `lab up --dir {self.root}` first")
        return state

    def save(self, state: LabState) -> None:
        write_file(self.lab_json, state.to_json(), 0o644)
