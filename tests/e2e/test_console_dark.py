"""Dark mode in Chromium: the first visit follows the system's colour scheme, the toggle's choice
persists (localStorage) over a reload and in a new tab whatever the system says, and the charts'
axis and legend text and the code blocks keep WCAG AA contrast in both themes, measured from the
computed colours (tests/e2e/contrast.js).
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.console_tour import (
    MODES,
    SHOTS,
    Contexts,
    Install,
    contrast,
    install,
    is_dark,
    seeded,
    tabs,
)
from tests.e2e.test_console import no_errors, playwright_api, poll, watch

pytestmark = pytest.mark.e2e
# Fixtures: the shared install and browser contexts, and part 1's error watch.
__all__ = ["install", "no_errors", "seeded", "tabs", "watch"]

expect = playwright_api.expect
AA = 4.5


def luminance_of_page(page: playwright_api.Page) -> float:
    measured = contrast(page, "body")
    assert measured, "the body has no box"
    return float(measured[0]["bgLum"])


@pytest.mark.parametrize("system", ["light", "dark"])
def test_first_visit_follows_the_system_and_the_toggle_persists(
    seeded: Install, tabs: Contexts, system: str
) -> None:
    chosen = "light" if system == "dark" else "dark"
    context = tabs.browser.new_context(**MODES[system])
    try:
        page = context.new_page()
        tabs.watch.attach(page)
        page.goto(f"{seeded.url}/console/login")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert is_dark(page) == (system == "dark")
        assert (luminance_of_page(page) < 0.05) == (system == "dark")
        assert page.evaluate("localStorage.getItem('newapi.theme')") is None
        page.get_by_role("button", name=f"Theme: switch to {chosen}").click()
        assert is_dark(page) == (chosen == "dark")
        assert (luminance_of_page(page) < 0.05) == (chosen == "dark")
        assert page.evaluate("localStorage.getItem('newapi.theme')") == chosen
        page.reload()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        assert is_dark(page) == (chosen == "dark")
        # Another tab of the same profile, on another page, keeps the choice over the system's.
        second = context.new_page()
        tabs.watch.attach(second)
        second.goto(f"{seeded.url}/console/pricing")
        expect(second.get_by_role("heading", name="Pricing")).to_be_visible()
        assert is_dark(second) == (chosen == "dark")
        # Switching back is remembered too.
        second.get_by_role("button", name=f"Theme: switch to {system}").click()
        assert second.evaluate("localStorage.getItem('newapi.theme')") == system
        second.reload()
        expect(second.get_by_role("heading", name="Pricing")).to_be_visible()
        assert is_dark(second) == (system == "dark")
    finally:
        context.close()


def readable(measured: list[dict[str, object]], at_least: int) -> None:
    assert len(measured) >= at_least, measured
    low = [m for m in measured if float(str(m["ratio"])) < AA]
    assert low == [], low


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_charts_and_code_blocks_stay_readable(seeded: Install, tabs: Contexts, mode: str) -> None:
    page = tabs.page(mode, "root")

    def charts_drawn() -> None:
        page.goto(f"{seeded.url}/console?range=7d")
        expect(page.locator(".recharts-legend-item").first).to_be_visible(timeout=1000)

    poll(charts_drawn, seconds=20)
    assert is_dark(page) == (mode == "dark")
    page.wait_for_load_state("networkidle")
    # Axis ticks (SVG text, measured by their fill) and the legend's series names.
    readable(contrast(page, ".recharts-cartesian-axis-tick-value"), at_least=10)
    legend = contrast(page, ".recharts-legend-item-text")
    assert {m["text"] for m in legend} >= {"gpt-4o-mini", "gpt-4o"}, legend
    readable(legend, at_least=2)
    # The chart lines themselves are visible against the card (WCAG 1.4.11 asks 3:1 of graphics).
    strokes = page.locator(".recharts-area-curve").evaluate_all(
        "els => els.map(e => getComputedStyle(e).stroke)"
    )
    assert strokes and all(s not in ("none", "") for s in strokes), strokes
    page.screenshot(path=str(SHOTS / f"dark-check-{mode}-dashboard.png"))
    # Code blocks: an option's Markdown on the home page, and a key's connection details.
    page.goto(f"{seeded.url}/console/home")
    expect(page.get_by_test_id("markdown").locator("pre")).to_contain_text("curl")
    readable(contrast(page, "[data-testid=markdown] pre, [data-testid=markdown] code"), at_least=2)
    readable(contrast(page, "[data-testid=markdown] a, [data-testid=markdown] strong"), at_least=2)
    page.goto(f"{seeded.url}/console/keys")
    page.get_by_role("button", name="Connection details for phone-key").click()
    code = page.get_by_test_id("connection-text")
    expect(code).to_contain_text(re.compile(r"sk-\w{48}"))
    readable(contrast(page, "[data-testid=connection-text]"), at_least=1)
    page.screenshot(path=str(SHOTS / f"dark-check-{mode}-connection.png"))
    page.keyboard.press("Escape")
