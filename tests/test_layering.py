"""DESIGN section 3: checks/ never imports textual; widgets/ never opens a connection or runs a command."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN_IN_WIDGETS = {"asyncpg", "psycopg", "subprocess", "socket", "sqlite3", "xmlrpc", "http", "urllib", "os"}


def test_checks_imports_without_textual():
    code = (
        "import importlib, pkgutil, sys, checks\n"
        "for m in pkgutil.walk_packages(checks.__path__, 'checks.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n == 'textual' or n.startswith('textual.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_widgets_import_no_driver_and_run_no_command():
    files = sorted((ROOT / "widgets").glob("*.py"))
    assert files, "widgets/ has no modules"
    for path in files:
        bad = _imports(path) & FORBIDDEN_IN_WIDGETS
        assert not bad, f"{path.name} imports {bad}"
        assert "checks.observe.sampler" not in path.read_text(), f"{path.name} reaches the sampler"


def test_checks_source_never_names_textual():
    for path in sorted((ROOT / "checks").glob("*.py")):
        assert "textual" not in _imports(path), path.name
