"""Config loading: the sample loads, and every bad file gets one clear line naming file, key and line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from checks.config.model import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
BAD = Path(__file__).parents[1] / "bad_configs"

# file -> (line, fragments the message must contain)
EXPECTED = {
    "unknown_key.toml": (3, ["clusters.c1.aproovers", "unknown key"]),
    "shell_string_command.toml": (6, ["clusters.c1.nodes.0.fence", "argv list"]),
    "duplicate_node.toml": (1, ["clusters.c1", "duplicate node name 'n1'"]),
    "bad_dsn.toml": (9, ["clusters.c1.nodes.1.dsn", "a node is one server; list each as its own node"]),
    "negative_limit.toml": (5, ["clusters.c1.slo.max_data_risk_bytes", "greater than or equal to 0"]),
    "unsafe_node_name.toml": (4, ["clusters.c1.nodes.0.name", "not allowed"]),
    "not_toml.toml": (None, ["not valid TOML", "line 1"]),
    "no_nodes.toml": (1, ["clusters.c1.nodes", "required key is missing"]),
    "no_clusters.toml": (None, ["clusters", "required key is missing"]),
    "missing_dsn.toml": (3, ["clusters.c1.nodes.0.dsn", "required key is missing"]),
    "bad_port.toml": (5, ["clusters.c1.nodes.0.dsn", "port"]),
    "empty_argv.toml": (9, ["clusters.c1.freeze.0.command", "at least 1"]),
    "pgbouncer_wrong_db.toml": (9, ["clusters.c1.pgbouncers.0.admin_dsn", "'pgbouncer' database"]),
    "password_env_bad.toml": (6, ["clusters.c1.nodes.0.password_env"]),
    "zero_interval.toml": (4, ["clusters.c1.sampling.interval_s", "greater than 0.05"]),
    "bad_timezone.toml": (3, ["clusters.c1.timezone", "'Europe/Brusels' is not an IANA time zone name"]),
    "on_call_approver_not_listed.toml": (3, ["clusters.c1.on_call", "approver 'zed' is not one of the cluster's "
                                             "approvers (alice, bob)"]),
    "on_call_scribe_is_approver.toml": (4, ["clusters.c1.on_call", "the scribe and the approver are both 'alice'"]),
}


def test_every_bad_config_has_an_expectation():
    assert sorted(p.name for p in BAD.glob("*.toml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_config_message_names_file_key_and_line(name):
    line, fragments = EXPECTED[name]
    path = BAD / name
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    if line is not None:
        assert message.startswith(f"{path}:{line}:"), message
    for fragment in fragments:
        assert fragment in message, message


def test_sample_config_loads_and_documents_every_key():
    loaded = load_config(ROOT / "sample-clusters.toml")
    assert loaded.warnings == []
    name, cluster = loaded.cluster(None)
    assert name == "prod"
    assert [n.name for n in cluster.nodes] == ["pg1", "pg2", "pg3"]
    text = (ROOT / "sample-clusters.toml").read_text()
    for key in _all_model_keys():
        assert f"{key} =" in text or f"[[clusters.prod.{key}]]" in text or f".{key}]" in text, key


def _all_model_keys() -> set[str]:
    from checks.config.model import (
        Cluster, Command, Infrastructure, Node, Notify, Odoo, OnCall, PgBouncer, Sampling, Signals, Slo
    )

    keys: set[str] = set()
    for model in (Cluster, Command, Node, OnCall, Odoo, PgBouncer, Sampling, Slo, Signals, Infrastructure, Notify):
        keys |= set(model.model_fields)
    return keys


def test_missing_file_and_unknown_cluster(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")
    loaded = load_config(ROOT / "sample-clusters.toml")
    with pytest.raises(ConfigError, match="no cluster named 'staging' \\(clusters: prod\\)"):
        loaded.cluster("staging")


def test_inline_password_is_accepted_with_a_warning(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[clusters.c]\n[[clusters.c.nodes]]\nname = "n1"\ndsn = "postgresql://u:hunter2@h/postgres"\n')
    cfg.chmod(0o600)
    loaded = load_config(cfg)
    assert len(loaded.warnings) == 1
    assert "inline password" in loaded.warnings[0] and "hunter2" not in loaded.warnings[0]


def test_several_clusters_need_cluster_flag(tmp_path):
    cfg = tmp_path / "c.toml"
    node = '[[clusters.{c}.nodes]]\nname = "n1"\ndsn = "postgresql://u@h/postgres"\n'
    cfg.write_text(node.format(c="a") + node.format(c="b"))
    with pytest.raises(ConfigError, match="several clusters \\(a, b\\)"):
        load_config(cfg).cluster(None)
    assert load_config(cfg).cluster("b")[0] == "b"


@pytest.mark.parametrize("name", ["unknown_key.toml", "not_toml.toml"])
def test_status_on_bad_config_exits_3_with_one_line(name):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "status", str(BAD / name)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60,
    )
    assert proc.returncode == 3
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert str(BAD / name) in lines[0]


def test_unknown_cluster_flag_exits_3():
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "status", str(ROOT / "sample-clusters.toml"), "--cluster", "nope"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 3
    assert "no cluster named 'nope'" in proc.stderr


def _cluster_file(tmp_path, lines: str) -> Path:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[clusters.c]\napprovers = ["alice", "bob"]\n{lines}\n'
                   '[[clusters.c.nodes]]\nname = "n1"\ndsn = "postgresql://u@h/postgres"\n')
    return cfg


def test_timezone_and_on_call_are_optional_and_validated(tmp_path):
    _, cluster = load_config(_cluster_file(tmp_path, "")).cluster(None)
    assert cluster.timezone is None and cluster.on_call is None          # default: the bastion's zone, nobody
    _, cluster = load_config(_cluster_file(tmp_path, 'timezone = "Europe/Brussels"\n'
                                                     'on_call = { scribe = "sam", approver = "bob" }')).cluster(None)
    assert cluster.timezone == "Europe/Brussels"
    assert (cluster.on_call.scribe, cluster.on_call.approver) == ("sam", "bob")
    _, cluster = load_config(_cluster_file(tmp_path, 'on_call = { scribe = "sam" }')).cluster(None)
    assert cluster.on_call.approver is None                               # each key of the table is optional
    for lines, key, words in [
        ('timezone = "localtime"', "clusters.c.timezone", "'localtime' is not an IANA time zone name"),
        ('timezone = "../../etc/passwd"', "clusters.c.timezone", "is not an IANA time zone name"),
        ('timezone = ""', "clusters.c.timezone", "'' is not an IANA time zone name"),
        ("timezone = 1", "clusters.c.timezone", "valid string"),
        ('on_call = { approver = "zed" }', "clusters.c.on_call", "approver 'zed' is not one of the cluster's"),
        ('on_call = { scribe = "bob", approver = "bob" }', "clusters.c.on_call", "are both 'bob'"),
        ('on_call = { scribe = "  " }', "clusters.c.on_call.scribe", "at least 1 character"),
        ('on_call = { scribe = "s\\u001bam" }', "clusters.c.on_call.scribe", "one line of printable characters"),
        ('on_call = { pager = "x" }', "clusters.c.on_call.pager", "unknown key"),
    ]:
        with pytest.raises(ConfigError) as info:
            load_config(_cluster_file(tmp_path, lines))
        message = str(info.value)
        assert "\n" not in message and message.startswith(f"{tmp_path / 'c.toml'}:3: {key}: "), (lines, message)
        assert words in message, (lines, message)
