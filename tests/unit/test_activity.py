"""The activity view's domain (checks/observe/activity.py): hostile query texts, the row it parses, its sentences.

No database here (tests/lab/test_activity_lab.py asks real nodes); the unreachable cases use real sockets.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from datetime import datetime, timezone

import pytest

from checks.config.model import Node, Sampling
from checks.config.redact import MASK, remember_secret
from checks.observe.activity import (
    clean_query, clean_word, mask_passwords, odoo_verdict, parse_activity, sample_activity, straggler_sentence,
    summary_sentence, unanswered
)
from tests.repr_check import repr_fragments

T0 = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("query, kept, secret", [
    ("ALTER ROLE odoo PASSWORD 'hunter2'", "ALTER ROLE odoo PASSWORD '*****'", "hunter2"),
    ("alter role odoo with encrypted password 'md5abc'", "alter role odoo with encrypted password '*****'", "md5abc"),
    ("CREATE ROLE x LOGIN PASSWORD 'it''s; a secret' VALID UNTIL 'infinity'", "CREATE ROLE x LOGIN PASSWORD '*****'",
     "a secret"),
    ("ALTER ROLE x PASSWORD E'esc\\'aped'", "ALTER ROLE x PASSWORD '*****'", "aped"),
    ("ALTER ROLE x PASSWORD $pw$dollar quoted$pw$", "ALTER ROLE x PASSWORD '*****'", "dollar"),
    ("SELECT 'ALTER ROLE x PASSWORD ''nested'''", "SELECT 'ALTER ROLE x PASSWORD '*****'", "nested"),
    ("ALTER ROLE x PASSWORD 'cut off by track_activity_qu", "ALTER ROLE x PASSWORD '*****'", "cut off"),
    ("UPDATE res_users SET password_crypt='$pbkdf2-sha512$25000$abc' WHERE id = 2",
     "UPDATE res_users SET password_crypt='*****'", "pbkdf2"),
    ("CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'a', password 'zz9')",
     "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'a', password '*****'", "zz9"),
    ("ALTER ROLE x\nPASSWORD 'second-line-secret'", "ALTER ROLE x …", "second-line-secret"),
])
def test_a_password_literal_and_what_follows_it_is_masked(query, kept, secret):
    assert clean_query(query) == kept
    assert secret not in clean_query(query)


def test_what_is_no_password_literal_is_left_alone():
    for query in ("SELECT password FROM res_users WHERE id = $1", 'SELECT "password" FROM t', "ALTER ROLE x PASSWORD NULL"):
        assert mask_passwords(query) == query


def test_redaction_covers_registered_secrets_uris_and_key_values():
    remember_secret("s3cret-from-env-7781")
    text = clean_query("SELECT dblink('postgresql://u:pw123@h/db', 'x') -- s3cret-from-env-7781 password=plain1")
    assert "pw123" not in text and "s3cret-from-env-7781" not in text and "plain1" not in text
    assert text.count(MASK) == 3


def test_control_characters_are_escaped_and_the_first_line_kept():
    assert clean_query("\x1b]0;owned\x07SELECT 1") == "\\x1b]0;owned\\x07SELECT 1"
    assert clean_query("\n\n  SELECT   a,\n  b FROM t") == "SELECT a, …"
    assert clean_query("SELECT 1") == "SELECT 1"
    assert clean_word("od\x1b[2Joo\u202e") == "od\\x1b[2Joo\\u202e"
    assert clean_word("line\nbreak") == "line\\x0abreak"
    long = clean_query("SELECT " + "x" * 500)
    assert len(long) == 200 and long.endswith("…")
    assert clean_query("<insufficient privilege>") == "(not visible to the cockpit's role)"


def row(**over) -> dict:
    base = {
        "in_recovery": False, "sessions": 5, "hidden_queries": 0,
        "states": json.dumps({"idle": 3, "active": 1, "idle in transaction": 1}),
        "groups": json.dumps([{"application_name": "odoo", "state": "idle", "sessions": 3},
                              {"application_name": "odoo", "state": "active", "sessions": 1},
                              {"application_name": "psql\x1b[2J", "state": "idle in transaction", "sessions": 1}]),
        "longest": json.dumps([{"pid": 4242, "usename": "ops", "application_name": "psql", "state": "idle in transaction",
                                "client_addr": None, "xact_age_s": 125.2, "query_age_s": 100.0,
                                "query": "ALTER ROLE odoo PASSWORD 'hunter2-xyz'"}]),
        "waiting_sessions": 1,
        "waiting": json.dumps([{"pid": 4250, "usename": "odoo", "application_name": "odoo", "state": "active",
                                "wait_event_type": "Lock", "wait_event": "transactionid", "wait_age_s": 12.5,
                                "blocked_by": [4242, 77],
                                "blockers": [{"pid": 4242, "usename": "ops", "application_name": "psql",
                                              "state": "idle in transaction", "backend_type": "client backend"},
                                             {"pid": 77, "backend_type": "startup"}],
                                "query": "UPDATE sale_order SET state = 'sale' WHERE id = 7"}]),
        "odoo_sessions": 4,
        "odoo": json.dumps([{"pid": 4250, "client_addr": "10.0.0.5", "state": "active", "backend_age_s": 3600.0,
                             "datname": "odoo", "query": "UPDATE sale_order SET state = 'sale' WHERE id = 7"}]),
    }
    return base | over


def test_the_row_parses_into_safe_fields():
    activity = parse_activity("node1", row(), observed_at=T0, latency_ms=3.2)
    assert activity.reachable and activity.sessions == 5 and activity.states["idle"] == 3
    assert [g.application for g in activity.groups][-1] == "psql\\x1b[2J"
    top = activity.longest[0]
    assert top.pid == 4242 and top.client == "local" and top.query == "ALTER ROLE odoo PASSWORD '*****'"
    assert "hunter2-xyz" not in activity.model_dump_json()
    wait = activity.waiting[0]
    assert wait.wait_event == "Lock: transactionid" and wait.blocked_by == (4242, 77)
    assert wait.blocked_by_text() == "4242 (psql, idle in transaction), 77 (startup)"
    assert activity.odoo[0].client == "10.0.0.5" and activity.odoo_sessions == 4


def test_the_summary_is_one_sentence():
    activity = parse_activity("node1", row(), observed_at=T0, latency_ms=3.2)
    text = summary_sentence(activity)
    assert text == ("node1 (writable) answered in 3 ms: 5 client sessions (3 idle, 1 active, 1 idle in transaction), "
                    "1 waiting on a lock; the longest transaction has run 2m05s (pid 4242, psql, idle in transaction).")
    hidden = summary_sentence(parse_activity("node2", row(in_recovery=True, hidden_queries=2), observed_at=T0))
    assert hidden.startswith("node2 (in recovery) answered:")
    assert hidden.endswith("The query text of 2 sessions is hidden from the cockpit's role: grant it pg_monitor to see them.")
    empty = parse_activity("node3", row(sessions=0, states="{}", groups="[]", longest="[]", waiting_sessions=0,
                                        waiting="[]", odoo_sessions=0, odoo="[]"), observed_at=T0)
    assert summary_sentence(empty) == "node3 (writable) answered: no client session but the cockpit's own."
    for sentence in (text, hidden, summary_sentence(empty)):
        assert not repr_fragments(sentence), sentence


def test_odoo_sessions_on_a_standby_are_stragglers():
    standby = parse_activity("node2", row(in_recovery=True), observed_at=T0)
    verdict = odoo_verdict(standby, role="standby", writable=("node1",))
    assert verdict.stragglers
    assert verdict.sentence.startswith("4 Odoo sessions on node2, a standby: stragglers. Odoo must reach only "
                                       "the writer (node1);")
    assert straggler_sentence(standby, role="standby", writable=("node1",)) == verdict.sentence
    none = parse_activity("node2", row(in_recovery=True, odoo_sessions=0, odoo="[]"), observed_at=T0)
    assert odoo_verdict(none, writable=("node1",)).sentence == "No Odoo session on node2: as it should be on a standby."
    assert straggler_sentence(none, writable=("node1",)) is None


def test_odoo_sessions_on_the_writer_are_where_they_belong():
    writer = parse_activity("node1", row(), observed_at=T0)
    verdict = odoo_verdict(writer, role="primary", writable=("node1",))
    assert not verdict.stragglers and verdict.sentence == "4 Odoo sessions on node1, the writer: where Odoo should be."
    # the node's own answer is fresher than the last round: just promoted, the round still saw it a standby
    assert not odoo_verdict(writer, role="standby", writable=()).stragglers
    alone = parse_activity("node1", row(odoo_sessions=0, odoo="[]"), observed_at=T0)
    assert odoo_verdict(alone, writable=("node1",)).sentence.startswith(
        "No Odoo session on node1, the writer: Odoo is not connected to it")


def test_odoo_sessions_on_a_second_writer_are_stragglers_of_a_split_brain():
    old = parse_activity("node1", row(odoo_sessions=1), observed_at=T0)
    verdict = odoo_verdict(old, role="primary", writable=("node1", "node2"))
    assert verdict.stragglers
    assert verdict.sentence == ("1 Odoo session on node1, one of 2 writable nodes (node1, node2): a split brain. "
                                "Unless node1 is the writer kept, they are stragglers writing to the wrong primary.")


def test_a_node_that_did_not_answer_is_a_sentence():
    remember_secret("pw-in-error-5521")
    down = unanswered("node3", "node3: [Errno 111] Connect call failed ('127.0.0.1', 5434) pw-in-error-5521",
                      observed_at=T0)
    assert down.error == f"node3 did not answer the activity query (refused): [Errno 111] Connect call failed " \
                         f"127.0.0.1:5434 {MASK}."
    assert summary_sentence(down) == down.error and odoo_verdict(down) is None
    assert not repr_fragments(down.error)
    assert unanswered("node3", "", observed_at=T0).error == "node3 did not answer the activity query (timeout): no answer."


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sample_activity_of_a_refused_port_never_raises():
    node = Node(name="gone", dsn=f"postgresql://cockpit@127.0.0.1:{_closed_port()}/postgres")
    activity = asyncio.run(sample_activity(node, Sampling()))
    assert not activity.reachable
    assert activity.error.startswith("gone did not answer the activity query (refused): ")
    assert not repr_fragments(activity.error) and "Traceback" not in activity.error


def test_sample_activity_of_a_silent_server_gives_up_within_its_budget():
    with socket.socket() as server:                 # accepts, never says a word: a hung server
        server.bind(("127.0.0.1", 0))
        server.listen()
        node = Node(name="hung", dsn=f"postgresql://cockpit@127.0.0.1:{server.getsockname()[1]}/postgres")
        sampling = Sampling(connect_timeout_s=0.5, statement_timeout_s=0.5)
        started = time.monotonic()
        activity = asyncio.run(sample_activity(node, sampling))
    assert time.monotonic() - started < sampling.connect_timeout_s + 1.5
    assert activity.error.startswith("hung did not answer the activity query (timeout): ")
