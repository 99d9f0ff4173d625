"""Telling the team: a configured hook gets the incident's alarms, stages, decisions, status updates
and close, as they are journaled, without ever holding up the runbook.

``[clusters.NAME.notify]`` names a ``command`` (argv, no shell) and which kinds it hears (``on``).
Each journaled entry of those kinds is queued; one thread per seat runs the hook for each in turn
with the entry as one JSON document on stdin (incident, cluster, kind, text, time, seat, author,
stage), masked like everything that leaves the cockpit, and killed at ``timeout_s``. Its exit code
is journaled (a ``system`` entry); a hook that fails or hangs is an ``alarm`` entry the screen
shows, never a crash, and never notified again (no loop). Only the seat that journaled an entry
notifies it, so a shared incident is told once.
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from typing import Any, Callable

from checks.config.model import Notify
from checks.config.redact import redact
from checks.incident.journal import Event
from checks.observe.sample import iso_utc
from checks.runbook.commands import CommandResult, run_command

NOTIFY_FLAG = "notify_hook"
"""The data key of the entries the notifier itself journals: they are never notified."""


def document(event: Event, *, incident: str, cluster: str) -> dict[str, Any]:
    """What the hook reads on stdin for one entry (secrets masked)."""
    return {"incident": incident, "cluster": cluster, "kind": event.kind, "text": redact(event.text),
            "time": iso_utc(event.at), "seat": event.seat, "author": event.author, "stage": event.stage}


class Notifier:
    """One seat's hook runner. ``offer`` is cheap and never blocks; ``journal(kind, text, data)``
    records each run's outcome (the seat's own journaling function)."""

    def __init__(self, notify: Notify, *, incident: str, cluster: str,
                 journal: Callable[[str, str, dict], Any]) -> None:
        self.notify = notify
        self.incident, self.cluster = incident, cluster
        self.journal = journal
        self.sent: list[CommandResult] = []
        self._queue: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"notify {incident}")
        self._thread.start()

    def offer(self, event: Event) -> None:
        if event.kind in self.notify.on and not (event.data or {}).get(NOTIFY_FLAG):
            self._queue.put(event)

    def close(self, timeout_s: float | None = None) -> None:
        """Send what is queued (each run bounded by its timeout), then stop: the wait allows every
        queued run its whole timeout, so a slow hook at quit loses no entry."""
        pending = self._queue.qsize() + 1
        self._queue.put(None)
        self._thread.join(timeout_s if timeout_s is not None else pending * (self.notify.timeout_s + 1) + 5)

    def _run(self) -> None:
        while (event := self._queue.get()) is not None:
            self._send(event)

    def _send(self, event: Event) -> None:
        body = json.dumps(document(event, incident=self.incident, cluster=self.cluster), ensure_ascii=False)
        argv = self.notify.command
        result = asyncio.run(run_command("notify hook", argv, self.notify.timeout_s, stdin=body.encode()))
        self.sent.append(result)
        data = {NOTIFY_FLAG: True, "event_id": event.id, "kind": event.kind, "argv": list(result.argv),
                "exit_code": result.exit_code, "duration_ms": result.duration_ms, "output": result.output}
        what = f"the notify hook ({result.argv[0]}) for the {event.kind} entry {event.id}"
        if result.ok:
            self.journal("system", f"{what}: exit 0 in {result.duration_ms:.0f} ms", data)
        elif result.exit_code is None:
            self.journal("alarm", f"{what} failed: {result.error}; the team was not told of it: tell them yourself",
                         data)
        else:
            said = f" ({result.output.strip().splitlines()[-1]})" if result.output.strip() else ""
            self.journal("alarm", f"{what} failed with exit {result.exit_code}{said}; the team was not told of it: "
                         "tell them yourself", data)
