"""The watch-only seat on a real lab: the real command in a tmux pane samples the lab's nodes (the
header's verdict turns OK, node1 the writer) and leaves no incident directory, journal or lock behind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.tmux_helpers import Tmux, _quote

pytestmark = pytest.mark.lab


class _Tmux(Tmux):
    def start_in(self, name: str, folder: Path, argv: list[str]) -> None:
        command = "env -u COLUMNS -u LINES " + " ".join(_quote(a) for a in argv) + "; echo exit=$?; sleep 600"
        self._run("new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", str(folder), command)


def test_run_watch_samples_the_lab_and_leaves_nothing_behind(lab, tmp_path):
    config = lab.status()["config"]
    locks = Path(os.environ["FAILOVER_COCKPIT_LOCK_DIR"])
    locks_before = sorted(p.name for p in locks.iterdir()) if locks.exists() else []
    tmux = _Tmux()
    try:
        tmux.start_in("w", tmp_path, [sys.executable, "-m", "cli", "run", "--watch", config])
        tmux.wait_for("w", "· watch only", timeout=30)
        tmux.wait_for("w", " OK ", timeout=30)
        screen = tmux.screen("w")
        tmux.keys("w", "q")
        tmux.wait_for("w", "Quit", timeout=10)
        tmux.keys("w", "y")
        tmux.wait_for("w", "exit=0", timeout=15)
    finally:
        tmux.kill()
    assert "node1" in screen and "node2" in screen and "node3" in screen, screen
    assert list(tmp_path.iterdir()) == []                       # no incidents/, no journal, no record
    assert (sorted(p.name for p in locks.iterdir()) if locks.exists() else []) == locks_before
