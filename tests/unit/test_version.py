"""``failover-cockpit --version``: the installed package's metadata; a source tree never installed
reads its pyproject.toml and says so."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DECLARED = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
ASK = "import sys; sys.path.insert(0, '.'); from cli.about_cmd import package_version; print(package_version())"


def test_version_prints_the_installed_package_version():
    proc = subprocess.run([sys.executable, "-m", "cli", "--version"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"failover-cockpit {DECLARED}\n", "")


def _source_copy(folder: Path, with_pyproject: bool) -> Path:
    (folder / "cli").mkdir(parents=True)
    for name in ("__init__.py", "console.py", "about_cmd.py"):
        shutil.copy(ROOT / "cli" / name, folder / "cli" / name)
    if with_pyproject:
        shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


def test_a_source_tree_without_metadata_reads_its_pyproject(tmp_path):
    # -I -S: no site-packages, so no installed metadata; only the copied source tree is importable.
    src = _source_copy(tmp_path / "src", with_pyproject=True)
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", ASK], cwd=src, capture_output=True, text=True, timeout=60)
    assert proc.stdout == f"{DECLARED} (source tree, not installed)\n", proc.stderr
    bare = _source_copy(tmp_path / "bare", with_pyproject=False)
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", ASK], cwd=bare, capture_output=True, text=True, timeout=60)
    assert proc.stdout == "(version unknown: not installed, and no pyproject.toml beside the source)\n", proc.stderr
