"""Real cockpit processes in tmux panes, on a private tmux server, read with capture-pane."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Tmux:
    def __init__(self) -> None:
        self.socket = f"ofc-test-{uuid.uuid4().hex[:8]}"

    def _run(self, *args: str, check: bool = True) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=check).stdout

    def start(self, name: str, argv: list[str], size: tuple[int, int] = (120, 40)) -> None:
        # pytest exports COLUMNS/LINES, which Textual would prefer over the pane size
        command = "env -u COLUMNS -u LINES " + " ".join(_quote(a) for a in argv) + "; sleep 600"
        self._run("new-session", "-d", "-s", name, "-x", str(size[0]), "-y", str(size[1]), "-c", str(ROOT), command)

    def screen(self, name: str) -> str:
        return self._run("capture-pane", "-p", "-t", name)

    def keys(self, name: str, *keys: str, literal: bool = False) -> None:
        self._run("send-keys", "-t", name, *(["-l"] if literal else []), *keys)

    def wait_for(self, name: str, text: str, timeout: float = 15.0) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if text in self.screen(name):
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not on {name}'s screen within {timeout}s:\n{self.screen(name)}")

    def kill(self) -> None:
        """Stop the private server and remove its socket file (tmux leaves it behind)."""
        socket = self._run("display-message", "-p", "#{socket_path}", check=False).strip()
        self._run("kill-server", check=False)
        if socket:
            Path(socket).unlink(missing_ok=True)


def cockpit(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", "run", *args]


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"
