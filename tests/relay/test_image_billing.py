"""Image requests priced as New API prices them: a per-call price times the dall-e size and
quality factors times ``n`` (the consume log's ``model_price`` is that product), and gpt-image
models by the usage tokens the upstream reports. Through the relay against the mock upstream."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from newapi.app import Gateway
from newapi.core.constants import LogType
from newapi.storage.tables import Log, User
from newapi.testing import MockUpstreamThread
from newapi.testing.mock.text import PNG_1X1
from tests.relay.test_log_other_fields import _option
from tests.support.provision import add_account, add_channel

START = 10_000_000


async def settled_charge(gateway: Gateway, user_id: int) -> tuple[Log, int]:
    """The last consume log and how much the user's balance went down."""
    assert gateway.runtime is not None
    await gateway.runtime.ledger.flush()
    async with gateway.runtime.sessions() as db:
        rows = await db.execute(select(Log).where(Log.user_id == user_id, Log.type == LogType.CONSUME))
        log = list(rows.scalars())[-1]
        user = await db.get(User, user_id)
        assert user is not None
        return log, START - (user.quota or 0)


@pytest.mark.parametrize(
    ("model", "size", "quality", "n", "price"),
    [
        ("dall-e-3", "1024x1024", "standard", 1, 0.04),
        ("dall-e-3", "1024x1024", "hd", 1, 0.08),
        ("dall-e-3", "1792x1024", "", 1, 0.08),
        ("dall-e-3", "1024x1792", "hd", 1, 0.12),
        ("dall-e-2", "256x256", "", 3, 0.02 * 0.4 * 3),
        ("dall-e-2", "512x512", "hd", 2, 0.02 * 0.45 * 2),
        ("flux-pro", "1792x1024", "hd", 2, 0.05 * 2),
    ],
)
async def test_per_call_image_price_has_size_quality_and_n(
    gateway: Gateway,
    client: httpx.AsyncClient,
    mock: MockUpstreamThread,
    model: str,
    size: str,
    quality: str,
    n: int,
    price: float,
) -> None:
    await add_channel(gateway, mock.url, models=model)
    await _option(
        gateway, "ModelPrice", orjson.dumps({"dall-e-3": 0.04, "dall-e-2": 0.02, "flux-pro": 0.05}).decode()
    )
    account = await add_account(gateway, quota=START)
    body: dict[str, Any] = {"model": model, "prompt": "a red fox", "size": size, "n": n}
    if quality:
        body["quality"] = quality
    reply = await client.post(
        "/v1/images/generations", json=body, headers={"authorization": f"Bearer {account.key}"}
    )
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["data"]) == n
    log, debited = await settled_charge(gateway, account.user_id)
    expected = round(price * 500_000)
    assert log.quota == expected
    assert debited == expected
    other = orjson.loads(log.other or "{}")
    assert other["model_price"] == pytest.approx(price)
    assert other["group_ratio"] == 1.0
    # New API's image handler: usage is n when the reply has none, and the log names the terms.
    assert (log.prompt_tokens, log.completion_tokens) == (n, 0)
    shown = "hd" if quality == "hd" else "standard"
    assert log.content == f"模型价格 {price:.2f}，分组倍率 1.00, 大小 {size}, 品质 {shown}, 生成数量 {n}"


async def test_image_edit_form_fields_price_the_call(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, models="dall-e-2")
    await _option(gateway, "ModelPrice", orjson.dumps({"dall-e-2": 0.02}).decode())
    account = await add_account(gateway, quota=START)
    reply = await client.post(
        "/v1/images/edits",
        data={"model": "dall-e-2", "prompt": "add a hat", "size": "512x512", "n": "2"},
        files={"image": ("cat.png", PNG_1X1, "image/png")},
        headers={"authorization": f"Bearer {account.key}"},
    )
    assert reply.status_code == 200, reply.text
    log, debited = await settled_charge(gateway, account.user_id)
    assert log.quota == debited == round(0.02 * 0.45 * 2 * 500_000)
    assert orjson.loads(log.other or "{}")["model_price"] == pytest.approx(0.018)


async def test_gpt_image_is_billed_by_its_usage_tokens(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, models="gpt-image-1")
    account = await add_account(gateway, quota=START)
    body = {
        "model": "gpt-image-1",
        "prompt": "a red fox in snow",
        "size": "1536x1024",
        "quality": "high",
        "n": 2,
    }
    reply = await client.post(
        "/v1/images/generations", json=body, headers={"authorization": f"Bearer {account.key}"}
    )
    assert reply.status_code == 200, reply.text
    usage = reply.json()["usage"]
    log, debited = await settled_charge(gateway, account.user_id)
    assert (log.prompt_tokens, log.completion_tokens) == (usage["input_tokens"], usage["output_tokens"])
    # Ratio mode (ModelRatio 2.5, CompletionRatio 8): the size and quality add nothing.
    expected = round((usage["input_tokens"] + usage["output_tokens"] * 8) * 2.5)
    assert log.quota == debited == expected
    other = orjson.loads(log.other or "{}")
    assert (other["model_ratio"], other["completion_ratio"], other["model_price"]) == (2.5, 8.0, -1.0)
