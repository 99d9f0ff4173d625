"""A closed incident runs no stage action (each refusal journaled) until it is reopened explicitly; a
rollback, the incident's aftermath, may still re-point and re-verify it."""

from __future__ import annotations

import asyncio

import pytest

from checks.incident.journal import Journal
from checks.runbook.operation import GateRefused, Operation
from checks.stages.stabilize import run_freeze, skip_freeze
from checks.stages.verify import verify_all
from tests.unit.test_assess import cluster


def test_a_closed_incident_refuses_every_action_until_it_is_reopened(tmp_path):
    journal = Journal.create(tmp_path / "inc", incident_id="inc", cluster="c")
    op = Operation(journal, "c", cluster(), author="olga")
    assert op.reopen() is None                                  # open: nothing to reopen
    op.log("close", "incident closed before verification")
    for act in (lambda: skip_freeze(op, "lab"), lambda: asyncio.run(run_freeze(op)),
                lambda: asyncio.run(verify_all(op))):
        with pytest.raises(GateRefused, match="was closed at .* by olga: a new fault is a new incident"):
            act()
    assert len([e for e in journal.events(kinds={"system"}) if e.data.get("refused")]) == 3
    op.require(0, "cut over", closed_ok=True)                   # what a rollback asks: no refusal for the close
    assert op.reopen().startswith("reopened incident inc (closed at ")
    op.require(0, "skip freeze")                                # open again
    journal.close()
