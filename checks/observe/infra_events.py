"""The ``infrastructure_event`` signal's source: a configured command that reports infrastructure events.

``[clusters.X.signals.infrastructure]`` names an argv (a cloud CLI, a monitoring API wrapper) that
prints one JSON object a line, one per event standing now::

    {"at": "2026-12-01T08:12:21Z", "node": "node1", "text": "instance i-0abc: host hardware failure"}

``at`` is an ISO 8601 string (no zone: UTC) or epoch seconds (a number from 10^11 up is taken as
epoch milliseconds, as monitoring APIs often print); no ``at``: the time the output was read.
``node`` is optional. ``text`` is required.

:func:`run_infrastructure` runs it once and never raises: whatever goes wrong is a warning, one
sentence naming the command's first word (a line that is not JSON, with its line number; a value
that is not an object; no ``text``; a non-zero exit with its last stderr line; a timeout; a command
that cannot be started), and the lines that were good still count. The command runs in a session
of its own, without a shell and with stdin closed; on a timeout, or past :data:`OUTPUT_MAX` bytes of
output, its whole process group is killed (SIGKILL). Everything it prints is untrusted: every text
and node name is redacted and shown safe for a terminal (control characters as visible escapes,
one line, at most :data:`TEXT_MAX` characters), and at most :data:`EVENTS_MAX` events and
:data:`LINE_WARNINGS_MAX` line warnings are kept.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import time
from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict

from checks.config.model import Infrastructure
from checks.config.redact import redact
from checks.config.text import visible

OUTPUT_MAX = 256 * 1024     # bytes read from stdout, and from stderr, before the command is stopped
TEXT_MAX = 200              # characters of an event's text, after escaping
NODE_MAX = 64
NAME_MAX = 80               # the command's first word, as warnings name it
EVENTS_MAX = 200
LINE_WARNINGS_MAX = 10
EPOCH_MS_FROM = 1e11        # an epoch number this large is in milliseconds (1e11 s is the year 5138)
REAP_S = 2.0                # waited for the killed process to be reaped


class InfraEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime            # UTC
    node: str | None = None
    text: str


class InfraReport(BaseModel):
    """One run of the command: its events, and a sentence for everything that was wrong.
    ``exit_code`` is None when it never ran or was stopped (timeout, too much output)."""

    model_config = ConfigDict(frozen=True)

    events: tuple[InfraEvent, ...] = ()
    warnings: tuple[str, ...] = ()
    ran_at: datetime
    duration_s: float
    exit_code: int | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.warnings


def clean(text: object, limit: int = TEXT_MAX) -> str:
    """Untrusted text made safe for a terminal: redacted, control characters shown as escapes,
    one line, stripped, at most ``limit`` characters (cut with an ellipsis)."""
    out = visible(redact(str(text)), multiline=False).strip()
    return out if len(out) <= limit else out[:limit - 1].rstrip() + "…"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_at(value: object, read_at: datetime) -> tuple[datetime, str | None]:
    """An event's time in UTC, and what was wrong with ``value`` (then the time it was read)."""
    if value is None:
        return read_at, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            return read_at, "has an \"at\" that is not a finite number"
        seconds = value / 1000 if abs(value) >= EPOCH_MS_FROM else value
        try:
            return datetime.fromtimestamp(seconds, timezone.utc), None
        except (OverflowError, OSError, ValueError):
            return read_at, f"has an \"at\" ({clean(value, 40)}) out of range for a time"
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.strip())
        except ValueError:
            return read_at, f"has an \"at\" (\"{clean(value, 40)}\") that is not an ISO 8601 time"
        return (at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)), None
    return read_at, f"has an \"at\" that is {_kind(value)}, not a time"


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def parse_output(name: str, stdout: bytes, read_at: datetime) -> tuple[list[InfraEvent], list[str]]:
    """The events of the command's output, and one warning per line that was wrong (bounded)."""
    events: list[InfraEvent] = []
    problems: list[str] = []
    extra_events = 0
    for number, raw in enumerate(stdout.decode("utf-8", errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        event, problem = _parse_line(line, read_at)
        if problem:
            problems.append(f"line {number} {problem}")
        if event is not None:
            if len(events) < EVENTS_MAX:
                events.append(event)
            else:
                extra_events += 1
    warnings = [f"infrastructure command {name}: {p}" for p in problems[:LINE_WARNINGS_MAX]]
    if len(problems) > LINE_WARNINGS_MAX:
        warnings.append(f"infrastructure command {name}: {len(problems) - LINE_WARNINGS_MAX} more lines had "
                        "problems like these")
    if extra_events:
        warnings.append(f"infrastructure command {name} reported {EVENTS_MAX + extra_events} events: the first "
                        f"{EVENTS_MAX} are kept")
    return events, warnings


def _parse_line(line: str, read_at: datetime) -> tuple[InfraEvent | None, str | None]:
    try:
        doc = json.loads(line)
    except (ValueError, RecursionError):
        return None, f"is not JSON: \"{clean(line, 60)}\""
    if not isinstance(doc, dict):
        return None, f"is {_kind(doc)}, not a JSON object"
    text = doc.get("text")
    if not isinstance(text, str):
        return None, ("has no \"text\"" if text is None else f"has a \"text\" that is {_kind(text)}, not a string")
    text = clean(text)
    if not text:
        return None, "has an empty \"text\""
    problems = []
    node = doc.get("node")
    if node is not None and not isinstance(node, str):
        problems.append(f"has a \"node\" that is {_kind(node)}, not a string (the event is kept without it)")
        node = None
    node = (clean(node, NODE_MAX) or None) if node is not None else None
    at, at_problem = parse_at(doc.get("at"), read_at)
    if at_problem:
        problems.append(f"{at_problem} (the time it was read is used)")
    problem = ", and ".join(problems) or None
    return InfraEvent(at=at, node=node, text=text), problem


def _start_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file or command"
    if isinstance(exc, PermissionError):
        return "it is not executable (permission denied)"
    if isinstance(exc, NotADirectoryError):
        return "a part of its path is not a directory"
    if exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return type(exc).__name__


async def _read(stream: asyncio.StreamReader, into: bytearray) -> bool:
    """Read ``stream`` into ``into`` until its end (False) or past OUTPUT_MAX bytes (True)."""
    while True:
        chunk = await stream.read(65536)
        if not chunk:
            return False
        into += chunk
        if len(into) > OUTPUT_MAX:
            del into[OUTPUT_MAX:]
            return True


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _last_line(data: bytes) -> str | None:
    lines = [line.strip() for line in data.decode("utf-8", errors="replace").splitlines() if line.strip()]
    return clean(lines[-1]) if lines else None


def _exit_warning(name: str, code: int, stderr: bytes) -> str:
    said = _last_line(stderr)
    if code < 0:
        try:
            how = f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = f"exited with code {code}"
    tail = f"; its last stderr line: {said}" if said else ", and wrote nothing to stderr"
    return f"infrastructure command {name} {how}{tail}"


async def run_infrastructure(cfg: Infrastructure) -> InfraReport:
    """Run the infrastructure command once; its events and warnings. Never raises (but lets a
    cancellation through, after killing the command's process group)."""
    ran_at = _utcnow()
    started = time.monotonic()
    name = clean(cfg.command[0] if cfg.command else "", NAME_MAX) or "(empty)"
    try:
        events, warnings, code = await _run(cfg, name)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - the signal source never raises: it says what happened
        events, warnings, code = [], [f"infrastructure command {name} could not be run: {clean(exc) or type(exc).__name__}"], None
    return InfraReport(events=tuple(events), warnings=tuple(warnings), ran_at=ran_at,
                       duration_s=round(time.monotonic() - started, 3), exit_code=code)


async def _run(cfg: Infrastructure, name: str) -> tuple[list[InfraEvent], list[str], int | None]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *cfg.command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        return [], [f"infrastructure command {name} could not be started: {_start_problem(exc)}"], None
    out, err = bytearray(), bytearray()
    readers = {asyncio.ensure_future(_read(proc.stdout, out)): "stdout",
               asyncio.ensure_future(_read(proc.stderr, err)): "stderr"}
    waiter = asyncio.ensure_future(proc.wait())
    pending: set[asyncio.Future] = {*readers, waiter}
    stopped: str | None = None
    deadline = time.monotonic() + cfg.timeout_s
    try:
        while pending and stopped is None:
            done, pending = await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()),
                                               return_when=asyncio.FIRST_COMPLETED)
            if not done:
                stopped = f"did not finish within {cfg.timeout_s:g} s: stopped"
            for task in done:
                if task in readers and task.result():
                    stopped = (f"printed more than {OUTPUT_MAX // 1024} KiB on {readers[task]}: the first "
                               f"{OUTPUT_MAX // 1024} KiB were read and the command was stopped")
    finally:
        if stopped is not None or pending:
            _kill_group(proc.pid)
            for task in readers:
                task.cancel()
            try:
                await asyncio.wait_for(asyncio.shield(waiter), REAP_S)
            except (asyncio.TimeoutError, TimeoutError):
                pass
            if not waiter.done():
                waiter.cancel()
    if stopped is not None:   # a line the command was stopped in the middle of is not parsed
        del out[out.rfind(b"\n") + 1:]
    events, warnings = parse_output(name, bytes(out), _utcnow())
    if stopped is not None:
        return events, [f"infrastructure command {name} {stopped}", *warnings], None
    code = proc.returncode
    if code:
        warnings.insert(0, _exit_warning(name, code, bytes(err)))
    return events, warnings, code
