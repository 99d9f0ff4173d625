"""The timeline pane at 10 events and at 10,000: what an append and a page of scrolling cost.

A headless app (80x24) holds the scribe log's timeline with ``count`` events; then 200 events
are appended one at a time, each followed by a render of the lines on screen (what the screen
would repaint), and the pane is paged up 20 times, each page rendered the same way. The
figures are the median milliseconds of one append (at 10 and at 10,000 events) and of one page
(at 10,000: a page of rows never drawn before), and the most rows turned into text by one append
or one page: a virtual pane does the same work at 10,000 events as at 10, a page at most its height.

    .venv/bin/python -m bench.timeline_bench
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone

from textual.app import App, ComposeResult
from textual.geometry import Region

from checks.incident.events import Event
from widgets import STYLESHEET
from widgets.scribe_log import ScribeLog

T0 = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)
KINDS = (("scribe", "carol", "note"), ("operator", "alice", "action"), ("operator", "alice", "evidence"),
         ("scribe", "carol", "status"), ("operator", "alice", "alarm"))
APPENDS = 200
PAGES = 20


def events(first: int, count: int) -> list[Event]:
    return [Event(id=i, at=T0 + timedelta(seconds=2.88 * i), seat=KINDS[i % 5][0], author=KINDS[i % 5][1],
                  kind=KINDS[i % 5][2], text=f"event {i:05d} of the night") for i in range(first, first + count)]


class _Pane(App):
    CSS_PATH = STYLESHEET

    def compose(self) -> ComposeResult:
        yield ScribeLog()


async def _measure(count: int) -> dict:
    app = _Pane()
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.query_one(ScribeLog)
        view = log.timeline
        log.add_events(events(1, count))
        for _ in range(3):
            await pilot.pause()
        built = []
        row = view.render_row
        view.render_row = lambda event, width: built.append(event.id) or row(event, width)

        def paint() -> None:
            view._styles_cache.clear()       # what a repaint does after a refresh of the pane
            view.render_lines(Region(0, 0, view.size.width, view.size.height))

        appends, rows = [], []
        for event in events(count + 1, APPENDS):
            built.clear()
            started = time.perf_counter()
            log.add_events([event])
            paint()
            appends.append((time.perf_counter() - started) * 1000)
            rows.append(len(built))
        pages, page_rows = [], []
        for _ in range(PAGES):
            built.clear()
            started = time.perf_counter()
            view.action_page(-1)
            paint()
            pages.append((time.perf_counter() - started) * 1000)
            page_rows.append(len(built))
        height = view.scrollable_content_region.height
    return {"append_ms": round(statistics.median(appends), 3), "page_ms": round(statistics.median(pages), 3),
            "rows_per_append": max(rows), "rows_per_page": max(page_rows),
            "height": height}


def timeline_figures() -> dict:
    """The median append at 10 and at 10,000 events; at 10,000, the median page up (a page of rows never
    drawn before) and the most rows one append or one page laid out, against the pane's height."""
    small, large = asyncio.run(_measure(10)), asyncio.run(_measure(10_000))
    return {"timeline_append_ms_10": small["append_ms"], "timeline_append_ms_10k": large["append_ms"],
            "timeline_page_ms_10k": large["page_ms"], "timeline_rows_per_append_10k": large["rows_per_append"],
            "timeline_rows_per_page_10k": large["rows_per_page"], "timeline_pane_height": large["height"]}


def main(argv: list[str]) -> int:
    print(json.dumps(timeline_figures(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
