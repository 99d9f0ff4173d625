"""docs/design.md section 3.2, the layering rules, as import-linter contracts.

The contracts live in pyproject.toml under ``[tool.importlinter]``; run them by hand with
``.venv/bin/lint-imports``. These tests run the same contracts, prove that each of them can fail,
and keep the checks that are about what gets *loaded* at run time rather than what is imported:
import-linter reads the source and stops at the first external package, so it cannot see textual
being loaded through a third-party module; and it counts an import inside a function like any
other, so it cannot show that ``cli`` keeps Textual out of the commands that do not need it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("checks", "widgets", "tui", "cli", "lab")

# One import per contract that must break it, planted into a copy of the tree. Each is written in
# the form most likely to slip past a weaker check: ``from package import module`` (the old text
# search for "checks.observe.sampler" missed that form), an import inside a function, an import
# under ``if TYPE_CHECKING:`` (they count: see exclude_type_checking_imports in pyproject.toml).
# Maps contract id -> (file to plant into, code appended to it, the violation the report must name).
PLANTED = {
    "top-level-layers": (
        "checks/config/text.py",
        "def _planted():\n    from widgets import node_panel\n",
        "checks.config.text -> widgets.node_panel",
    ),
    "domain-layers": (
        "checks/observe/lsn.py",
        "from checks.stages import fence\n",
        "checks.observe.lsn -> checks.stages.fence",
    ),
    "domain-acyclic": (
        "checks/observe/lsn.py",
        "def _planted():\n    from checks.observe import sample\n",
        "No cycles are allowed in checks.observe.",
    ),
    "domain-without-textual": (
        "checks/config/errors.py",
        "import textual\n",
        "checks.config.errors -> textual",
    ),
    "lab-stands-alone": (
        "lab/errors.py",
        "import checks.config.text\n",
        "lab.errors -> checks.config.text",
    ),
    "widgets-only-draw": (
        "widgets/lines_input.py",
        "def _planted():\n    import subprocess\n",
        "widgets.lines_input -> subprocess",
    ),
    "widgets-never-sample": (
        "widgets/prompt_modal.py",
        "import typing\nif typing.TYPE_CHECKING:\n    from checks.observe import sampler\n",
        "widgets.prompt_modal -> checks.observe.sampler",
    ),
    "psycopg-only-in-pgbouncer": (
        "checks/observe/wal_records.py",
        "import psycopg\n",
        "checks.observe.wal_records -> psycopg",
    ),
}


def _contracts(pyproject: Path) -> dict[str, dict]:
    config = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]
    return {c["id"]: c for c in config["contracts"]}


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the pyproject.toml in ``cwd``, its packages taken from ``cwd``.

    Run in a subprocess: import-linter reconfigures logging and puts the current directory on
    sys.path, neither of which belongs in the test process. No cache, so nothing is written
    into the tree and a stale cache can never hide a new import.
    """
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--no-cache", "--no-logo", str(cwd / "pyproject.toml")],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=300,
    )


def test_the_import_contracts_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, f"lint-imports found broken contracts:\n{result.stdout}{result.stderr}"


def test_every_contract_is_proven_able_to_fail():
    """A contract added to pyproject.toml needs its planted import here, and none may go missing."""
    assert set(_contracts(ROOT / "pyproject.toml")) == set(PLANTED)


def test_each_contract_breaks_on_a_planted_import(tmp_path):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for contract_id, (path, code, _) in PLANTED.items():
        target = tmp_path / path
        assert target.is_file(), f"{path} is gone: plant {contract_id}'s import into another module"
        with open(target, "a") as f:
            f.write("\n\n# planted by test_layering\n" + code)

    result = _lint_imports(tmp_path)
    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    for contract_id, contract in _contracts(tmp_path / "pyproject.toml").items():
        _, _, violation = PLANTED[contract_id]
        assert f"{contract['name']} BROKEN" in report, f"{contract_id} not reported broken:\n{report}"
        assert violation in report, f"{contract_id}: {violation!r} not in the report:\n{report}"


def _loaded_textual_after(code: str) -> str:
    """Run ``code`` in a fresh interpreter; the sorted list of textual modules it left in sys.modules, printed."""
    probe = code + "\nimport sys\nprint(sorted(n for n in sys.modules if n == 'textual' or n.startswith('textual.')))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_the_domain_and_the_lab_load_without_textual():
    """Every module of checks and of lab imported, textual never loaded (not even through a dependency)."""
    code = (
        "import importlib, pkgutil, checks, lab\n"
        "for package in (checks, lab):\n"
        "    for m in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(m.name)\n"
    )
    assert _loaded_textual_after(code) == "[]"


def test_the_headless_commands_load_without_textual():
    """Import hygiene: ``status`` and ``drill`` are what a script or a cron job runs; they build the
    whole parser and import their command modules, and must not pay for (or depend on) Textual.
    The Textual app is imported only inside the run/tmux/replay/train commands."""
    code = (
        "import cli.main\n"
        "cli.main.build_parser()\n"
        "import cli.status_cmd, cli.drill_cmd\n"
    )
    assert _loaded_textual_after(code) == "[]"


def test_imports_are_sorted_one_way():
    """isort, configured in pyproject.toml, finds nothing to move (stdlib, third party, ours)."""
    out = subprocess.run([sys.executable, "-m", "isort", "--check-only", "--quiet", "checks", "cli", "tui", "widgets",
                          "tests", "lab", "bench"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
