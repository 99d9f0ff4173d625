"""Reports that arrive as the cockpit closes: one rule for every handler of a worker or a timer.

When an app shuts down, Textual first marks it as no longer running, then removes every widget,
each on its own task and in no fixed order, while the app may still be handling messages already
queued (a node sample, a journal entry, an action's end). A handler that then looks up a widget can
find it gone whichever widget it is (CI saw ``NoMatches`` on the header's verdict once and on the
split-brain banner later). So a report that comes in while the app closes is dropped: there is
nothing left to show it on, and what it carries is already in the journal or will be sampled again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from textual.app import App, ModeError, ScreenError
from textual.dom import DOMNode

F = TypeVar("F", bound=Callable[..., object])


def closing(app: App) -> bool:
    """The app has begun to close: it is no longer running, or its default screen (the one the
    cockpit's widgets live on) is gone or being removed (a screen being removed is not displayed)."""
    if not app.is_running:
        return True
    try:
        screen = app.default_screen
    except (ScreenError, ModeError):    # no screen left on the stack
        return True
    return not screen.is_attached or not screen.display


def while_open(handler: F) -> F:
    """Run ``handler`` (a method of an app or a widget) only while its app is open; a call that comes
    as the app closes does nothing (see the module's text)."""

    @wraps(handler)
    def run(self: DOMNode, *args, **kwargs):
        if closing(self.app):
            return None
        return handler(self, *args, **kwargs)

    return run  # type: ignore[return-value]
