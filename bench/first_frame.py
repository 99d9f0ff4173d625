"""Start-up: from launching the cockpit process to a first frame showing live data.

The cockpit runs in a real tmux pane, as an operator would see it; the screen is read
with capture-pane until a node panel shows a sampled primary.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIVE_MARK = "WRITABLE"


def first_frame_s(config: str, timeout_s: float = 30.0) -> float:
    session = f"ofc-bench-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "cli", "run", config]
    started = time.monotonic()
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", str(ROOT),
                    *command], check=True)
    try:
        while time.monotonic() - started < timeout_s:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                                    capture_output=True, text=True).stdout
            if LIVE_MARK in screen:
                return round(time.monotonic() - started, 3)
            time.sleep(0.02)
        raise RuntimeError(f"no live frame within {timeout_s}s; last screen:\n{screen}")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
