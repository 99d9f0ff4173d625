"""NoticesScreen: every notification of this session, with its time, to read again and scroll."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

SEVERITY_STYLE = {"information": "", "warning": "bold yellow", "error": "bold red"}


@dataclass(frozen=True)
class Notice:
    at: datetime            # UTC
    severity: str           # information, warning, error
    title: str
    message: str            # in full, as it was said


class NoticesScreen(ModalScreen[None]):
    """The messages log: each notice in full, oldest first, the newest in view."""

    HELP = """\
### Messages (m)

Every notification of this session in full, with its UTC time: a toast is two lines and
a few seconds, this log keeps all of it. **escape** or **m** closes it; arrows scroll.
"""

    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("m", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]
    DEFAULT_CSS = """
    NoticesScreen { align: center middle; }
    NoticesScreen > VerticalScroll { width: 100; max-width: 98%; height: 90%; border: thick $accent;
                                      background: $surface; padding: 0 1; }
    NoticesScreen .notice { height: auto; margin-bottom: 1; }
    """

    def __init__(self, notices: Sequence[Notice]) -> None:
        super().__init__()
        self.notices = list(notices)

    def compose(self) -> ComposeResult:
        body = VerticalScroll(id="notices-body")
        body.border_title = f"Messages · {len(self.notices)}"
        body.border_subtitle = "escape or m closes · arrows scroll"
        with body:
            if not self.notices:
                yield Static("No messages yet.", classes="notice")
            for notice in self.notices:
                line = Text(f"{notice.at:%H:%M:%S}Z ", style="dim")
                if notice.title:
                    line.append(f"{notice.title}: ", style=SEVERITY_STYLE.get(notice.severity, "") or "bold")
                line.append(notice.message)
                yield Static(line, classes="notice")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).scroll_end(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
