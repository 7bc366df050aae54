"""A seeded install and the list of every console page, for the "everywhere" rules (accessibility,
dark mode, phones) that each page must keep. Shared by test_console_everywhere.py and
test_console_phone.py; the page-by-page behaviour lives in test_console.py and test_console_pages.py.

A mode is a browser context: ``light`` and ``dark`` at 1280x800 with that system colour scheme (the
console's first visit follows it), ``phone`` at 390x844 with touch. axe-core comes from the console's
own dev dependencies (web/node_modules/axe-core) and is injected into the page under test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from newapi.testing import MockUpstreamThread
from tests.e2e.test_console import CHROMIUM, PASSWORD, Watch, console_server, playwright_api
from tests.support.server import ROOT

# Beside part 1's build/e2e-console/ (which its module empties when it starts).
SHOTS = ROOT / "build" / "e2e-everywhere"

Page = playwright_api.Page
Browser = playwright_api.Browser
expect = playwright_api.expect

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"

MODES: dict[str, dict[str, Any]] = {
    "light": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light"},
    "dark": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "dark"},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "color_scheme": "light",
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}

# Text an option may carry onto a public page: a code block must stay readable in both themes.
HOME = "# Welcome\n\nHello **visitors**, see [the docs](/console/about).\n\n```\ncurl $BASE/v1/models\n```\n"


@dataclass(frozen=True)
class Stop:
    """One page of the tour: where, who (None: a visitor), and the heading that says it is ready."""

    name: str
    path: str
    who: str | None
    heading: str

    def __str__(self) -> str:
        return self.name


PUBLIC = [
    Stop("login", "/console/login", None, "Sign in"),
    Stop("register", "/console/register", None, "Create an account"),
    Stop("home", "/console/home", None, "Home"),
    Stop("pricing", "/console/pricing", None, "Pricing"),
    Stop("about", "/console/about", None, "About"),
    Stop("notice", "/console/notice", None, "Notice"),
    Stop("user-agreement", "/console/user-agreement", None, "User agreement"),
    Stop("privacy-policy", "/console/privacy-policy", None, "Privacy policy"),
    Stop("not-found", "/console/no-such-page", None, "This page does not exist"),
]
SIGNED_IN = [
    Stop("dashboard", "/console?range=7d", "root", "Dashboard"),
    Stop("keys", "/console/keys", "root", "API keys"),
    Stop("channels", "/console/channels", "root", "Channels"),
    Stop("logs", "/console/logs", "root", "Usage logs"),
    Stop("playground", "/console/playground", "root", "Playground"),
    Stop("wallet", "/console/wallet", "root", "Wallet"),
    Stop("profile", "/console/profile", "root", "Profile"),
    Stop("users", "/console/users", "root", "Users"),
    Stop("redemptions", "/console/redemptions", "root", "Redemption codes"),
    Stop("settings", "/console/settings", "root", "Settings"),
    Stop("user-dashboard", "/console", "alice", "Dashboard"),
    Stop("user-keys", "/console/keys", "alice", "API keys"),
    Stop("user-wallet", "/console/wallet", "alice", "Wallet"),
    Stop("user-profile", "/console/profile", "alice", "Profile"),
]
SETUP = Stop("setup", "/console/setup", None, "Set up New API")
USERS = {"root": PASSWORD, "alice": "alicepass1"}


@dataclass
class Install:
    url: str
    mock: MockUpstreamThread
    key: str = ""


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    """A gateway on a free port with the mock upstream, not yet set up (the setup page is a stop)."""
    with (
        MockUpstreamThread(chunks=6) as mock,
        console_server(tmp_path_factory, "console-everywhere", set_up=False) as url,
    ):
        yield Install(url=url, mock=mock)


@pytest.fixture(scope="module")
def seeded(install: Install) -> Install:
    seed(install)
    return install


@pytest.fixture(scope="module")
def tabs(install: Install, watch: Watch) -> Iterator[Contexts]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        contexts = Contexts(browser, install.url, watch)
        yield contexts
        contexts.close()


def seed(install: Install) -> None:
    """First run, a user, a channel to the mock, a key that has relayed a request (so the dashboard
    draws charts and the logs have a row), redemption codes and public page texts."""
    base = install.url
    body = {"username": "root", "password": PASSWORD, "confirmPassword": PASSWORD}
    assert httpx.post(f"{base}/api/setup", json=body).json()["success"]
    with httpx.Client(base_url=base, headers={"New-Api-User": "1"}, timeout=30) as root:
        assert root.post("/api/user/login", json={"username": "root", "password": PASSWORD}).json()["success"]
        user = {"username": "alice", "password": USERS["alice"], "display_name": "Alice"}
        assert root.post("/api/user/", json=user).json()["success"]
        channel = {
            "type": 1,
            "name": "mock",
            "key": "sk-mock",
            "models": "gpt-4o-mini,gpt-4o",
            "base_url": install.mock.url,
        }
        assert root.post("/api/channel/", json={"mode": "single", "channel": channel}).json()["success"]
        created = root.post("/api/token/", json={"name": "phone-key", "unlimited_quota": True}).json()
        assert created["success"], created
        install.key = "sk-" + created["data"]["key"]
        assert root.post("/api/redemption/", json={"name": "promo", "count": 2, "quota": 1000}).json()[
            "success"
        ]
        for key, value in {
            "HomePageContent": HOME,
            "About": "## About us\n\n`inline code`",
            "Notice": "Maintenance **tonight**",
        }.items():
            assert root.put("/api/option/", json={"key": key, "value": value}).json()["success"]
    for model in ("gpt-4o-mini", "gpt-4o", "gpt-4o-mini"):  # two series: the charts get a legend of two
        answer = httpx.post(
            f"{base}/v1/chat/completions",
            headers={"Authorization": f"Bearer {install.key}"},
            json={"model": model, "messages": [{"role": "user", "content": "hello"}]},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
    # The dashboard draws what the flusher has written (hourly buckets): wait for both models.
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=base, headers={"New-Api-User": "1"}, timeout=30) as root:
        root.post("/api/user/login", json={"username": "root", "password": PASSWORD})
        window = {"start_timestamp": int(time.time()) - 86400, "end_timestamp": int(time.time()) + 3600}
        while charted(root, window) < {"gpt-4o", "gpt-4o-mini"}:
            assert time.monotonic() < deadline, "the flusher wrote no dashboard data within 60 s"
            time.sleep(0.5)


def charted(root: httpx.Client, window: dict[str, int]) -> set[str]:
    """The models the admin dashboard has data for in the window."""
    return {row["model_name"] for row in root.get("/api/data/", params=window).json()["data"]}


class Contexts:
    """One browser; a context per (mode, who), signed in once and reused by every stop."""

    def __init__(self, browser: Browser, base: str, watch: Watch) -> None:
        self.browser, self.base, self.watch = browser, base, watch
        self.pages: dict[tuple[str, str | None], Page] = {}

    def page(self, mode: str, who: str | None) -> Page:
        if (mode, who) not in self.pages:
            context = self.browser.new_context(**MODES[mode])
            context.set_default_timeout(10_000)
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.base)
            tab = context.new_page()
            self.watch.attach(tab)
            if who is not None:
                signed = tab.request.post(
                    f"{self.base}/api/user/login", data={"username": who, "password": USERS[who]}
                ).json()
                assert signed["success"], signed
                # The console keeps the signed-in user in localStorage (lib/auth.ts).
                tab.goto(f"{self.base}/console/login")
                tab.evaluate("u => localStorage.setItem('newapi.user', JSON.stringify(u))", signed["data"])
            self.pages[(mode, who)] = tab
        return self.pages[(mode, who)]

    def close(self) -> None:
        for tab in self.pages.values():
            tab.context.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def visit(page: Page, base: str, stop: Stop) -> None:
    page.goto(f"{base}{stop.path}")
    expect(page.get_by_role("heading", name=stop.heading, exact=True).first).to_be_visible()
    page.wait_for_load_state("networkidle")


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (WCAG 2.x A/AA and best practices)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}))"""
    )
    return result


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def describe(violations: list[dict[str, Any]]) -> str:
    return json.dumps(violations, indent=1)[:6000]


def sideways(page: Page) -> dict[str, Any]:
    """How far the page scrolls sideways, and the widest elements that stick out if it does."""
    result: dict[str, Any] = page.evaluate(
        """() => {
            // The signed-in shell scrolls its <main>, not the document: both must fit.
            const main = document.querySelector('main')
            const width = innerWidth, scroll = document.scrollingElement.scrollWidth
            const inner = main ? main.scrollWidth - main.clientWidth : 0
            const wide = scroll <= width && inner <= 0 ? [] : [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > width + 1)
                .slice(0, 8).map(e => e.tagName.toLowerCase() + '.' + String(e.className).slice(0, 60))
            return {width, scroll: Math.max(scroll, width + inner), wide}
        }"""
    )
    return result


CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()


def contrast(page: Page, selector: str) -> list[dict[str, Any]]:
    """The contrast ratio of every element matching the selector (visible ones only)."""
    result: list[dict[str, Any]] = page.locator(selector).evaluate_all(
        "(els, js) => (eval(js))(els.filter(e => e.getClientRects().length))", CONTRAST_JS
    )
    return result


def is_dark(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.classList.contains('dark')"))
