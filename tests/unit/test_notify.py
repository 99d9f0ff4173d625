"""The notify hook, with real hook processes and a real incident journal: what it receives (masked),
a hook that hangs and one that fails are alarms in the journal, and the runbook never waits for it."""

from __future__ import annotations

import json
import sys
import time

from checks.config.model import Cluster
from checks.config.redact import remember_secret
from checks.incident.journal import Journal
from checks.runbook.session import Session

RECORDER = "import sys, pathlib; pathlib.Path(sys.argv[1]).open('a').write(sys.stdin.read() + '\\n')"


def cluster(command: list[str], on=("decision", "close", "alarm"), timeout_s: float = 5.0) -> Cluster:
    return Cluster.model_validate({
        "nodes": [{"name": "n1", "dsn": "postgresql://u@127.0.0.1:1/postgres"}],
        "approvers": ["alice"],
        "notify": {"command": command, "on": list(on), "timeout_s": timeout_s},
    })


def wait_for(condition, what: str, timeout_s: float = 20.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def entries(incident, kind: str | None = None):
    with Journal.open(incident) as journal:
        return journal.events(kinds={kind} if kind else None)


def test_the_hook_receives_each_entry_of_its_kinds_as_json_with_secrets_masked(tmp_path):
    got = tmp_path / "got.jsonl"
    remember_secret("Notify-S3cret-9")
    session = Session("main", cluster([sys.executable, "-c", RECORDER, str(got)]), tmp_path / "inc",
                      seat="operator", name="olga")
    try:
        session.note("note", "not a kind the hook hears")
        session.note("decision", "fail over now: the password Notify-S3cret-9 leaked into a sentence")
        wait_for(lambda: got.exists() and got.read_text().strip(), "the hook's document")
    finally:
        session.close()
    [doc] = [json.loads(line) for line in got.read_text().splitlines() if line.strip()]
    assert set(doc) == {"incident", "cluster", "kind", "text", "time", "seat", "author", "stage"}
    assert (doc["incident"], doc["cluster"], doc["kind"], doc["seat"], doc["author"]) == ("inc", "main", "decision",
                                                                                         "operator", "olga")
    assert "Notify-S3cret-9" not in doc["text"] and "*****" in doc["text"]
    [ran] = [e for e in entries(tmp_path / "inc", "system") if e.data.get("notify_hook")]
    assert ran.text.startswith("the notify hook (") and ": exit 0 in " in ran.text
    assert ran.data["exit_code"] == 0 and ran.data["kind"] == "decision"


def test_a_hook_that_hangs_is_killed_and_an_alarm_and_the_runbook_did_not_wait(tmp_path):
    session = Session("main", cluster(["sleep", "30"], timeout_s=1.0), tmp_path / "inc", seat="operator", name="olga")
    try:
        session.note("decision", "fail over")
        after = session.note("note", "journaled while the hook still runs")
        alarm = wait_for(lambda: [e for e in entries(tmp_path / "inc", "alarm") if e.data.get("notify_hook")],
                         "the hook's alarm")[0]
    finally:
        session.close()
    assert after.id < alarm.id, "the entry after the decision waited for the hook"
    assert alarm.text.endswith("failed: killed after its 1s timeout; the team was not told of it: tell them yourself")
    assert alarm.data["exit_code"] is None


def test_a_hook_that_fails_is_an_alarm_with_its_words_and_is_never_notified_again(tmp_path):
    got = tmp_path / "calls"
    failing = ["sh", "-c", f"echo x >> {got}; echo 'webhook answered 500' >&2; exit 3"]
    session = Session("main", cluster(failing), tmp_path / "inc", seat="operator", name="olga")
    try:
        session.note("decision", "fail over")
        wait_for(lambda: [e for e in entries(tmp_path / "inc", "alarm") if e.data.get("notify_hook")], "the alarm")
        time.sleep(0.5)                           # an alarm about the hook, notified, would call it again
    finally:
        session.close()
    [alarm] = [e for e in entries(tmp_path / "inc", "alarm") if e.data.get("notify_hook")]
    assert "failed with exit 3 (webhook answered 500)" in alarm.text
    assert got.read_text().count("x") == 1, "the hook's own alarm was notified (a loop)"


def test_a_hook_that_cannot_start_is_an_alarm(tmp_path):
    session = Session("main", cluster(["/nonexistent/hook"]), tmp_path / "inc", seat="operator", name="olga")
    try:
        session.note("decision", "fail over")
        [alarm] = wait_for(lambda: [e for e in entries(tmp_path / "inc", "alarm") if e.data.get("notify_hook")],
                           "the alarm")
    finally:
        session.close()
    assert "could not start /nonexistent/hook: No such file or directory" in alarm.text
