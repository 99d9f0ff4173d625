"""Running runbook actions off the UI thread, one at a time, and telling the screen how they ended.

Every action is a checks/ function on the seat's Operation; it journals its evidence
before it returns, and a refusal is a :class:`~checks.runbook.operation.GateRefused` sentence.
Journal writes fsync, so actions run in a thread worker with an event loop of their own;
the Operation's connections are closed at the end of each action.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from textual.message import Message

from checks.runbook.operation import GateRefused, Operation


class ActionDone(Message):
    def __init__(self, label: str, ok: bool, text: str, refused: bool = False) -> None:
        super().__init__()
        self.label, self.ok, self.text, self.refused = label, ok, text, refused


Act = Callable[[Operation], Awaitable[object] | object]


class RunbookActions:
    def __init__(self, host, operation: Operation) -> None:
        """``host``: the widget that runs the workers and receives :class:`ActionDone`."""
        self.host = host
        self.op = operation
        self.busy: str | None = None
        app = host.app                   # read here, on the screen's thread; progress comes from the worker's
        operation.on_progress = lambda text: app.call_from_thread(host.notify, text, timeout=6)

    def start(self, label: str, act: Act) -> bool:
        if self.busy:
            self.host.notify(f"wait: {self.busy} is still running", severity="warning")
            return False
        self.busy = label
        self.host.run_worker(lambda: self._run(label, act), thread=True, group="action", exit_on_error=False,
                            name=label)
        return True

    def _run(self, label: str, act: Act) -> None:
        async def go():
            try:
                result = act(self.op)
                return await result if asyncio.iscoroutine(result) else result
            finally:
                await self.op.close()

        try:
            result = asyncio.run(go())
            done = ActionDone(label, True, _describe(label, result))
        except GateRefused as exc:
            done = ActionDone(label, False, str(exc), refused=True)
        except Exception as exc:  # noqa: BLE001 - shown and journaled, never a crash of the cockpit
            text = f"{label} failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
            try:
                self.op.log("system", text, data={"error": True, "action": label})
            except Exception:  # noqa: BLE001 - the journal alarm shows that separately
                pass
            done = ActionDone(label, False, text)
        self.busy = None
        self.host.post_message(done)


def _describe(label: str, result: object) -> str:
    if result is None:
        return f"{label}: done"
    sentence = getattr(result, "sentence", None)
    if callable(sentence):
        return sentence()
    statement = getattr(result, "statement", None)
    if statement:
        return statement
    if isinstance(result, list):
        return f"{label}: " + "; ".join(getattr(r, "summary", lambda: str(r))() for r in result)
    if isinstance(result, bool):
        return f"{label}: {'passed' if result else 'did not pass'}"
    return f"{label}: {result}"
