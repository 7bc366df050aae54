"""The console's daily operations in Debian's Chromium against a real ``newapi serve`` and the mock:
bulk channel enable/disable/delete, tag mode across pages, the served type picker and a refused
channel, editing a multi-key channel's keys, a key that expires (shown expired, refused by the
relay), an admin narrowing the dashboard to one user, and per-type fields checked as the adaptors
read them (Tencent's three-part key; Cloudflare's account id in ``other``, used by the relay).

One install per module, set up through the API (first run is test_console.py's); the tests run in
file order. Screenshots go beside part 1's in build/e2e-console/.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import openai
import pytest

from newapi.testing import MockUpstreamThread
from tests.e2e.test_console import (
    INSTALL,
    PASSWORD,
    console_server,
    mock,
    no_errors,
    playwright_api,
    poll,
    shot,
    watch,
)
from tests.e2e.test_console_pages import page, root_client

pytestmark = pytest.mark.e2e
# Shared fixtures: one error watch per module, no uncaught page or server error in any test, the
# mock upstream, and a tab signed in as root on this module's install.
__all__ = ["mock", "no_errors", "page", "watch"]

Page = playwright_api.Page
expect = playwright_api.expect


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory, "console-ops", set_up=True) as url:
        yield url


@pytest.fixture(scope="module")
def root(base: str) -> Iterator[httpx.Client]:
    with root_client(base) as client:
        yield client


def rows(page: Page, text: str | re.Pattern[str] = "") -> playwright_api.Locator:
    return (
        page.get_by_test_id("table-row").filter(has_text=text) if text else page.get_by_test_id("table-row")
    )


def make_channel(root: httpx.Client, mock: MockUpstreamThread, mode: str = "single", **fields: Any) -> int:
    channel = {"type": 1, "key": "sk-mock", "base_url": mock.url, "models": "gpt-4o-mini,gpt-4o", **fields}
    made = root.post("/api/channel/", json={"mode": mode, "channel": channel}).json()
    assert made["success"], made
    return int(made["data"]["id"])


def test_bulk_enable_disable_and_delete(
    page: Page, base: str, root: httpx.Client, mock: MockUpstreamThread
) -> None:
    for n in (1, 2, 3):
        make_channel(root, mock, name=f"bulk-{n}")
    page.goto(f"{base}/console/channels?keyword=bulk")
    expect(rows(page)).to_have_count(3)
    page.get_by_role("checkbox", name="Select all channels on this page").click()
    toolbar = page.get_by_role("toolbar", name="Actions on the selected channels")
    toolbar.get_by_role("button", name="Disable").click()
    expect(rows(page, "Disabled")).to_have_count(3)
    assert root.get("/api/channel/", params={"status": "enabled"}).json()["data"]["total"] == 0
    toolbar.get_by_role("button", name="Enable").click()
    expect(rows(page, "Enabled")).to_have_count(3)
    assert root.get("/api/channel/", params={"status": "disabled"}).json()["data"]["total"] == 0
    page.get_by_role("checkbox", name="Select channel bulk-2").click()  # keep bulk-2
    expect(toolbar).to_contain_text("2 selected")
    toolbar.get_by_role("button", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(rows(page)).to_have_count(1)
    expect(rows(page, "bulk-2")).to_have_count(1)
    shot(page, "channels-bulk")
    names = [
        c["name"] for c in root.get("/api/channel/search", params={"keyword": "bulk"}).json()["data"]["items"]
    ]
    assert names == ["bulk-2"]


def test_filters_reach_the_server_and_tag_mode_spans_pages(
    page: Page, base: str, root: httpx.Client, mock: MockUpstreamThread
) -> None:
    make_channel(
        root, mock, name="wide-top", tag="wide", priority=10, group="vip", models="gpt-4o-mini,special-model"
    )
    for n in range(4):
        make_channel(root, mock, name=f"filler-{n}", priority=5)
    make_channel(root, mock, name="wide-bottom", tag="wide", priority=-1)
    # Five per page: the tag's two channels sit on different pages of the plain list.
    page.goto(f"{base}/console/channels?size=5")
    expect(rows(page, "wide-top")).to_have_count(1)
    expect(rows(page, "wide-bottom")).to_have_count(0)
    page.get_by_role("button", name="Tag mode").click()
    expect(page).to_have_url(re.compile(r"tag_mode=1"))
    wide = page.get_by_role("region", name="Tag wide")
    expect(wide).to_contain_text("wide-top")
    expect(wide).to_contain_text("wide-bottom")
    expect(wide).to_contain_text("2 of 2 enabled")
    wide.get_by_role("button", name="Disable tag").click()
    expect(wide).to_contain_text("0 of 2 enabled")
    shot(page, "channels-tag-mode-pages")
    wide.get_by_role("button", name="Enable tag").click()
    expect(wide).to_contain_text("2 of 2 enabled")
    page.get_by_role("button", name="Tag mode").click()
    # The group filter goes to the server, with a keyword too (the search takes every filter).
    page.goto(f"{base}/console/channels?group=vip")
    expect(rows(page)).to_have_count(1)
    expect(rows(page, "wide-top")).to_have_count(1)
    page.goto(f"{base}/console/channels?keyword=wide&status=0")
    expect(rows(page)).to_have_count(0)
    page.goto(f"{base}/console/channels?keyword=wide&status=1&group=vip")
    expect(rows(page)).to_have_count(1)
    expect(page.get_by_role("note")).to_have_count(0)  # no "the search ignores these" any more
    page.goto(f"{base}/console/channels")
    page.get_by_label("Model", exact=True).fill("special")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"model=special"))
    expect(rows(page)).to_have_count(1)
    expect(rows(page, "wide-top")).to_have_count(1)


def test_type_picker_offers_served_types_and_a_refused_channel_says_why(
    page: Page, base: str, root: httpx.Client
) -> None:
    kinds = root.get("/api/channel/types").json()["data"]
    served = [k for k in kinds if k["served"]]
    refused = next(k for k in kinds if not k["served"])
    # An adopted New API row of a type we refuse (the API will not create one).
    with sqlite3.connect(INSTALL["console-ops"]) as db:
        db.execute(
            'INSERT INTO channels (type, "key", name, status, models, "group", created_time) '
            "VALUES (?, 'k', 'adopted', 1, 'gpt-4o-mini', 'default', 0)",
            (refused["type"],),
        )
    page.goto(f"{base}/console/channels?keyword=adopted")
    row = rows(page, "adopted")
    expect(row.get_by_text("Refused")).to_be_visible()
    expect(row.get_by_label(f"Refused: {refused['reason']}")).to_have_count(1)
    row.get_by_role("button", name="Edit channel adopted").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("alert")).to_contain_text(refused["reason"])
    page.keyboard.press("Escape")
    page.get_by_role("button", name="New channel").click()
    dialog = page.get_by_role("dialog")
    options = dialog.get_by_label("Type").locator("option")
    expect(options).to_have_count(len(served))
    assert sorted(int(v) for v in options.evaluate_all("els => els.map(e => e.value)")) == sorted(
        k["type"] for k in served
    )
    # Per-type fields: Azure's API version (the `other` column), OpenAI's organization.
    expect(dialog.get_by_label("OpenAI organization")).to_be_visible()
    dialog.get_by_label("Type").select_option("3")
    expect(dialog.get_by_label("API version", exact=True)).to_be_visible()
    expect(dialog.get_by_label("OpenAI organization")).to_have_count(0)
    shot(page, "channel-form-azure")
    # Request-field flags per type, saved as booleans in `settings` (the relay reads them).
    dialog.get_by_label("Type").select_option("14")
    expect(dialog.get_by_label("Add ?beta=true to Claude requests")).to_be_visible()
    expect(dialog.get_by_label("Remove store")).to_have_count(0)
    dialog.get_by_label("Type").select_option("1")
    dialog.get_by_label("Name").fill("flags")
    dialog.get_by_label("Key", exact=True).fill("sk-flags")
    dialog.get_by_label("Models", exact=True).fill("gpt-4o-mini")
    dialog.get_by_label("Remove store").check()
    dialog.get_by_label("Let service_tier through (may cost more)").check()
    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    saved = root.get("/api/channel/search", params={"keyword": "flags"}).json()["data"]["items"][0]
    assert json.loads(saved["settings"]) == {"disable_store": True, "allow_service_tier": True}


def test_multi_key_edit_appends_or_replaces(
    page: Page, base: str, root: httpx.Client, mock: MockUpstreamThread
) -> None:
    make_channel(root, mock, mode="multi_to_single", name="keyring", key="sk-a\nsk-b")
    page.goto(f"{base}/console/channels?keyword=keyring")
    expect(rows(page, "keyring")).to_contain_text("2 keys")
    page.get_by_role("button", name="Edit channel keyring").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("New keys")).to_have_value("append")
    dialog.get_by_label("Key", exact=True).fill("sk-b\nsk-c")
    dialog.get_by_role("button", name="Save").click()
    expect(rows(page, "keyring")).to_contain_text("3 keys")  # sk-b was there already
    page.get_by_role("button", name="Edit channel keyring").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Key", exact=True).fill("sk-only")
    dialog.get_by_label("New keys").select_option("replace")
    dialog.get_by_role("button", name="Save").click()
    expect(rows(page, "keyring")).to_contain_text("1 keys")


def test_a_key_that_expires(page: Page, base: str, root: httpx.Client, mock: MockUpstreamThread) -> None:
    page.goto(f"{base}/console/keys")
    page.get_by_role("button", name="New key").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("short-lived")
    dialog.get_by_label("Never expires").uncheck()
    # The browser and this test share the machine's clock and time zone.
    expires = datetime.now().replace(microsecond=0) + timedelta(seconds=8)
    dialog.get_by_label("Expires", exact=True).fill(expires.strftime("%Y-%m-%dT%H:%M:%S"))
    dialog.get_by_role("button", name="Create").click()
    key = page.get_by_test_id("created-key").inner_text().strip()
    page.keyboard.press("Escape")
    row = rows(page, "short-lived")
    expect(row).to_contain_text("Enabled")
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
    assert client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    ).choices
    time.sleep(max(0.0, (expires - datetime.now()).total_seconds()) + 1.5)
    with pytest.raises(openai.AuthenticationError, match="expired"):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "late"}])
    page.reload()
    expect(rows(page, "short-lived")).to_contain_text("Expired")
    shot(page, "keys-expired")


def test_dashboard_narrows_to_one_user(
    page: Page, base: str, root: httpx.Client, mock: MockUpstreamThread
) -> None:
    made = root.post(
        "/api/user/", json={"username": "carol", "password": "carolpass1", "display_name": "Carol"}
    )
    assert made.json()["success"], made.json()
    carol_id = next(
        u["id"] for u in root.get("/api/user/search", params={"keyword": "carol"}).json()["data"]["items"]
    )
    topped = root.post(
        "/api/user/manage", json={"id": carol_id, "action": "add_quota", "mode": "add", "value": 5_000_000}
    )
    assert topped.json()["success"], topped.json()
    make_channel(root, mock, name="dash")
    # Whole quota units on the cards, so the narrowed figures add up exactly.
    shown = {"key": "general_setting.quota_display_type", "value": "TOKENS"}
    assert root.put("/api/option/", json=shown).json()["success"]
    keys = {}
    for name, password, user_id in (("root", PASSWORD, 1), ("carol", "carolpass1", carol_id)):
        with httpx.Client(base_url=base, headers={"New-Api-User": str(user_id)}) as session:
            assert session.post("/api/user/login", json={"username": name, "password": password}).json()[
                "success"
            ]
            created = session.post(
                "/api/token/", json={"name": f"{name}-dash", "unlimited_quota": True}
            ).json()
            assert created["success"], created
            key = str(created["data"]["key"])
            keys[name] = key if key.startswith("sk-") else f"sk-{key}"
    # Root spends on gpt-4o three times, carol on gpt-4o-mini once: the figures must differ.
    for name, model, times in (("root", "gpt-4o", 3), ("carol", "gpt-4o-mini", 1)):
        client = openai.OpenAI(base_url=f"{base}/v1", api_key=keys[name], max_retries=0)
        for _ in range(times):
            assert client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "x"}]
            ).choices

    def shows(user: str, model: str | re.Pattern[str], absent: str | re.Pattern[str]) -> None:
        page.goto(f"{base}/console?range=24h" + (f"&user={user}" if user else ""))
        expect(page.locator(".recharts-surface").last).to_contain_text(model, timeout=1000)
        if absent:
            expect(page.locator(".recharts-surface").last).not_to_contain_text(absent, timeout=1000)

    def spent(user: str) -> int:
        page.goto(f"{base}/console?range=24h" + (f"&user={user}" if user else ""))
        value = (
            page.get_by_text("Spent in range", exact=True).locator("xpath=..").get_by_test_id("stat-value")
        )
        expect(value).to_have_text(re.compile(r"\d"))
        return int(re.sub(r"\D", "", value.inner_text()))

    def adds_up() -> None:
        # The cards narrow too: everyone's spending is carol's plus root's, both above zero.
        everyone, carol, root_spent = spent(""), spent("carol"), spent("root")
        assert everyone == carol + root_spent and carol > 0 and root_spent > 0, (everyone, carol, root_spent)

    # The flusher writes logs and hourly buckets in batches: wait for both.
    poll(lambda: shows("", "gpt-4o-mini", ""), seconds=90)
    poll(adds_up, seconds=60)
    # Narrowed through the form: carol's model only; root's gpt-4o only when narrowed to root.
    page.goto(f"{base}/console?range=24h")
    page.get_by_label("User", exact=True).fill("carol")
    page.get_by_label("User", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"user=carol"))
    expect(page.locator(".recharts-surface").last).to_contain_text("gpt-4o-mini")
    expect(page.locator(".recharts-surface").last).not_to_contain_text(re.compile(r"gpt-4o(?!-mini)"))
    shot(page, "dashboard-one-user")
    poll(lambda: shows("root", re.compile(r"gpt-4o(?!-mini)"), ""), seconds=60)


def test_per_type_fields_as_the_adaptors_read_them(
    page: Page, base: str, root: httpx.Client, mock: MockUpstreamThread
) -> None:
    # Last in the file: its relay call would change the dashboard test's figures.
    page.goto(f"{base}/console/channels")
    page.get_by_role("button", name="New channel").click()
    dialog = page.get_by_role("dialog")
    # Tencent's adaptor splits its key into AppId|SecretId|SecretKey: two parts are refused here.
    dialog.get_by_label("Type").select_option("23")
    dialog.get_by_label("Name").fill("cf-console")
    dialog.get_by_label("Key", exact=True).fill("sid|skey")
    dialog.get_by_label("Models", exact=True).fill("gpt-4o-mini")
    dialog.get_by_label("Priority").fill("10")  # above the earlier tests' gpt-4o-mini channels
    expect(dialog.get_by_text("AppId|SecretId|SecretKey.")).to_be_visible()
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.get_by_label("Key", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_role("alert")).to_have_text(
        "A Tencent key is AppId|SecretId|SecretKey, three parts."
    )
    # Cloudflare's `other` is the account id of its URLs: required, saved, read back, and used.
    dialog.get_by_label("Type").select_option("39")
    expect(dialog.get_by_label("Key", exact=True)).not_to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Base URL").fill(mock.url)
    account = dialog.get_by_label("Account ID")
    dialog.get_by_role("button", name="Create").click()
    expect(account).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_role("alert")).to_have_text("The account ID is required (letters and digits only).")
    shot(page, "channel-form-cloudflare")
    account.fill("acct42")
    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    saved = root.get("/api/channel/search", params={"keyword": "cf-console"}).json()["data"]["items"][0]
    assert (saved["type"], saved["other"]) == (39, "acct42")
    page.reload()
    page.get_by_role("button", name="Edit channel cf-console").click()
    expect(page.get_by_role("dialog").get_by_label("Account ID")).to_have_value("acct42")
    page.keyboard.press("Escape")
    created = root.post("/api/token/", json={"name": "cf-console", "unlimited_quota": True}).json()
    assert created["success"], created
    key = str(created["data"]["key"])
    with openai.OpenAI(
        base_url=f"{base}/v1", api_key=key if key.startswith("sk-") else f"sk-{key}", max_retries=0
    ) as client:
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
    assert reply.choices
    assert mock.requests()[-1].path == "/client/v4/accounts/acct42/ai/v1/chat/completions"
