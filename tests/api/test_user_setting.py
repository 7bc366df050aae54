"""PUT /api/user/setting: a save changes only the fields it sends (no channel's address is wiped by
saving another's), and the console's language is stored and returned with the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import orjson
import pytest

from newapi.settings import Settings
from tests.api.conftest import QUIET
from tests.support.inprocess import Session, client_for, running_app, setup_root

ADDRESSES = {
    "notification_email": "me@example.com",
    "webhook_url": "http://10.0.0.5/hook",
    "webhook_secret": "s3cret",
    "bark_url": "http://10.0.0.6/bark/{{title}}",
    "gotify_url": "http://10.0.0.7/",
    "gotify_token": "gtoken",
}
CHANNELS = {
    "email": ("notification_email",),
    "webhook": ("webhook_url", "webhook_secret"),
    "bark": ("bark_url",),
    "gotify": ("gotify_url", "gotify_token"),
}


@pytest.fixture
async def root(db_env: dict[str, str], settings_for: Callable[..., Settings]) -> AsyncIterator[Session]:
    # Private addresses allowed: the test needs URLs that resolve without DNS.
    settings = settings_for(db_env, NEWAPI_ALLOW_PRIVATE_URLS="true", **QUIET)
    async with running_app(settings) as gateway, client_for(gateway) as client:
        yield await setup_root(client)


async def _stored(session: Session) -> dict[str, object]:
    raw = (await session.get("/api/user/self")).json()["data"]["setting"]
    stored = orjson.loads(raw)
    assert isinstance(stored, dict)
    return stored


async def _put(session: Session, body: dict[str, object]) -> None:
    answer = (await session.put("/api/user/setting", json=body)).json()
    assert answer["success"], answer


async def test_saving_one_channel_keeps_the_others(root: Session) -> None:
    for notify_type, fields in CHANNELS.items():
        await _put(root, {"notify_type": notify_type, **{f: ADDRESSES[f] for f in fields}})
    stored = await _stored(root)
    assert stored["notify_type"] == "gotify"
    assert {f: stored.get(f) for f in ADDRESSES} == ADDRESSES
    # Back to the webhook with a new threshold: nothing else moves.
    await _put(root, {"notify_type": "webhook", "quota_warning_threshold": 1000, "record_ip_log": True})
    stored = await _stored(root)
    assert stored["notify_type"] == "webhook" and stored["quota_warning_threshold"] == 1000
    assert {f: stored.get(f) for f in ADDRESSES} == ADDRESSES
    # An empty string is how an address is cleared on purpose.
    await _put(root, {"bark_url": ""})
    stored = await _stored(root)
    assert "bark_url" not in stored and stored["gotify_url"] == ADDRESSES["gotify_url"]


async def test_language_is_stored_and_returned(root: Session) -> None:
    await _put(root, {"notify_type": "webhook", "webhook_url": ADDRESSES["webhook_url"]})
    await _put(root, {"language": "zh-TW"})
    stored = await _stored(root)
    assert stored["language"] == "zh-TW"
    assert stored["notify_type"] == "webhook" and stored["webhook_url"] == ADDRESSES["webhook_url"]
    await _put(root, {"notify_type": "email", "quota_warning_threshold": 0})
    assert (await _stored(root))["language"] == "zh-TW"
    for bad in ("fr; drop", "<script>", "x" * 40, "e"):
        answer = (await root.put("/api/user/setting", json={"language": bad})).json()
        assert answer["success"] is False, bad
    assert (await _stored(root))["language"] == "zh-TW"
    await _put(root, {"language": ""})
    assert "language" not in await _stored(root)


async def test_a_chosen_channel_still_needs_its_address(root: Session) -> None:
    missing = (await root.put("/api/user/setting", json={"notify_type": "bark"})).json()
    assert missing == {"success": False, "message": "bark_url is required for bark notifications"}
    await _put(root, {"notify_type": "bark", "bark_url": ADDRESSES["bark_url"]})
    cleared = (await root.put("/api/user/setting", json={"bark_url": " "})).json()
    assert cleared["success"] is False and cleared["message"].startswith("bark_url is required")
    assert (await _stored(root))["bark_url"] == ADDRESSES["bark_url"]
