"""Presentation: Textual widgets that render checks/ models and post messages.

Nothing here opens a connection or runs a command (docs/design.md section 3.2).
"""

from pathlib import Path

STYLESHEET = Path(__file__).with_name("cockpit.tcss")
"""The cockpit's stylesheet, shipped as package data."""
