"""The repr detector itself (tests/repr_check.py): it catches what a user saw, and lets sentences pass."""

from __future__ import annotations

import pytest

from tests.repr_check import repr_fragments, reprs_in, strings_in

SEEN_BY_A_USER = [   # the notifications after `o` and `x`, before result_sentence
    "check old primary: StageState(number=4, title='Cut over', status='locked', gate='locked until stage 3 passes')",
    "check old primary: stages=(StageState(number=0, ...),) roles={'approver': 'alice', 'operator': 'olga'}",
    "fence: [FenceOutcome(node='node1', steps=(FenceStep(name='fence', ok=True, text='fence node1: exit 0'),))]",
    "fence: CommandResult(name='fence node1', argv=('python', '-I'), exit_code=0, output='', duration_ms=31.0)",
]

OTHER_REPRS = [
    "name='fence' ok=True text='fence node1: exit 0 in 31 ms' data={}",        # pydantic's str() of a model
    "targets: {'pgbouncer:pgb1': 'ok', 'odoo.conf': 'ok'}",
    "nodes: {\"node1\": 1}, 'node2': 2",
    "argv=['python', '-m']",
    "node1: [Errno 111] Connect call failed ('127.0.0.1', 54321)",
    "<checks.runbook.risk.DataRisk object at 0x7f3a2c1b5d90>",
    "Traceback (most recent call last):\n  File \"x.py\", line 1",
    "promoted at datetime.datetime(2026, 12, 1, 8, 12, 21)",
    "node1 final LSN 0/3000148 on timeline 1; node2 received None",
    "ir_cron.lastcall did not advance past 08:12:21Z within 10s (last: None)",
    "keep one writer refused: node3 is read-only (in recovery: True), not one of the writers",
]

SENTENCES = [
    "RTO 1.2 s (from the first bad signal)",
    "node1 (timeline 2)",
    "promotion not confirmed: type the candidate's name exactly ('node2')",
    "node2: in_recovery = f, transaction_read_only = off",
    "odoo.conf: db_host = 127.0.0.1, db_port = 54321",
    "pgbouncer:pgb1: PAUSE odoo; rewrote odoo in /tmp/lab/pgbouncer.ini; RELOAD; "
    "SHOW DATABASES: odoo -> 127.0.0.1:54321; RESUME odoo",
    "common.authenticate as 'probe': uid 2 after 3 tries in 1.5s",
    "None yet.",
    "re-point node3 at node2: streaming",
    "fence node1: exit 0 in 31 ms",
    "could not start '/opt/fence': No such file or directory",
    "postgresql://cockpit@127.0.0.1:54320/postgres?passfile=%2Ftmp%2Fpgpass",
    "stage 2 Old primary: PASSED: no other node is writable or reachable for writes",
    "keeping node2 fences node1: node1 holds only its own restart checkpoint (96 B of WAL after node2 took over "
    "at 0/3000A0 on timeline 2, no transaction): no committed row is lost",
    "- Approved by: not approved",
    "primary_conninfo = 'host=127.0.0.1 port=23132 user=postgres application_name=node1'",   # lab output
]


@pytest.mark.parametrize("text", SEEN_BY_A_USER + OTHER_REPRS)
def test_a_repr_is_caught(text):
    assert repr_fragments(text), text


@pytest.mark.parametrize("text", SENTENCES)
def test_a_sentence_passes(text):
    assert repr_fragments(text) == [], text


def test_each_fragment_says_what_and_where():
    found = reprs_in([("notification of fence", SEEN_BY_A_USER[3])])
    assert found and all(line.startswith("notification of fence: ") for line in found)
    assert any("a model's repr" in line and "CommandResult(name=" in line for line in found)
    assert reprs_in([("x", "all fine")]) == []


def test_strings_in_walks_a_journal_events_data():
    data = {"check": "targets", "passed": False, "targets": {"pgbouncer:pgb1": "cannot reach"},
            "lines": ["node1 unreachable", {"deep": "text"}], "ms": 3.5}
    assert sorted(strings_in(data)) == ["cannot reach", "node1 unreachable", "targets", "text"]
