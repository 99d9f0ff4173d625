"""The cluster config: pydantic models (docs/design.md section 11) and a loader with one-line errors."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo, field_validator,
    model_validator
)

from checks.config.conninfo import ConnParams, DsnError, cached_params
from checks.config.errors import ConfigError, describe_validation_error, no_such_config
from checks.config.files import read_text
from checks.config.redact import dsn_password
from checks.config.secrets import remember_config_secrets

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,62}$")]
EnvVar = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Arg = Annotated[str, StringConstraints(min_length=1)]
Argv = Annotated[list[Arg], Field(min_length=1)]
NonNegFloat = Annotated[float, Field(ge=0)]
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})     # files in the zone folder, not zone names


def _one_printable_line(value: str) -> str:
    if any(ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f for ch in value):
        raise ValueError("a name is one line of printable characters")
    return value


Person = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                   AfterValidator(_one_printable_line)]


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_problem(name: object) -> str | None:
    """Why ``name`` is not an IANA time zone name this machine knows (None when it is one)."""
    if isinstance(name, str) and name in _zone_names() and name not in _NOT_ZONES:
        try:
            ZoneInfo(name)
            return None
        except (ValueError, OSError, KeyError):
            pass
    return (f"{name!r} is not an IANA time zone name this machine knows: write one such as "
            "\"Europe/Brussels\" or \"UTC\"")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_dsn(dsn: str, *, database: str | None = None) -> str:
    """The DSN as libpq reads it (checks.config.conninfo): one server, or one sentence saying why not."""
    try:
        params = cached_params(dsn)
    except DsnError as exc:
        raise ValueError(str(exc)) from None
    if database and (params.dbname or params.user) != database:
        raise ValueError(f"the DSN must name the {database!r} database (dbname={database})")
    return dsn


class Sampling(_Model):
    interval_s: float = Field(1.0, gt=0.05, le=3600)
    connect_timeout_s: float = Field(2.0, gt=0, le=60)
    statement_timeout_s: float = Field(1.5, gt=0, le=60)
    # the activity view (key a) asks its node this often, only while it is open
    activity_interval_s: float = Field(5.0, ge=1, le=600)


class Slo(_Model):
    max_replay_delay_s: NonNegFloat = 30.0
    max_data_risk_bytes: int = Field(16 * 1024 * 1024, ge=0)
    max_data_risk_s: NonNegFloat = 60.0


class Reprotect(_Model):
    """Bringing a node back as a standby of the new primary. ``{primary_host}``/``{primary_port}``
    are filled per argument; the dry run is ``rewind`` with ``--dry-run`` appended."""

    rewind: Argv
    start_as_standby: Argv
    start_read_only: Argv | None = None   # a stopped node started read-only, so its WAL can be measured
    timeout_s: float = Field(300.0, gt=0, le=7200)


class Node(_Model):
    name: Name
    dsn: str
    password_env: EnvVar | None = None
    priority: int = 100
    fence: Argv | None = None
    fence_timeout_s: float = Field(60.0, gt=0, le=3600)
    app_host: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]+$")] | None = None
    app_port: int | None = Field(None, gt=0, lt=65536)
    reprotect: Reprotect | None = None

    _check = field_validator("dsn")(lambda cls, v: _check_dsn(v))

    @property
    def params(self) -> ConnParams:
        """The server the cockpit connects to, as libpq reads the DSN (service, PG* defaults applied)."""
        return cached_params(self.dsn)

    @property
    def host(self) -> str:
        """Where applications (PgBouncer, Odoo) reach the node: ``app_host``, else the DSN's host."""
        return self.app_host or self.params.host

    @property
    def port(self) -> int:
        """``app_port``, else the DSN's port (libpq's default 5432)."""
        return self.app_port or self.params.port


class Command(_Model):
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    command: Argv
    timeout_s: float = Field(60.0, gt=0, le=3600)


class PgBouncer(_Model):
    name: Name
    admin_dsn: str
    password_env: EnvVar | None = None
    ini_path: Path | None = None
    databases: Annotated[list[Name], Field(min_length=1)]

    _check = field_validator("admin_dsn")(lambda cls, v: _check_dsn(v, database="pgbouncer"))


class Odoo(_Model):
    url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$")]
    db: Name
    login: Annotated[str, StringConstraints(min_length=1)]
    password_env: EnvVar | None = None
    password_file: Path | None = None
    conf_path: Path | None = None
    restart_batches: list[Argv] = []
    cron_wait_s: float = Field(90.0, ge=0, le=3600)
    max_failed_jobs: int = Field(10, ge=0)

    @model_validator(mode="after")
    def _one_secret(self) -> Odoo:
        if (self.password_env is None) == (self.password_file is None):
            raise ValueError("give exactly one of password_env or password_file for the probe login")
        return self


class OnCall(_Model):
    """Who is on call for the cluster's incidents: the scribe and the approver stage 0 proposes.
    The approver must be one of the cluster's ``approvers``, and never the scribe too."""

    scribe: Person | None = None
    approver: Person | None = None

    @model_validator(mode="after")
    def _two_people(self) -> OnCall:
        if self.scribe is not None and self.scribe == self.approver:
            raise ValueError(f"the scribe and the approver are both {self.scribe!r}: name two people (the "
                             "approver judges the data risk the others record)")
        return self


class Infrastructure(_Model):
    """A command that reports infrastructure events (a cloud CLI, a monitoring API): run every
    ``interval_s`` with a timeout, it prints JSON lines ``{"at": ..., "node": ..., "text": ...}``,
    one per event standing now (none: nothing to report)."""

    command: Argv
    interval_s: float = Field(30.0, ge=1, le=3600)
    timeout_s: float = Field(10.0, gt=0, le=300)


class Signals(_Model):
    """The signals that justify evaluating a failover (docs/design.md section 13)."""

    interval_s: float = Field(2.0, ge=0.5, le=600)          # the app path, pooler and Odoo probes
    crash_loop_restarts: int = Field(3, ge=2, le=100)       # this many restarts ...
    crash_loop_window_s: float = Field(600.0, gt=0, le=86400)   # ... within this window: a crash loop
    recent_start_s: float = Field(300.0, gt=0, le=86400)    # a start this recent is reported
    odoo_login: bool = True                                  # log in through XML-RPC (needs [odoo])
    infrastructure: Infrastructure | None = None


NotifyKind = Literal["alarm", "stage", "decision", "status", "close"]


class Notify(_Model):
    """A hook told about the incident (a chat webhook, a pager): ``command`` gets one JSON document on
    stdin per journaled entry of the kinds in ``on``, off the action path, bounded by ``timeout_s``."""

    command: Argv
    on: Annotated[list[NotifyKind], Field(min_length=1)] = ["alarm", "decision", "close"]
    timeout_s: float = Field(10.0, gt=0, le=300)


class Cluster(_Model):
    nodes: Annotated[list[Node], Field(min_length=1)]
    approvers: list[Annotated[str, StringConstraints(min_length=1)]] = []
    # The zone the record shows local times in, beside UTC (an IANA name); default: the bastion's.
    timezone: str | None = None
    on_call: OnCall | None = None
    sampling: Sampling = Sampling()
    slo: Slo = Slo()
    freeze: list[Command] = []
    pgbouncers: list[PgBouncer] = []
    odoo: Odoo | None = None
    cutover_commands: list[Command] = []
    rto_s: float | None = Field(None, gt=0, le=7 * 86400)   # the recovery time objective, from the first bad signal
    signals: Signals = Signals()
    notify: Notify | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and (problem := zone_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("on_call")
    @classmethod
    def _approver_listed(cls, value: OnCall | None, info: ValidationInfo) -> OnCall | None:
        approvers = info.data.get("approvers")
        if value is None or value.approver is None or approvers is None or value.approver in approvers:
            return value
        listed = ", ".join(approvers) if approvers else "none are listed"
        raise ValueError(f"approver {value.approver!r} is not one of the cluster's approvers ({listed})")

    @model_validator(mode="after")
    def _unique_names(self) -> Cluster:
        seen: set[str] = set()
        for node in self.nodes:
            if node.name in seen:
                raise ValueError(f"duplicate node name {node.name!r}")
            seen.add(node.name)
        return self

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)


class ConfigFile(_Model):
    clusters: Annotated[dict[Name, Cluster], Field(min_length=1)]


class LoadedConfig:
    """A validated config with the path it came from and the warnings it raised."""

    def __init__(self, path: Path, model: ConfigFile, warnings: list[str]) -> None:
        self.path = path
        self.model = model
        self.warnings = warnings

    @property
    def clusters(self) -> dict[str, Cluster]:
        return self.model.clusters

    def cluster(self, name: str | None) -> tuple[str, Cluster]:
        """The named cluster, or the only one; ConfigError otherwise."""
        names = sorted(self.clusters)
        if name is None:
            if len(names) == 1:
                return names[0], self.clusters[names[0]]
            raise ConfigError(f"{self.path}: holds several clusters ({', '.join(names)}): choose one with --cluster")
        if name not in self.clusters:
            raise ConfigError(f"{self.path}: no cluster named {name!r} (clusters: {', '.join(names)})")
        return name, self.clusters[name]


def load_config(path: str | Path) -> LoadedConfig:
    """Read and validate a config file; every problem becomes a one-line ConfigError."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise ConfigError(no_such_config(path))
    text = read_text(path, ConfigError, "config file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        model = ConfigFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(path, text, exc, ConfigFile)) from None
    remember_config_secrets(model)
    return LoadedConfig(path, model, _warnings(path, model))


def _warnings(path: Path, model: ConfigFile) -> list[str]:
    found = []
    readable = path.stat().st_mode & 0o044
    if readable and any(dsn_password(d) for c in model.clusters.values()
                        for d in [*(n.dsn for n in c.nodes), *(p.admin_dsn for p in c.pgbouncers)]):
        found.append(f"{path}: holds a password and is readable by other users: chmod 600 {path}")
    for cname, cluster in model.clusters.items():
        dsns = [(f"nodes.{n.name}.dsn", n.dsn) for n in cluster.nodes]
        dsns += [(f"pgbouncers.{p.name}.admin_dsn", p.admin_dsn) for p in cluster.pgbouncers]
        for key, dsn in dsns:
            if dsn_password(dsn):
                found.append(
                    f"{path}: clusters.{cname}.{key} holds an inline password: it is masked everywhere, "
                    "but prefer password_env or a .pgpass file"
                )
    return found
