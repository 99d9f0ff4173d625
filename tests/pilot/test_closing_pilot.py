"""Reports that arrive as the cockpit closes: dropped, never shown and never a crash (widgets.closing).

Textual removes the widgets of a closing app each on its own task, in no fixed order, while the app
still handles messages already queued. CI once raised ``NoMatches`` on the split-brain banner when a
lab sample arrived during a test's teardown (the check of the day looked at the header, which was
still there). Here a task goes on posting samples and journal entries while the app closes, as a
sampler's worker and the journal feed do, and each test counts the reports that reached a handler
after the app had begun to close (there must be some) and those that went on to the widgets (none).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from checks.config.model import load_config
from checks.runbook.session import Session
from tests.fixtures_samples import T0, StepClock, healthy, healthy_round
from tests.pane_fixtures import timeline
from tui.app import CockpitApp
from tui.incident_panes import IncidentPanes
from tui.messages import JournalEvents, JournalHealth, NodeSampled
from widgets.closing import closing


def keep_posting(post: Callable[[int], None]) -> asyncio.Task:
    """A task that calls ``post(i)`` on every turn of the loop until cancelled."""
    async def loop() -> None:
        i = 0
        while True:
            post(i)
            i += 1
            await asyncio.sleep(0)
    return asyncio.create_task(loop())


def count_while_closing(monkeypatch, cls, handler: str, body: str) -> dict[str, int]:
    """Count the calls of ``cls.handler`` (what Textual dispatches to) and of ``cls.body`` (what
    touches the widgets) made once the app had begun to close."""
    seen = {"handler": 0, "body": 0}
    for name, key in ((handler, "handler"), (body, "body")):
        original = getattr(cls, name)

        def spy(self, *args, _original=original, _key=key, **kwargs):
            if closing(self.app):
                seen[_key] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, spy)
    return seen


@pytest.mark.parametrize("size", [(80, 24), (200, 60)], ids=["80x24", "200x60"])
async def test_samples_that_arrive_as_the_cockpit_closes_reach_no_widget(monkeypatch, size):
    seen = count_while_closing(monkeypatch, CockpitApp, "on_node_sampled", "show_view")
    app = healthy().app(StepClock(T0))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert not closing(app)
        samples = healthy_round(T0)
        poster = keep_posting(lambda i: app.post_message(NodeSampled(samples[i % len(samples)])))
        await asyncio.sleep(0.05)
    poster.cancel()                      # run_test has re-raised anything a handler raised meanwhile
    assert closing(app)
    assert seen["handler"] > 0, "no sample reached the app as it closed: the test did not reach the teardown"
    assert seen["body"] == 0


async def test_journal_entries_that_arrive_as_the_panes_close_reach_no_widget(monkeypatch, tmp_path):
    seen = count_while_closing(monkeypatch, IncidentPanes, "on_journal_events", "show_events")
    path = tmp_path / "clusters.toml"
    path.write_text('[clusters.c]\n[[clusters.c.nodes]]\nname = "n1"\n'
                    'dsn = "postgresql://cockpit@127.0.0.1:1/postgres"\n')
    name, cluster = load_config(path).cluster(None)
    session = Session(name, cluster, tmp_path / "inc", seat="operator", name="olga")
    try:
        app = CockpitApp(name, cluster, session=session, interval_s=3600)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            panes = app.query_one(IncidentPanes)
            first = (panes.events[-1].id if panes.events else 0) + 1
            panes.post_message(JournalEvents(timeline(first=first)[:1]))
            await pilot.pause()
            assert panes.events[-1].id == first                 # shown while open

            def post(i: int) -> None:
                panes.post_message(JournalEvents(timeline(first=first + 1 + i * 12)))
                panes.post_message(JournalHealth(alarm=None))

            poster = keep_posting(post)
            await asyncio.sleep(0.05)
        poster.cancel()
    finally:
        session.close()
    assert closing(app)
    assert seen["handler"] > 0, "no entry reached the panes as they closed: the test did not reach the teardown"
    assert seen["body"] == 0
