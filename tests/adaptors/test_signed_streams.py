"""The signed families' stream readers over recorded streams split at every byte, and their errors."""

from __future__ import annotations

import orjson
import pytest

from newapi.adaptors.baidu import response as baidu_response
from newapi.adaptors.baidu import stream as baidu_stream
from newapi.adaptors.signed import EventReader
from newapi.adaptors.tencent import response as tencent_response
from newapi.adaptors.tencent import stream as tencent_stream
from newapi.adaptors.xunfei import response as xunfei_response
from newapi.adaptors.xunfei import stream as xunfei_stream
from newapi.adaptors.zhipu import response as zhipu_response
from newapi.adaptors.zhipu import stream as zhipu_stream
from newapi.convert import model as m
from newapi.streaming.scanner import SSEScanner


def _sse(obj: object) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


BAIDU = _sse({"id": "as-1", "result": "Hello", "is_end": False, "usage": {"prompt_tokens": 4}}) + _sse(
    {"id": "as-1", "result": " there", "is_end": True, "usage": {"prompt_tokens": 4, "completion_tokens": 2}}
)
TENCENT = _sse({"Id": "hy-1", "Choices": [{"Delta": {"Content": "Hello"}, "FinishReason": ""}]}) + _sse(
    {
        "Id": "hy-1",
        "Choices": [{"Delta": {"Content": " there"}, "FinishReason": "stop"}],
        "Usage": {"PromptTokens": 4, "CompletionTokens": 2, "TotalTokens": 6},
    }
)
ZHIPU = (
    b"event:add\nid:zp-1\ndata:Hello\n\n"
    b"event:add\nid:zp-1\ndata: there\n\n"
    b'event:finish\nid:zp-1\ndata:\nmeta:{"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}\n\n'
)
SPARK = _sse(
    {
        "header": {"code": 0, "sid": "cht1", "status": 0},
        "payload": {"choices": {"text": [{"content": "Hello"}]}},
    }
) + _sse(
    {
        "header": {"code": 0, "sid": "cht1", "status": 2},
        "payload": {
            "choices": {"text": [{"content": " there"}]},
            "usage": {"text": {"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}},
        },
    }
)


def _run(reader: EventReader, stream: bytes, cut: int) -> tuple[str, tuple[int, int], list[m.Event]]:
    scanner = SSEScanner(1 << 20)
    events: list[m.Event] = []
    for piece in (stream[:cut], stream[cut:]):
        for event in scanner.feed(piece):
            events += reader.read(event)
    for event in scanner.finish():
        events += reader.read(event)
    text = "".join(e.text for e in events if isinstance(e, m.TextDelta))
    usage = [e.usage for e in events if isinstance(e, m.UsageReport)][-1]
    return text, (usage.prompt_tokens, usage.completion_tokens), events


@pytest.mark.parametrize(
    ("reader", "stream"),
    [
        (baidu_stream.Reader, BAIDU),
        (tencent_stream.Reader, TENCENT),
        (zhipu_stream.Reader, ZHIPU),
        (xunfei_stream.Reader, SPARK),
    ],
    ids=["baidu", "tencent", "zhipu", "xunfei"],
)
def test_streams_split_at_every_byte(reader: type[EventReader], stream: bytes) -> None:
    for cut in range(len(stream) + 1):
        text, usage, events = _run(reader(), stream, cut)
        assert (text, usage) == ("Hello there", (4, 2)), cut
        assert sum(isinstance(e, m.Begin) for e in events) == 1
        assert [e.reason for e in events if isinstance(e, m.Finish)] == ["stop"]


@pytest.mark.parametrize(
    ("failure", "body", "status", "code"),
    [
        (baidu_response.failure, {"error_code": 110, "error_msg": "Access token invalid"}, 401, "110"),
        (
            baidu_response.failure,
            {"error_code": 18, "error_msg": "Open api qps request limit reached"},
            429,
            "18",
        ),
        (baidu_response.failure, {"error_code": 336003, "error_msg": "invalid argument"}, 400, "336003"),
        (
            tencent_response.failure,
            {
                "Response": {
                    "Error": {"Code": "AuthFailure.SignatureFailure", "Message": "x"},
                    "RequestId": "r",
                }
            },
            401,
            "AuthFailure.SignatureFailure",
        ),
        (
            tencent_response.failure,
            {"Response": {"Error": {"Code": "LimitExceeded", "Message": "x"}}},
            429,
            "LimitExceeded",
        ),
        (
            zhipu_response.failure,
            {"code": 1002, "msg": "Authorization Token非法", "success": False},
            401,
            "1002",
        ),
        (zhipu_response.failure, {"code": 1302, "msg": "rate limited", "success": False}, 429, "1302"),
        (xunfei_response.failure, [{"header": {"code": 11202, "message": "qps", "status": 2}}], 429, "11202"),
        (xunfei_response.failure, {"header": {"code": 10013, "message": "audit", "status": 2}}, 400, "10013"),
    ],
)
def test_errors_in_200_answers_are_mapped(failure: object, body: object, status: int, code: str) -> None:
    assert callable(failure)
    error = failure(orjson.dumps(body))
    assert error is not None and (error.status, error.upstream_code) == (status, code)


def test_successful_answers_are_not_failures() -> None:
    assert baidu_response.failure(b'{"id":"as-1","result":"hi"}') is None
    assert zhipu_response.failure(b'{"code":200,"success":true,"data":{}}') is None
    assert tencent_response.failure(b'{"Response":{"Id":"x"}}') is None
    assert xunfei_response.failure(b'[{"header":{"code":0,"status":2}}]') is None
    reply = zhipu_response.parse_response(
        orjson.dumps({"code": 200, "success": True, "data": {"choices": [{"content": '"Hello"'}]}})
    )
    assert reply.parts == [m.Text("Hello")]
