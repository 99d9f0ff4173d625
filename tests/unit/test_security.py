"""No shell anywhere, private incident directories, warnings about exposed secrets (TLS: tests/lab/test_security_lab.py)."""

from __future__ import annotations

import asyncio
import stat

from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.runbook.commands import fill_placeholders, run_command

NASTY = "node2; rm -rf / && echo $(id) `whoami` | tee /tmp/pwned > x 'q' \"d\" *"


def test_a_placeholder_full_of_shell_metacharacters_stays_one_argument(tmp_path):
    argv = fill_placeholders(["printf", "%s\\n", "{host}", "{port}"], {"host": NASTY, "port": "5432"})
    assert argv == ["printf", "%s\\n", NASTY, "5432"]
    result = asyncio.run(run_command("probe", argv, 10))
    assert result.ok and result.output.splitlines() == [NASTY, "5432"]
    assert not (tmp_path / "x").exists()


def test_incident_directories_are_private(tmp_path):
    Journal.create(tmp_path / "inc", incident_id="inc", cluster="c").close()
    assert stat.S_IMODE((tmp_path / "inc").stat().st_mode) == 0o700


def test_a_config_holding_a_password_readable_by_others_is_warned_about(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[clusters.c]\n[[clusters.c.nodes]]\nname = "n1"\ndsn = "postgresql://u:pw12345@h/postgres"\n')
    cfg.chmod(0o644)
    assert any("readable by other users: chmod 600" in w for w in load_config(cfg).warnings)
    cfg.chmod(0o600)
    assert not any("readable by other users" in w for w in load_config(cfg).warnings)
