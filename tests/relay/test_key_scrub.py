"""A channel's keys never leave in an upstream's error text: not to the client, the error log or the log.

The mock's ``quote-key`` directive refuses the key quoting every credential it received, as OpenAI
and Anthropic do; ``x-mock-echo`` (set through the channel's header override) stands in for an
upstream that quotes a part of the key it never saw on the wire (an AWS secret, a private key line).
A Vertex access token minted from the key is a credential too (``ya29.mock-N`` in the mock).
"""

from __future__ import annotations

import logging
import random
import re
import string
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
from sqlalchemy import select

from newapi.app import Gateway
from newapi.core.constants import ChannelType, LogType
from newapi.core.structs import ChannelInfo
from newapi.relay.scrub import REDACTED, KeyScrubber, needles, scrubber_for
from newapi.settings import Settings
from newapi.storage.tables import Log
from newapi.testing import MockUpstreamThread
from tests.relay.test_cloud_channels import AWS, EMAIL, PRIVATE_PEM, PUBLIC_PEM, _service_account
from tests.support.inprocess import client_for, running_app
from tests.support.provision import add_account, add_channel

CLAUDE = "claude-3-5-sonnet-20241022"
PEM_LINE = PRIVATE_PEM.splitlines()[3]


@pytest.fixture(scope="module")
def upstream() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=3, google_accounts=((EMAIL, PUBLIC_PEM),)) as mock:
        yield mock


@pytest.fixture
async def gateway(tmp_path: object, settings_for: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    settings = settings_for({"SQLITE_PATH": f"{tmp_path}/one-api.db", "ERROR_LOG_ENABLED": "true"})
    async with running_app(settings) as app:
        yield app


@dataclass(frozen=True)
class Case:
    channel_type: int
    key: str
    secrets: tuple[str, ...]  # what must never be seen
    echo: str = ""  # what the upstream quotes besides the credentials on the wire
    fmt: str = "openai"
    model: str = "gpt-4o-mini"
    requests: int = 1
    multi_key: bool = False


CASES = {
    "plain": Case(1, "plainkey-9f8e7d6c5b4a", ("plainkey-9f8e7d6c5b4a",)),
    "multi-key": Case(
        1,
        "firstkey-111111\nsecondkey-222222\nthirdkey-333333",
        ("firstkey-111111", "secondkey-222222", "thirdkey-333333"),
        requests=3,
        multi_key=True,
    ),
    "id.secret": Case(
        14,
        "tenant4242.s3cr3tHalfOfTheKey",
        ("tenant4242", "s3cr3tHalfOfTheKey"),
        echo="s3cr3tHalfOfTheKey and tenant4242",
        fmt="claude",
        model=CLAUDE,
    ),
    "aws": Case(
        33,
        f"{AWS[0]}|{AWS[1]}|us-east-1",
        AWS,
        echo=f"secret {AWS[1]}",
        fmt="claude",
        model=CLAUDE,
    ),
    "vertex": Case(
        41,
        "",  # the service account, built with the mock's token URL
        (EMAIL, PEM_LINE, '"private_key"', "ya29.mock-"),
        echo=f"{EMAIL} {PEM_LINE}",
        fmt="gemini",
        model="gemini-2.5-flash",
    ),
    "vertex-whole": Case(
        41,
        "",
        (EMAIL, PEM_LINE, '"private_key"', "ya29.mock-"),
        echo="{api_key}",
        fmt="gemini",
        model="gemini-2.5-flash",
    ),
}


async def _ask(client: httpx.AsyncClient, case: Case, token: str) -> httpx.Response:
    message = [{"role": "user", "content": "hi"}]
    if case.fmt == "claude":
        body = {"model": case.model, "max_tokens": 16, "messages": message}
        return await client.post("/v1/messages", json=body, headers={"x-api-key": token})
    if case.fmt == "gemini":
        body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
        url = f"/v1beta/models/{case.model}:generateContent"
        return await client.post(url, json=body, headers={"x-goog-api-key": token})
    body = {"model": case.model, "messages": message}
    return await client.post("/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("name", list(CASES))
async def test_upstream_error_quoting_the_key_is_scrubbed(
    name: str, gateway: Gateway, upstream: MockUpstreamThread, caplog: pytest.LogCaptureFixture
) -> None:
    case = CASES[name]
    key = case.key or _service_account(upstream.url + "/token")
    override = {"x-mock-fault": "quote-key"}
    if case.echo:
        override["x-mock-echo"] = case.echo
    info = {"is_multi_key": True, "multi_key_mode": "polling"} if case.multi_key else None
    await add_channel(
        gateway,
        upstream.url,
        models=case.model,
        channel_type=case.channel_type,
        key=key,
        other="us-east5" if case.channel_type == 41 else "",
        header_override=orjson.dumps(override).decode(),
        channel_info=orjson.dumps(info).decode() if info else None,
        auto_ban=0 if case.multi_key else 1,
    )
    account = await add_account(gateway)
    # The gateway's own log, everything it writes from here on (a driver's SQL echo is not ours).
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="newapi")
    answers = []
    async with client_for(gateway) as client:
        for _ in range(case.requests):
            response = await _ask(client, case, account.key)
            assert response.status_code == 401, response.text
            answers.append(response.text)
    assert gateway.runtime is not None
    await gateway.runtime.ledger.flush()
    async with gateway.runtime.sessions() as db:
        rows = (await db.execute(select(Log).where(Log.type == LogType.ERROR))).scalars().all()
    assert len(rows) == case.requests
    stored = " ".join(f"{row.content} {row.other}" for row in rows)

    # The refusal reached the client and the log, with the key replaced, not dropped silently.
    assert all("Incorrect API key provided: ***" in text for text in answers), answers
    assert "Incorrect API key provided: ***" in stored
    quoted = [r.headers.get("x-mock-echo", "") for r in upstream.requests()[-case.requests :]]
    assert case.echo == "" or all(quoted), "the upstream did not see the echo header"
    for secret in case.secrets:
        for where, text in (("response", " ".join(answers)), ("error log", stored), ("log", caplog.text)):
            assert secret not in text, f"{secret!r} leaked into the {where}"


async def test_other_text_is_left_alone(gateway: Gateway, upstream: MockUpstreamThread) -> None:
    """A short key part (a region, a 4-letter id) is no needle: ordinary words survive."""
    override = {"x-mock-fault": "quote-key", "x-mock-echo": "abcd us-east-1 request"}
    await add_channel(
        gateway,
        upstream.url,
        key="abcd.longsecretpart99",
        header_override=orjson.dumps(override).decode(),
        auto_ban=0,
    )
    account = await add_account(gateway)
    async with client_for(gateway) as client:
        response = await _ask(client, Case(1, "", ()), account.key)
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert "***, abcd us-east-1 request" in message and "longsecretpart99" not in message


def needles_of(keys: list[str]) -> tuple[str, ...]:
    channel = ChannelInfo(
        1,
        ChannelType.OPENAI,
        "c",
        1,
        tuple(keys),
        "",
        (),
        (),
        0,
        0,
        {},
        {},
        "",
        "",
        {},
        {},
        {},
        {},
        "",
        True,
        "",
    )
    return needles(channel)


@pytest.mark.parametrize("count", [2, 400], ids=["few-replaces", "many-indexed"])
def test_scrubber_agrees_with_a_regex_alternation(count: int) -> None:
    """Both strategies replace exactly what one longest-first alternation would, in text and bytes."""
    rng = random.Random(count)
    keys = [
        f"{rng.randrange(10**6):06d}.{''.join(rng.choices(string.ascii_letters, k=20))}" for _ in range(count)
    ]
    found = needles_of(keys)
    scrubber = KeyScrubber(found)
    pieces = []
    for _ in range(300):
        key = rng.choice(keys)
        pieces.append(rng.choice([key, key.split(".")[1], key[:5], key[3:], "noise é", "|", " "]))
    text = "".join(pieces)
    expected = re.sub("|".join(re.escape(n) for n in found), REDACTED, text)
    assert scrubber.text(text) == expected
    assert scrubber.raw(text.encode()) == expected.encode()
    assert all(key not in scrubber.text(text) for key in keys)


def test_a_channel_whose_keys_change_gets_new_needles() -> None:
    channel = ChannelInfo(
        1,
        ChannelType.OPENAI,
        "c",
        1,
        ("first-key-123456",),
        "",
        (),
        (),
        0,
        0,
        {},
        {},
        "",
        "",
        {},
        {},
        {},
        {},
        "",
        True,
        "",
    )
    assert scrubber_for(channel).text("saw first-key-123456") == "saw ***"
    channel.keys = ("second-key-654321",)
    assert scrubber_for(channel).text("saw second-key-654321") == "saw ***"
