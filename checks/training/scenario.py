"""Training scenarios: recorded lab samples, the faults that were driven, the cluster they ran on, and what a safe run does."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer

from checks.config.files import read_text
from checks.config.model import Cluster
from checks.errors import CockpitError, error_line
from checks.observe.sample import NodeSample, iso_utc
from checks.runbook.operation import GateRefused
from checks.training import SCENARIO_DIR  # noqa: F401 - the bundled scenarios, importable from here too

SCENARIO_VERSION = 1
TRAINING_HOST = "training.invalid"      # RFC 2606: a name that never resolves; nothing connects anyway
SIMULATED = "training: simulated, nothing was run"
SIM_COMMAND_MS = 150.0                 # what a simulated command "took"
SIM_PROMOTE_MS = 40.0                  # writable ~40 ms after pg_promote (docs/design.md section 9.1)
RTO_GOAL_PER_STEP_S = 15.0             # the default RTO goal: this much per step of the safe path
SIM_DRAIN_MS = 20.0                    # a streaming candidate receives the final LSN within ms on a LAN
CONDITIONS = {"crash": "down", "start": "up", "partition": "partitioned", "heal": "up", "hang": "hung",
              "resume": "up"}


class ScenarioError(CockpitError):
    """One line: which scenario file, and what is wrong with it."""


class TrainingRefused(GateRefused):
    """A trainee action the gates refused; the message is the cockpit's own sentence."""


class Fault(BaseModel):
    """What the recorder did to the lab, ``t`` seconds into the recording."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    t: float
    do: str                 # crash | start | partition | heal | hang | resume | load | write
    node: str | None = None
    detail: str = ""


class Scenario(BaseModel):
    """A recorded lab run to train on (shipped as JSON, see ``checks/training/scenarios``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = SCENARIO_VERSION
    name: str
    title: str
    description: str
    recorded_at: datetime           # t = 0: the first sample
    seconds: float                  # how long the recording runs
    settle_s: float = 0.0           # the faults are over: the safe path applies from here
    recorded_with: str = ""         # how it was recorded (the script, the lab)
    config: dict[str, Any]          # cluster name, nodes (names only), approvers, SLO, freeze, poolers
    faults: tuple[Fault, ...] = ()
    safe_path: tuple[str, ...] = ()
    rto_goal_s: float | None = Field(default=None, gt=0)   # the score card's RTO goal (default: see score.rto_goal)
    samples: tuple[NodeSample, ...]

    @field_serializer("recorded_at")
    def _ser_time(self, value: datetime) -> str:
        return iso_utc(value)

    @property
    def cluster_name(self) -> str:
        return str(self.config.get("cluster") or "training")

    def cluster(self) -> Cluster:
        return training_cluster(self.config)

    def offset(self, moment: datetime) -> float:
        """Seconds from the start of the recording to ``moment``."""
        return (moment - self.recorded_at).total_seconds()

    def moment(self, t: float) -> datetime:
        return self.recorded_at + timedelta(seconds=t)

    def node_condition(self, node: str, t: float) -> str:
        """What the lab really did to ``node`` by ``t``: up, down, partitioned (alive, cut off from
        the bastion) or hung (alive, frozen). The cockpit only sees reachable or not."""
        condition = "up"
        for fault in sorted(self.faults, key=lambda f: f.t):
            if fault.t > t:
                break
            if fault.node == node and fault.do in CONDITIONS:
                condition = CONDITIONS[fault.do]
        return condition


def training_cluster(config: dict[str, Any]) -> Cluster:
    """The :class:`Cluster` a scenario's config describes. DSNs are filled with names under
    ``training.invalid``: the gates read names, SLOs and approvers; nothing ever connects."""
    try:
        nodes = [{"name": n["name"], "priority": n.get("priority", 100),
                  "dsn": f"postgresql://training@{n['name']}.{TRAINING_HOST}:5432/postgres",
                  "fence": n.get("fence") or ["fence", n["name"]]} for n in config["nodes"]]
        data: dict[str, Any] = {
            "nodes": nodes,
            "approvers": list(config.get("approvers", [])),
            "slo": dict(config.get("slo", {})),
            "sampling": dict(config.get("sampling", {})),
            "freeze": [{"name": f["name"], "command": f.get("command") or [f["name"]]}
                       for f in config.get("freeze", [])],
            "pgbouncers": [{"name": p["name"], "databases": p["databases"],
                            "admin_dsn": f"postgresql://training@{p['name']}.{TRAINING_HOST}:6432/pgbouncer"}
                           for p in config.get("pgbouncers", [])],
        }
        odoo = config.get("odoo")
        if odoo:
            data["odoo"] = {"url": f"http://odoo.{TRAINING_HOST}:8069", "db": odoo.get("db", "odoo"),
                            "login": odoo.get("login", "probe"), "password_env": "TRAINING_NEVER_USED"}
        return Cluster.model_validate(data)
    except (KeyError, TypeError, ValidationError) as exc:
        raise ScenarioError(f"the scenario's cluster config is not valid: {error_line(exc)}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file; every problem is one ScenarioError line naming the file."""
    path = Path(path)
    text = read_text(path, ScenarioError, "scenario file")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(raw, dict) and isinstance(raw.get("version"), int) and raw["version"] > SCENARIO_VERSION:
        raise ScenarioError(f"{path}: scenario version {raw['version']} is newer than this cockpit reads "
                            f"({SCENARIO_VERSION}): upgrade failover-cockpit")
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top)"
        raise ScenarioError(f"{path}: {where}: {error['msg']}") from None
    if not scenario.samples:
        raise ScenarioError(f"{path}: the scenario holds no samples")
    try:
        cluster = scenario.cluster()
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    unknown = sorted({s.name for s in scenario.samples} - {n.name for n in cluster.nodes})
    if unknown:
        raise ScenarioError(f"{path}: samples of nodes the config does not name: {', '.join(unknown)}")
    return scenario


def scenario_json(scenario: Scenario) -> str:
    """The file text: the header indented, one sample per line (small, and readable in a diff)."""
    # A scenario without its own RTO goal is written as it was recorded (no "rto_goal_s": null).
    exclude = {"samples"} if scenario.rto_goal_s is not None else {"samples", "rto_goal_s"}
    doc = scenario.model_dump(mode="json", exclude=exclude)
    head = json.dumps(doc, indent=2, ensure_ascii=False)
    rows = ",\n".join("    " + json.dumps(s.model_dump(mode="json", exclude_defaults=True), separators=(",", ":"),
                                           ensure_ascii=False) for s in scenario.samples)
    return head[:-2] + ',\n  "samples": [\n' + rows + "\n  ]\n}\n"
