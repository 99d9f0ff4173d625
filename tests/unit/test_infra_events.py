"""The infrastructure_event signal's source (checks.observe.infra_events), run on real commands.

Each command is a small script written to tmp_path and run with this Python: good output, a line
that is not JSON, a non-zero exit, a command that outlives its timeout (it and its child are
killed), a command that cannot be started, too much output, hostile text. No mocks.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from checks.config.model import Infrastructure
from checks.config.redact import MASK, remember_secret
from checks.observe.infra_events import OUTPUT_MAX, TEXT_MAX, InfraReport, parse_at, run_infrastructure


def script(tmp_path: Path, body: str, name: str = "infra.py") -> list[str]:
    path = tmp_path / name
    path.write_text("import json, os, subprocess, sys, time\n" + body, encoding="utf-8")
    return [sys.executable, str(path)]


async def run(argv: list[str], timeout_s: float = 10.0) -> InfraReport:
    return await run_infrastructure(Infrastructure(command=argv, timeout_s=timeout_s))


def is_sentence(text: str) -> bool:
    return bool(text) and "Errno" not in text and "Traceback" not in text and "\n" not in text \
        and not text.startswith(("(", "[", "{"))


def gone(pid: int) -> bool:
    """The process no longer runs: no such pid, or a zombie its new parent has not reaped yet
    (pid 1 here may be no init that reaps orphans)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


async def test_good_output(tmp_path):
    argv = script(tmp_path, """
print(json.dumps({"at": "2026-12-01T08:12:21Z", "node": "node1", "text": "host hardware failure"}))
print(json.dumps({"at": "2026-12-01T09:12:21+01:00", "text": "storage degraded"}))
print()
print(json.dumps({"at": 1764576741, "node": "node2", "text": "network loss"}))
print(json.dumps({"at": 1764576741500, "text": "epoch milliseconds"}))
print(json.dumps({"text": "no time given"}))
""")
    before = datetime.now(timezone.utc)
    report = await run(argv)
    after = datetime.now(timezone.utc)
    assert report.exit_code == 0 and report.warnings == () and report.ok
    assert [e.text for e in report.events] == ["host hardware failure", "storage degraded", "network loss",
                                              "epoch milliseconds", "no time given"]
    assert [e.node for e in report.events] == ["node1", None, "node2", None, None]
    t = datetime(2026, 12, 1, 8, 12, 21, tzinfo=timezone.utc)
    assert report.events[0].at == t and report.events[1].at == t
    assert report.events[2].at == datetime.fromtimestamp(1764576741, timezone.utc)
    assert report.events[3].at == datetime.fromtimestamp(1764576741.5, timezone.utc)
    assert before <= report.events[4].at <= after          # missing "at": the time it was read
    assert all(e.at.tzinfo is not None and e.at.utcoffset().total_seconds() == 0 for e in report.events)
    assert before <= report.ran_at <= after and 0 < report.duration_s < 10


async def test_bad_lines_are_warnings_and_good_lines_still_count(tmp_path):
    argv = script(tmp_path, """
print(json.dumps({"node": "node1", "text": "first"}))
print("this is not json {")
print(json.dumps(["an", "array"]))
print(json.dumps({"node": "node1"}))
print(json.dumps({"text": "   "}))
print(json.dumps({"text": "bad time", "at": "yesterday"}))
print(json.dumps({"text": "last"}))
""", name="aws")
    report = await run(argv)
    assert report.exit_code == 0 and not report.ok
    assert [e.text for e in report.events] == ["first", "bad time", "last"]
    name = argv[0]
    assert report.warnings == (
        f'infrastructure command {name}: line 2 is not JSON: "this is not json {{"',
        f"infrastructure command {name}: line 3 is an array, not a JSON object",
        f'infrastructure command {name}: line 4 has no "text"',
        f'infrastructure command {name}: line 5 has an empty "text"',
        f'infrastructure command {name}: line 6 has an "at" ("yesterday") that is not an ISO 8601 time '
        "(the time it was read is used)",
    )
    assert all(is_sentence(w) for w in report.warnings)


async def test_many_bad_lines_are_bounded(tmp_path):
    report = await run(script(tmp_path, "for i in range(500): print('garbage', i)\n"))
    assert len(report.warnings) == 11 and report.warnings[-1].endswith("490 more lines had problems like these")


async def test_non_zero_exit_names_the_last_stderr_line(tmp_path):
    argv = script(tmp_path, """
print(json.dumps({"text": "printed before failing"}))
sys.stderr.write("warming up\\nAn error occurred (UnauthorizedOperation): not authorized\\n")
sys.exit(254)
""")
    report = await run(argv)
    assert report.exit_code == 254
    assert [e.text for e in report.events] == ["printed before failing"]
    assert report.warnings == (f"infrastructure command {argv[0]} exited with code 254; its last stderr line: "
                               "An error occurred (UnauthorizedOperation): not authorized",)
    silent = await run(script(tmp_path, "sys.exit(2)\n", name="silent.py"))
    assert silent.warnings == (f"infrastructure command {sys.executable} exited with code 2, and wrote nothing "
                               "to stderr",)


async def test_timeout_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "child.pid"
    argv = script(tmp_path, f"""
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open({str(pid_file)!r}, "w").write(str(child.pid))
print(json.dumps({{"text": "before the hang"}}), flush=True)
time.sleep(120)
""")
    started = time.monotonic()
    report = await run(argv, timeout_s=1.5)
    assert time.monotonic() - started < 6
    assert report.exit_code is None
    assert report.warnings == (f"infrastructure command {argv[0]} did not finish within 1.5 s: stopped",)
    assert [e.text for e in report.events] == ["before the hang"]
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while not gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(child), f"the command's child {child} still runs after the timeout"


async def test_a_command_that_cannot_be_started(tmp_path):
    missing = await run(["no-such-cli-of-the-cockpit", "describe-events"])    # a bare name: not on PATH
    assert missing.exit_code is None and missing.events == ()
    assert missing.warnings == ("infrastructure command no-such-cli-of-the-cockpit could not be started: no such "
                                "file or command",)
    not_executable = tmp_path / "plain.txt"
    not_executable.write_text("#!/bin/sh\necho hi\n")
    refused = await run([str(not_executable)])
    # the command's path is shortened on screen when it is long (pytest's tmp paths differ between machines)
    assert len(refused.warnings) == 1 and refused.warnings[0].startswith("infrastructure command /")
    assert refused.warnings[0].endswith(" could not be started: it is not executable (permission denied)")
    assert all(is_sentence(w) for w in missing.warnings + refused.warnings)


async def test_huge_output_is_bounded_and_stopped(tmp_path):
    argv = script(tmp_path, """
line = json.dumps({"text": "x" * 1000}) + "\\n"
while True:
    sys.stdout.write(line)
""")
    started = time.monotonic()
    report = await run(argv, timeout_s=30)
    assert time.monotonic() - started < 10           # stopped at the bound, not at the timeout
    assert report.exit_code is None
    assert report.warnings[0] == (f"infrastructure command {argv[0]} printed more than {OUTPUT_MAX // 1024} KiB "
                                  f"on stdout: the first {OUTPUT_MAX // 1024} KiB were read and the command was stopped")
    assert report.warnings[1].endswith("events: the first 200 are kept")
    assert len(report.events) == 200 and all(len(e.text) <= TEXT_MAX for e in report.events)
    assert not any("not JSON" in w for w in report.warnings)   # the line cut at the bound is not parsed


async def test_hostile_text_is_cleaned(tmp_path):
    remember_secret("s3cr3t-token-value")
    argv = script(tmp_path, r"""
print(json.dumps({"node": "node1\u001b[2J", "text": "disk lost \u001b]0;owned\u0007 \u202e reversed \u0000 "
                  "password=hunter2 s3cr3t-token-value" + "y" * 500}))
sys.stderr.write("fatal \u001b[31mred\u001b[0m token=abc123\n")
sys.exit(1)
""")
    report = await run(argv)
    (event,) = report.events
    for text in (event.text, event.node, *report.warnings):
        assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f or c in "\u202e\u2028" for c in text), text
    assert event.node == "node1\\x1b[2J"
    assert event.text.startswith("disk lost \\x1b]0;owned\\x07 \\u202e reversed \\x00 password=" + MASK + " " + MASK)
    assert "hunter2" not in event.text and "s3cr3t" not in event.text
    assert len(event.text) == TEXT_MAX and event.text.endswith("…")
    assert report.warnings == (f"infrastructure command {argv[0]} exited with code 1; its last stderr line: "
                               f"fatal \\x1b[31mred\\x1b[0m token={MASK}",)


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-12-01T08:12:21.250Z", datetime(2026, 12, 1, 8, 12, 21, 250000, tzinfo=timezone.utc)),
    ("2026-12-01T08:12:21", datetime(2026, 12, 1, 8, 12, 21, tzinfo=timezone.utc)),   # no zone: UTC
    ("2026-12-01T03:12:21-05:00", datetime(2026, 12, 1, 8, 12, 21, tzinfo=timezone.utc)),
    (0, datetime(1970, 1, 1, tzinfo=timezone.utc)),
])
def test_parse_at(value, expected):
    assert parse_at(value, datetime(2000, 1, 1, tzinfo=timezone.utc)) == (expected, None)


@pytest.mark.parametrize("value", [True, [1], {"a": 1}, "soon", 1e300, float("nan")])
def test_parse_at_refuses_with_a_sentence(value):
    read_at = datetime(2000, 1, 1, tzinfo=timezone.utc)
    at, problem = parse_at(value, read_at)
    assert at == read_at and problem.startswith('has an "at"') and is_sentence(problem)

