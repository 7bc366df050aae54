"""Every console page in light, dark and phone: axe-core finds no serious or critical violation, a
phone never scrolls sideways, and text stays readable against its background in both themes.

One install per module; the first tests visit the first-run page before the install is set up, then
the install is seeded (console_tour.seed) and every other page is visited as a visitor, as root and
as a plain user. axe's findings per page and mode are kept in build/e2e-everywhere/axe.json.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.console_tour import (
    MODES,
    PUBLIC,
    SETUP,
    SHOTS,
    SIGNED_IN,
    Contexts,
    Install,
    Stop,
    axe,
    contrast,
    describe,
    install,
    is_dark,
    seeded,
    serious,
    sideways,
    tabs,
    visit,
)
from tests.e2e.test_console import no_errors, playwright_api, watch

pytestmark = pytest.mark.e2e
# Fixtures: the shared install and browser contexts, and part 1's error watch.
__all__ = ["install", "no_errors", "seeded", "tabs", "watch"]

expect = playwright_api.expect

# WCAG AA for body text; the few large headings pass this too.
AA = 4.5
TEXT = "h1, h2, h3, p, label, th, td, a, button, span, li, dt, dd"


FINDINGS: dict[str, object] = {}


def check(tabs: Contexts, mode: str, stop: Stop) -> None:
    page = tabs.page(mode, stop.who)
    visit(page, tabs.base, stop)
    assert is_dark(page) == (mode == "dark"), "the first visit follows the system's colour scheme"
    found = axe(page)
    FINDINGS[f"{mode}/{stop.name}"] = {v["id"]: v["impact"] for v in found}
    (SHOTS / "axe.json").write_text(json.dumps(FINDINGS, indent=1, sort_keys=True) + "\n")
    page.screenshot(path=str(SHOTS / f"everywhere-{mode}-{stop.name}.png"))
    assert serious(found) == [], describe(serious(found))
    measured = [c for c in contrast(page, TEXT) if c["text"]]
    assert len(measured) >= 2, measured
    low = [c for c in measured if c["ratio"] < AA]
    assert low == [], low[:10]
    if mode == "phone":
        wide = sideways(page)
        assert wide["scroll"] <= wide["width"], wide


@pytest.mark.parametrize("mode", list(MODES))
def test_setup_page_before_the_first_run(tabs: Contexts, mode: str) -> None:
    check(tabs, mode, SETUP)


@pytest.mark.parametrize("stop", PUBLIC + SIGNED_IN, ids=str)
@pytest.mark.parametrize("mode", list(MODES))
def test_every_page(seeded: Install, tabs: Contexts, mode: str, stop: Stop) -> None:
    check(tabs, mode, stop)


# (page, the button that opens a dialog, the dialog's title)
DIALOGS = [
    ("/console/keys", "New key", "New API key"),
    ("/console/channels", "New channel", "New channel"),
    ("/console/users", "New user", "New user"),
    ("/console/redemptions", "New codes", "New redemption codes"),
]


@pytest.mark.parametrize("mode", list(MODES))
def test_dialogs_and_settings_tabs(seeded: Install, tabs: Contexts, mode: str) -> None:
    """What a page shows after a click: each form dialog, a log's details, every settings tab."""
    page = tabs.page(mode, "root")
    findings: dict[str, list[dict[str, object]]] = {}
    for path, button, title in DIALOGS:
        page.goto(f"{seeded.url}{path}")
        page.get_by_role("button", name=button).click()
        expect(page.get_by_role("dialog", name=title)).to_be_visible()
        findings[title] = serious(axe(page))
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0)
    page.goto(f"{seeded.url}/console/logs")
    page.get_by_test_id("table-row").first.click()
    expect(page.get_by_role("dialog", name="Request details")).to_be_visible()
    findings["Request details"] = serious(axe(page))
    page.keyboard.press("Escape")
    page.goto(f"{seeded.url}/console/settings")
    expect(page.get_by_role("tabpanel")).to_be_visible()  # the options have loaded
    names = page.get_by_role("tab").all_inner_texts()
    assert len(names) >= 7, names
    for name in names:
        page.get_by_role("tab", name=name, exact=True).click()
        expect(page.get_by_role("tabpanel", name=name, exact=True)).to_be_visible()
        findings[f"settings: {name}"] = serious(axe(page))
        if mode == "phone":
            wide = sideways(page)
            assert wide["scroll"] <= wide["width"], (name, wide)
    FINDINGS[f"{mode}/dialogs-and-tabs"] = {k: [v["id"] for v in found] for k, found in findings.items()}
    (SHOTS / "axe.json").write_text(json.dumps(FINDINGS, indent=1, sort_keys=True) + "\n")
    bad = {k: v for k, v in findings.items() if v}
    assert bad == {}, describe([{"where": k, **v} for k, found in bad.items() for v in found])
