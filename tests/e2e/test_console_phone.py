"""The console on a phone (390x844, touch) in Chromium: the sidebar is a drawer, tables are cards,
dialogs fit the screen and scroll, copying a key puts it on the clipboard, and the playground
streams an answer; nothing scrolls sideways and axe finds nothing serious in the open drawer and
dialogs. (Every page's sideways scroll and axe run are in test_console_everywhere.py.)
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.console_tour import (
    SHOTS,
    Contexts,
    Install,
    axe,
    describe,
    install,
    seeded,
    serious,
    sideways,
    tabs,
)
from tests.e2e.test_console import no_errors, playwright_api, poll, watch

pytestmark = pytest.mark.e2e
# Fixtures: the shared install and browser contexts, and part 1's error watch.
__all__ = ["install", "no_errors", "seeded", "tabs", "watch"]

Page = playwright_api.Page
expect = playwright_api.expect


def fits(page: Page) -> None:
    wide = sideways(page)
    assert wide["scroll"] <= wide["width"], wide


def no_serious_findings(page: Page) -> None:
    found = serious(axe(page))
    assert found == [], describe(found)


def test_the_sidebar_is_a_drawer(seeded: Install, tabs: Contexts) -> None:
    page = tabs.page("phone", "root")
    page.goto(f"{seeded.url}/console")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main navigation")).to_be_hidden()
    page.get_by_role("button", name="Main navigation").click()
    drawer = page.get_by_role("dialog", name="New API")  # named by its title, the site's name
    expect(drawer.get_by_role("navigation", name="Main navigation")).to_be_visible()
    expect(drawer.get_by_role("link", name="Usage logs")).to_be_visible()
    box = drawer.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    no_serious_findings(page)
    page.screenshot(path=str(SHOTS / "phone-drawer.png"))
    drawer.get_by_role("link", name="Usage logs").click()
    expect(page).to_have_url(re.compile(r"/console/logs"))
    expect(page.get_by_role("dialog")).to_have_count(0)  # following a link closes it
    expect(page.get_by_role("heading", name="Usage logs")).to_be_visible()
    # Escape closes it too, and the desktop layout keeps its sidebar (no drawer button).
    page.get_by_role("button", name="Main navigation").click()
    expect(page.get_by_role("dialog", name="New API")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    desktop = tabs.page("light", "root")
    desktop.goto(f"{seeded.url}/console")
    expect(desktop.get_by_role("navigation", name="Main navigation")).to_be_visible()
    expect(desktop.get_by_role("button", name="Main navigation")).to_be_hidden()


@pytest.mark.parametrize(
    ("path", "label", "text"),
    [
        ("/console/keys", "API keys", "phone-key"),
        ("/console/users", "Users", "alice"),
        ("/console/logs", "", "gpt-4o"),
    ],
)
def test_tables_become_cards(seeded: Install, tabs: Contexts, path: str, label: str, text: str) -> None:
    page = tabs.page("phone", "root")
    page.goto(f"{seeded.url}{path}")
    row = page.get_by_test_id("table-row").filter(has_text=text).first
    expect(row).to_be_visible()
    assert page.locator("table").count() == 0
    assert row.evaluate("e => e.tagName") == "LI"
    if label:
        expect(page.get_by_role("list", name=label)).to_be_visible()
    # Each value is named by its column, and the card is no wider than the screen.
    expect(row.locator("dt").first).to_be_visible()
    box = row.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    fits(page)
    desktop = tabs.page("light", "root")
    desktop.goto(f"{seeded.url}{path}")
    expect(desktop.get_by_test_id("table-row").filter(has_text=text).first).to_be_visible()
    assert desktop.locator("table").count() == 1


def test_dialogs_fit_and_scroll(seeded: Install, tabs: Contexts) -> None:
    page = tabs.page("phone", "root")
    page.goto(f"{seeded.url}/console/channels")
    page.get_by_role("button", name="New channel").click()
    dialog = page.get_by_role("dialog", name="New channel")
    expect(dialog.get_by_label("Name")).to_be_visible()
    box = dialog.bounding_box()
    assert box is not None, "no dialog box"
    assert (
        box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] >= 0 and box["y"] + box["height"] <= 844
    ), box
    # The form is taller than the screen: its body scrolls, the footer's buttons stay in view.
    body = dialog.locator(".overflow-y-auto").first
    heights = body.evaluate("e => [e.scrollHeight, e.clientHeight]")
    assert heights[0] > heights[1], heights
    expect(dialog.get_by_role("button", name="Create")).to_be_in_viewport()
    body.evaluate("e => e.scrollTo(0, e.scrollHeight)")
    assert body.evaluate("e => e.scrollTop") > 0
    no_serious_findings(page)
    page.screenshot(path=str(SHOTS / "phone-dialog.png"))
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    fits(page)


def test_copying_a_key_on_a_phone(seeded: Install, tabs: Contexts) -> None:
    page = tabs.page("phone", "root")
    page.goto(f"{seeded.url}/console/keys")
    page.evaluate("navigator.clipboard.writeText('')")
    row = page.get_by_test_id("table-row").filter(has_text="phone-key")
    row.get_by_role("button", name="Copy key phone-key").tap()
    expect(page.locator("[data-sonner-toast]").filter(has_text="Copied").first).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == seeded.key
    fits(page)


def test_the_playground_on_a_phone(seeded: Install, tabs: Contexts) -> None:
    page = tabs.page("phone", "root")
    page.goto(f"{seeded.url}/console/playground")
    page.get_by_label("Model").select_option("gpt-4o-mini")
    page.get_by_label("Message").fill("hello from a phone")
    send = page.get_by_role("button", name="Send")
    expect(send).to_be_in_viewport()
    send.tap()
    answer = page.get_by_test_id("message-assistant").last
    expect(answer).to_contain_text(re.compile(r"\w+ \w+"))
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.get_by_test_id("message-user").last).to_contain_text("hello from a phone")
    fits(page)
    page.screenshot(path=str(SHOTS / "phone-playground.png"))

    def billed() -> None:  # the answer went through the gateway, billed as any call
        page.goto(f"{seeded.url}/console/logs?token=playground-default")
        expect(page.get_by_test_id("table-row").first).to_be_visible(timeout=1000)

    poll(billed, seconds=20)
