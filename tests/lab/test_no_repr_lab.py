"""Every text a person reads is a sentence (issue 14, item 1), on real labs: never a Python repr.

Two labs, one scenario each, run once for the module:

* ``failover``: a crash failover through the stage functions on an Operation, every action pressed as
  the cockpit's keys press it (tui/runbook_keys.py's labels, :class:`~checks.stages.seat.LiveRunbook`),
  with at least one refusal of each gate and the failures people meet: a fence command that cannot
  start and one that fails, the candidate unreachable at promotion, a wrong typed name, Odoo down
  during verify, a split brain (verify, a rollback refused for divergence, keep one writer with its
  approval), re-protect, re-point, the close, and a closed incident refusing.
* ``headless``: ``drill`` and ``split-brain`` as processes (their stdout is what a person reads): no
  approver, a planned switchover (PgBouncer paused, the final LSN drained, the fence), no ``--fence``,
  a node promoted by hand (refused, then adopted), a closed incident, a rollback refused, a split brain
  resolved.

What a person reads is then checked with :mod:`tests.repr_check`: (a) every notification, i.e.
:func:`~checks.runbook.result_text.result_sentence` of each result, each ``GateRefused`` and each
progress line, and the checklist after each action; (b) every journal event's text and the strings of
its data; (c) the rendered record.md; (d) drill's and split-brain's stdout.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from checks.aftermath.adopt import adopt
from checks.aftermath.repoint import repoint_standbys
from checks.aftermath.reprotect import reprotect
from checks.aftermath.rollback import approve_failback, rollback
from checks.aftermath.split_brain import approve_keep, keep_one_writer, propose
from checks.config.model import load_config
from checks.incident.journal import Journal
from checks.incident.record import write_record
from checks.runbook.operation import GateRefused, Operation
from checks.runbook.result_text import result_sentence
from checks.stages import verify as verify_stage
from checks.stages.fence import run_with_progress
from checks.stages.old_primary import fence_old_primary
from checks.stages.seat import LiveRunbook
from tests.conftest import LAB_ROOT, psql
from tests.drill_helpers import ROOT, drill, events, writable_nodes
from tests.lab.test_split_brain_lab import split_brain, wait_writers
from tests.repr_check import reprs_in, strings_in

pytestmark = pytest.mark.lab


class Seen:
    """What a person read during a scenario, by where it was shown."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []        # (where, text)
        self.outcomes: list[tuple[str, str]] = []     # (label, done|refused|failed)
        self.incidents: list[Path] = []
        self.stdout: list[tuple[str, str]] = []

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def checklist(self, op: Operation) -> None:
        """The runbook pane after an action: each stage's gate, next action and evidence, the data risk."""
        state = op.state()
        for s in state.stages:
            for text in (s.gate, s.next_action, *s.evidence):
                self.add(f"checklist stage {s.number}", text)
        self.add("checklist data risk", (state.data_risk or {}).get("statement", ""))


def operation(config: str, journal: Journal, incident: Path, *, author: str, seat: str) -> Operation:
    name, cluster = load_config(config).cluster(None)
    return Operation(journal, name, cluster, author=author, seat=seat,
                     on_event=lambda _e: write_record(incident, journal))


async def press(seen: Seen, op: Operation, label: str, call, expect: str):
    """What the cockpit's action runner (tui/runbook_actions.py) notifies when ``call`` ends."""
    result = None
    try:
        try:
            result = call()
            if inspect.isawaitable(result):
                result = await result
        finally:
            await op.close()
        how, text = "done", result_sentence(label, result)
    except GateRefused as exc:
        how, text = "refused", str(exc)
    except Exception as exc:  # noqa: BLE001 - the runner's "X failed: ..." notification
        how, text = "failed", f"{label} failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    seen.add(f"notification of {label} ({how})", text)
    seen.outcomes.append((label, how))
    seen.checklist(op)
    assert how == expect, f"{label}: expected {expect}, got {how}: {text}"
    return result


@contextmanager
def fence_command(op: Operation, node: str, argv: list[str]):
    """``node``'s fence command replaced for one press (the config's is put back after)."""
    real = op.cluster
    op.cluster = real.model_copy(update={"nodes": [n.model_copy(update={"fence": argv}) if n.name == node else n
                                                   for n in real.nodes]})
    try:
        yield
    finally:
        op.cluster = real


@contextmanager
def odoo_down(lab, op: Operation, monkeypatch):
    """The Odoo stand-in stopped; the login retry and the cron wait bounded, so the failure is quick."""
    real = op.cluster
    monkeypatch.setattr(verify_stage, "LOGIN_RETRY_S", 1.0)
    op.cluster = real.model_copy(update={"odoo": real.odoo.model_copy(update={"cron_wait_s": 2.0})})
    lab.odoo_stop()
    try:
        yield
    finally:
        lab.odoo_start()
        op.cluster = real
        monkeypatch.undo()


async def crash_failover(lab, seen: Seen, op: Operation, approver_op: Operation, monkeypatch) -> None:
    rb, approver = LiveRunbook(op), LiveRunbook(approver_op)

    async def p(label, call, expect="done", who=op):
        return await press(seen, who, label, call, expect)

    # stage 0, and what is refused before anything happened
    await p("promote", lambda: rb.promote("node2"), "refused")                    # stage 3 is locked
    await p("set roles", lambda: rb.set_roles("sam", "olga"), "refused")          # the operator never approves
    await p("keep one writer", lambda: propose(op), "refused")                    # no split brain
    await p("re-protect", lambda: reprotect(op, "node1", "node1"), "refused")     # nothing promoted yet
    await p("re-point standbys", lambda: repoint_standbys(op), "refused")
    await p("rollback", lambda: rollback(op, "node1"), "refused")
    await p("set roles", lambda: rb.set_roles("sam", "alice"))
    await p("skip freeze", lambda: rb.skip_freeze("   "), "refused")
    await p("freeze", rb.freeze)
    await p("adopt", lambda: adopt(op, "node1"), "refused")                      # the primary all along
    await p("adopt", lambda: adopt(op, "node2"), "refused")                      # not writable
    await p("approve", lambda: approver.approve("alice"), "refused", approver_op)  # nothing chosen yet
    await p("choose candidate", lambda: rb.choose("node9"), "refused")

    # stages 1-3 after a crash of the primary
    lab.crash("node1")
    await p("choose candidate", lambda: rb.choose("node2"))
    await p("approve", lambda: rb.approve("olga"), "refused")
    await p("approve", lambda: approver.approve("alice"), who=approver_op)
    await p("check old primary", rb.check_others)
    await p("attest", lambda: rb.attest("node1", "olga", "host powered off"), "refused")
    await p("fence", lambda: fence_old_primary(op, allowed=False), "refused")     # drill without --fence
    with fence_command(op, "node1", ["/nonexistent/stonith", "node1"]):          # cannot even start
        await p("fence", rb.fence, "refused")
    with fence_command(op, "node1", ["/bin/sh", str(ROOT / "lab" / "fence.sh"),
                                     "/nonexistent/data"]):                      # exits non-zero
        await p("fence", rb.fence, "refused")
    await p("fence", rb.fence)
    await p("fence", rb.fence, "refused")                                         # nothing left to fence
    await p("promote", lambda: rb.promote("node3"), "refused")                    # the wrong name typed
    lab.partition("node2")
    try:
        await p("promote", lambda: rb.promote("node2"), "refused")                # unreachable at promotion
    finally:
        lab.heal("node2")
    await p("promote", lambda: rb.promote("node2"))
    await p("promote", lambda: rb.promote("node2"))                               # again: nothing sent

    # stages 4-5
    await p("cut over", rb.cut_over)
    with odoo_down(lab, op, monkeypatch):
        assert await p("verify", rb.verify) is False
    assert await p("verify", rb.verify) is True

    # the old primary back and written to: split brain
    lab.start("node1")
    wait_writers(lab, ["node1", "node2"])
    psql(lab.status(), "node1", "create table only_on_node1(x int); insert into only_on_node1 values (1), (2)")
    assert await p("verify", rb.verify) is False                                  # the split-brain sentence
    await p("rollback", lambda: rollback(op, "node1"), "refused")                 # both accepted writes
    proposal = await p("keep one writer", lambda: propose(op))
    for line in proposal.lines():                                                 # the K prompt and its confirm
        seen.add("keep one writer prompt", line)
    await p("keep one writer", lambda: keep_one_writer(op, "node2", confirm="node3"), "refused")
    await p("keep one writer", lambda: keep_one_writer(op, "node2", confirm="node1"), "refused")
    await p("approve", lambda: approve_keep(approver_op, "alice"), who=approver_op)
    await p("keep one writer", lambda: keep_one_writer(op, "node2", confirm="node1"))

    # the aftermath, the close, a closed incident
    await p("re-protect", lambda: reprotect(op, "node1", "node"), "refused")
    await p("re-protect", lambda: reprotect(op, "node1", "node1"))
    await p("re-point standbys", lambda: repoint_standbys(op, only=["node3"]))
    assert await p("verify", rb.verify) is True
    await p("close", rb.close)
    await p("close", rb.close, "refused")
    await p("verify", rb.verify, "refused")
    await p("cut over", rb.cut_over, "refused")
    await p("approve", lambda: approve_failback(approver_op, "alice"), "refused", approver_op)
    assert await p("rollback", lambda: rollback(op, "node2")) is True             # the aftermath: allowed

    # a long step's progress line, and the command killed at its timeout
    progress: list[str] = []
    killed = await run_with_progress("fence node1", ["sleep", "5"], 0.6, progress.append, every_s=0.2)
    assert progress and killed.exit_code is None
    for line in [*progress, killed.summary()]:
        seen.add("progress notification", line)


@pytest.fixture(scope="module")
def failover(scratch_lab, tmp_path_factory) -> Seen:
    lab, incident = scratch_lab, tmp_path_factory.mktemp("no-repr") / "inc"
    config = lab.status()["config"]
    journal = Journal.open_or_create(incident, incident_id=incident.name, cluster="lab")
    op = operation(config, journal, incident, author="olga", seat="operator")
    approver_op = operation(config, journal, incident, author="alice", seat="approver")
    seen = Seen()
    seen.incidents.append(incident)
    op.on_progress = lambda text: seen.add("progress notification", text)
    with pytest.MonkeyPatch.context() as monkeypatch:
        asyncio.run(crash_failover(lab, seen, op, approver_op, monkeypatch))
    assert writable_nodes(lab) == ["node2"]
    journal.close()
    return seen


@pytest.fixture(scope="module")
def headless(tmp_path_factory) -> Seen:
    from tests.lab_fixture import make_lab

    lab = make_lab(LAB_ROOT, replicas=2)
    try:
        yield _headless(lab, tmp_path_factory.mktemp("no-repr-cli"))
    finally:
        lab.down()


def _headless(lab, place: Path) -> Seen:
    seen, config, st = Seen(), lab.status()["config"], lab.status()
    switchover, inc = place / "switchover", place / "inc"
    seen.incidents += [place / "no-approver", switchover, inc]

    def run(what: str, proc, code: int, *said: str) -> None:
        seen.stdout.append((what, proc.stdout))
        assert proc.returncode == code and all(s in proc.stdout for s in said), f"{what}: {proc.stdout}{proc.stderr}"

    port = {n["name"]: n["port"] for n in st["nodes"]}
    run("drill without an approver", drill(config, place / "no-approver", "--yes"), 1, "blocked at stage 0")
    run("drill: a planned switchover", drill(config, switchover, "--yes", "--approver", "alice", "--fence"), 0,
        "verified")                                                               # node1 -> node2, drained first
    lab.rewind("node1", port["node2"])                                            # node1 a standby again
    lab.start_standby("node1", port["node2"])
    deadline = time.monotonic() + 30
    while psql(st, "node2", "select count(*) from pg_stat_replication where application_name = 'node1' "
                            "and state = 'streaming'") != "1":
        assert time.monotonic() < deadline, "node1 does not stream from node2"
        time.sleep(0.2)
    run("drill without --fence", drill(config, inc, "--yes", "--approver", "alice", "--candidate", "node1"), 1,
        "blocked at stage 2")
    lab.crash("node2")
    psql(st, "node3", "select pg_promote()")                                     # behind the tool's back
    wait_writers(lab, ["node3"])
    run("drill after a promotion by hand", drill(config, inc, "--yes", "--approver", "alice", "--fence"), 1,
        "another operator")
    run("drill --adopt", drill(config, inc, "--yes", "--approver", "alice", "--fence", "--adopt", "node3"), 0,
        "adopted node3", "verified")
    run("drill on a closed incident", drill(config, inc, "--yes", "--approver", "alice"), 1, "was closed")
    run("drill --rollback refused", drill(config, inc, "--rollback", "node2"), 1, "rollback refused")
    lab.start("node2")                                                            # back, writable: split brain
    wait_writers(lab, ["node2", "node3"])
    run("split-brain keeping a non-writer", split_brain(config, inc, "--keep", "node1", "--yes"), 1,
        "not one of the writers")
    run("split-brain", split_brain(config, inc, "--keep", "node3", "--yes"), 0, "one writer remains")
    assert writable_nodes(lab) == ["node3"]
    return seen


def _journal_texts(seen: Seen) -> list[tuple[str, str]]:
    """Each event's text (the scribe log, the record's timeline) and every string of its data."""
    texts = []
    for incident in seen.incidents:
        for e in events(incident):
            where = f"{incident.name} event {e.id} ({e.kind})"
            texts.append((f"{where} text", e.text))
            texts += [(f"{where} data", s) for s in strings_in(e.data)]
    return texts


def test_every_action_refusal_and_failure_ran(failover, headless):
    done = {label for label, how in failover.outcomes if how == "done"}
    refused = {label for label, how in failover.outcomes if how == "refused"}
    actions = {"set roles", "freeze", "choose candidate", "approve", "check old primary", "fence", "promote",
               "cut over", "verify", "close", "rollback", "re-protect", "re-point standbys", "keep one writer"}
    assert actions <= done, actions - done
    assert actions - {"check old primary", "freeze"} | {"adopt", "attest", "skip freeze"} <= refused
    assert not [o for o in failover.outcomes if o[1] == "failed"]
    assert len(headless.stdout) == 9


def test_notifications_and_the_checklist_are_sentences(failover):
    found = reprs_in(failover.texts)
    assert not found, "\n".join(found)


def test_journal_texts_are_sentences(failover, headless):
    found = reprs_in(_journal_texts(failover) + _journal_texts(headless))
    assert not found, "\n".join(found)


def test_the_record_is_sentences(failover, headless):
    records = [(f"{inc.name}/record.md", (inc / "record.md").read_text()) for inc in
               failover.incidents + headless.incidents]
    found = reprs_in(records)
    assert not found, "\n".join(found)


def test_drill_and_split_brain_stdout_are_sentences(headless):
    found = reprs_in(headless.stdout)
    assert not found, "\n".join(found)
