"""``record.md`` re-rendered off the action path, at most once a second (issue 17: long incidents).

Rendering the record of an all-night incident (ten thousand entries) takes a few hundred
milliseconds; doing it after every entry made every action and every note of the night wait for
it. A :class:`RecordWriter` is asked (:meth:`request`) after each entry and renders on a thread of
its own: at once when it has been idle for ``interval_s``, else when that interval is up, so the file
is never more than about ``interval_s`` plus one render behind the journal. No entry is lost: each
render reads the whole journal as it is then, and a request made during a render brings another.
:meth:`flush` renders now, on the caller's thread, and waits for a render under way (the close-out
and a seat leaving call it, so the record is complete when the seat's process ends).
"""

from __future__ import annotations

import threading
import time
from typing import Callable

DEFAULT_INTERVAL_S = 1.0


class RecordWriter:
    def __init__(self, render: Callable[[], object], *, on_error: Callable[[Exception], None],
                 interval_s: float = DEFAULT_INTERVAL_S, name: str = "record") -> None:
        self._render = render
        self._on_error = on_error
        self.interval_s = interval_s
        self._asked = False                       # a request not yet rendered
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._rendering = threading.Lock()        # one render at a time: the thread's or flush's
        # as if it had just rendered: a seat's first render waits a second, off its start (the record on
        # disk is the one the last seat left, whole)
        self._last = time.monotonic()
        self.renders = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"record writer {name}")
        self._thread.start()

    def request(self) -> None:
        """The journal changed: render within about ``interval_s``."""
        self._asked = True
        self._wake.set()

    def flush(self) -> None:
        """Render now, on this thread (a render under way is waited for; this one sees what it did not)."""
        self._asked = False
        self._render_once()

    def close(self) -> None:
        """Stop the thread; what was asked for and not yet rendered is rendered now."""
        self._closing.set()
        self._wake.set()
        self._thread.join(timeout=30)
        if self._asked:
            self.flush()

    def _render_once(self) -> None:
        with self._rendering:
            try:
                self._render()
            except Exception as exc:  # noqa: BLE001 - any failure is the seat's alarm, never the thread's end
                self._on_error(exc)
            finally:
                self._last = time.monotonic()
                self.renders += 1

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._closing.is_set():
                return
            wait = self._last + self.interval_s - time.monotonic()
            if wait > 0 and self._closing.wait(wait):   # requests in the meantime are this one render
                return
            self._wake.clear()
            if self._asked:
                self._asked = False
                self._render_once()
