"""param_override operations end to end: an operator saves them on a channel, the OpenAI SDK
sends through it, the mock upstream receives the edited body and headers, a conditional
return_error answers without going upstream, and the consume log's ``po`` audits the edits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from newapi.testing import MockUpstreamThread
from tests.support.over_api import add_channel, put_option, sign_in_root, unlimited_key
from tests.support.server import serve

pytestmark = pytest.mark.e2e

OVERRIDE = {
    "max_tokens": 77,  # a legacy key beside the operations: merged first
    "operations": [
        {
            "mode": "set",
            "path": "temperature",
            "value": 0.1,
            "conditions": [{"path": "original_model", "mode": "full", "value": "po-chat"}],
        },
        {"mode": "prepend", "path": "messages", "value": {"role": "system", "content": "be brief"}},
        {"mode": "regex_replace", "path": "messages.-1.content", "from": "secret-(\\d+)", "to": "[$1]"},
        {"mode": "set_header", "path": "X-Po", "value": "yes"},
        {"mode": "copy_header", "from": "X-Trace", "to": "X-Trace-Up"},
        {
            "mode": "return_error",
            "value": {"message": "blocked by policy", "status_code": 403, "code": "policy"},
            "conditions": [{"path": "user", "mode": "full", "value": "blocked"}],
        },
    ],
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockUpstreamThread]:
    with MockUpstreamThread(chunks=4) as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(
    mock: MockUpstreamThread, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, httpx.Client]]:
    directory = tmp_path_factory.mktemp("po")
    env = {"SQLITE_PATH": str(directory / "one-api.db")}
    with serve(env, workers=1, cwd=directory) as base, httpx.Client(base_url=base, timeout=10) as admin:
        sign_in_root(admin)
        bad = {"operations": [{"mode": "regex_replace", "path": "m", "from": "(unclosed"}]}
        channel = {
            "type": 1,
            "key": "sk-mock",
            "name": "po",
            "base_url": mock.url,
            "models": "po-chat",
            "model_mapping": json.dumps({"po-chat": "gpt-4o-mini"}),
            "param_override": json.dumps(bad),
        }
        refused = admin.post("/api/channel/", json={"mode": "single", "channel": channel}).json()
        assert not refused["success"] and "regex pattern is invalid" in refused["message"]
        channel["param_override"] = json.dumps(OVERRIDE)
        add_channel(admin, channel)
        put_option(admin, "ModelRatio", {"po-chat": 1})
        yield base, unlimited_key(admin, "po"), admin


def test_operations_edit_what_goes_upstream(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    reply = client.chat.completions.create(
        model="po-chat",
        messages=[{"role": "user", "content": "my secret-42 here"}],
        extra_headers={"X-Trace": "t-9"},
    )
    assert reply.choices[0].message.content
    record = mock.requests()[-1]
    body = json.loads(record.body)
    assert body["model"] == "gpt-4o-mini" and body["temperature"] == 0.1 and body["max_tokens"] == 77
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "my [42] here"},
    ]
    assert record.headers["x-po"] == "yes" and record.headers["x-trace-up"] == "t-9"

    stream = client.chat.completions.create(
        model="po-chat", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert json.loads(mock.requests()[-1].body)["messages"][0]["content"] == "be brief"


def test_return_error_answers_without_going_upstream(client: openai.OpenAI, mock: MockUpstreamThread) -> None:
    before = len(mock.requests())
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(
            model="po-chat", messages=[{"role": "user", "content": "hi"}], user="blocked"
        )
    assert "blocked by policy" in str(caught.value)
    assert caught.value.code == "policy"
    assert len(mock.requests()) == before


def test_the_consume_log_audits_the_edits(
    client: openai.OpenAI, gateway: tuple[str, str, httpx.Client]
) -> None:
    _, _, admin = gateway
    client.chat.completions.create(model="po-chat", messages=[{"role": "user", "content": "audit me"}])
    expected = [
        'prepend messages with {"content":"be brief","role":"system"}',
        "regex_replace messages.1.content from secret-(\\d+) to [$1]",
    ]
    others: list[dict[str, object]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = admin.get("/api/log/", params={"type": 2, "p": 1, "page_size": 50}).json()["data"]["items"]
        others = [json.loads(item["other"]) for item in items if item.get("other")]
        if any("po" in other for other in others):
            break
        time.sleep(0.2)
    assert others and all(other.get("po") == expected for other in others), others
