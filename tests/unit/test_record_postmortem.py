"""The record read as a postmortem author reads it: the summary, approvals in their decision's block, the
data risk stated once, action items and status updates, the stage once closed, verification lines, times
in the incident's zone, and ``record DIR --json``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from checks.config.redact import remember_secret
from checks.incident.journal import Journal
from checks.incident.record import render_record, render_record_from
from checks.incident.record_json import TOP_KEYS, record_document
from checks.incident.record_time import UTC_ZONE, named_zone, zone_for
from tests.unit.test_record import BRUSSELS, FOLLOW_UP, RISK, RISK_DUMP, at, basic_incident, ev

ROOT = Path(__file__).resolve().parents[2]


def brussels() -> str:
    return render_record_from(*basic_incident(), zone=BRUSSELS)


def section(text: str, title: str) -> str:
    return text.split(f"## {title}\n\n", 1)[1].split("\n## ", 1)[0]


def test_the_summary_says_what_failed_who_decided_when_odoo_wrote_again_rto_rpo_and_what_is_left():
    text = brussels()
    assert text.split("\n\n")[1] == (
        "node1 failed (first bad signal at 08:09:30 UTC / 09:09:30 CET), node2 was promoted at 08:11:31 UTC / "
        "09:11:31 CET and Odoo wrote again at 08:12:35 UTC / 09:12:35 CET. RTO 3m05s; RPO at least 1.5 kB plus an "
        "unknown window. Closed at 08:13:00 UTC / 09:13:00 CET by alice; 3 action items open.")
    summary = section(text, "Summary")
    assert "- What failed: node1, the primary: unreachable when the candidate was chosen (sampled 08:11:05 UTC" in summary
    assert "- First bad signal: 08:09:30 UTC / 09:09:30 CET: node1 unreachable: connection refused\n" in summary
    assert ("  - 08:11:10 UTC / 09:11:10 CET: alice: candidate node2; approved by carol at 08:11:20 UTC / 09:11:20 "
            "CET, from the approver seat, 10s after the decision\n") in summary
    assert "  - 08:11:27 UTC / 09:11:27 CET: carol attests node1 is down: host powered off" in summary
    assert "- Odoo wrote again: 08:12:35 UTC / 09:12:35 CET (the write probe: draft sale.order created" in summary
    assert ("- RTO: 3m05s (185 s), from the first bad signal at 08:09:30 UTC / 09:09:30 CET to the Odoo write probe "
            "passing at 08:12:35 UTC / 09:12:35 CET\n") in summary
    assert ("- RPO: at least 1.5 kB (1536 bytes) of WAL, plus what node1 committed after its last sample at "
            "08:09:29 UTC / 09:09:29 CET, which no sample saw; 2.0s of committed work at risk in all\n") in summary
    assert "- Action items: 1 open follow-up at the close, 2 TODOs (listed at the end)" in summary


def test_a_measured_rpo_and_an_unknown_one_are_said_as_such():
    meta, events, samples, now = basic_incident()
    measured = ev(60, "08:30:00.000000", "operator", "alice", "evidence", "RPO measured on node1", check="rpo_measured",
                  node="node1", measured=True, commits=3, lost_bytes=1234, first_commit_at="T1", last_commit_at="T2",
                  statement="node1 holds 1.2 kB past the fork")
    summary = section(render_record_from(meta, [*events, measured], samples, now), "Summary")
    assert "- RPO: MEASURED on node1 before its rewind: lost: 3 transactions, 1.2 kB, between T1 and T2\n" in summary
    unknown = "promoting node2 loses an unknown amount of committed work: this cockpit never saw the primary's WAL position"
    decision = ev(10, "08:11:10.000000", "operator", "root", "decision", f"candidate node2: {unknown}", stage=1,
                  candidate="node2", data_risk={"candidate": "node2", "kind": "unknown", "statement": unknown,
                                                "within_slo": False})
    text = render_record_from(meta, [decision], [], now)
    assert "- RPO: unknown: this cockpit never saw the primary's WAL position\n" in text
    assert ("- Approved by: nobody yet: the data risk is above the SLO or unknown, so promotion waits for an "
            "approver\n") in section(text, "Decisions")
    within = decision.model_copy(update={"data": {**decision.data, "data_risk": {**RISK_DUMP, "within_slo": True}}})
    assert "- Approved by: no approval needed: the data risk is within the SLO\n" in render_record_from(meta, [within], [], now)


def test_a_planned_switchover_is_no_failure():
    meta, events, samples, now = basic_incident()
    planned = {**RISK_DUMP, "kind": "at_least", "basis": "pending-fence", "pending_fence": True, "within_slo": True,
               "statement": "node1 is still writable (a planned switchover): stage 2 pauses PgBouncer first"}
    events = [e.model_copy(update={"data": {**e.data, "data_risk": planned}}) if e.id in (10, 17) else e
              for e in events]
    text = render_record_from(meta, events, samples, now)
    assert text.split("\n\n")[1].startswith("In a planned switchover from node1, node2 was promoted at 08:11:31 UTC "
                                            "and Odoo wrote again at 08:12:35 UTC.")
    assert "- What failed: nothing: a planned switchover from node1 (still writable when the candidate was chosen)" in text


def test_each_decision_shows_its_approval_in_its_own_block():
    decisions = section(brussels(), "Decisions")
    assert "not approved" not in decisions
    assert decisions.split("### ")[1].startswith("08:10:04 UTC / 09:10:04 CET decision: evaluation: alice decided "
                                                 "to fail over; signals firing: primary_unreachable")
    block = decisions.split("### ")[2]
    assert block.startswith("08:11:10 UTC / 09:11:10 CET decision: candidate node2: the data risk stated in the summary")
    assert ("- Approved by: carol at 08:11:20 UTC / 09:11:20 CET, from the approver seat, 10s after the decision\n"
            "  - carol approves promoting node2: the data risk stated in the summary\n") in block
    assert [b.split("\n")[0].split(" CET ")[1] for b in decisions.split("### ")[2:]] == [
        "decision: candidate node2: the data risk stated in the summary",
        "decision: fail over now rather than wait for the hosting provider",
        "attestation: carol attests node1 is down: host powered off, confirmed by the hosting provider"]
    # a drill's approval is entered by its operator for the approver it names; a failback approved before the decision
    meta, events, samples, now = basic_incident()
    drill = [ev(1, "08:00:00.000000", "operator", "root", "decision", "candidate node2", stage=1, candidate="node2",
                proposed_by="root", data_risk=RISK_DUMP),
             ev(2, "08:00:00.004000", "operator", "root", "approval", "alice approves promoting node2", stage=1,
                candidate="node2", approved_by="alice"),
             ev(3, "08:20:00.000000", "approver", "carol", "approval", "carol approves the failback to node1: x",
                failback_to="node1", approved_by="carol"),
             ev(4, "08:20:05.000000", "operator", "root", "decision", "rollback: node1 is the authoritative node; x",
                rollback=True, authoritative="node1", proposed_by="root", approved_by="carol")]
    decisions = section(render_record_from(meta, drill, [], now), "Decisions")
    assert "- Approved by: alice at 08:00:00 UTC, entered by root from the operator seat\n" in decisions
    assert "- Approved by: carol at 08:20:00 UTC, from the approver seat\n  - carol approves the failback" in decisions
    assert decisions.count("### ") == 2                                  # each approval in its decision's block


def test_the_data_risk_statement_is_stated_once_then_referred_to():
    text = brussels()
    assert text.count(RISK) == 1 and f"- Data risk: {RISK}\n" in section(text, "Summary")
    assert text.count("the data risk stated in the summary") >= 6
    meta, events, samples, now = basic_incident()
    better = RISK.replace("at least 1.5 kB", "at least 512 B")
    recheck = ev(17, "08:11:30.500000", "operator", "alice", "evidence", f"re-check before promotion: {better}",
                 stage=3, check="pre_promote", data_risk={**RISK_DUMP, "bytes": 512, "statement": better})
    text = render_record_from(meta, [recheck if e.id == 17 else e for e in events], samples, now)
    assert text.count(RISK) == 1 and text.count(better) == 1
    assert f"- Data risk: {better}\n- Data risk stated earlier:\n  - decided at 08:11:10 UTC: {RISK}\n" in text
    assert "candidate node2: the data risk decided at 08:11:10 UTC, stated in the summary" in text


def test_action_items_gather_todos_and_open_follow_ups_and_status_updates_are_gathered():
    text = brussels()
    assert section(text, "Action items").splitlines() == [
        "- [ ] alert on replay delay over 30s (TODO by bob, scribe seat, at 08:12:40 UTC / 09:12:40 CET)",
        "- [ ] write the postmortem by Friday (TODO by bob, scribe seat, at 08:14:10 UTC / 09:14:10 CET)",
        f"- [ ] {FOLLOW_UP} (open follow-up at the close, 08:13:00 UTC / 09:13:00 CET)"]
    assert section(text, "Status updates").splitlines() == [
        "- 08:10:03 UTC / 09:10:03 CET alice (operator seat): first bad signal: node1 unreachable: connection refused",
        "- 08:10:30 UTC / 09:10:30 CET bob (scribe seat): status update posted to #incident",
        "- 08:12:15 UTC / 09:12:15 CET bob (scribe seat): Odoo login still failing; retrying verification"]


def test_the_stage_line_says_closed_once_closed_and_a_reopen_is_said():
    meta, events, samples, now = basic_incident()
    summary = section(brussels(), "Summary")
    assert "- Stage: closed at 08:13:00 UTC / 09:13:00 CET\n" in summary and summary.count("- Stage:") == 1
    assert "Close (since" not in brussels()
    passed = render_record_from(meta, [e for e in events if e.kind != "close"], samples, now)
    assert "- Stage: every stage passed at 08:12:50 UTC; not closed yet\n" in passed
    reopen = ev(70, "08:30:00.000000", "operator", "alice", "system", "incident reopened by alice", reopen=True)
    reopened = render_record_from(meta, [*events, reopen], samples, now)
    assert "- Status: open: reopened at 2026-12-01 08:30:00 UTC by alice, after the close at 08:13:00 UTC\n" in reopened
    assert "- Reopened at 08:30:00 UTC by alice: only what is verified since counts" in reopened


def test_verification_lines_say_their_label_once():
    lines = section(brussels(), "Verification").splitlines()
    assert lines[1] == "- 08:12:10 UTC / 09:12:10 CET odoo_login: FAIL: timed out after 5s"
    assert lines[3] == ("- 08:12:30 UTC / 09:12:30 CET odoo_login: pass: common.authenticate as 'failover-probe': "
                        "uid 2")
    assert not any(line.count("odoo_login") > 1 or line.count("pass") > 1 for line in lines)
    legacy = ev(1, "08:00:00.000000", "operator", "alice", "evidence", "Odoo login as probe", passed=True, stage=5)
    assert "- 08:00:00 UTC pass: Odoo login as probe" in render_record_from({}, [legacy], [], at("08:01:00.000000"))


def test_times_are_utc_and_the_incidents_zone_to_the_second_and_full_precision_in_the_timeline(tmp_path):
    text = brussels()
    assert "- Times: UTC, and local time in Europe/Brussels (the config's timezone)\n" in text
    assert "- 2026-12-01T08:10:01.100000Z / 09:10:01 CET [operator alice] role:" in text
    prose = section(text, "Summary").replace(RISK, "") + section(text, "Roles") + section(text, "Decisions")
    assert "000Z" not in prose                     # to the second (the runbook's own risk sentence aside)
    meta, events, samples, now = basic_incident()
    summer = named_zone("Europe/Brussels")
    late = ev(1, "22:30:00.250000", "scribe", "bob", "note", "late")
    june = late.model_copy(update={"at": late.at.replace(month=6)})
    assert "2026-06-01T22:30:00.250000Z / 2026-06-02 00:30:00 CEST [scribe bob] note: late" in render_record_from(
        {}, [june], [], now, summer)
    # the zone: journal meta, else the config the meta names, else this machine's, said once
    config = tmp_path / "clusters.toml"
    config.write_text('[clusters.main]\ntimezone = "Asia/Tokyo"\n')
    assert zone_for({"timezone": "Europe/Brussels", "config": str(config), "cluster": "main"}).name == "Europe/Brussels"
    assert zone_for({"config": str(config), "cluster": "main"}).describe() == \
        "UTC, and local time in Asia/Tokyo (the config's timezone)"
    gone = zone_for({"config": str(tmp_path / "gone.toml"), "cluster": "main"})
    assert gone.note == (f"the config {tmp_path / 'gone.toml'} cannot be read (no such file or directory), so local "
                         "times are this machine's and may not be the bastion's")
    text = render_record_from({**meta, "config": str(tmp_path / "gone.toml")}, events, samples, now, gone)
    assert text.count("cannot be read") == 1 and text.count("gone.toml") == 2     # said once; the Config line
    config.write_text('[clusters.main]\ntimezone = "Mars/Olympus"\n')
    assert "is not a time zone name" in zone_for({"config": str(config), "cluster": "main"}).note
    assert zone_for({"timezone": "Not/AZone"}).source.startswith("this machine's local zone")
    assert UTC_ZONE.clock(at("08:00:00.900000")) == "08:00:00 UTC"


def _journal_with_a_planted_password(tmp_path) -> Path:
    planted = "Planted-Json-S3cret"
    remember_secret(planted)
    meta, events, samples, _ = basic_incident()
    with Journal.create(tmp_path / "inc", incident_id="inc-json", cluster="main") as journal:
        journal.set_meta("timezone", "Europe/Brussels")
        journal.set_meta("timezone_from", "the config's timezone")
        for s in samples:
            journal.record_sample(s, force=True)
        for e in events:
            data = {**e.data, "output": f"password={planted}"} if e.kind == "action" else e.data
            journal.append(e.kind, e.text, seat=e.seat, author=e.author, stage=e.stage, data=data)
        journal.append("note", f"the admin password is {planted}", seat="scribe", author="bob")
    return tmp_path / "inc"


def test_record_json_is_one_document_with_the_same_content_and_no_secret(tmp_path):
    incident = _journal_with_a_planted_password(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "cli", "record", str(incident), "--json"], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert "Planted-Json-S3cret" not in proc.stdout and "*****" in proc.stdout
    doc = json.loads(proc.stdout)
    assert tuple(doc) == TOP_KEYS
    assert doc["incident"]["id"] == "inc-json" and doc["incident"]["status"] == "closed"
    assert doc["timezone"] == {"name": "Europe/Brussels", "source": "the config's timezone", "note": None}
    summary = doc["summary"]
    assert summary["rto"]["seconds"] == 185.0 and summary["rto"]["from_at"] == "2026-12-01T08:09:30.000000Z"
    assert summary["rpo"]["basis"] == "lower_bound" and summary["rpo"]["bytes"] == 1536
    probe = next(e for e in doc["timeline"] if e["text"].startswith("write_probe: pass"))
    assert summary["odoo_wrote_again_at"] == probe["at"] and summary["promoted"]["node"] == "node2"
    assert summary["what_failed"]["node"] == "node1" and summary["data_risk"][0]["statement"] == RISK
    assert summary["stage"]["state"] == "closed"
    [evaluated] = doc["evaluation"]
    assert (evaluated["decision"], evaluated["by"], evaluated["stands"]) == ("fail_over", "alice", True)
    assert [s["name"] for s in evaluated["signals"]] == ["primary_unreachable"]
    assert [s["node"] for s in evaluated["standbys"]] == ["node2", "node3"]
    assert doc["decisions"][0]["stage"] == 0 and doc["decisions"][0]["text"].startswith("evaluation: alice decided")
    first = doc["decisions"][1]
    assert first["candidate"] == "node2" and first["data_risk"]["statement"] == RISK
    assert [(a["by"], a["seat"]) for a in first["approvals"]] == [("carol", "approver")]
    assert [d["kind"] for d in doc["decisions"]] == ["decision", "decision", "decision", "attestation"]
    assert first["node_states"][0]["node"] == "node1" and first["node_states"][0]["reachable"] is False
    assert [v["check"] for v in doc["verification"]][:2] == ["new_primary_writable", "odoo_login"]
    assert doc["verification"][1]["detail"] == "timed out after 5s"
    assert doc["commands"][0]["argv"] == ["systemctl", "stop", "odoo-cron.service"]
    assert doc["close_out"]["stage_seconds"]["0"] == 54.0 and doc["close_out"]["figures"]["verified"] is True
    assert [i["kind"] for i in doc["action_items"]] == ["todo", "todo", "follow_up"]
    assert len(doc["timeline"]) == len(basic_incident()[1]) + 1 and doc["roles"]["approver"]["name"] == "carol"
    assert [u["text"] for u in doc["status_updates"]][1] == "status update posted to #incident"
    with Journal.open(incident) as journal:                        # the markdown says the same, in its words
        text = render_record(journal)
    assert summary["headline"] in text and summary["rpo"]["words"] in text


def test_record_json_of_an_empty_incident_and_a_missing_directory(tmp_path):
    doc = record_document({"incident_id": "i", "cluster": "c"}, [], [], at("08:00:00.000000"))
    assert tuple(doc) == TOP_KEYS and doc["decisions"] == [] and doc["close_out"] is None
    assert doc["summary"]["rpo"]["basis"] == "not_assessed" and doc["summary"]["stage"]["state"] == "not_started"
    proc = subprocess.run([sys.executable, "-m", "cli", "record", str(tmp_path / "nope"), "--json"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 1 and proc.stdout == "" and len(proc.stderr.splitlines()) == 1
    assert "Traceback" not in proc.stderr and "is not an incident directory" in proc.stderr


def test_a_seat_writes_the_configs_zone_into_the_journal_and_the_record_shows_it(tmp_path):
    from checks.config.model import load_config
    from checks.runbook.session import Session

    name, cluster = load_config(ROOT / "sample-clusters.toml").cluster(None)
    session = Session(name, cluster.model_copy(update={"timezone": "Europe/Brussels"}), tmp_path / "inc",
                      seat="scribe", name="sam")
    try:
        session.note("note", "the provider says the host is powered off")
    finally:
        session.close()
    with Journal.open(tmp_path / "inc") as journal:
        assert (journal.meta["timezone"], journal.meta["timezone_from"]) == ("Europe/Brussels", "the config's timezone")
    record = (tmp_path / "inc" / "record.md").read_text()
    assert "- Times: UTC, and local time in Europe/Brussels (the config's timezone)\n" in record
    assert re.search(r"Z / \d\d:\d\d:\d\d CES?T \[scribe sam\] note: the provider says", record)   # CEST in summer
