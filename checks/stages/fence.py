"""Stage 2's fence sequence: the planned-switchover path for a reachable primary, and the fence of a dead one.

``fence_sequence`` PAUSEs PgBouncer, reads the final LSN, waits until the candidate has
received it, fences, verifies. The rule it serves (which nodes need fencing) is
:mod:`checks.runbook.others`; the stage's actions are :mod:`checks.stages.old_primary`.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack

from pydantic import BaseModel, ConfigDict

from checks.config.model import Cluster, Node
from checks.observe.connect import NodeUnreachable, node_connection
from checks.observe.lsn import lsn_diff
from checks.observe.queries import CURRENT_POSITION, RECEIVE_POSITION
from checks.runbook.commands import CommandResult, run_command
from checks.stages.pgbouncer import PgBouncerError, admin_execute, open_console, preload_show_driver, resume


class FenceStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    ok: bool
    text: str
    data: dict = {}


class FenceOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    node: str
    steps: tuple[FenceStep, ...]
    command: CommandResult | None = None
    final_lsn: str | None = None
    final_timeline: int | None = None
    candidate_received: str | None = None
    caught_up: bool = False
    paused: tuple[str, ...] = ()      # pgbouncer:database pairs left paused for the cutover
    stopped: str | None = None        # a switchover stopped before the fence: why (PgBouncer resumed)

    @property
    def fenced(self) -> bool:
        return self.command is not None and self.command.ok

    def final_lsn_sentence(self, candidate: str) -> str:
        """The switchover's measurement: "node1 final LSN 0/3000148 on timeline 1; node2 received 0/3000148"."""
        received = (f"{candidate} received {self.candidate_received}" if self.candidate_received else
                    f"what {candidate} received could not be read")
        return f"{self.node} final LSN {self.final_lsn} on timeline {self.final_timeline}; {received}"

    def sentence(self) -> str:
        if self.stopped:
            return f"{self.node} not fenced: {self.stopped}"
        if not self.fenced:
            failed = next((step.text for step in reversed(self.steps) if not step.ok), "the fence command failed")
            return f"fencing {self.node} failed: {failed}"
        drained = (f" after its final LSN {self.final_lsn} reached the candidate" if self.caught_up
                   else f" at final LSN {self.final_lsn}" if self.final_lsn else "")
        return f"{self.node} fenced{drained}"


async def _row(node: Node, cluster: Cluster, sql: str, conn=None):
    """One position query: on ``conn`` (opened before the pause) when given and still working, else
    on a connection of its own (errors raised)."""
    if conn is not None and not conn.is_closed():
        try:
            return await conn.fetchrow(sql, timeout=cluster.sampling.statement_timeout_s)
        except Exception:  # noqa: BLE001 - it broke since it was opened: one fresh try below
            conn.terminate()
    async with node_connection(node, cluster.sampling, purpose="fence") as fresh:
        return await fresh.fetchrow(sql, timeout=cluster.sampling.statement_timeout_s)


async def _open(stack: AsyncExitStack, node: Node, cluster: Cluster):
    """A connection for use inside the pause (each one opened there is ~12 ms Odoo waits), or None."""
    try:
        return await stack.enter_async_context(node_connection(node, cluster.sampling, purpose="fence"))
    except NodeUnreachable:
        return None                      # the query inside the pause tries again and says why


def held_words(received: str | None, timeline: int | None) -> str:
    """What the candidate was seen holding: "it had 0/3000148 on timeline 1", or that it could not be read."""
    if received is None:
        return "its received position could not be read"
    return f"it had {received} on timeline {timeline}" if timeline is not None else f"it had {received}"


def caught_up(received: str | None, received_tli: int | None, lsn: str, timeline: int | None) -> bool:
    """The candidate holds ``lsn`` of ``timeline``: LSNs compare only along one timeline, and a
    standby still following another (a dead primary's) can be 'ahead' and hold none of it."""
    return (received is not None and (lsn_diff(received, lsn) or 0) >= 0
            and (timeline is None or received_tli == timeline))


async def wait_received(candidate: Node, cluster: Cluster, lsn: str, timeout_s: float, conn=None,
                        timeline: int | None = None) -> tuple[str | None, int | None]:
    """Poll the candidate's received LSN until it holds ``lsn`` on ``timeline``; the last one seen
    and the timeline it was received on."""
    deadline = time.monotonic() + timeout_s
    seen = tli = None
    while True:
        streaming = False
        try:
            row = await _row(candidate, cluster, RECEIVE_POSITION, conn)
            seen, tli, streaming = row["lsn"], row["timeline"], row["status"] == "streaming"
        except (NodeUnreachable, Exception):  # noqa: BLE001 - keep polling until the deadline
            pass
        # on another timeline and streaming from nobody, it can never catch up: do not hold Odoo
        stuck = timeline is not None and tli is not None and tli != timeline and not streaming
        if caught_up(seen, tli, lsn, timeline) or stuck or time.monotonic() > deadline:
            return seen, tli
        await asyncio.sleep(0.02)


async def _open_console(pgb, consoles: dict):
    """``consoles[pgb.name]``, opened now unless it still answers; None when the console cannot be
    reached (the PAUSE then says why, on a session of its own)."""
    held = consoles.get(pgb.name)
    if held is not None and await held.answers():
        return held
    if held is not None:
        await held.close()
    try:
        consoles[pgb.name] = await open_console(pgb)
        return consoles[pgb.name]
    except PgBouncerError:
        consoles.pop(pgb.name, None)
        return None


async def pause_poolers(cluster: Cluster, consoles: dict | None = None) -> tuple[list[FenceStep], list[str]]:
    """PAUSE every database of every PgBouncer: on the sessions in ``consoles`` (opened before the
    pause, kept for the cutover's RESUME) where there is one, else on a session of its own."""
    steps, paused = [], []
    consoles = {} if consoles is None else consoles
    for pgb in cluster.pgbouncers:
        for db in pgb.databases:
            try:
                held = consoles.get(pgb.name)      # just opened, or proven by _open_console: no second check
                if held is not None:
                    await held.execute(f"PAUSE {db}")
                else:
                    await admin_execute(pgb, f"PAUSE {db}")
                steps.append(FenceStep(name=f"pause {pgb.name}/{db}", ok=True, text=f"PgBouncer {pgb.name}: PAUSE {db}"))
                paused.append(f"{pgb.name}:{db}")
            except PgBouncerError as exc:
                steps.append(FenceStep(name=f"pause {pgb.name}/{db}", ok=False, text=str(exc)))
    return steps, paused


async def resume_poolers(cluster: Cluster, paused: list[str], consoles: dict | None = None) -> list[FenceStep]:
    """RESUME what :func:`pause_poolers` paused (``pgbouncer:database`` pairs), on the held sessions
    where they still work; those are closed afterwards (nothing is paused any more)."""
    steps = []
    consoles = {} if consoles is None else consoles
    by_name = {p.name: p for p in cluster.pgbouncers}
    for pair in paused:
        name, _, db = pair.partition(":")
        try:
            await resume(by_name[name], db, consoles.get(name))
            steps.append(FenceStep(name=f"resume {name}/{db}", ok=True, text=f"PgBouncer {name}: RESUME {db}"))
        except PgBouncerError as exc:
            steps.append(FenceStep(name=f"resume {name}/{db}", ok=False, text=str(exc)))
    for name in {pair.partition(":")[0] for pair in paused}:
        if (console := consoles.pop(name, None)) is not None:
            await console.close()
    return steps


class _Steps(list):
    """The steps so far; each is handed to ``on_step`` the moment it ends, so it is journaled with its own time."""

    def __init__(self, on_step) -> None:
        super().__init__()
        self.on_step = on_step

    def append(self, step: FenceStep, command: CommandResult | None = None) -> None:
        super().append(step)
        if self.on_step is not None:
            self.on_step(step, command)


async def fence_sequence(cluster: Cluster, old: Node, candidate: Node, *, catch_up_timeout_s: float = 10.0,
                         writable: bool = True, on_step=None, on_progress=None,
                         loss_approved: bool = False, consoles: dict | None = None) -> FenceOutcome:
    """Fence ``old``. When it is writable: pause the poolers and let the candidate catch up first; a
    switchover without that proof stops (poolers resumed, nothing fenced) unless an approver approved
    the measured loss. ``on_step(step, command_result_or_None)`` is called as each step ends.
    ``consoles`` (the operation's): PgBouncer sessions are opened into it before the PAUSE and left
    there, paused, for the cutover's RESUME; without it each command has a session of its own."""
    steps = _Steps(on_step)
    paused: list[str] = []
    final = received = final_tli = None
    caught = False
    if writable:
        preload_show_driver()                # its first import would otherwise lengthen the pause
        async with AsyncExitStack() as held:
            # every connection the pause will use is opened before it: each one opened inside is ~10 ms
            # (a connection and SCRAM) that every Odoo request waits
            old_conn, candidate_conn, *_ = await asyncio.gather(
                _open(held, old, cluster), _open(held, candidate, cluster),
                *(_open_console(pgb, consoles) for pgb in cluster.pgbouncers if consoles is not None))
            pause_steps, paused = await pause_poolers(cluster, consoles)
            for step in pause_steps:
                steps.append(step)
            try:
                row = await _row(old, cluster, CURRENT_POSITION, old_conn)
                final, final_tli = row["lsn"], row["timeline"]
                steps.append(FenceStep(name="final lsn", ok=True,
                                       text=f"{old.name} final LSN {final} on timeline {final_tli}",
                                       data={"lsn": final, "timeline": final_tli}))
            except (NodeUnreachable, Exception) as exc:  # noqa: BLE001
                steps.append(FenceStep(name="final lsn", ok=False, text=f"could not read {old.name}'s final LSN: {exc}"))
            if final is not None:
                started = time.monotonic()
                received, received_tli = await wait_received(candidate, cluster, final, catch_up_timeout_s,
                                                             candidate_conn, timeline=final_tli)
                caught = caught_up(received, received_tli, final, final_tli)
                waited = round((time.monotonic() - started) * 1000, 1)
                text = (f"{candidate.name} received {received} (>= {final}) after {waited} ms" if caught else
                        f"{candidate.name} did not receive {old.name}'s final LSN {final} on timeline {final_tli}: "
                        f"{held_words(received, received_tli)} after {waited:.0f} ms "
                        f"(limit {catch_up_timeout_s:g} s)")
                steps.append(FenceStep(name="catch up", ok=caught, text=text,
                                       data={"received": received, "received_timeline": received_tli,
                                             "waited_ms": waited}))
        if not caught and not loss_approved:
            why = next((st.text for st in reversed(steps) if not st.ok), "the candidate did not catch up")
            for step in await resume_poolers(cluster, paused, consoles):
                steps.append(step)
            stopped = (f"the switchover stopped before fencing {old.name}: {why}; so zero loss is not proven. "
                       f"PgBouncer was resumed and {old.name} was not fenced: it is still the primary. Choose a "
                       f"candidate that streams from {old.name}, or have an approver approve the measured loss "
                       "at stage 1, then fence again")
            return FenceOutcome(node=old.name, steps=tuple(steps), final_lsn=final, final_timeline=final_tli,
                                candidate_received=received, stopped=stopped)
    outcome = dict(node=old.name, final_lsn=final, final_timeline=final_tli, candidate_received=received,
                   caught_up=caught, paused=tuple(paused))
    if not old.fence:
        steps.append(FenceStep(name="fence", ok=False, text=f"{old.name} has no fence command configured"))
        return FenceOutcome(steps=tuple(steps), **outcome)
    result = await run_with_progress(f"fence {old.name}", old.fence, old.fence_timeout_s, on_progress)
    steps.append(FenceStep(name="fence", ok=result.ok, text=result.summary()), result)
    if not result.ok and paused:         # not fenced: Odoo must not stay paused in front of a live primary
        for step in await resume_poolers(cluster, paused, consoles):
            steps.append(step)
        outcome["paused"] = ()
    return FenceOutcome(steps=tuple(steps), command=result, **outcome)


async def run_with_progress(name: str, argv, timeout_s: float, on_progress, every_s: float = 5.0) -> CommandResult:
    """``run_command``, with a line to ``on_progress`` every ``every_s`` seconds while it runs."""
    task = asyncio.ensure_future(run_command(name, argv, timeout_s=timeout_s))
    started = time.monotonic()
    while True:
        done, _ = await asyncio.wait({task}, timeout=every_s)
        if done:
            return task.result()
        if on_progress is not None:
            on_progress(f"{name}: still running after {time.monotonic() - started:.0f} s "
                        f"(it is stopped at its timeout, {timeout_s:g} s)")
