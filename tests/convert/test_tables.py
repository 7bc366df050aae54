"""Table tests of every conversion direction: requests, whole replies and streams.

``tests/fixtures/convert/requests.json`` holds one conversation in each family's request format
(``sources``) and the exact body each family's renderer must produce for it (``expected``): every
source converted to every target must give the same expected body. ``replies.json`` does the same
for whole replies. Streams are the mock upstream's own recorded streams, converted to every other
family and checked event by event.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest

from newapi.adaptors.claude import request as claude_request
from newapi.adaptors.claude import stream as claude_stream
from newapi.adaptors.gemini import request as gemini_request
from newapi.adaptors.gemini import stream as gemini_stream
from newapi.adaptors.openai import request as openai_request
from newapi.adaptors.openai import stream as openai_stream
from newapi.adaptors.responses import request as responses_request
from newapi.adaptors.responses import stream as responses_stream
from newapi.convert import model as m
from newapi.convert.stream import ConvertingPolicy, Writer
from newapi.relay.formats import CODECS
from newapi.streaming.scanner import SSEScanner

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "convert"
FAMILIES = ("openai", "responses", "claude", "gemini")
RENDER: dict[str, Any] = {
    "openai": openai_request.render_request,
    "responses": responses_request.render_request,
    "claude": claude_request.render_request,
    "gemini": gemini_request.render_request,
}


def _load(name: str) -> dict[str, Any]:
    return orjson.loads((FIXTURES / name).read_bytes())  # type: ignore[no-any-return]


REQUESTS = _load("requests.json")
REPLIES = _load("replies.json")


@pytest.mark.parametrize(("source", "target"), list(itertools.product(FAMILIES, FAMILIES)))
def test_request_tables(source: str, target: str) -> None:
    req = CODECS[source].parse_request(REQUESTS["sources"][source])
    req.model = "m"
    assert RENDER[target](req) == REQUESTS["expected"][target]


@pytest.mark.parametrize(("source", "target"), list(itertools.product(FAMILIES, FAMILIES)))
def test_reply_tables(source: str, target: str) -> None:
    reply = CODECS[source].parse_response(orjson.dumps(REPLIES["sources"][source]))
    reply.id, reply.created = "r1", 1700000000
    assert orjson.loads(CODECS[target].render_response(reply)) == REPLIES["expected"][target]


def test_claude_request_rules() -> None:
    """Reference §4.1: consecutive turns merge, an assistant-first history gets a user turn, empty
    content becomes "...", max_tokens defaults, reasoning effort becomes a thinking budget."""
    chat = {
        "model": "m",
        "reasoning_effort": "medium",
        "temperature": 0.3,
        "messages": [
            {"role": "assistant", "content": "earlier"},
            {"role": "user", "content": ""},
            {"role": "user", "content": "two"},
        ],
        "parallel_tool_calls": False,
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    body = claude_request.render_request(openai_request.parse_request(chat), default_max_tokens=1000)
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "..."}]},
        {"role": "assistant", "content": [{"type": "text", "text": "earlier"}]},
        {"role": "user", "content": [{"type": "text", "text": "two"}]},
    ]
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["max_tokens"] == 3072 and "temperature" not in body
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_thinking_signatures_round_trip_between_claude_gemini_and_responses() -> None:
    claude = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "q"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "hmm", "signature": "SIG=="},
                    {"type": "redacted_thinking", "data": "OPAQUE"},
                    {"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}},
                ],
            },
        ],
    }
    req = claude_request.parse_request(claude)
    again = claude_request.render_request(claude_request.parse_request(claude_request.render_request(req)))
    assert again["messages"][1]["content"] == claude["messages"][1]["content"]  # type: ignore[index]
    gemini = gemini_request.render_request(req)
    assert gemini["contents"][1]["parts"][0] == {"text": "hmm", "thought": True, "thoughtSignature": "SIG=="}
    back = gemini_request.parse_request(gemini)
    assert back.messages[1].parts[0] == m.Thinking("hmm", "SIG==")


def test_gemini_schema_cleaning_and_json_output() -> None:
    chat = {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "r",
                "schema": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"a": {"type": ["string", "null"]}},
                },
            },
        },
        "tools": [
            {
                "type": "function",
                "function": {"name": "f", "parameters": {"type": "object", "properties": {}, "$schema": "x"}},
            }
        ],
        "stop": ["1", "2", "3", "4", "5", "6"],
    }
    body = gemini_request.render_request(openai_request.parse_request(chat), safety="BLOCK_NONE")
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"] == {
        "type": "object",
        "properties": {"a": {"type": "string", "nullable": True}},
    }
    assert config["stopSequences"] == ["1", "2", "3", "4", "5"]
    assert body["tools"] == [{"functionDeclarations": [{"name": "f", "description": ""}]}]
    assert {s["threshold"] for s in body["safetySettings"]} == {"BLOCK_NONE"}


def test_responses_refuses_stateful_fields_when_converting() -> None:
    with pytest.raises(responses_request.Unconvertible):
        responses_request.parse_request({"model": "m", "input": "x", "previous_response_id": "resp_1"})


# -- streams -------------------------------------------------------------------------------------


def _writer(family: str, usage: bool = True) -> Writer:
    if family == "openai":
        return openai_stream.Writer("m", "rid", wants_usage=usage)
    if family == "claude":
        return claude_stream.Writer("m", "rid")
    if family == "gemini":
        return gemini_stream.Writer("m", "rid")
    return responses_stream.Writer("m", "rid")


STREAMS = _load("streams.json")


def _convert(source: str, target: str, data: bytes) -> tuple[list[Any], ConvertingPolicy]:
    policy = ConvertingPolicy(CODECS[source].reader(), _writer(target), "rid")
    pieces = [x for e in SSEScanner().feed(data) if (x := policy.on_event(e)) is not None]
    pieces.append(policy.finish())
    events = []
    for event in SSEScanner().feed(b"".join(pieces)):
        if event.data is not None and not event.done:
            events.append(orjson.loads(event.data))
    return events, policy


def _shape(target: str, events: list[Any]) -> list[str]:
    """The sequence of what each event carries, in the target family's own vocabulary."""
    out: list[str] = []
    for e in events:
        if target == "openai":
            if not e["choices"]:
                out.append("usage")
                continue
            choice = e["choices"][0]
            delta = choice["delta"]
            out.append(
                choice["finish_reason"]
                or "+".join(k for k in delta if k in ("role", "content", "reasoning_content", "tool_calls"))
            )
        elif target == "claude":
            kind = e["type"]
            if kind in ("content_block_start", "content_block_delta"):
                kind += ":" + (e.get("content_block") or e.get("delta"))["type"]
            out.append(kind)
        elif target == "gemini":
            parts = e["candidates"][0]["content"]["parts"]
            keys = ["thought" if p.get("thought") else next(iter(p)) for p in parts]
            out.append(
                "+".join(keys)
                + ("|" + e["candidates"][0]["finishReason"] if "finishReason" in e["candidates"][0] else "")
            )
        else:
            out.append(e["type"])
    return [
        s
        for i, s in enumerate(out)
        if i == 0 or s != out[i - 1] or not s.endswith(("delta:text_delta", "content", "text", "delta"))
    ]


@pytest.mark.parametrize(
    ("source", "target"), [p for p in itertools.product(FAMILIES, FAMILIES) if p[0] != p[1]]
)
def test_stream_tables(source: str, target: str) -> None:
    recorded = STREAMS["sources"][source].encode()
    events, policy = _convert(source, target, recorded)
    assert _shape(target, events) == STREAMS["expected"][target], _shape(target, events)
    assert policy.usage is not None and policy.usage.completion_tokens == 6


def _digest(target: str, events: list[Any]) -> tuple[str, str]:
    """(text, tool arguments) a client of ``target`` would assemble from the converted stream."""
    data = b"".join(b"data: " + orjson.dumps(e) + b"\n\n" for e in events)
    reader = CODECS[target].reader()
    text, arguments = [], []
    for event in SSEScanner().feed(data):
        for item in reader.read(event):
            if isinstance(item, m.TextDelta):
                text.append(item.text)
            elif isinstance(item, m.ToolArgs):
                arguments.append(item.arguments)
    return "".join(text), "".join(arguments)


@pytest.mark.parametrize(
    ("source", "target"), [p for p in itertools.product(FAMILIES, FAMILIES) if p[0] != p[1]]
)
def test_tool_stream_tables(source: str, target: str) -> None:
    """The mock's tool-call streams (with thinking where the family streams it) in every direction."""
    events, policy = _convert(source, target, STREAMS["tool_sources"][source].encode())
    assert _shape(target, events) == STREAMS["tool_expected"][f"{source}->{target}"]
    text, arguments = _digest(target, events)
    assert text == "" and orjson.loads(arguments) == {"query": "Hello there friend"}
    assert policy.usage is not None and policy.usage.completion_tokens == 6
