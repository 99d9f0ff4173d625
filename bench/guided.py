"""The human loop: a crash failover driven through the real cockpit in tmux at 80x24, by a script
that reads the screen and presses only what it proposes.

Both runs start the cockpit the same way (``--scribe sam --approver alice --name olga``) on a
fresh lab, wait for a live frame, crash node1, then poll the pane every 50 ms and press a key as
soon as the screen proposes one, once the previous action finished and the screen caught up:

* nothing is proposed while the checklist shows "running: …";
* after a key, a "next" proposal is pressed once it stayed ``STABLE_S`` (0.4 s) on screen: for up
  to one journal follow (0.3 s, tui/journal_feed.py) after an action ends, the checklist still
  proposes the step just done or one the action already did (the freeze after roles + freeze, the
  old primary's check after choose + check). Pressed at once, they ran the freeze twice, asked for
  the fence's and the promotion's typed names twice and cut over (restarting Odoo) twice.
  ``guided_stale_proposals`` counts those proposals.

What is pressed:

* guided: the open dialog's answer (a typed-name dialog: the name it asks for, then Enter; a
  yes/no dialog: ``y``; a prompt with a proposed default: Enter), otherwise Enter for the
  checklist's "next ⏎" proposal;
* documented (the peer): the same dialogs answered the same way, but each step by its own key, as
  the README and the lab test press them (``s``, ``w y``, ``c`` Enter, ``o``, ``x`` name Enter,
  ``p`` name Enter, ``u y``, ``v``).

A typed name counts as one key, as the issue counts it: the Enter that submits it is part of
it (``*_failover_presses`` counts every press, that Enter too). The time is from the crash
(the script's clock just before ``lab.crash``) to the journal's ``write_probe`` evidence passing.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.tmux_pane import Pane
from checks.incident.journal import Journal

SIZE = (80, 24)
POLL_S = 0.05
STABLE_S = 0.4      # after a key, a "next" proposal is pressed once it stayed this long (the module's docstring)
SETTLE_S = 2.0      # the proposal just answered, still shown this long, may be pressed again (and counted)
ROLES = ("--scribe", "sam", "--approver", "alice", "--name", "olga")

TYPED = re.compile(r"Type (\S+) to confirm:")
BUSY = re.compile(r"running: \S")
# the checklist's proposal: "⏎ s  set roles" (Enter runs that key's step), "⏎  fence node1" (no key
# of its own), or the older "⏎ s w k  next: set roles · …"; the footer's "⏎ Next" is outside the box
NEXT = re.compile(r"⏎(?: \S)?(?: [^│]*?next:)?\s+([^│·…]+?)(?:\s{2,}|…|·|$)")
STAGE = re.compile(r"Runbook · (?:stage (\d)|every stage passed)")
INPUT_BOX = "▊▔"
# the documented key of each step, by the start of the checklist's "next:" label (cut at 80 columns)
DOCUMENTED = (("evaluate", "g"), ("set roles", "s"), ("freeze", "w"), ("choose", "c"), ("check old", "o"), ("fence", "x"),
              ("promote", "p"), ("cut over", "u"), ("verify", "v"))


def proposal(screen: str) -> tuple[str, str] | None:
    """What the screen proposes now: ("typed", name), ("confirm", ""), ("prompt", ""), ("next", label),
    or None while an action runs or nothing is proposed."""
    typed = TYPED.search(screen)
    if typed:
        return "typed", typed.group(1)
    if ("Yes (y)" in screen and "No (n)" in screen) or ("Fail over (y)" in screen and "Not yet (n)" in screen):
        return "confirm", ""                         # a yes/no question, or the evaluation (y: fail over)
    if INPUT_BOX in screen:
        return "prompt", ""
    if BUSY.search(screen):
        return None
    for line in screen.splitlines():
        box = line.split("│")
        if len(box) > 2 and "⏎" in box[1]:          # inside the checklist, the left box
            found = NEXT.search(box[1])
            if found:
                return "next", found.group(1).strip()
    return None


def guided_keys(seen: tuple[str, str]) -> list[tuple[str, bool]]:
    """The keys (tmux send-keys argument, literal) for what the screen proposes."""
    kind, detail = seen
    if kind == "typed":
        return [(detail, True), ("Enter", False)]
    if kind == "confirm":
        return [("y", False)]
    return [("Enter", False)]


def documented_keys(seen: tuple[str, str]) -> list[tuple[str, bool]]:
    kind, detail = seen
    if kind != "next":
        return guided_keys(seen)
    for start, key in DOCUMENTED:
        if detail.startswith(start):
            return [(key, False)]
    raise RuntimeError(f"no documented key for the proposal {detail!r}")


def _policy_screen(policy, seen, screen):
    try:
        return policy(seen)
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}; the screen:\n{screen}") from None


def _probe_passed(incident: Path) -> datetime | None:
    if not (incident / "journal.sqlite3").exists():
        return None
    journal = Journal.open(incident)
    try:
        for event in journal.events(kinds={"evidence"}):
            if event.data.get("check") == "write_probe" and event.data.get("passed"):
                return event.at
    finally:
        journal.close()
    return None


def drive(config: str, crash, incident: Path, policy, timeout_s: float = 90.0, max_keys: int = 40) -> dict:
    """Start the cockpit at 80x24, crash the primary, press what ``policy`` says for each proposal
    until the write probe passes; the time, the keys and each press (seconds after the crash)."""
    pane = Pane([sys.executable, "-m", "cli", "run", config, "--incident", str(incident), *ROLES], size=SIZE,
                keep=True, name="op")
    pane.start()
    try:
        pane.wait_for("WRITABLE", 30, POLL_S)      # a live frame: the cockpit samples the primary
        crashed_at = datetime.now(timezone.utc)
        started = time.monotonic()
        crash()
        pane.wait_for("CRITICAL", 15, POLL_S)      # the operator sees the crash, then acts
        seen_at = time.monotonic() - started
        presses: list[dict] = []
        shown: list[tuple[float, str]] = []      # every change of what the screen proposes
        stage, probe_at, last_probe_check = "0", None, 0.0
        pressed, pressed_at, settle, last_next = None, 0.0, False, None
        since, last = 0.0, None
        while True:
            now = time.monotonic()
            if now - started > timeout_s or len(presses) > max_keys:
                raise RuntimeError(f"no write probe within {timeout_s}s / {max_keys} keys; presses {presses};"
                                   f" the screen:\n{pane.screen()}")
            if now - last_probe_check > 0.25:
                last_probe_check, probe_at = now, _probe_passed(incident)
                if probe_at is not None:
                    break
            screen = pane.screen()
            title = STAGE.search(screen)
            if title:
                stage = title.group(1) or "done"
            seen = proposal(screen)
            if seen != last:
                since, last = now, seen
                shown.append((round(now - started, 2), "busy/none" if seen is None else f"{seen[0]} {seen[1]}".strip()))
            if seen is None:
                time.sleep(POLL_S)                   # an action runs, or nothing is proposed
                continue
            if seen == pressed and now - pressed_at < SETTLE_S:
                time.sleep(POLL_S)                   # the last key not answered yet
                continue
            if seen == last_next and now - since < SETTLE_S:
                time.sleep(POLL_S)                   # the step just done, proposed until the screen catches up
                continue
            if seen[0] == "next" and settle and now - since < STABLE_S:
                time.sleep(POLL_S)                   # the previous action's entries may not be on screen yet
                continue
            for key, literal in _policy_screen(policy, seen, screen):
                pane.send(key, literal)
                presses.append({"t": round(time.monotonic() - started, 2), "stage": stage, "key": key,
                                "for": f"{seen[0]} {seen[1]}".strip(), "shown": round(since - started, 2)})
            pressed, pressed_at, settle = seen, time.monotonic(), True
            last_next = seen if seen[0] == "next" else last_next
            time.sleep(POLL_S)

        # a proposal that went away with no key pressed was stale: the step just done, or a step of it
        stale = sum(1 for (t, what), (t2, _) in zip(shown, shown[1:]) if what.startswith("next ")
                    and not any(t <= p["t"] <= t2 for p in presses))
        total = (probe_at - crashed_at).total_seconds()
        ends = [t for t, _ in shown[1:]] + [total]
        busy = sum(end - t for (t, what), end in zip(shown, ends) if what == "busy/none")
        return {"s": round(total, 2), "keys": counted_keys(presses), "presses_n": len(presses),
                "busy_s": round(busy, 2),
                "crash_seen_s": round(seen_at, 2), "stale_proposals": stale, "presses": presses, "shown": shown,
                "waited_s": round(sum(max(0.0, p["t"] - p["shown"]) for p in _first_of_each(presses)), 2)}
    finally:
        pane.kill()


def counted_keys(presses: list[dict]) -> int:
    """Keys as the issue counts them: a typed name is one key, the Enter that submits it part of it."""
    return sum(1 for i, p in enumerate(presses)
               if not (p["key"] == "Enter" and i > 0 and p["for"].startswith("typed")
                       and presses[i - 1]["for"] == p["for"]))


def _first_of_each(presses: list[dict]) -> list[dict]:
    """The first key pressed for each proposal (a typed name's Enter goes with it)."""
    return [p for i, p in enumerate(presses) if i == 0 or (p["for"], p["shown"]) != (presses[i - 1]["for"],
                                                                                presses[i - 1]["shown"])]


def key_path(presses: list[dict]) -> str:
    """``stage 0: ⏎ y · stage 1: ⏎ · ...``: the keys pressed, by the stage the checklist showed."""
    stages: dict[str, list[str]] = {}
    for press in presses:
        stages.setdefault(press["stage"], []).append("⏎" if press["key"] == "Enter" else press["key"])
    return " · ".join(f"stage {stage}: {' '.join(keys)} ({len(keys)})" for stage, keys in stages.items())


def _run(make_lab, root: Path, policy) -> dict:
    lab = make_lab(root, replicas=2)
    try:
        config = lab.status()["config"]
        return drive(config, lambda: lab.crash("node1"), root / f"guided-{time.time_ns()}", policy)
    finally:
        lab.down()


def guided_figures(make_lab, root: Path, runs: int) -> dict:
    """``runs`` guided failovers and as many by the documented keys, each on a fresh lab: the median
    time, the most keys any run took, and the key path of the median run."""
    figures: dict = {}
    for name, policy in (("guided", guided_keys), ("documented", documented_keys)):
        results = sorted((_run(make_lab, root, policy) for _ in range(runs)), key=lambda r: r["s"])
        median = results[len(results) // 2]
        figures[f"{name}_failover_s"] = round(statistics.median(r["s"] for r in results), 2)
        figures[f"{name}_failover_keys"] = max(r["keys"] for r in results)
        figures[f"{name}_failover_presses"] = max(r["presses_n"] for r in results)
        figures[f"{name}_failover_path"] = (
            f"{name} keys ({median['keys']}, a typed name with its Enter counted as one; "
            f"{median['presses_n']} presses): "
            f"{key_path(median['presses'])}; crash on screen after {median['crash_seen_s']} s, "
            f"{median['busy_s']} s of actions running (nothing proposed), "
            f"{median['waited_s']} s waiting for proposals to settle; runs {', '.join(str(r['s']) for r in results)} s")
        if name == "guided":
            figures["guided_stale_proposals"] = max(r["stale_proposals"] for r in results)
    return figures


if __name__ == "__main__":   # python -m bench.guided [RUNS] [--presses]: this figure alone
    import json
    import tempfile

    from tests.lab_fixture import make_lab

    bench_root = Path(tempfile.mkdtemp(prefix="ofc-bench-", dir="/tmp"))
    bench_root.chmod(0o755)
    if "--presses" in sys.argv:
        for name, policy in (("guided", guided_keys), ("documented", documented_keys)):
            result = _run(make_lab, bench_root, policy)
            print(name, json.dumps({k: v for k, v in result.items() if k not in ("presses", "shown")}))
            print("   shown:", json.dumps(result["shown"], ensure_ascii=False))
            for press in result["presses"]:
                print("   ", json.dumps(press, ensure_ascii=False))
    else:
        count = int(next((a for a in sys.argv[1:] if a.isdigit()), "1"))
        print(json.dumps(guided_figures(make_lab, bench_root, count), ensure_ascii=False))
