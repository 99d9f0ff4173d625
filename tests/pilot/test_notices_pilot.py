"""Notifications never hide the cockpit: two lines at 80x24, never over a dialog, all kept in the log (m)."""

from __future__ import annotations

import textwrap

from checks.config.model import load_config
from tests.pane_fixtures import notified
from tui.app import CockpitApp
from tui.notices import TIMEOUT_S, shorten
from widgets.confirm_modal import ConfirmModal
from widgets.notices_screen import NoticesScreen

LONG = ("promote refused: stage 3 Promote is locked because stage 2 Old primary has not passed (node1 is "
        "unreachable, which is not proof it is down: it may still take writes behind a partition); to unlock: "
        "fence node1, or have an approver attest it is down")


def app_for(tmp_path) -> CockpitApp:
    path = tmp_path / "clusters.toml"
    path.write_text('[clusters.n]\n[[clusters.n.nodes]]\nname = "n1"\ndsn = "postgresql://u@127.0.0.1:9/postgres"\n')
    name, cluster = load_config(path).cluster(None)
    return CockpitApp(name, cluster, interval_s=3600)


def test_a_long_notice_is_cut_to_two_lines_and_says_where_the_rest_is():
    short = shorten(LONG, 46)
    assert len(textwrap.wrap(short, 46)) == 2 and short.endswith("… (m)")
    assert shorten("node2 promoted: writable 31 ms after pg_promote", 46) == \
        "node2 promoted: writable 31 ms after pg_promote"
    assert TIMEOUT_S["information"] <= 5 and TIMEOUT_S["warning"] <= 8


async def test_a_toast_is_two_lines_at_80x24_and_the_log_keeps_it_in_full(tmp_path):
    app = app_for(tmp_path)
    async with app.run_test(notifications=True, size=(80, 24)) as pilot:
        app.notify(LONG, title="promote", severity="warning")
        [toast] = await notified(pilot)
        assert len(textwrap.wrap(toast, app.toast_width())) <= 2 and toast.startswith("promote: promote refused")
        toast_widget = app.screen.query_one("Toast")
        assert toast_widget.region.height <= 2
        await pilot.press("m")
        assert isinstance(app.screen, NoticesScreen)
        assert any(LONG in str(notice.render()) for notice in app.screen.query(".notice"))


async def test_no_toast_over_a_dialog_and_it_shows_once_the_dialog_closes(tmp_path):
    app = app_for(tmp_path)
    async with app.run_test(notifications=True, size=(80, 24)) as pilot:
        app.notify("before the dialog")
        assert await notified(pilot)
        await pilot.press("q")                                   # the quit dialog
        assert isinstance(app.screen, ConfirmModal)
        assert not app.screen.query("Toast")                     # cleared when it opened
        app.notify("node2 promoted: writable 31 ms after pg_promote")
        await pilot.pause(0.3)
        assert not app.screen.query("Toast")                     # waits: nothing over the dialog
        await pilot.press("n")
        said = await notified(pilot)
        assert any("node2 promoted" in m for m in said)
        assert [n.message for n in app.notices] == ["before the dialog", "node2 promoted: writable 31 ms after pg_promote"]
