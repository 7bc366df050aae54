"""PaLM, AIProxy Library and MokaAI conversions on their own: what the e2e tests do not reach
(filtered answers, tool turns, in-stream errors, bad embedding inputs)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest

from newapi.adaptors.aiproxy import request as aiproxy_request
from newapi.adaptors.aiproxy import response as aiproxy_response
from newapi.adaptors.aiproxy.stream import Reader as AIProxyReader
from newapi.adaptors.mokaai import request as moka_request
from newapi.adaptors.mokaai import response as moka_response
from newapi.adaptors.palm import request as palm_request
from newapi.adaptors.palm import response as palm_response
from newapi.adaptors.palm.stream import Reader as PaLMReader
from newapi.adaptors.palm.stream import as_sse
from newapi.convert import model as m
from newapi.core.errors import UpstreamStatusError
from newapi.streaming.scanner import SSEEvent


def _event(obj: object) -> SSEEvent:
    return SSEEvent(data=orjson.dumps(obj), raw=b"")


def test_palm_request_keeps_text_and_tool_results_only() -> None:
    req = m.Request(
        model="PaLM-2",
        system=[m.Text("rules")],
        messages=[
            m.Message("user", [m.Text("look "), m.Media("image/png", data="AAAA"), m.Text("up")]),
            m.Message("assistant", [m.ToolCall("c1", "lookup", "{}")]),
            m.Message("user", [m.ToolResult("c1", "lookup", [m.Text("42")])]),
        ],
        top_k=3,
    )
    assert palm_request.render_request(req) == {
        "prompt": {
            "context": "rules",
            "messages": [
                {"author": "0", "content": "look up"},
                {"author": "1", "content": ""},
                {"author": "0", "content": "42"},
            ],
        },
        "topK": 3,
    }


def test_palm_filtered_answer_is_an_error() -> None:
    body = orjson.dumps({"filters": [{"reason": "SAFETY"}], "messages": []})
    with pytest.raises(UpstreamStatusError) as caught:
        palm_response.parse_response(body)
    assert caught.value.status == 502 and "filtered: SAFETY" in caught.value.message
    failed = orjson.dumps({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})
    assert palm_response.error_message(failed) == ("quota", "RESOURCE_EXHAUSTED")
    events = PaLMReader().read(SSEEvent(data=failed, raw=b""))
    assert events == [m.Failure("quota", "RESOURCE_EXHAUSTED")]


def test_palm_stream_frames_the_whole_body_as_one_event() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"candidates": [{"author": "1",\n'
        yield b' "content": "hi"}]}'

    async def collect() -> bytes:
        return b"".join([c async for c in as_sse(chunks())])

    framed = asyncio.run(collect())
    assert framed.startswith(b"data: ") and framed.endswith(b"\n\n") and framed.count(b"\n\n") == 1
    data = framed[len(b"data: ") : -2]
    assert PaLMReader().read(SSEEvent(data=data, raw=b"")) == [m.Begin(), m.TextDelta("hi"), m.Finish("stop")]


def test_aiproxy_asks_the_last_message() -> None:
    req = m.Request(
        model="gpt-3.5-turbo", messages=[m.Message("user", [m.Text("a")]), m.Message("user", [m.Text("b")])]
    )
    assert aiproxy_request.render_request(req, "lib") == {
        "model": "gpt-3.5-turbo",
        "query": "b",
        "libraryId": "lib",
        "stream": False,
    }


def test_aiproxy_errors_whole_and_in_stream() -> None:
    failed = orjson.dumps({"success": False, "errCode": 1002, "message": "no such library"})
    with pytest.raises(UpstreamStatusError) as caught:
        aiproxy_response.parse_response(failed)
    assert caught.value.message == "no such library" and caught.value.upstream_code == "1002"
    reader = AIProxyReader()
    assert reader.read(SSEEvent(data=failed, raw=b"")) == [m.Failure("no such library", "1002")]


def test_aiproxy_stream_without_documents_ends_plainly() -> None:
    reader = AIProxyReader()
    out = reader.read(_event({"content": "Hi", "finish": False, "model": "x"}))
    out += reader.read(_event({"content": "", "finish": True, "model": "x"}))
    out += reader.read(_event({"content": "late", "finish": False}))  # nothing after the finish
    assert out == [m.Begin("", "x"), m.TextDelta("Hi"), m.Finish("stop")]


@pytest.mark.parametrize("given", [[1, 2, 3], [[1, 2]], 7, None, []])
def test_moka_embeds_strings_only(given: object) -> None:
    with pytest.raises(ValueError, match="input"):
        moka_request.embeddings_request({"input": given}, "m3e-base")


def test_moka_reply_without_usage_leaves_it_to_the_estimate() -> None:
    payload = orjson.dumps({"data": [{"object": "embedding", "index": 0, "embedding": [0.5]}]})
    body, usage = moka_response.embeddings_reply(payload, "m3e-base")
    assert usage is None and orjson.loads(body) == {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.5]}],
        "model": "m3e-base",
    }
