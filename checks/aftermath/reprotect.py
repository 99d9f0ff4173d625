"""Re-protect: after a failover, bring a node (the old primary) back as a standby of the new one.

A hardening step, not a runbook stage: it needs stage 3 passed (there is a new primary to
follow), the node's name typed to confirm, and the node stopped or fenced (never writable and
reachable). The steps, each journaled with its evidence (``step = "reprotect"``, ``phase`` below),
stop at the first failure:

0. ``measure``: before anything can rewrite its WAL, the divergence judgement of the node
   against the new primary (:func:`checks.observe.divergence.gather_divergence`, its records past the fork
   read with pg_walinspect), journaled as ``{"check": "rpo_measured", ...}`` (its end LSN, the
   bytes past the fork, the transactions committed there and when): the RPO the close-out and the
   record state (:mod:`checks.incident.rpo`). A stopped node is first started read-only with the configured
   ``start_read_only`` command (phase ``start_read_only``); when it cannot be read, the evidence says
   the RPO stays a lower bound and why, and re-protect goes on (the operator confirmed it).
1. ``source_checkpoint``: ``CHECKPOINT`` on the new primary, then its control file must name its
   current timeline. Right after ``pg_promote`` it still names the old one until the checkpoint
   promotion requested completes (a spread checkpoint, minutes later), and pg_rewind then says
   "source and target cluster are on the same timeline ... no rewind required": wrongly.
2. ``dry_run``: the configured ``rewind`` command with ``--dry-run`` appended.
3. ``rewind``: the same command for real.
4. ``start_as_standby``: the configured command.
5. ``verify``: the node in recovery, its WAL receiver ``streaming`` from the new primary's port,
   and the new primary's ``pg_stat_replication`` listing it (by ``application_name``), within
   ``timeout_s``; journaled as the evidence ``{"check": "reprotected", "passed": ...}``.

``{primary_host}``/``{primary_port}`` are the new primary's ``Node.host``/``Node.port``: where
applications (and a standby's walreceiver) reach it, i.e. ``app_host``/``app_port`` when set.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

from checks.config.model import Node
from checks.config.redact import redact
from checks.errors import error_line
from checks.incident.evidence import Check, Step
from checks.incident.rpo import CHECK as RPO_CHECK
from checks.incident.rpo import lost_words
from checks.observe.connect import node_connection
from checks.observe.divergence import DivergenceError, gather_divergence
from checks.observe.lsn import human_bytes, human_ms
from checks.observe.sample import NodeSample, parse_iso
from checks.observe.sampler import NodeSampler
from checks.runbook.commands import CommandResult, fill_placeholders, run_command
from checks.runbook.operation import Operation

STEP = Step.REPROTECT
POLL_S = 0.5
ACTION = "re-protect"

# The new primary's last checkpoint timeline against the timeline it writes now (the second
# as NODE_SAMPLE computes it for a primary; pg_current_wal_lsn() raises in recovery, hence CASE).
CHECKPOINT = "CHECKPOINT"
CHECKPOINT_TIMELINES = """
SELECT (pg_control_checkpoint()).timeline_id AS checkpoint_tli,
       CASE WHEN NOT pg_is_in_recovery()
            THEN ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS current_tli,
       pg_is_in_recovery() AS in_recovery
"""

_DIVERGED = re.compile(r"servers diverged at WAL location (\S+) on timeline (\d+)")
_COPY = re.compile(r"need to copy (\d+) MB \(total source directory size is (\d+) MB\)")


def rewind_facts(output: str) -> dict[str, Any]:
    """What pg_rewind's messages say: where the servers diverged, how much it copies."""
    facts: dict[str, Any] = {}
    if m := _DIVERGED.search(output):
        facts.update(diverged_at=m.group(1), diverged_tli=int(m.group(2)))
    if m := _COPY.search(output):
        facts.update(copy_mb=int(m.group(1)), source_mb=int(m.group(2)))
    if "no rewind required" in output:
        facts["rewind_needed"] = False
    elif facts.get("diverged_at"):
        facts["rewind_needed"] = True
    return facts


def _one_line(exc: BaseException) -> str:
    return redact(error_line(exc))


def _last_line(result: CommandResult) -> str:
    if result.error:
        return result.error
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


async def reprotect(op: Operation, node_name: str, confirm: str) -> bool:
    """Bring ``node_name`` back as a standby of the new primary; True once streaming is verified.

    Refuses (GateRefused, journaled) before stage 3 passed, when ``confirm`` is not the node's name
    typed exactly, for a node without ``reprotect`` config, for the new primary itself, and for a
    node that is writable and reachable."""
    state = op.state()
    if state.stage(3).status != "passed":
        raise op.refuse(ACTION, f"re-protecting {node_name} refused: stage 3 Promote has not passed, so there is "
                        "no new primary to follow yet; to unlock: promote the candidate first")
    primary_name = state.candidate
    try:
        node = op.cluster.node(node_name)
    except KeyError:
        raise op.refuse(ACTION, f"re-protecting {node_name} refused: it is not a node of this cluster "
                        f"(nodes: {', '.join(n.name for n in op.cluster.nodes)})") from None
    if confirm != node_name:
        raise op.refuse(ACTION, f"re-protecting {node_name} refused: not confirmed: type the node's name exactly "
                        f"('{node_name}'); pg_rewind rewrites its data directory")
    if node_name == primary_name:
        raise op.refuse(ACTION, f"re-protecting {node_name} refused: {node_name} is the new primary; "
                        "re-protect the old primary (or another node) as its standby")
    if node.reprotect is None:
        raise op.refuse(ACTION, f"re-protecting {node_name} refused: the config gives it no reprotect commands; "
                        f"to unlock: add reprotect = {{ rewind = [...], start_as_standby = [...] }} "
                        f"to node {node_name}")
    primary = op.cluster.node(primary_name)
    target, source = await _fresh_samples(op, node, primary)
    if target.writable:
        raise op.refuse(ACTION, f"re-protecting {node_name} refused: {node_name} is writable and reachable; "
                        f"fence or stop it first (pg_rewind rewrites its data directory, which needs it stopped, "
                        f"and a writable old primary is a second writer)")
    if not source.writable:
        why = source.error if not source.reachable else "it is in recovery"
        raise op.refuse(ACTION, f"re-protecting {node_name} refused: the new primary {primary_name} is not writable "
                        f"now ({why}); there is nothing to follow")

    cfg = node.reprotect
    values = {"primary_host": primary.host, "primary_port": str(primary.port)}
    common = {"node": node_name, "primary": primary_name, "primary_port": primary.port,
              "attempt": uuid.uuid4().hex[:12]}

    def fail(phase: str, sentence: str, **data: Any) -> bool:
        op.log("evidence", sentence, data={"check": Check.REPROTECTED, "passed": False, "step": STEP, "phase": "verify",
                                           "failed_step": phase, **common, **data})
        return False

    # 0. what it holds past the fork, measured before anything may rewrite its WAL
    if not await _measure(op, node, primary, target, common):
        return fail("measure", f"{node_name} came up WRITABLE when started read-only: a second writer; fence it "
                    "now; nothing was rewound")

    # 1. the source's control file must name its timeline
    checkpoint = await _checkpoint(op, primary)
    op.log("evidence", checkpoint["text"], data={"check": Check.REPROTECT_SOURCE, "step": STEP,
                                                 "phase": "source_checkpoint", **common, **checkpoint["data"]})
    if not checkpoint["data"]["passed"]:
        return fail("source_checkpoint", f"{node_name} not re-protected: {checkpoint['text']}; nothing was changed")

    # 2. dry run
    base = fill_placeholders(cfg.rewind, values)
    dry = await run_command(f"pg_rewind {node_name} from {primary_name} (dry run)", [*base, "--dry-run"],
                            cfg.timeout_s)
    op.log_command(dry, stage=None, step=STEP, phase="dry_run", **common, **rewind_facts(dry.output))
    if not dry.ok:
        return fail("dry_run", f"{node_name} not re-protected: the pg_rewind dry run failed "
                    f"({dry.error or f'exit {dry.exit_code}'}): {_last_line(dry)}; no data file was rewound")

    # 3. the rewind
    real = await run_command(f"pg_rewind {node_name} from {primary_name}", base, cfg.timeout_s)
    op.log_command(real, stage=None, step=STEP, phase="rewind", **common, **rewind_facts(real.output))
    if not real.ok:
        return fail("rewind", f"{node_name} not re-protected: pg_rewind failed "
                    f"({real.error or f'exit {real.exit_code}'}): {_last_line(real)}; the data directory may be "
                    "half rewound: do not start it as a primary; rewind again or rebuild it with pg_basebackup")

    # 4. start as a standby
    start = await run_command(f"start {node_name} as a standby of {primary_name}",
                              fill_placeholders(cfg.start_as_standby, values), cfg.timeout_s)
    op.log_command(start, stage=None, step=STEP, phase="start_as_standby", **common)
    if not start.ok:
        return fail("start_as_standby", f"{node_name} not re-protected: starting it as a standby failed "
                    f"({start.error or f'exit {start.exit_code}'}): {_last_line(start)}")

    # 5. streaming, seen from both ends
    return await _verify_streaming(op, node, primary, cfg.timeout_s, common, fail)


def _span_s(first: str | None, last: str | None) -> float | None:
    try:
        return round((parse_iso(last) - parse_iso(first)).total_seconds(), 3) if first and last else None
    except ValueError:
        return None


async def _measure(op: Operation, node: Node, primary: Node, target: NodeSample, common: dict) -> bool:
    """Journal the RPO measured on ``node`` (phase ``measure``), starting it read-only first when it
    is stopped and the config says how. False only when it came up writable (a second writer)."""
    cfg = node.reprotect
    base = {"check": RPO_CHECK, "step": STEP, "phase": "measure", **common}
    why = None
    if not target.reachable:
        if cfg.start_read_only is None:
            why = (f"{node.name} does not answer ({target.error}) and the config gives it no reprotect."
                   "start_read_only command to start it read-only")
        else:
            started = await run_command(f"start {node.name} read-only to measure its WAL", cfg.start_read_only,
                                        cfg.timeout_s)
            op.log_command(started, stage=None, step=STEP, phase="start_read_only", **common)
            if not started.ok:
                why = (f"{node.name} does not answer and could not be started read-only "
                       f"({started.error or f'exit {started.exit_code}'}: {_last_line(started)})")
    d = None
    if why is None:
        try:
            d = await gather_divergence(op.cluster, node.name, primary.name)
        except DivergenceError as exc:
            why = f"{node.name} could not be read: {exc}"
    if d is None:
        sentence = (f"RPO not measured on {node.name} before its rewind: {why}; the RPO stays a lower bound, "
                    "and once it is rewound what it held past the fork can never be measured")
        op.log("evidence", sentence, data={**base, "measured": False, "passed": False, "why": why,
                                           "statement": sentence})
        return True
    if d.old_writable:                     # it was not writable when sampled: it came up so
        op.log("evidence", f"{node.name} is WRITABLE after its read-only start: not measured",
               data={**base, "measured": False, "passed": False, "why": "writable", "statement": "writable"})
        return False
    commits = d.commits_after_fork
    wal = d.wal.summary() if d.wal else {}
    facts = {"end_lsn": d.old_end_lsn, "timeline": d.old_timeline, "switch_lsn": d.switch_lsn,
             "switch_timeline": d.switch_timeline, "bytes_after_fork": d.bytes_after_fork, "diverged": d.diverged,
             "kind": d.kind, "commits": commits, "aborts": wal.get("aborts"),
             "first_commit_at": wal.get("first_commit_at"), "last_commit_at": wal.get("last_commit_at"),
             "record_kinds": wal.get("record_kinds"), "wal_read": d.wal is not None, "wal_unread": d.wal_unread}
    where = (f"{node.name}'s WAL ends at {d.old_end_lsn} on timeline {d.old_timeline}, "
             f"{human_bytes(d.bytes_after_fork)} past the switch point {d.switch_lsn} on timeline {d.switch_timeline}")
    if commits is None:
        why = f"how many transactions committed there cannot be told: {d.wal_unread or 'its records were not read'}"
        sentence = (f"RPO not measured on {node.name} before its rewind: {where}, but {why}; the RPO stays a "
                    "lower bound")
        op.log("evidence", sentence, data={**base, **facts, "measured": False, "passed": False, "why": why,
                                           "statement": sentence})
        return True
    lost = d.bytes_after_fork if commits else 0
    how = ("read with pg_walinspect" if d.wal is not None else
           f"judged from positions and transaction counters: {d.wal_unread}" if d.wal_unread else
           "no WAL past the fork")
    if not d.diverged:
        held = (f"{node.name} holds nothing past the switch point {d.switch_lsn} on timeline {d.switch_timeline}: "
                f"its WAL ends at {d.old_end_lsn} on timeline {d.old_timeline}")
    elif commits:
        held = f"{where}, holding {commits} committed transaction{'' if commits == 1 else 's'} ({how})"
    else:
        held = f"{where}, holding no transaction ({d.wal.kinds() if d.wal else 'no commit'}; {how})"
    measured = {**facts, "measured": True, "passed": True, "lost_bytes": lost,
                "lost_seconds": _span_s(facts["first_commit_at"], facts["last_commit_at"]) if commits else 0.0}
    sentence = f"RPO measured on {node.name} before its rewind: {lost_words(measured)}: {held}"
    op.log("evidence", sentence, data={**base, **measured, "statement": held})
    return True


async def _fresh_samples(op: Operation, node: Node, primary: Node) -> tuple[NodeSample, NodeSample]:
    """One sample of each, journaled, from new connections: the operation's own samplers may be
    backing off from a node that was down, and "unreachable" must not hide a writable node."""
    samplers = [NodeSampler(node, op.cluster.sampling), NodeSampler(primary, op.cluster.sampling)]
    try:
        target, source = await asyncio.gather(*(s.sample() for s in samplers))
    finally:
        await asyncio.gather(*(s.close() for s in samplers))
    for sample in (target, source):
        op.journal.record_sample(sample, force=True)
    return target, source


async def _checkpoint(op: Operation, primary: Node) -> dict:
    """CHECKPOINT on the new primary (best effort), then compare its checkpoint's timeline with its own."""
    t = op.cluster.sampling.statement_timeout_s
    started = time.monotonic()
    checkpoint_error = None
    try:
        async with node_connection(primary, op.cluster.sampling, purpose="reprotect") as conn:
            try:
                await conn.execute(CHECKPOINT, timeout=max(t, 60.0))
            except Exception as exc:  # noqa: BLE001 - journaled; the timeline check below decides
                checkpoint_error = _one_line(exc)
            ms = round((time.monotonic() - started) * 1000, 1)
            row = await conn.fetchrow(CHECKPOINT_TIMELINES, timeout=t)
    except (Exception, asyncio.TimeoutError) as exc:  # noqa: BLE001 - every failure is a fact to journal
        why = _one_line(exc)
        return {"text": f"CHECKPOINT on {primary.name} could not run: {why}", "data": {"passed": False, "error": why}}
    data = {"checkpoint_ms": ms, "checkpoint_tli": row["checkpoint_tli"], "current_tli": row["current_tli"],
            "checkpoint_error": checkpoint_error}
    if row["in_recovery"]:
        return {"text": f"{primary.name} is in recovery: it is not the new primary any more",
                "data": {**data, "passed": False}}
    if row["checkpoint_tli"] != row["current_tli"]:
        why = f"CHECKPOINT failed: {checkpoint_error}" if checkpoint_error else "CHECKPOINT did not move it"
        return {"text": f"{primary.name}'s last checkpoint is on timeline {row['checkpoint_tli']}, not its timeline "
                        f"{row['current_tli']} ({why}), so pg_rewind would wrongly say no rewind is required; run "
                        f"CHECKPOINT on {primary.name} (superuser or pg_checkpoint) and re-protect again",
                "data": {**data, "passed": False}}
    if checkpoint_error:
        text = (f"CHECKPOINT on {primary.name} failed ({checkpoint_error}), but its control file already names "
                f"its timeline {row['current_tli']}, as pg_rewind needs")
    else:
        text = f"CHECKPOINT on {primary.name} in {ms:.0f} ms: its control file names its timeline " \
               f"{row['current_tli']}, as pg_rewind needs"
    return {"text": text, "data": {**data, "passed": True}}


def _streaming_problem(node: Node, primary: Node, target: NodeSample, source: NodeSample) -> str | None:
    """Why ``target`` is not (yet) a streaming standby of ``source``; None when it is."""
    if not target.reachable:
        return f"{node.name} does not answer ({target.error})"
    if target.in_recovery is False:
        return f"{node.name} is WRITABLE (not in recovery)"
    receiver = target.wal_receiver
    if receiver is None or receiver.status != "streaming":
        return f"{node.name}'s WAL receiver is {receiver.status if receiver else 'not running'}"
    if receiver.sender_port != primary.port:
        return f"{node.name} streams from port {receiver.sender_port}, not {primary.name}'s port {primary.port}"
    if not source.reachable:
        return f"{primary.name} does not answer ({source.error})"
    peers = [p for p in source.replication if p.application_name == node.name]
    if not any(p.state == "streaming" for p in peers):
        seen = ", ".join(f"{p.application_name} {p.state}" for p in source.replication) or "no standby"
        return f"{primary.name}'s pg_stat_replication does not list {node.name} as streaming ({seen})"
    return None


async def _verify_streaming(op: Operation, node: Node, primary: Node, timeout_s: float, common: dict,
                            fail) -> bool:
    samplers = [NodeSampler(node, op.cluster.sampling), NodeSampler(primary, op.cluster.sampling)]
    started = time.monotonic()
    try:
        while True:
            target, source = await asyncio.gather(*(s.sample() for s in samplers))
            problem = _streaming_problem(node, primary, target, source)
            waited_ms = round((time.monotonic() - started) * 1000, 1)
            if problem is None or target.writable or time.monotonic() - started > timeout_s:
                break
            await asyncio.sleep(POLL_S)
    finally:
        await asyncio.gather(*(s.close() for s in samplers))
    for sample in (target, source):
        op.journal.record_sample(sample, force=True)
    if problem is not None:
        if target.writable:
            return fail("verify", f"{node.name} came up WRITABLE after start_as_standby: a second writer; "
                        f"fence it now", waited_ms=waited_ms)
        return fail("verify", f"{node.name} not re-protected: not streaming from {primary.name} after "
                    f"{timeout_s:g} s: {problem}", waited_ms=waited_ms)
    receiver = target.wal_receiver
    op.log("evidence", f"{node.name} re-protected as a standby of {primary.name}: streaming from port "
           f"{receiver.sender_port} on timeline {receiver.received_tli}, listed in {primary.name}'s "
           f"pg_stat_replication ({human_ms(waited_ms)} after its start)",
           data={"check": Check.REPROTECTED, "passed": True, "step": STEP, "phase": "verify", **common,
                 "sender_port": receiver.sender_port, "timeline": receiver.received_tli,
                 "replay_lsn": target.replay_lsn, "streaming_after_ms": waited_ms})
    return True
