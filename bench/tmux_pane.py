"""A command in a real tmux pane, as an operator sees it, on a tmux server of its own.

Every pane gets its own server (``tmux -L <socket>``): the bench never adds sessions to a user's tmux,
and one run's server exiting (tmux exits with its last session) cannot race the next run's
``new-session``, which then fails with "server exited unexpectedly" (a bench run stopped on it).
"""

from __future__ import annotations

import shlex
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLL_S = 0.02


class Pane:
    """``argv`` in a ``size`` pane started in ``cwd``; ``keep``: the pane stays after the command ends
    (its last screen can still be read), else the pane's process is the command itself (its pid is
    the command's: RSS and CPU are read from it)."""

    def __init__(self, argv: list[str], *, size: tuple[int, int] = (120, 40), cwd: Path = ROOT,
                 keep: bool = False, name: str = "bench") -> None:
        self.argv = list(argv)
        self.size = size
        self.cwd = cwd
        self.keep = keep
        self.name = name
        self.socket = f"ofc-bench-{uuid.uuid4().hex[:8]}"

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True).stdout

    def start(self) -> float:
        """Start the command; the monotonic time just before (what a figure counts from)."""
        # COLUMNS/LINES (exported by some shells and by pytest) would win over the pane's size
        argv = ["env", "-u", "COLUMNS", "-u", "LINES", *self.argv]
        if self.keep:
            argv = [shlex.join(argv) + "; sleep 600"]
        started = time.monotonic()
        subprocess.run(["tmux", "-L", self.socket, "new-session", "-d", "-s", self.name, "-x", str(self.size[0]),
                        "-y", str(self.size[1]), "-c", str(self.cwd), *argv], check=True)
        return started

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def send(self, key: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", self.name, *(["-l"] if literal else []), key)

    def wait_until(self, done: Callable[[str], bool], started: float, timeout_s: float, *, what: str,
                   poll_s: float = POLL_S) -> float:
        """Seconds from ``started`` to the first screen ``done`` accepts; RuntimeError naming ``what``
        (with the last screen) after ``timeout_s``."""
        screen = ""
        while time.monotonic() - started < timeout_s:
            screen = self.screen()
            if done(screen):
                return round(time.monotonic() - started, 3)
            time.sleep(poll_s)
        raise RuntimeError(f"{what} not on the screen within {timeout_s:g} s; the last screen:\n{screen}")

    def wait_for(self, text: str, timeout_s: float, poll_s: float = POLL_S) -> None:
        self.wait_until(lambda screen: text in screen, time.monotonic(), timeout_s, what=f"'{text}'", poll_s=poll_s)

    @property
    def pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", self.name, "#{pane_pid}").strip())

    def kill(self) -> None:
        """Stop the pane's server and remove its socket file (tmux leaves it behind)."""
        socket = self.tmux("display-message", "-p", "#{socket_path}").strip()
        self.tmux("kill-server")
        if socket:
            Path(socket).unlink(missing_ok=True)
