"""Start-up: from launching the cockpit process to a first frame showing live data.

The cockpit runs in a real tmux pane, as an operator would see it; the screen is read
with capture-pane until a node panel shows a sampled primary.
"""

from __future__ import annotations

import sys

from bench.tmux_pane import Pane

LIVE_MARK = "WRITABLE"


def first_frame_s(config: str, timeout_s: float = 30.0) -> float:
    pane = Pane([sys.executable, "-m", "cli", "run", config])
    try:
        return pane.wait_until(lambda screen: LIVE_MARK in screen, pane.start(), timeout_s, what="a live frame")
    finally:
        pane.kill()
