"""Running configured commands: argv lists only (never a shell), bounded, output short and redacted."""

from __future__ import annotations

import asyncio
import os
import signal
import time

from pydantic import BaseModel, ConfigDict

from checks.config.redact import redact

OUTPUT_LIMIT = 2000


class CommandResult(BaseModel):
    """What a command did: journaled as is (argv and output are already redacted)."""

    model_config = ConfigDict(frozen=True)

    name: str
    argv: tuple[str, ...]
    exit_code: int | None          # None: it could not start, or was killed at its timeout
    output: str
    duration_ms: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def summary(self) -> str:
        if self.error:
            return f"{self.name}: {self.error}"
        return f"{self.name}: exit {self.exit_code} in {self.duration_ms:.0f} ms"


def fill_placeholders(argv: list[str] | tuple[str, ...], values: dict[str, str]) -> list[str]:
    """Replace ``{host}``-style placeholders inside each argument; each argument stays one argument,
    whatever the values contain (no shell ever sees them)."""
    out = []
    for arg in argv:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", str(value))
        out.append(arg)
    return out


async def run_command(name: str, argv: list[str] | tuple[str, ...], timeout_s: float,
                      env: dict[str, str] | None = None, stdin: bytes | None = None) -> CommandResult:
    """Run ``argv`` without a shell (``stdin``: bytes written to it, else nothing); kill its process
    group at ``timeout_s``."""
    shown = tuple(redact(a) for a in argv)
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    except OSError as exc:
        return CommandResult(name=name, argv=shown, exit_code=None, output="",
                             duration_ms=_ms(started), error=f"could not start {shown[0]}: {exc.strerror}")
    try:
        out, _ = await asyncio.wait_for(proc.communicate(stdin), timeout=timeout_s)
    except asyncio.TimeoutError:
        _kill_group(proc.pid)
        out, _ = await proc.communicate()
        return CommandResult(name=name, argv=shown, exit_code=None, output=_short(out),
                             duration_ms=_ms(started), error=f"killed after its {timeout_s:g}s timeout")
    return CommandResult(name=name, argv=shown, exit_code=proc.returncode, output=_short(out),
                         duration_ms=_ms(started))


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _short(raw: bytes | None) -> str:
    text = redact((raw or b"").decode("utf-8", "replace")).strip()
    if len(text) > OUTPUT_LIMIT:
        text = text[:OUTPUT_LIMIT // 2] + "\n[...]\n" + text[-OUTPUT_LIMIT // 2:]
    return text


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)
