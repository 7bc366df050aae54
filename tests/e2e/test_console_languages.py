"""The console in its five languages, in Chromium against a real ``newapi serve``.

Every page (the first-run page before the install is set up, the public pages, every signed-in
page and every settings group) is visited in zh-CN, zh-TW, en, fr and ja, and on each one:
``<html lang>`` names the language; i18next reported no missing key (the console logs one as a
console error and keeps it in ``window.__i18nMissing``); no raw key (``nav.keys``) is rendered as
text or as an accessible name; outside English no element shows an English text of the console
(an untranslated string); and every API call the page made said the language in
``Accept-Language``. The browser itself is German, so a right header can only come from the console.

Then the choice itself: made in the header, it persists across a reload, is saved to the account
and comes back when that account signs in on a fresh browser; a first visit follows the browser's
language. And the profile's notification settings: saving one channel keeps the others' addresses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from newapi.testing import MockUpstreamThread
from tests.e2e.test_console import CHROMIUM, PASSWORD, SHOTS, Watch, no_errors, playwright_api, watch
from tests.support.server import ROOT, serve

pytestmark = pytest.mark.e2e
__all__ = ["no_errors", "watch"]

Page = playwright_api.Page
Browser = playwright_api.Browser
expect = playwright_api.expect

LOCALES = ROOT / "web" / "src" / "i18n" / "locales"
LANGS = ["zh-CN", "zh-TW", "en", "fr", "ja"]
ALICE = "alicepass1"


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        out.update({path: value} if isinstance(value, str) else _flatten(value, path))
    return out


TEXT = {lang: _flatten(json.loads((LOCALES / f"{lang}.json").read_text())) for lang in LANGS}
NAMESPACES = sorted({key.split(".")[0] for key in TEXT["en"]})
RAW_KEY = re.compile(rf"\b(?:{'|'.join(NAMESPACES)})\.[A-Za-z][\w.]*[A-Za-z0-9_]")

# (name, path, who): who is None for a visitor. Settings is visited group by group.
SETUP = ("setup", "/console/setup", None)
PUBLIC = [
    ("login", "/console/login", None),
    ("register", "/console/register", None),
    ("home", "/console/home", None),
    ("pricing", "/console/pricing", None),
    ("about", "/console/about", None),
    ("notice", "/console/notice", None),
    ("user-agreement", "/console/user-agreement", None),
    ("privacy-policy", "/console/privacy-policy", None),
    ("not-found", "/console/no-such-page", None),
]
SIGNED_IN = [
    ("dashboard", "/console?range=7d", "root"),
    ("keys", "/console/keys", "root"),
    ("channels", "/console/channels", "root"),
    ("logs", "/console/logs", "root"),
    ("playground", "/console/playground", "root"),
    ("wallet", "/console/wallet", "root"),
    ("profile", "/console/profile", "root"),
    ("users", "/console/users", "root"),
    ("redemptions", "/console/redemptions", "root"),
    *[
        (f"settings-{g}", f"/console/settings?group={g}", "root")
        for g in ("site", "auth", "billing", "models", "operations", "security", "content")
    ],
    ("user-dashboard", "/console", "alice"),
    ("user-wallet", "/console/wallet", "alice"),
]

# Every element's own text and accessible texts, for the raw-key and English checks.
TEXTS_JS = """() => {
  const out = []
  for (const el of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'CODE', 'PRE'].includes(el.tagName)) continue
    const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('').trim()
    if (own) out.push(own)
    for (const a of ['aria-label', 'placeholder', 'title', 'alt']) {
      const v = el.getAttribute(a)
      if (v && v.trim()) out.push(v.trim())
    }
  }
  out.push(document.title)
  return out
}"""


@dataclass
class Install:
    url: str
    key: str = ""


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    directory = tmp_path_factory.mktemp("console-languages")
    env = {"SQLITE_PATH": str(directory / "one-api.db"), "NEWAPI_ALLOW_PRIVATE_URLS": "true"}
    with serve(env, cwd=directory) as url:
        yield Install(url)


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=4) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def seeded(install: Install, mock: MockUpstreamThread) -> Install:
    """First run, a user, a channel to the mock, a key that relayed a request, codes and texts."""
    base = install.url
    body = {"username": "root", "password": PASSWORD, "confirmPassword": PASSWORD}
    assert httpx.post(f"{base}/api/setup", json=body).json()["success"]
    with httpx.Client(base_url=base, headers={"New-Api-User": "1"}, timeout=30) as root:
        assert root.post("/api/user/login", json={"username": "root", "password": PASSWORD}).json()["success"]
        assert root.post("/api/user/", json={"username": "alice", "password": ALICE}).json()["success"]
        channel = {"type": 1, "name": "mock", "key": "sk-mock", "models": "gpt-4o-mini", "base_url": mock.url}
        assert root.post("/api/channel/", json={"mode": "single", "channel": channel}).json()["success"]
        created = root.post("/api/token/", json={"name": "k1", "unlimited_quota": True}).json()
        install.key = "sk-" + created["data"]["key"]
        assert root.post("/api/redemption/", json={"name": "promo", "count": 1, "quota": 1000}).json()[
            "success"
        ]
        for key, value in {
            "HomePageContent": "# Hi",
            "About": "We run **models**",
            "Notice": "Maintenance **tonight**",
        }.items():
            assert root.put("/api/option/", json={"key": key, "value": value}).json()["success"]
    answer = httpx.post(
        f"{base}/v1/chat/completions",
        headers={"Authorization": f"Bearer {install.key}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return install


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@dataclass
class Tab:
    """A browser context in one language, with the API requests it made and their language."""

    page: Page
    api_calls: list[tuple[str, str]] = field(default_factory=list)


@contextmanager
def tab(browser: Browser, watch: Watch, base: str, lang: str | None, locale: str = "de-DE") -> Iterator[Tab]:
    """A fresh context; ``lang`` chosen beforehand (as a returning visitor's saved choice) or None."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
    context.set_default_timeout(10_000)
    if lang:
        context.add_init_script(
            f"localStorage.getItem('newapi.language') || localStorage.setItem('newapi.language', '{lang}')"
        )
    page = context.new_page()
    watch.attach(page)
    opened = Tab(page)
    page.on(
        "request",
        lambda r: (
            opened.api_calls.append((r.url, r.headers.get("accept-language", "")))
            if "/api/" in r.url and r.resource_type in ("fetch", "xhr")
            else None
        ),
    )
    try:
        yield opened
    finally:
        context.close()


def sign_in(t: Tab, base: str, who: str) -> None:
    """Signs in through the API and hands the user to the console (lib/auth.ts keeps it)."""
    page = t.page
    signed = page.request.post(
        f"{base}/api/user/login", data={"username": who, "password": PASSWORD if who == "root" else ALICE}
    ).json()
    assert signed["success"], signed
    page.goto(f"{base}/console/login")
    page.evaluate("u => localStorage.setItem('newapi.user', JSON.stringify(u))", signed["data"])


def settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.querySelector('.animate-pulse') && document.querySelector('h1, main')"
    )


def findings(t: Tab, lang: str, name: str) -> list[str]:
    """What is wrong with the page as it is now, in this language."""
    page = t.page
    problems: list[str] = []
    html_lang = page.evaluate("document.documentElement.lang")
    if html_lang != lang:
        problems.append(f"<html lang> is {html_lang!r}")
    missing = page.evaluate("window.__i18nMissing || null")
    if missing is None:
        problems.append("the i18n module did not load")
    elif missing:
        problems.append(f"missing keys {sorted(set(missing))}")
    texts: list[str] = page.evaluate(TEXTS_JS)
    raw = sorted({m.group(0) for text in texts for m in RAW_KEY.finditer(text)})
    if raw:
        problems.append(f"raw keys shown {raw}")
    if lang != "en":
        english = {v for k, v in TEXT["en"].items() if v != TEXT[lang][k] and re.search(r"[A-Za-z]{3}", v)}
        shown = sorted({text for text in texts if text in english})
        if shown:
            problems.append(f"English texts shown {shown}")
    wrong = sorted({url for url, header in t.api_calls if header != lang})
    if wrong:
        problems.append(f"Accept-Language not {lang} on {wrong[:5]}")
    if not t.api_calls:
        problems.append("no API call seen")
    return [f"{lang} {name}: {p}" for p in problems]


def tour(
    browser: Browser, watch: Watch, base: str, lang: str, stops: list[tuple[str, str, str | None]]
) -> list[str]:
    problems: list[str] = []
    for who in dict.fromkeys(s[2] for s in stops):
        with tab(browser, watch, base, lang) as t:
            if who:
                sign_in(t, base, who)
            for name, path, _ in (s for s in stops if s[2] == who):
                t.api_calls.clear()
                t.page.goto(f"{base}{path}")
                settle(t.page)
                problems += findings(t, lang, name)
                t.page.screenshot(path=str(SHOTS / f"lang-{lang}-{name}.png"))
    return problems


@pytest.mark.parametrize("lang", LANGS)
def test_setup_page_in_every_language(install: Install, browser: Browser, watch: Watch, lang: str) -> None:
    problems = tour(browser, watch, install.url, lang, [SETUP])
    assert problems == []


@pytest.mark.parametrize("lang", LANGS)
def test_every_page_in_every_language(seeded: Install, browser: Browser, watch: Watch, lang: str) -> None:
    problems = tour(browser, watch, seeded.url, lang, PUBLIC + SIGNED_IN)
    assert problems == [], "\n".join(problems)
    assert not [p for p in watch.problems if "i18n" in p]


def test_first_visit_follows_the_browser_language(seeded: Install, browser: Browser, watch: Watch) -> None:
    for locale, lang in (("zh-TW", "zh-TW"), ("ja-JP", "ja"), ("fr-CA", "fr"), ("de-DE", "en")):
        with tab(browser, watch, seeded.url, None, locale=locale) as t:
            t.page.goto(f"{seeded.url}/console/login")
            expect(t.page.get_by_role("heading", name=TEXT[lang]["auth.loginTitle"])).to_be_visible()
            assert t.page.evaluate("document.documentElement.lang") == lang


def test_the_choice_persists_and_follows_the_account(seeded: Install, browser: Browser, watch: Watch) -> None:
    base = seeded.url
    with tab(browser, watch, base, None) as t:
        page = t.page
        sign_in(t, base, "alice")
        page.goto(f"{base}/console/wallet")
        expect(page.get_by_role("heading", name="Wallet")).to_be_visible()
        saved: list[dict[str, Any]] = []
        page.on(
            "request",
            lambda r: (
                saved.append(r.post_data_json)
                if r.method == "PUT" and r.url.endswith("/api/user/setting")
                else None
            ),
        )
        page.get_by_role("button", name=re.compile(r"^Language")).click()
        page.get_by_role("menuitem", name="Français").click()
        expect(page.get_by_role("heading", name="Portefeuille")).to_be_visible()
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert page.evaluate("localStorage.getItem('newapi.language')") == "fr"
        page.wait_for_load_state("networkidle")
        assert saved == [{"language": "fr"}]
        t.api_calls.clear()
        page.reload()
        expect(page.get_by_role("heading", name="Portefeuille")).to_be_visible()
        settle(page)
        assert t.api_calls and {header for _, header in t.api_calls} == {"fr"}
        me = page.request.get(f"{base}/api/user/self", headers={"New-Api-User": "2"}).json()["data"]
        assert json.loads(me["setting"])["language"] == "fr"
    # A fresh browser in English: signing in brings the account's French back.
    with tab(browser, watch, base, None, locale="en-US") as t:
        page = t.page
        page.goto(f"{base}/console/login")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill(ALICE)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("link", name=TEXT["fr"]["nav.dashboard"])).to_be_visible()
        assert page.evaluate("document.documentElement.lang") == "fr"
        assert page.evaluate("localStorage.getItem('newapi.language')") == "fr"


def test_saving_a_notification_channel_keeps_the_others(
    seeded: Install, browser: Browser, watch: Watch
) -> None:
    base = seeded.url
    with tab(browser, watch, base, "en") as t:
        page = t.page
        sign_in(t, base, "alice")
        page.goto(f"{base}/console/profile")
        kind = page.get_by_label("Send quota warnings by")
        for channel, label, url in (
            ("webhook", "Webhook URL", "http://10.0.0.5/hook"),
            ("bark", "Bark URL", "http://10.0.0.6/bark"),
            ("gotify", "Gotify URL", "http://10.0.0.7/"),
        ):
            kind.select_option(channel)
            page.get_by_label(label).fill(url)
            page.get_by_role("button", name="Save").last.click()
            expect(page.get_by_text("Notification settings saved").last).to_be_visible()
        page.reload()
        kind = page.get_by_label("Send quota warnings by")
        expect(kind).to_have_value("gotify")
        for channel, label, url in (
            ("webhook", "Webhook URL", "http://10.0.0.5/hook"),
            ("bark", "Bark URL", "http://10.0.0.6/bark"),
        ):
            kind.select_option(channel)
            expect(page.get_by_label(label)).to_have_value(url)
