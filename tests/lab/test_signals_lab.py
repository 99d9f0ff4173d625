"""The signals against real labs: a partition PgBouncer still crosses, a crash with PgBouncer on the
dead primary, a crash loop, clients queued in a paused PgBouncer under `lab load`, a wrong password."""

from __future__ import annotations

import asyncio
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest

from checks.config.model import load_config
from checks.observe.assess import Watch
from checks.observe.headline import headline
from checks.observe.pooler import probe_app_path
from checks.observe.sampler import NodeSampler, sample_all
from checks.observe.signal_round import signal_round
from checks.observe.signals import SignalBoard
from checks.observe.status import status_json
from checks.stages.pgbouncer import admin_execute
from lab.load import run_load

pytestmark = pytest.mark.lab


def cluster_of(lab):
    name, cluster = load_config(lab.status()["config"]).cluster(None)
    return name, cluster.model_copy(update={"odoo": None})     # Odoo's health has tests of its own


def test_a_partitioned_primary_odoo_still_writes_to_may_be_alive(lab):
    name, cluster = cluster_of(lab)
    lab.partition("node1")
    try:
        view, board = asyncio.run(signal_round(name, cluster))
    finally:
        lab.heal("node1")
    doc = status_json(view, board)
    assert doc["verdict"] == "critical"
    assert doc["headline"].startswith("THE PRIMARY MAY BE ALIVE: the bastion cannot reach node1 (timeout)")
    assert "fence node1 before any promotion" in doc["headline"]
    assert doc["pgbouncers"][0]["reaches"] == "node1" and doc["pgbouncers"][0]["writable"] is True
    app = next(s for s in doc["signals"] if s["name"] == "app_path_writable")
    assert app["firing"] is False and app["evidence"]["reaches"] == "node1"
    unreachable = next(s for s in doc["signals"] if s["name"] == "primary_unreachable")
    assert unreachable["firing"] is True and unreachable["evidence"]["cause"] == "timeout"


def test_a_wrong_password_is_reachable_and_login_refused(lab):
    name, cluster = cluster_of(lab)
    node = cluster.nodes[0]
    parts = urlsplit(node.dsn)
    wrong = urlunsplit((parts.scheme, parts.netloc.replace("cockpit@", "cockpit:not-the-password@"), parts.path,
                        "", ""))                                     # no passfile: the inline password is used
    cluster = cluster.model_copy(update={"nodes": [node.model_copy(update={"dsn": wrong}), *cluster.nodes[1:]]})
    watch, board = Watch(name, cluster), SignalBoard(cluster)
    samplers = [NodeSampler(n, cluster.sampling) for n in cluster.nodes]

    async def two_rounds():
        try:
            first = watch.update(*await sample_all(samplers))        # node1 seen? no: it refuses from the start
            board.update(view=first, probes=await probe_app_path(cluster))
            return watch.update(*await sample_all(samplers, retry_now=True))
        finally:
            await asyncio.gather(*(s.close() for s in samplers))

    view = asyncio.run(two_rounds())
    board.update(view=view)
    signal = board.get("primary_unreachable", "node1")
    assert signal is not None and not signal.firing
    assert signal.evidence["reachable"] is True and signal.evidence["cause"] == "login refused"
    assert "password authentication failed" in signal.text and "not-the-password" not in signal.text
    assert headline(view, board).startswith("the primary node1 is up but refuses the cockpit (login refused")


def test_clients_queued_in_a_paused_pgbouncer_under_load_are_pooler_waiting(lab):
    name, cluster = cluster_of(lab)
    pgb = cluster.pgbouncers[0]
    load = threading.Thread(target=run_load, args=(lab.dir,), kwargs={"seconds": 6, "workers": 4}, daemon=True)
    load.start()
    time.sleep(1.0)
    asyncio.run(admin_execute(pgb, "PAUSE odoo"))       # what a planned switchover does while it fences
    try:
        time.sleep(1.5)
        board = SignalBoard(cluster)
        board.update(probes=asyncio.run(probe_app_path(cluster)))
    finally:
        asyncio.run(admin_execute(pgb, "RESUME odoo"))
        load.join(timeout=30)
    waiting = board.get("pooler_waiting", "pgb1/odoo")
    assert waiting.firing, waiting.text
    assert waiting.evidence["cl_waiting"] >= 1 and waiting.evidence["maxwait_s"] >= 1.0
    assert waiting.evidence["paused"] is True and "(PAUSED)" in waiting.text
    app = board.get("app_path_writable", "pgb1/odoo")
    assert app.firing and "paused (PAUSE)" in app.text    # a new client would wait too: not tried, said so


def test_a_crash_with_pgbouncer_on_the_dead_primary_then_a_crash_loop(scratch_lab):
    name, cluster = cluster_of(scratch_lab)
    watch, board = Watch(name, cluster), SignalBoard(cluster)
    samplers = [NodeSampler(n, cluster.sampling) for n in cluster.nodes]
    loop = asyncio.new_event_loop()

    def round_(probe: bool = False):
        async def go():
            view = watch.update(*await sample_all(samplers, retry_now=True))
            probes = await probe_app_path(cluster, {n.name: n.sample for n in view.nodes}) if probe else None
            return view, board.update(view=view, probes=probes)
        return loop.run_until_complete(go())

    try:
        round_()
        scratch_lab.crash("node1")
        view, changes = round_(probe=True)
        app = board.get("app_path_writable", "pgb1/odoo")
        assert app.firing and app.evidence["reaches"] == "node1"
        # PgBouncer keeps the new client waiting for a server it cannot reach; its own counters (clients
        # waiting, no server connection in any state, not even logging in) end the wait at once
        assert ("pgbouncer cannot connect to server: it holds no server connection for odoo and is not opening one"
                in app.text), app.text
        assert board.get("primary_unreachable", "node1").firing
        assert {c.signal.name for c in changes if c.started} >= {"primary_unreachable", "app_path_writable"}
        assert headline(view, board).startswith("the primary node1 is down: the bastion cannot reach it (")
        assert "Odoo cannot write through pgb1 either" in headline(view, board)
        for _ in range(2):                          # start, crash, start, crash, start: three restarts
            scratch_lab.start("node1")
            view, _ = round_()
            assert view.node("node1").sample.reachable
            scratch_lab.crash("node1")
            round_()
        scratch_lab.start("node1")
        round_()
    finally:
        async def close():
            await asyncio.gather(*(s.close() for s in samplers))
        loop.run_until_complete(close())
        loop.close()
    restarts = board.get("primary_restarts", "node1")
    # three restarts seen; the lab's own first start may fall in the window too (it was built minutes ago)
    assert restarts.evidence["restarts_seen"] == 3 and restarts.evidence["starts_in_window"] in (3, 4)
    assert restarts.firing and "is in a crash loop:" in restarts.text, restarts.text
    assert f"{restarts.evidence['starts_in_window']} starts in the last 10m00s" in restarts.text


def test_the_cockpit_says_the_partitioned_primary_may_be_alive_and_journals_the_signals(lab, tmp_path):
    from checks.incident.journal import Journal
    from checks.runbook.session import Session
    from tui.app import CockpitApp
    from widgets.cockpit_header import CockpitHeader
    from widgets.signals_strip import SignalsStrip

    name, cluster = cluster_of(lab)
    session = Session(name, cluster, tmp_path / "inc", seat="operator", name="olga")
    seen: dict = {}

    async def scenario():
        app = CockpitApp(name, cluster, samplers={n.name: NodeSampler(n, cluster.sampling) for n in cluster.nodes},
                         session=session)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause(2.0)
            lab.partition("node1")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                await pilot.pause(0.5)
                problems = app.query_one(CockpitHeader).problems()
                if problems and problems[0].startswith("THE PRIMARY MAY BE ALIVE"):
                    break
            seen["headline"] = app.query_one(CockpitHeader).problems()[0]
            seen["strip"] = list(app.query_one(SignalsStrip).lines)
            seen["shown"] = app.query_one(SignalsStrip).display
            await session.operation.close()

    try:
        asyncio.run(scenario())
    finally:
        lab.heal("node1")
        session.close()
    assert seen["headline"].startswith("THE PRIMARY MAY BE ALIVE: the bastion cannot reach node1 (timeout)")
    assert seen["shown"] and any(line.startswith("✗ primary_unreachable: the bastion cannot reach the primary node1")
                                 for line in seen["strip"])
    journal = Journal.open(tmp_path / "inc")
    try:
        started = [e for e in journal.events(kinds={"status"}) if (e.data.get("signal") or {}).get("name")
                   == "primary_unreachable" and e.data.get("started")]
    finally:
        journal.close()
    assert started and started[0].text.startswith("signal primary_unreachable started: the bastion cannot reach")
