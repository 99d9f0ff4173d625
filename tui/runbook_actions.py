"""Running runbook actions off the screen's thread, one at a time, and telling the screen how they ended.

Every action is a method of the seat's :class:`~checks.stages.seat.Runbook` (a stage function on
the seat's Operation) or an aftermath function on that Operation. It journals its evidence
before it returns, and a refusal is a :class:`~checks.runbook.operation.GateRefused` sentence.
Journal writes fsync, so actions run on one long-lived thread with an event loop of its own
(:class:`ActionLoop`), never on the screen's; the Operation's connections belong to that loop
and are closed at the end of each action.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future

from checks.config.redact import redact
from checks.errors import error_line
from checks.runbook.operation import GateRefused, Operation
from checks.runbook.result_text import NOT_PASSED, result_outcome, result_sentence
from checks.stages.seat import LiveRunbook
from tui.messages import ActionDone

Act = Callable[[LiveRunbook], Awaitable[object] | object]


class ActionLoop:
    """One event loop on one daemon thread, for the whole life of the cockpit."""

    def __init__(self, name: str = "runbook actions") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coro) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def stop(self, timeout_s: float = 5.0) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self.loop.close()


class RunbookActions:
    def __init__(self, host, operation: Operation) -> None:
        """``host``: the widget that receives :class:`ActionDone` and shows progress."""
        self.host = host
        self.op = operation
        self.runbook = LiveRunbook(operation)
        self.busy: str | None = None
        self._loop = ActionLoop()
        app = host.app                   # read here, on the screen's thread; progress comes from the loop's
        operation.on_progress = lambda text: app.call_from_thread(host.notify, text, timeout=6)

    def start(self, label: str, act: Act) -> bool:
        if self.busy:
            self.host.notify(f"wait: {self.busy} is still running", severity="warning")
            return False
        self.busy = label
        self._loop.submit(self._run(label, act))
        return True

    def stop(self) -> None:
        self._loop.stop()

    async def _run(self, label: str, act: Act) -> None:
        try:
            done = await self._act(label, act)
        finally:
            self.busy = None
        self.host.post_message(done)

    async def _act(self, label: str, act: Act) -> ActionDone:
        try:
            try:
                result = act(self.runbook)
                if asyncio.iscoroutine(result):
                    result = await result
            finally:
                await self.op.close()
            # An action that ran but whose check did not pass (verify answering False) is not shown as
            # a success: the same words training's score card uses (checks.runbook.result_text).
            passed = result_outcome(result) != NOT_PASSED
            return ActionDone(label, passed, result_sentence(label, result, self.op.state()))
        except GateRefused as exc:
            return ActionDone(label, False, str(exc), refused=True)
        except Exception as exc:  # noqa: BLE001 - shown and journaled, never a crash of the cockpit
            text = f"{label} failed: {redact(error_line(exc))}"
            try:
                self.op.log("system", text, data={"error": True, "action": label})
            except Exception:  # noqa: BLE001 - the journal alarm shows that separately
                pass
            return ActionDone(label, False, text)
