"""Notifications that never hide the cockpit: two short lines, a few seconds, never over a dialog,
and every one kept in full in the messages log (m).

Mixed into the App. A toast says the notice in at most two lines at the toast's width (the rest is
in the log); information goes in 4 s, a warning in 6 s, an error stays until dismissed (a click)
or until the next dialog opens. While a dialog (a modal screen) is open no toast is shown over it:
the notice waits and is shown when the dialog closes. Toasts sit bottom right, above the footer,
clear of the header's verdict and of the checklist's next action (left).
"""

from __future__ import annotations

import textwrap
import threading

from textual.binding import Binding
from textual.screen import ModalScreen

from checks.observe.sample import utcnow
from widgets.notices_screen import Notice, NoticesScreen

TIMEOUT_S = {"information": 4.0, "warning": 6.0, "error": 3600.0}
TOAST_COLS = 50
TOAST_CSS = f"""
Toast {{ padding: 0 1; margin-top: 0; width: {TOAST_COLS}; max-width: 90%; }}
"""
MORE = " … (m)"


def shorten(text: str, width: int, lines: int = 2) -> str:
    """``text`` in at most ``lines`` lines of ``width`` (words kept whole), ending in "… (m)" when cut."""
    flat = " ".join(text.split())
    wrapped = textwrap.wrap(flat, width) or [""]
    if len(wrapped) <= lines:
        return flat
    kept = wrapped[:lines]
    kept[-1] = textwrap.shorten(kept[-1], max(1, width - len(MORE)), placeholder="") if \
        len(kept[-1]) + len(MORE) > width else kept[-1]
    return " ".join(kept) + MORE


class NoticeBoard:
    """Needs the App: overrides ``notify`` and ``push_screen``, adds the ``messages`` action (m)."""

    NOTICE_BINDINGS = [Binding("m", "messages", "Messages", tooltip="Every notification in full (messages log)")]

    def _notice_state(self) -> None:
        if not hasattr(self, "notices"):
            self.notices: list[Notice] = []
            self._waiting: list[tuple[str, str, str]] = []
            self._notice_lock = threading.Lock()

    def toast_width(self) -> int:
        """Characters per toast line: the toast's width (TOAST_COLS, at most 90% of the screen) less its
        edge and padding, and one spare column."""
        width = self.size.width if self.size.width else 80
        return max(20, min(TOAST_COLS, int(width * 0.9)) - 4)

    def notify(self, message: str, *, title: str = "", severity: str = "information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Keep the notice in full, then toast it short (thread-safe, like Textual's own)."""
        self._notice_state()
        with self._notice_lock:
            self.notices.append(Notice(utcnow(), severity, title, message))
            if self._dialog_open():
                self._waiting.append((message, title, severity))
                return
        self._toast(message, title, severity)

    def _toast(self, message: str, title: str, severity: str) -> None:
        said = f"{title}: {message}" if title else message
        super().notify(shorten(said, self.toast_width()), severity=severity,  # type: ignore[misc]
                       timeout=TIMEOUT_S.get(severity, 6.0), markup=False)

    def _dialog_open(self) -> bool:
        try:
            return isinstance(self.screen, ModalScreen)
        except Exception:  # noqa: BLE001 - no screen yet (starting) or any more (exiting): nothing over
            return False

    def push_screen(self, screen, *args, **kwargs):
        """A dialog opens: the toasts go (they are in the log); new ones wait until it closes."""
        if isinstance(screen, ModalScreen):
            self.clear_notifications()
        return super().push_screen(screen, *args, **kwargs)  # type: ignore[misc]

    def show_waiting_notices(self) -> None:
        """On a timer: the notices that waited for a dialog, once no dialog is open."""
        self._notice_state()
        if self._dialog_open():
            return
        with self._notice_lock:
            waiting, self._waiting = self._waiting, []
        for message, title, severity in waiting[-3:]:          # the log has every one of them
            self._toast(message, title, severity)

    def action_messages(self) -> None:
        """Every notification of this session in full."""
        self._notice_state()
        if isinstance(self.screen, NoticesScreen):
            return
        self.push_screen(NoticesScreen(self.notices))
