"""The watch-only seat (``run --watch``, ``watch``): the live cockpit with no incident behind it. Its
header says so, it has no runbook and no runbook keys (pressed anyway, one says how to get a seat
that acts), and the real command creates no incident directory. Nodes at closed ports: nothing to reach."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import Label

from checks.config.model import load_config
from tests.pane_fixtures import notified
from tests.tmux_helpers import Tmux, _quote
from tui.runbook_bindings import KEYS
from tui.watch_app import WatchCockpitApp
from widgets.cockpit_header import CockpitHeader

ROOT = Path(__file__).resolve().parents[2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(folder: Path) -> Path:
    path = folder / "clusters.toml"
    nodes = "".join(f'[[clusters.shop.nodes]]\nname = "n{i}"\ndsn = "postgresql://cockpit@127.0.0.1:'
                    f'{_closed_port()}/postgres"\n' for i in (1, 2))
    path.write_text('[clusters.shop]\napprovers = ["alice"]\n' + nodes)
    return path


def _footer_keys(app) -> set[str]:
    return {key for key, active in app.screen.active_bindings.items() if active.binding.show and active.enabled}


async def test_the_header_names_the_watch_only_seat_and_no_runbook_is_shown(tmp_path):
    name, cluster = load_config(_config(tmp_path)).cluster(None)
    app = WatchCockpitApp(name, cluster, interval_s=3600)
    async with app.run_test(notifications=True, size=(120, 40)) as pilot:
        await pilot.pause()
        header = app.query_one(CockpitHeader)
        assert header.query_one("#cluster", Label).render().plain == "shop · watch only"
        assert app.sub_title == "shop · watch only"
        assert app.session is None and not app.query("IncidentPanes")
        runbook_keys = {key for key, *_ in KEYS}
        assert _footer_keys(app) & runbook_keys == set()
        assert {"q", "r"} <= _footer_keys(app)

        await pilot.press("p")
        [toast] = await notified(pilot)
        said = "promote refused: a watch-only seat keeps no incident (to act: failover-cockpit run CONFIG"
        assert toast.startswith("promote refused: a watch-only seat keeps no incident"), toast
        assert app.notices[-1].message == f"{said}, or join one with --incident DIR)"


async def test_the_watch_seat_takes_no_session_even_when_handed_one(tmp_path):
    name, cluster = load_config(_config(tmp_path)).cluster(None)
    app = WatchCockpitApp(name, cluster, interval_s=3600, session="not a session")
    assert app.session is None


class _Tmux(Tmux):
    def start_in(self, name: str, folder: Path, argv: list[str]) -> None:
        command = "env -u COLUMNS -u LINES " + " ".join(_quote(a) for a in argv) + "; echo exit=$?; sleep 600"
        self._run("new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", str(folder), command)


@pytest.mark.parametrize("argv", [["run", "--watch"], ["watch"]], ids=["run --watch", "watch"])
def test_the_real_command_creates_no_incident_directory(tmp_path, argv):
    config = _config(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    tmux = _Tmux()
    try:
        tmux.start_in("w", tmp_path, [sys.executable, "-m", "cli", *argv, str(config)])
        tmux.wait_for("w", "shop · watch only", timeout=30)
        tmux.wait_for("w", "n2", timeout=15)
        time.sleep(0.5)                              # a sampling round or two
        tmux.keys("w", "q")
        tmux.wait_for("w", "Quit", timeout=10)
        tmux.keys("w", "y")
        tmux.wait_for("w", "exit=0", timeout=15)
        screen = tmux.screen("w")
    finally:
        tmux.kill()
    assert "Traceback" not in screen and "incident record" not in screen, screen
    assert sorted(p.name for p in tmp_path.iterdir()) == before      # no incidents/, no journal, no record


def test_watch_refuses_the_options_of_a_seat_in_an_incident(tmp_path):
    config = str(_config(tmp_path))
    cases = {
        ("--incident", str(tmp_path / "inc")): "--incident joins an incident, and --watch keeps none",
        ("--seat", "scribe"): "--seat scribe is a seat in an incident, and --watch keeps none",
        ("--reopen",): "--reopen reopens an incident, and --watch keeps none",
        ("--approver", "alice"): "--approver names a role of an incident, and --watch keeps none",
    }
    for flags, line in cases.items():
        proc = subprocess.run([sys.executable, "-m", "cli", "run", "--watch", config, *flags], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert proc.returncode == 2 and proc.stdout == "", proc
        assert proc.stderr.startswith(f"failover-cockpit: {line}") and proc.stderr.count("\n") == 1, proc.stderr
    assert not (tmp_path / "inc").exists() and not (tmp_path / "incidents").exists()
