"""The split-brain banner's key without a lab: shown on the banner, and refused with a sentence
when the cockpit has no incident (there would be no journal of the fence)."""

from __future__ import annotations

from tests.fixtures_samples import T0, StepClock, split_brain
from tests.pane_fixtures import notified
from widgets.split_brain_banner import KEY_LINE, SplitBrainBanner


async def test_the_banner_shows_the_key_and_without_an_incident_k_says_how_to_open_one():
    app = split_brain().app(StepClock(T0))
    async with app.run_test(notifications=True, size=(120, 40)) as pilot:
        await pilot.pause()
        banner = app.query_one(SplitBrainBanner)
        assert banner.display and KEY_LINE in str(banner.content)
        await pilot.press("K")
        await pilot.pause()
        await notified(pilot)                     # a toast is shown (two lines)...
        said = [n.message for n in app.notices]     # ...and the messages log (m) has it in full
        assert any("no incident" in m and "--incident DIR" in m for m in said), said
        assert all("Traceback" not in m for m in said)


async def test_every_runbook_key_in_a_cockpit_without_an_incident_answers_with_a_sentence():
    from tui.runbook_bindings import KEYS

    app = split_brain().app(StepClock(T0))
    async with app.run_test(notifications=True, size=(120, 40)) as pilot:
        await pilot.pause()
        for key, action, _label, _seat, _stage in KEYS:
            if key in ("K", "a"):
                continue                          # the banner's own key (above); a is the activity view here
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is app.screen_stack[0], f"{key} opened a dialog in a cockpit without an incident"
            said = [n.message for n in app.notices]
            assert any(m.startswith(f"{action.replace('_', ' ')} refused: this cockpit has no incident") for m in said), (key, said)
