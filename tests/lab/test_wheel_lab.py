"""The package as an SRE installs it: ``python -m build`` makes a wheel that carries its CSS, training
scenarios and sample config; installed in a fresh venv (and with ``pipx install .``), run from
outside the source tree, ``failover-cockpit --version``, ``sample-config`` and ``status`` work on a
real lab. pip's cache is reused; the wheel is built once for the module."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.lab
ROOT = Path(__file__).resolve().parents[2]
VERDICT = re.compile(r"^cluster \S+: (OK|WARNING|CRITICAL|UNKNOWN) at \S+: \S")
VERSION = re.compile(r"^failover-cockpit \d+\.\d+\.\d+\S*\n$")


def _env(**extra: str) -> dict[str, str]:
    """The environment without anything that would put the source tree on sys.path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    env.update(extra)
    return env


def _run(argv: list[str], cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], cwd=cwd, env=_env(**env), capture_output=True, text=True,
                          timeout=timeout)


def _ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{proc.args} exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    return proc


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """``python -m build`` (an sdist, then the wheel built from it) into a temporary folder."""
    out = tmp_path_factory.mktemp("dist")
    _ok(_run([sys.executable, "-m", "build", "--outdir", out, ROOT], cwd=out, timeout=180))
    [wheel] = out.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(built, tmp_path_factory) -> Path:
    """A fresh venv (no site packages, no source tree) with the wheel pip-installed: its bin folder."""
    venv = tmp_path_factory.mktemp("venv")
    _ok(_run([sys.executable, "-m", "venv", venv], cwd=venv))
    _ok(_run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", built], cwd=venv, timeout=300))
    return venv / "bin"


def _package_data() -> list[str]:
    """The files the wheel must carry besides the Python modules, as found in the source tree."""
    found = [p for pattern in ("widgets/*.tcss", "tui/*.tcss", "checks/training/scenarios/*.json")
             for p in ROOT.glob(pattern)]
    return sorted(str(p.relative_to(ROOT)) for p in found) + ["cli/sample-clusters.toml"]


def test_the_wheel_carries_the_css_the_scenarios_and_the_sample_config(built):
    names = set(zipfile.ZipFile(built).namelist())
    wanted = _package_data()
    assert any(name.endswith(".tcss") for name in wanted) and any(name.endswith(".json") for name in wanted)
    assert [name for name in wanted if name not in names] == []
    assert zipfile.ZipFile(built).read("cli/sample-clusters.toml") == (ROOT / "sample-clusters.toml").read_bytes()
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "failover-cockpit = cli.main:main" in zipfile.ZipFile(built).read(entry_points).decode()


def test_the_installed_command_runs_from_outside_the_source_tree(installed, lab, tmp_path):
    python = installed / "python"
    where = _ok(_run([python, "-c", "import cli, widgets; print(cli.__file__); print(widgets.__file__)"],
                     cwd=tmp_path)).stdout.split()
    assert all(not path.startswith(str(ROOT)) and "site-packages" in path for path in where), where

    version = _ok(_run([installed / "failover-cockpit", "--version"], cwd=tmp_path))
    assert VERSION.match(version.stdout) and "source tree" not in version.stdout, version.stdout
    sample = _ok(_run([installed / "failover-cockpit", "sample-config"], cwd=tmp_path))
    assert sample.stdout == (ROOT / "sample-clusters.toml").read_text()

    missing = _run([installed / "failover-cockpit", "status"], cwd=tmp_path)
    assert missing.returncode == 3 and missing.stderr == (
        "failover-cockpit: clusters.toml: no such config file; start from the sample: "
        "failover-cockpit sample-config > clusters.toml (then edit its nodes)\n")

    status = _run([installed / "failover-cockpit", "status", lab.status()["config"]], cwd=tmp_path, timeout=60)
    assert status.returncode in (0, 1, 2, 3), status.stderr
    assert "Traceback" not in status.stderr, status.stderr
    assert VERDICT.match(status.stdout), status.stdout


def test_pipx_install_dot_gives_the_same_command(lab, tmp_path):
    """``pipx install .`` from the source tree, pipx's home and bin folder kept in tmp."""
    home, bin_dir = tmp_path / "pipx-home", tmp_path / "pipx-bin"
    pipx_env = {"PIPX_HOME": str(home), "PIPX_BIN_DIR": str(bin_dir), "PIPX_MAN_DIR": str(tmp_path / "man")}
    _ok(_run([sys.executable, "-m", "pipx", "install", "."], cwd=ROOT, timeout=300, **pipx_env))
    command = bin_dir / "failover-cockpit"
    version = _ok(_run([command, "--version"], cwd=tmp_path))
    assert VERSION.match(version.stdout), version.stdout
    status = _run([command, "status", lab.status()["config"]], cwd=tmp_path, timeout=60)
    assert status.returncode in (0, 1, 2, 3) and "Traceback" not in status.stderr, status.stderr
    assert VERDICT.match(status.stdout), status.stdout
