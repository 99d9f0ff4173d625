"""A misspelt config key says which key was meant; a missing config file says how to start one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from checks.config.model import ConfigError, ConfigFile, load_config
from checks.config.suggest import closest, keys_at

ROOT = Path(__file__).resolve().parents[2]
NODE = 'name = "n1"\ndsn = "postgresql://u@127.0.0.1:5432/postgres"\n'
ODOO = '[clusters.main.odoo]\nurl = "http://127.0.0.1:8069"\ndb = "odoo"\nlogin = "probe"\npassword_env = "P"\n'
PGB = ('[[clusters.main.pgbouncers]]\nname = "pgb"\nadmin_dsn = "postgresql://u@127.0.0.1:6432/pgbouncer"\n'
       'databases = ["odoo"]\n')

# (the file, the key path the line names, the key it suggests)
TYPOS = {
    "top level": ('[cluster.main]\n[[clusters.main.nodes]]\n' + NODE, "cluster", "clusters"),
    "cluster": ('[clusters.main]\naprovers = ["a"]\n[[clusters.main.nodes]]\n' + NODE,
                "clusters.main.aprovers", "approvers"),
    "second node": (f'[[clusters.main.nodes]]\n{NODE}[[clusters.main.nodes]]\nname = "n2"\n'
                    'dns = "postgresql://u@127.0.0.1:5433/postgres"\n', "clusters.main.nodes.1.dns", "dsn"),
    "node, case": (f'[[clusters.main.nodes]]\n{NODE}Priority = 5\n', "clusters.main.nodes.0.Priority", "priority"),
    "pgbouncer": (f'[[clusters.main.nodes]]\n{NODE}{PGB}database = ["odoo"]\n',
                  "clusters.main.pgbouncers.0.database", "databases"),
    "odoo": (f'[[clusters.main.nodes]]\n{NODE}{ODOO}cron_wait = 30\n', "clusters.main.odoo.cron_wait", "cron_wait_s"),
    "slo": (f'[clusters.main.slo]\nmax_replay_delay = 10\n[[clusters.main.nodes]]\n{NODE}',
            "clusters.main.slo.max_replay_delay", "max_replay_delay_s"),
    "sampling": (f'[clusters.main.sampling]\nintervall_s = 2\n[[clusters.main.nodes]]\n{NODE}',
                 "clusters.main.sampling.intervall_s", "interval_s"),
    "signals": (f'[clusters.main.signals]\ncrash_loop_restart = 3\n[[clusters.main.nodes]]\n{NODE}',
                "clusters.main.signals.crash_loop_restart", "crash_loop_restarts"),
    "infrastructure": (f'[[clusters.main.nodes]]\n{NODE}[clusters.main.signals.infrastructure]\n'
                       'comand = ["x"]\ncommand = ["x"]\n', "clusters.main.signals.infrastructure.comand", "command"),
    "on_call, inline table": (f'[clusters.main]\napprovers = ["a"]\non_call = {{ scribe = "s", aprover = "a" }}\n'
                              f'[[clusters.main.nodes]]\n{NODE}', "clusters.main.on_call.aprover", "approver"),
}


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "clusters.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


@pytest.mark.parametrize("case", sorted(TYPOS))
def test_a_misspelt_key_names_the_key_it_meant(tmp_path, case):
    text, key, meant = TYPOS[case]
    message = _error(tmp_path, text)
    assert "\n" not in message
    assert f": {key}: unknown key: did you mean {meant!r}?" in message, message
    assert message.startswith(f"{tmp_path / 'clusters.toml'}:"), message


def test_the_misspelt_key_is_told_before_the_missing_key_it_meant(tmp_path):
    # 'dns' for 'dsn': pydantic reports the missing dsn first; the cause is the misspelt key.
    message = _error(tmp_path, '[[clusters.main.nodes]]\nname = "n1"\ndns = "postgresql://u@h/postgres"\n')
    assert "clusters.main.nodes.0.dns: unknown key: did you mean 'dsn'?" in message, message
    assert message.startswith(f"{tmp_path / 'clusters.toml'}:3:"), message
    assert "(and 1 more problem)" in message


def test_a_key_close_to_nothing_lists_the_keys_its_table_takes(tmp_path):
    message = _error(tmp_path, f'[clusters.main.slo]\nbanana = 1\n[[clusters.main.nodes]]\n{NODE}')
    assert message.endswith("clusters.main.slo.banana: unknown key (this table takes: max_replay_delay_s, "
                            "max_data_risk_bytes, max_data_risk_s)"), message


def test_the_walk_reaches_every_table_and_stops_where_no_table_is():
    assert keys_at(ConfigFile, ()) == ["clusters"]
    assert "dsn" in keys_at(ConfigFile, ("clusters", "x", "nodes", 3))
    assert "rewind" in keys_at(ConfigFile, ("clusters", "x", "nodes", 0, "reprotect"))
    assert "timeout_s" in keys_at(ConfigFile, ("clusters", "x", "freeze", 0))
    assert keys_at(ConfigFile, ("clusters", "x", "approvers", 0)) is None
    assert keys_at(ConfigFile, ("clusters", "x", "nope")) is None
    assert closest("DSN", ["name", "dsn"]) == "dsn" and closest("zzz", ["name", "dsn"]) is None


def test_no_such_config_file_gives_the_cp_from_the_sample(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ConfigError) as info:
        load_config("nope.toml")
    assert str(info.value) == ("nope.toml: no such config file; start from the sample: "
                               "cp sample-clusters.toml nope.toml (then edit its nodes)")
    monkeypatch.chdir(tmp_path)                 # no sample here: the command prints it
    with pytest.raises(ConfigError) as info:
        load_config("my clusters.toml")
    assert str(info.value) == ("my clusters.toml: no such config file; start from the sample: "
                               "failover-cockpit sample-config > 'my clusters.toml' (then edit its nodes)")


def test_the_cli_says_it_in_one_line_and_the_sample_it_prints_loads(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "cli", "status"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr == ("failover-cockpit: clusters.toml: no such config file; start from the sample: "
                           "failover-cockpit sample-config > clusters.toml (then edit its nodes)\n")
    proc = subprocess.run([sys.executable, "-m", "cli", "sample-config"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == (ROOT / "sample-clusters.toml").read_text()
    (tmp_path / "clusters.toml").write_text(proc.stdout)
    assert "prod" in load_config(tmp_path / "clusters.toml").clusters


def test_a_config_that_cannot_be_read_says_why_in_words(tmp_path):
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    for name, reason in (("folder.toml", "is a directory"), ("binary.toml", "it is not UTF-8 text")):
        with pytest.raises(ConfigError) as info:
            load_config(tmp_path / name)
        assert str(info.value) == f"{tmp_path / name}: cannot read: {reason}"
