"""Bad input of every kind gets one clear line, never a traceback: fuzzed configs, bad arguments,
directories that are not incidents, a journal from a newer version."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.config.model import ConfigError, load_config
from checks.incident.journal import Journal

ROOT = Path(__file__).resolve().parents[2]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                    st.text(max_size=30), st.lists(st.text(max_size=8), max_size=3))
keys = st.sampled_from(["name", "dsn", "priority", "fence", "password_env", "approvers", "sampling", "slo",
                        "interval_s", "max_data_risk_bytes", "nodes", "freeze", "command", "pgbouncers",
                        "admin_dsn", "databases", "odoo", "url", "db", "login", "bogus", "app_port"])
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(keys, inner, max_size=4)), max_leaves=12)
node = st.fixed_dictionaries({"name": st.one_of(st.just("n1"), st.text(max_size=10)),
                              "dsn": st.one_of(st.just("postgresql://u@h/postgres"), st.text(max_size=30))},
                             optional={"priority": values, "fence": values, "password_env": values, "bogus": values})
cluster = st.fixed_dictionaries({"nodes": st.one_of(st.lists(node, max_size=3), values)},
                                optional={"slo": values, "sampling": values, "approvers": values,
                                          "freeze": values, "pgbouncers": values, "odoo": values})
documents = st.one_of(st.fixed_dictionaries({"clusters": st.dictionaries(st.text(min_size=1, max_size=8), cluster,
                                                                         max_size=2)}),
                      st.dictionaries(keys, values, max_size=4))


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value if v is not None]
    return value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=documents)
def test_fuzzed_configs_load_or_fail_with_one_line(tmp_path, doc):
    path = tmp_path / "fuzz.toml"
    path.write_text(tomli_w.dumps(_drop_none(doc)))
    try:
        load_config(path)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and "\n" not in message and message.strip()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_arbitrary_text_is_a_one_line_error(tmp_path, text):
    path = tmp_path / "junk.toml"
    path.write_text(text)
    try:
        load_config(path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_fuzzed_config_through_status_exits_3(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(tomli_w.dumps({"clusters": {"c": {"nodes": [{"name": "n1", "dsn": 5}]}}}))
    proc = cli("status", str(bad))
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "clusters.c.nodes.0.dsn" in proc.stderr


def test_bad_command_line_arguments_get_usage_not_a_traceback():
    for args in (["status", "--interval", "x"], ["run", "--seat", "boss"], ["run", "--interval", "-1"],
                 ["nonsense"], ["drill"], ["lab", "crash"]):
        proc = cli(*args)
        assert proc.returncode == 2, args
        assert "usage:" in proc.stderr and "Traceback" not in proc.stderr, args


def test_a_directory_that_is_not_an_incident(tmp_path):
    proc = cli("record", str(tmp_path))
    assert proc.returncode == 1 and "is not an incident directory" in proc.stderr
    proc = cli("run", str(ROOT / "sample-clusters.toml"), "--seat", "scribe", "--incident", str(tmp_path))
    assert proc.returncode == 2 and "is not an incident directory" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_journal_of_a_newer_schema_is_refused_in_one_line(tmp_path):
    Journal.create(tmp_path / "inc", incident_id="inc", cluster="c").close()
    with sqlite3.connect(tmp_path / "inc" / "journal.sqlite3") as conn:
        conn.execute("PRAGMA user_version = 99")
    proc = cli("record", str(tmp_path / "inc"))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "newer" in proc.stderr and "Traceback" not in proc.stderr
