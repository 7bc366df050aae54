"""Routes New API has that were missing (responses compaction, the engines embeddings path, Gemini's
OpenAI-compatible model list) and OpenAI's non-chat endpoints asked of Gemini and Claude channels:
what the mock upstream received and what the client got back."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from newapi.app import Gateway
from newapi.core.constants import LogType
from newapi.storage.tables import Log
from newapi.testing import MockUpstreamThread
from newapi.testing.mock.text import PNG_1X1
from tests.relay.test_log_other_fields import _option
from tests.support.provision import Account, add_account, add_channel

GPT = "gpt-4o-mini"
EMBED = "text-embedding-004"
IMAGEN = "imagen-3.0-generate-002"


def _bearer(account: Account) -> dict[str, str]:
    return {"authorization": f"Bearer {account.key}"}


async def _last_log(gateway: Gateway, user_id: int) -> Log:
    assert gateway.runtime is not None
    await gateway.runtime.ledger.flush()
    async with gateway.runtime.sessions() as db:
        rows = await db.execute(select(Log).where(Log.user_id == user_id, Log.type == LogType.CONSUME))
        return list(rows.scalars())[-1]


# -- /v1/responses/compact ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel_type", "path", "query"),
    [(1, "/v1/responses/compact", ""), (3, "/openai/v1/responses/compact", "api-version=preview")],
)
async def test_responses_compact_is_relayed_and_billed_under_its_own_name(
    gateway: Gateway,
    client: httpx.AsyncClient,
    mock: MockUpstreamThread,
    channel_type: int,
    path: str,
    query: str,
) -> None:
    await add_channel(gateway, mock.url, channel_type=channel_type)
    await _option(gateway, "ModelRatio", orjson.dumps({"*-openai-compact": 2}).decode())
    account = await add_account(gateway)
    body = {"model": GPT, "input": [{"role": "user", "content": "a long conversation"}]}
    reply = await client.post("/v1/responses/compact", json=body, headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    assert reply.json()["object"] == "response.compaction"
    sent = mock.requests()[-1]
    assert (sent.path, sent.query) == (path, query)
    log = await _last_log(gateway, account.user_id)
    assert log.model_name == f"{GPT}-openai-compact" and log.quota > 0


async def test_responses_compact_is_refused_by_channels_without_it(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    claude = "claude-sonnet-4-20250514"
    await add_channel(gateway, mock.url, channel_type=14, models=claude)
    await _option(gateway, "ModelRatio", orjson.dumps({"*-openai-compact": 2}).decode())
    account = await add_account(gateway)
    before = len(mock.requests())
    reply = await client.post(
        "/v1/responses/compact", json={"model": claude, "input": "x"}, headers=_bearer(account)
    )
    assert reply.status_code == 400 and "/v1/responses/compact" in reply.json()["error"]["message"]
    assert len(mock.requests()) == before


# -- /v1/engines/{model}/embeddings and /v1beta/openai/models ----------------------------------------


async def test_engines_embeddings_reads_gemini_bodies(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, channel_type=24, models=EMBED)
    account = await add_account(gateway)
    one = {"content": {"parts": [{"text": "hello world"}]}}
    reply = await client.post(f"/v1/engines/{EMBED}/embeddings", json=one, headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    assert reply.json()["embedding"]["values"]
    assert mock.requests()[-1].path == f"/v1beta/models/{EMBED}:embedContent"
    batch = {"requests": [one, one]}
    reply = await client.post(f"/v1/engines/{EMBED}/embeddings", json=batch, headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["embeddings"]) == 2
    assert mock.requests()[-1].path == f"/v1beta/models/{EMBED}:batchEmbedContents"


async def test_v1beta_openai_models_lists_in_openai_shape(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, channel_type=24, models="gemini-2.5-flash")
    account = await add_account(gateway)
    reply = await client.get("/v1beta/openai/models", headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["object"] == "list"
    assert [m["id"] for m in answer["data"]] == ["gemini-2.5-flash"]
    assert answer["data"][0]["object"] == "model"


# -- OpenAI embeddings and images on Gemini and Claude channels -------------------------------------


async def test_openai_embeddings_on_a_gemini_channel_use_batch_embed_contents(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, channel_type=24, models=EMBED)
    account = await add_account(gateway)
    body = {"model": EMBED, "input": ["first text", "second text"], "dimensions": 8}
    reply = await client.post("/v1/embeddings", json=body, headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    sent = mock.requests()[-1]
    assert sent.path == f"/v1beta/models/{EMBED}:batchEmbedContents"
    requests = orjson.loads(sent.body)["requests"]
    assert [r["content"]["parts"][0]["text"] for r in requests] == ["first text", "second text"]
    assert requests[0]["model"] == f"models/{EMBED}" and requests[0]["outputDimensionality"] == 8
    answer = reply.json()
    assert answer["object"] == "list" and answer["model"] == EMBED
    assert [d["index"] for d in answer["data"]] == [0, 1]
    assert all(d["object"] == "embedding" and d["embedding"] for d in answer["data"])
    log = await _last_log(gateway, account.user_id)
    assert log.prompt_tokens > 0  # Gemini reports no usage: estimated from the input


async def test_openai_images_on_a_gemini_channel_use_imagen_predict(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, channel_type=24, models=IMAGEN)
    account = await add_account(gateway)
    body = {"model": IMAGEN, "prompt": "a red square", "n": 2, "size": "1792x1024"}
    reply = await client.post("/v1/images/generations", json=body, headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    sent = mock.requests()[-1]
    assert sent.path == f"/v1beta/models/{IMAGEN}:predict"
    assert orjson.loads(sent.body) == {
        "instances": [{"prompt": "a red square"}],
        "parameters": {"sampleCount": 2, "aspectRatio": "16:9"},
    }
    data = reply.json()["data"]
    assert len(data) == 2 and base64.b64decode(data[0]["b64_json"]) == PNG_1X1


@pytest.mark.parametrize(
    ("channel_type", "model", "path", "body", "message"),
    [
        (
            14,
            "claude-sonnet-4-20250514",
            "/v1/embeddings",
            {"input": "x"},
            "Claude channels have no embeddings API",
        ),
        (14, "claude-sonnet-4-20250514", "/v1/images/generations", {"prompt": "x"}, "have no images API"),
        (
            24,
            "gemini-2.5-flash",
            "/v1/audio/speech",
            {"input": "x", "voice": "a"},
            "Gemini channels have no speech",
        ),
        (24, "gemini-2.5-flash", "/v1/moderations", {"input": "x"}, "Gemini channels have no moderations"),
        (24, "gemini-2.5-flash", "/v1/images/generations", {"prompt": "x"}, "served for Imagen models"),
    ],
)
async def test_endpoints_a_family_lacks_are_a_clear_400(
    gateway: Gateway,
    client: httpx.AsyncClient,
    mock: MockUpstreamThread,
    channel_type: int,
    model: str,
    path: str,
    body: dict[str, Any],
    message: str,
) -> None:
    await add_channel(gateway, mock.url, channel_type=channel_type, models=model)
    await _option(gateway, "ModelPrice", orjson.dumps({model: 0.01}).decode())
    account = await add_account(gateway)
    before = len(mock.requests())
    reply = await client.post(path, json={"model": model, **body}, headers=_bearer(account))
    assert reply.status_code == 400, reply.text
    assert message in reply.json()["error"]["message"]
    assert len(mock.requests()) == before  # nothing went upstream as an empty chat call


async def test_openai_embeddings_and_images_on_a_vertex_channel_use_predict(
    gateway: Gateway, client: httpx.AsyncClient, mock: MockUpstreamThread
) -> None:
    await add_channel(gateway, mock.url, channel_type=41, models=f"{EMBED},{IMAGEN}", key="express-key")
    account = await add_account(gateway)
    body = {"model": EMBED, "input": ["one two three", "four"], "dimensions": 8}
    reply = await client.post("/v1/embeddings", json=body, headers=_bearer(account))
    assert reply.status_code == 200, reply.text
    sent = mock.requests()[-1]
    assert (sent.path, sent.query) == (f"/v1/publishers/google/models/{EMBED}:predict", "key=express-key")
    assert orjson.loads(sent.body) == {
        "instances": [{"content": "one two three"}, {"content": "four"}],
        "parameters": {"outputDimensionality": 8},
    }
    answer = reply.json()
    assert [len(d["embedding"]) for d in answer["data"]] == [8, 8]
    assert answer["usage"]["prompt_tokens"] == 4  # Vertex's token counts, summed
    log = await _last_log(gateway, account.user_id)
    assert log.prompt_tokens == 4
    reply = await client.post(
        "/v1/images/generations", json={"model": IMAGEN, "prompt": "a red square"}, headers=_bearer(account)
    )
    assert reply.status_code == 200, reply.text
    assert mock.requests()[-1].path == f"/v1/publishers/google/models/{IMAGEN}:predict"
    assert base64.b64decode(reply.json()["data"][0]["b64_json"]) == PNG_1X1
