"""The console's part-2 pages in Debian's Chromium against a real ``newapi serve`` and the mock upstream.

One install per module (set up through the API; the first-run page is covered by test_console.py),
one browser shared by every test; the tests run in file order and build on each other's state
(users created on the users page redeem codes in the wallet). Screenshots go beside part 1's in
build/e2e-console/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_console import (
    PASSWORD,
    SHOTS,
    Watch,
    browser_tab,
    console_server,
    no_errors,
    playwright_api,
    shot,
    sign_in,
    sign_out,
    watch,
)

pytestmark = pytest.mark.e2e
# Part 1's fixtures: one error watch per module, and no uncaught page or server error in any test.
__all__ = ["no_errors", "watch"]

Page = playwright_api.Page
expect = playwright_api.expect


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with console_server(tmp_path_factory, "console-pages", set_up=True) as url:
        yield url


@pytest.fixture(scope="module")
def page(watch: Watch, base: str) -> Iterator[Page]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with browser_tab(watch) as tab:
        tab.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        sign_in(tab, base, "root", PASSWORD)
        yield tab


def row(page: Page, text: str) -> playwright_api.Locator:
    return page.get_by_test_id("table-row").filter(has_text=text)


@contextmanager
def root_client(base: str) -> Iterator[httpx.Client]:
    """The API as root, beside the browser (for state a test does not drive through the UI)."""
    with httpx.Client(base_url=base, headers={"New-Api-User": "1"}) as client:
        signed = client.post("/api/user/login", json={"username": "root", "password": PASSWORD})
        assert signed.json()["success"]
        yield client


def set_options(client: httpx.Client, **options: str) -> None:
    for key, value in options.items():
        assert client.put("/api/option/", json={"key": key, "value": value}).json()["success"], key


def toast(page: Page, text: str) -> playwright_api.Locator:
    return page.locator("[data-sonner-toast]").filter(has_text=text).first


def create_user(page: Page, username: str, password: str, role: str | None = None) -> None:
    page.get_by_role("button", name="New user").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Username").fill(username)
    dialog.get_by_label("Password").fill(password)
    if role:
        dialog.get_by_label("Role").select_option(label=role)
    dialog.get_by_role("button", name="Create").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(row(page, username)).to_have_count(1)


def test_users_create_filter_quota_and_root_protected(page: Page, base: str) -> None:
    page.goto(f"{base}/console/users")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    # The root row offers root no destructive action either: root is never disabled or deleted.
    expect(page.get_by_role("button", name="More actions for root")).to_have_count(0)
    create_user(page, "bob", "bobpass123")
    create_user(page, "adm", "admpass123", role="Admin")
    # Balance added through /api/user/manage shows at once, without a reload.
    page.get_by_role("button", name="Adjust the balance of bob").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Change").select_option("add")
    dialog.get_by_label("Amount (in the site currency)").fill("2")
    with page.expect_request(lambda r: r.url.endswith("/api/user/manage") and r.method == "POST") as sent:
        dialog.get_by_role("button", name="Apply").click()
    assert sent.value.post_data_json == {"id": 2, "action": "add_quota", "mode": "add", "value": 1_000_000}
    expect(row(page, "bob").get_by_test_id("user-balance")).to_have_text("$2.00")
    # Edit: display name, group list, remark.
    page.get_by_role("button", name="Edit user bob").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Display name").fill("Bobby")
    dialog.get_by_label("Remark").fill("trial account")
    dialog.get_by_role("button", name="Save").click()
    expect(row(page, "bob")).to_contain_text("Bobby")
    expect(row(page, "bob")).to_contain_text("trial account")
    # Filters live in the URL and reach the server.
    page.get_by_label("Role").select_option(label="Admin")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"role=10"))
    expect(page.get_by_test_id("table-row")).to_have_count(1)
    expect(row(page, "adm")).to_have_count(1)
    page.get_by_role("button", name="Reset").click()
    expect(page.get_by_test_id("table-row")).to_have_count(3)
    # Disable, then enable again.
    page.get_by_role("button", name="More actions for bob").click()
    page.get_by_role("menuitem", name="Disable").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Disable").click()
    expect(row(page, "bob")).to_contain_text("Disabled")
    page.get_by_role("button", name="More actions for bob").click()
    page.get_by_role("menuitem", name="Enable").click()
    expect(row(page, "bob")).to_contain_text("Enabled")
    shot(page, "users")
    # An admin sees the root row with no destructive action, and cannot promote.
    sign_out(page, "root")
    sign_in(page, base, "adm", "admpass123")
    page.goto(f"{base}/console/users")
    expect(row(page, "root")).to_have_count(1)
    expect(row(page, "root").get_by_role("button")).to_have_count(0)
    page.get_by_role("button", name="More actions for bob").click()
    expect(page.get_by_role("menuitem", name="Make admin")).to_have_count(0)
    expect(page.get_by_role("menuitem", name="Delete")).to_be_visible()
    page.keyboard.press("Escape")
    sign_out(page, "adm")
    sign_in(page, base, "root", PASSWORD)


CODES: list[str] = []


def test_redemption_batch_copy_download_edit_and_delete_invalid(page: Page, base: str) -> None:
    page.goto(f"{base}/console/redemptions")
    page.get_by_role("button", name="New codes").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name").fill("promo")
    dialog.get_by_label("How many (1–100)").fill("101")
    dialog.get_by_label("Amount").fill("3")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.get_by_text("Between 1 and 100")).to_be_visible()  # checked before sending
    dialog.get_by_label("How many (1–100)").fill("3")
    dialog.get_by_role("button", name="Create").click()
    created = page.get_by_role("dialog", name="3 codes created")
    items = created.get_by_test_id("created-codes").get_by_role("listitem")
    expect(items).to_have_count(3)
    codes = items.all_inner_texts()
    assert len(codes) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", c) for c in codes), codes
    CODES.extend(codes)
    created.get_by_role("button", name="Copy all").click()
    assert page.evaluate("navigator.clipboard.readText()") == "\n".join(codes) + "\n"
    with page.expect_download() as download:
        created.get_by_role("button", name="Download as text").click()
    assert download.value.suggested_filename == "promo-codes.txt"
    assert Path(download.value.path()).read_text() == "\n".join(codes) + "\n"
    shot(page, "redemption-codes-created")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("table-row").filter(has_text="promo")).to_have_count(3)
    # Edit one: a new name; disable another; search by name.
    first, second = row(page, codes[0]), row(page, codes[1])
    first.get_by_role("button", name=re.compile("^Edit code")).click()
    page.get_by_role("dialog").get_by_label("Name").fill("promo-x")
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(row(page, codes[0])).to_contain_text("promo-x")
    second.get_by_role("switch").click()
    expect(row(page, codes[1])).to_contain_text("Disabled")
    page.get_by_label("Search by name or ID").fill("promo-x")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"keyword=promo-x"))
    expect(page.get_by_test_id("table-row")).to_have_count(1)
    page.goto(f"{base}/console/redemptions")
    shot(page, "redemptions")
    # Delete invalid removes the disabled code and keeps the usable ones.
    page.get_by_role("button", name="Delete invalid codes").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(toast(page, "Invalid codes deleted: 1")).to_be_visible()
    expect(page.get_by_test_id("table-row")).to_have_count(2)
    CODES.remove(codes[1])
    # One deleted by hand.
    page.get_by_role("button", name=re.compile(r"^More actions for code")).last.click()
    page.get_by_role("menuitem", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("table-row")).to_have_count(1)
    remaining = page.get_by_test_id("table-row").inner_text()
    CODES[:] = [c for c in CODES if c in remaining]
    assert len(CODES) == 1


def test_profile_name_password_token_and_notifications(page: Page, base: str) -> None:
    sign_out(page, "root")
    sign_in(page, base, "bob", "bobpass123")
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Profile").click()
    expect(page.get_by_role("heading", name="Profile")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value("bob")
    page.get_by_label("Display name").fill("Bob B")
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_role("button", name="Account menu (bob)")).to_contain_text("Bob B")
    # Password: the server's refusal shows; the right one changes it.
    page.get_by_label("Current password").fill("not-my-password")
    page.get_by_label("New password", exact=True).fill("bobpass456")
    page.get_by_label("Confirm the new password").fill("bobpass456")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert").filter(has_text="the original password is wrong")).to_be_visible()
    page.get_by_label("Current password").fill("bobpass123")
    page.get_by_role("button", name="Change password").click()
    expect(toast(page, "Password changed")).to_be_visible()
    # The access token is shown once, and works on the management API.
    page.get_by_role("button", name="Generate access token").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Generate access token").click()
    token = page.get_by_test_id("access-token").inner_text().strip()
    me = httpx.get(f"{base}/api/user/self", headers={"Authorization": token, "New-Api-User": "2"}).json()
    assert me["success"] and me["data"]["display_name"] == "Bob B"
    # Notifications: the server checks the webhook URL, and a refusal is shown, not swallowed.
    page.get_by_label("Send quota warnings by").select_option("webhook")
    page.get_by_label("Webhook URL").fill("http://127.0.0.1:9/hook")
    page.get_by_role("button", name="Save").last.click()
    expect(toast(page, "webhook_url")).to_be_visible()
    page.get_by_label("Send quota warnings by").select_option("email")
    page.get_by_label("Notification email").fill("bob@example.com")
    page.get_by_label("Warn when the balance falls below").fill("1.5")
    page.get_by_role("button", name="Save").last.click()
    expect(toast(page, "Notification settings saved")).to_be_visible()
    page.reload()
    expect(page.get_by_label("Notification email")).to_have_value("bob@example.com")
    expect(page.get_by_label("Warn when the balance falls below")).to_have_value("1.5")
    # Language from the profile.
    page.get_by_label("Language", exact=True).select_option("zh-CN")
    expect(page.get_by_role("heading", name="个人设置")).to_be_visible()
    page.get_by_label("语言", exact=True).select_option("en")
    shot(page, "profile")


def test_wallet_redeems_a_code_and_shows_the_invitation(page: Page, base: str) -> None:
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Wallet").click()
    balance = page.get_by_test_id("wallet-balance")
    expect(balance).to_have_text("$2.00")
    page.get_by_label("Redemption code").fill("0" * 32)
    page.get_by_role("button", name="Redeem").click()
    # The server's refusal (after its random delay), inline and as a toast.
    expect(page.get_by_role("alert")).to_be_visible(timeout=6_000)
    expect(page.locator("[data-sonner-toast]").first).to_be_visible()
    page.get_by_label("Redemption code").fill(CODES[0])
    page.get_by_role("button", name="Redeem").click()
    expect(toast(page, "Added $3.00 to your balance")).to_be_visible()
    expect(balance).to_have_text("$5.00")
    # Nothing to transfer yet: the server says so.
    page.get_by_label("Move reward to balance (amount)").fill("1")
    page.get_by_role("button", name="Transfer").click()
    expect(toast(page, "not enough invitation reward")).to_be_visible()
    # No payment button until the payments issue.
    expect(page.get_by_role("button", name=re.compile("pay", re.I))).to_have_count(0)
    link = page.get_by_role("textbox", name="Invitation link").input_value()
    assert re.fullmatch(rf"{re.escape(base)}/console/register\?aff=\w+", link), link
    shot(page, "wallet")
    sign_out(page, "bob")
    page.goto(link)
    expect(page.get_by_label("Invitation code (optional)")).to_have_value(link.rsplit("=", 1)[1])
    sign_in(page, base, "root", PASSWORD)


def test_pricing_groups_currency_and_sign_in_rule(page: Page, base: str) -> None:
    with root_client(base) as admin:
        channel = {
            "name": "priced",
            "type": 1,
            "key": "sk-x",
            "base_url": "http://127.0.0.1:9",
            "models": "gpt-4o,per-call-model",
            "group": "default,vip",
        }
        assert admin.post("/api/channel/", json={"mode": "single", "channel": channel}).json()["success"]
        set_options(admin, ModelPrice='{"per-call-model": 0.02}', GroupRatio='{"default": 1, "vip": 2}')
        page.goto(f"{base}/console/pricing")
        gpt, per_call = row(page, "gpt-4o"), row(page, "per-call-model")
        expect(gpt.get_by_test_id("price-input")).to_have_text("$2.5")
        expect(gpt).to_contain_text("$10")
        expect(gpt).to_contain_text("openai-response")
        expect(per_call.get_by_test_id("price-input")).to_have_text("$0.02 per request")
        page.get_by_label("Group").select_option("vip")
        expect(page).to_have_url(re.compile(r"group=vip"))
        expect(gpt.get_by_test_id("price-input")).to_have_text("$5")
        expect(per_call.get_by_test_id("price-input")).to_have_text("$0.04 per request")
        page.get_by_label("Search models").fill("per-call")
        page.get_by_role("button", name="Search").click()
        expect(page.get_by_test_id("table-row")).to_have_count(1)
        shot(page, "pricing")
        # The site's currency: CNY by its exchange rate.
        set_options(admin, **{"general_setting.quota_display_type": "CNY", "USDExchangeRate": "7"})
        page.goto(f"{base}/console/pricing")
        expect(row(page, "gpt-4o").get_by_test_id("price-input")).to_have_text("¥17.5")
        set_options(admin, **{"general_setting.quota_display_type": "USD"})
        # Prices for signed-in users only: a visitor is sent to sign in.
        set_options(admin, HeaderNavModules='{"pricing": {"enabled": true, "requireAuth": true}}')
        visitor = page.context.browser.new_context()  # type: ignore[union-attr]
        try:
            tab = visitor.new_page()
            tab.goto(f"{base}/console/pricing")
            expect(tab).to_have_url(re.compile(r"/console/login\?redirect="))
        finally:
            visitor.close()
            set_options(admin, HeaderNavModules="")


def test_settings_save_one_put_per_changed_key_and_reload(page: Page, base: str) -> None:
    puts: list[dict[str, str]] = []

    def keep(request: playwright_api.Request) -> None:
        if request.method == "PUT" and request.url.endswith("/api/option/"):
            puts.append(request.post_data_json)

    page.on("request", keep)
    try:
        page.goto(f"{base}/console/settings")
        panel = page.get_by_role("tabpanel", name="Site")
        panel.get_by_label("SystemName").fill("Gateway X")
        panel.get_by_role("button", name="Save").click()
        expect(toast(page, "Saved 1 settings")).to_be_visible()
        assert puts == [{"key": "SystemName", "value": "Gateway X"}]
        # A JSON editor checks before anything is sent; then two changed keys make two PUTs.
        page.get_by_role("tab", name="Billing and ratios").click()
        panel = page.get_by_role("tabpanel", name="Billing and ratios")
        panel.get_by_label("ModelRatio").fill('{"gpt-4o": ')
        panel.get_by_label("QuotaForNewUser").fill("100")
        panel.get_by_role("button", name="Save").click()
        expect(panel.get_by_text("Not valid JSON")).to_be_visible()
        assert len(puts) == 1
        panel.get_by_label("ModelRatio").fill('{"gpt-4o": 3}')
        panel.get_by_role("button", name="Save").click()
        expect(toast(page, "Saved 2 settings")).to_be_visible()
        assert [p["key"] for p in puts[1:]] == ["QuotaForNewUser", "ModelRatio"]
        # The server's refusal shows on its field.
        panel.get_by_label("GroupGroupRatio").fill('{"vip": 3}')
        panel.get_by_role("button", name="Save").click()
        expect(panel.get_by_role("alert").filter(has_text="GroupGroupRatio")).to_be_visible()
        # A secret is blank, sent only when typed, and blank again after saving.
        page.get_by_role("tab", name="Sign-in and registration").click()
        panel = page.get_by_role("tabpanel", name="Sign-in and registration")
        expect(panel.get_by_label("SMTPToken")).to_have_value("")
        panel.get_by_label("SMTPToken").fill("smtp-s3cret")
        panel.get_by_label("Allow new users to register").uncheck()
        panel.get_by_role("button", name="Save").click()
        # The billing save's "Saved 2 settings" toast may still be showing: wait for the PUTs.
        for _ in range(100):
            if len(puts) >= 6:
                break
            page.wait_for_timeout(50)
        expect(toast(page, "Saved 2 settings")).to_be_visible()
        assert {p["key"] for p in puts[4:]} == {"SMTPToken", "RegisterEnabled"}, puts
        shot(page, "settings")
        page.reload()
        panel = page.get_by_role("tabpanel", name="Sign-in and registration")
        expect(panel.get_by_label("SMTPToken")).to_have_value("")
        expect(panel.get_by_label("Allow new users to register")).not_to_be_checked()
        page.get_by_role("tab", name="Billing and ratios").click()
        expect(page.get_by_label("ModelRatio")).to_have_value('{"gpt-4o": 3}')
        expect(page.get_by_label("QuotaForNewUser")).to_have_value("100")
        page.get_by_role("tab", name="Site").click()
        expect(page.get_by_label("SystemName")).to_have_value("Gateway X")
    finally:
        page.remove_listener("request", keep)
        with root_client(base) as admin:
            set_options(admin, RegisterEnabled="true")


def test_public_pages_render_markdown_and_never_run_script(page: Page, base: str) -> None:
    hostile = (
        "# Welcome\n\nHello **visitors**.\n\n<script>window.__owned = 1</script>"
        '<img src="x" onerror="window.__owned = 2"> <a href="javascript:window.__owned=3">click</a>'
    )
    with root_client(base) as admin:
        set_options(
            admin,
            HomePageContent=hostile,
            About="## About us\n\n- one\n- two",
            Notice="Maintenance **tonight**",
            **{"legal.user_agreement": "Be nice.", "legal.privacy_policy": ""},
        )
    page.goto(f"{base}/console/home")
    body = page.get_by_test_id("markdown")
    expect(body.get_by_role("heading", name="Welcome")).to_be_visible()
    expect(body.locator("strong")).to_have_text("visitors")
    assert body.locator("script").count() == 0 and body.locator("[onerror]").count() == 0
    expect(body.get_by_text("click")).to_be_visible()
    assert body.locator("[href^='javascript']").count() == 0
    body.get_by_text("click").click()
    assert page.evaluate("window.__owned") is None
    shot(page, "home")
    page.get_by_role("navigation", name="Site navigation").get_by_role("link", name="About").click()
    expect(page.get_by_test_id("markdown").get_by_role("listitem")).to_have_count(2)
    page.get_by_role("link", name="Notice").click()
    expect(page.get_by_test_id("markdown").locator("strong")).to_have_text("tonight")
    page.get_by_role("link", name="User agreement").click()
    expect(page.get_by_test_id("markdown")).to_have_text("Be nice.")
    page.get_by_role("link", name="Privacy policy").click()
    expect(page.get_by_text("Nothing has been written here yet")).to_be_visible()
    assert page.evaluate("window.__owned") is None
