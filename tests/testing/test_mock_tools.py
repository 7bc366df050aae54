"""The mock upstream's tool calls: a tool result is answered with text (so an agent's loop ends), and
the ``tool-call`` directive's arguments fit the first tool's schema, in every family, stream and not.

(Beside test_mock_upstream.py, which is past the size a module should reach, and reuses its helpers.)
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from newapi.testing.mock import tool_args
from tests.testing.test_mock_upstream import CHAT, PIECES, client, datas, events, mock, read_stream

__all__ = ["client", "mock"]  # fixtures, imported for pytest

WORDS = "".join(PIECES)
GEMINI = "/v1beta/models/gemini-2.5-flash"
FORCE = {"x-mock-fault": "tool-call"}

# A schema an agent framework would send: required fields of every kind, a nested object, a $ref.
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "free text: gets the generated words"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 3, "maximum": 10},
        "ratio": {"type": "number", "exclusiveMinimum": 0},
        "detailed": {"type": "boolean"},
        "when": {"type": "string", "format": "date"},
        "code": {"type": "string", "maxLength": 2},
        "tags": {"type": "array", "items": {"type": "string", "minLength": 6}, "minItems": 2},
        "where": {"$ref": "#/$defs/place"},
        "note": {"type": ["string", "null"]},
        "optional": {"type": "integer"},
    },
    "required": ["city", "unit", "days", "ratio", "detailed", "when", "code", "tags", "where"],
    "$defs": {
        "place": {
            "type": "object",
            "properties": {"lat": {"type": "number"}, "label": {"type": "string"}},
            "required": ["lat", "label"],
        }
    },
    "additionalProperties": False,
}
FITTED = {
    "city": WORDS,
    "unit": "celsius",
    "days": 3,
    "ratio": 1,
    "detailed": True,
    "when": "2026-01-01",
    "code": "mo",
    "tags": ["mockaa", "mockaa"],
    "where": {"lat": 1, "label": "mock"},
}
# Gemini's OpenAPI subset: upper-case types, int64 counts as strings.
GEMINI_SCHEMA = {
    "type": "OBJECT",
    "properties": {
        "city": {"type": "STRING"},
        "days": {"type": "INTEGER"},
        "tags": {"type": "ARRAY", "items": {"type": "STRING"}, "minItems": "1"},
    },
    "required": ["days", "city", "tags"],
}
GEMINI_FITTED = {"days": 1, "city": WORDS, "tags": ["mock"]}


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (SCHEMA, FITTED),
        (GEMINI_SCHEMA, GEMINI_FITTED),
        (None, {"query": WORDS}),  # no schema: as before
        ({"type": "object"}, {"query": WORDS}),
        ({"type": "object", "properties": {"q": {"type": "string"}}}, {"q": WORDS}),  # optional free text
        ({"type": "object", "properties": {"n": {"type": "integer"}}}, {}),  # nothing required
        ({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}, {"n": 1}),
    ],
)
def test_arguments_fit_the_schema(schema: Any, expected: dict[str, Any]) -> None:
    pieces = tool_args.pieces(schema, len(PIECES))
    assert json.loads("".join(pieces)) == expected
    # The words stream one piece per delta, as the text would; no free text, one piece.
    assert len(pieces) == (len(PIECES) if WORDS in json.dumps(expected) else 1)


def test_arguments_survive_hostile_schemas() -> None:
    looping: dict[str, Any] = {
        "type": "object",
        "properties": {"me": {"$ref": "#"}},
        "required": ["me", "gone"],
    }
    assert json.loads("".join(tool_args.pieces(looping, 3))) is not None
    broken = {"type": "object", "properties": "nope", "required": ["x", 5], "$ref": "http://x/y"}
    assert json.loads("".join(tool_args.pieces(broken, 3))) is not None


# --- OpenAI chat -------------------------------------------------------------------------------------

CHAT_TOOLS = [{"type": "function", "function": {"name": "weather", "parameters": SCHEMA}}]
CHAT_TURN = [{"role": "user", "content": "please call a tool"}]
CHAT_ANSWERED = [
    *CHAT_TURN,
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
]


async def test_chat_tool_call_fits_the_schema(client: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4o", "messages": CHAT_TURN, "tools": CHAT_TOOLS}
    call = (await client.post(CHAT, json=body)).json()["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "weather" and json.loads(call["function"]["arguments"]) == FITTED
    chunks = datas((await read_stream(client, CHAT, {**body, "stream": True}))[0].decode())
    args = "".join(c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for c in chunks[1:-1])
    assert json.loads(args) == FITTED


@pytest.mark.parametrize("headers", [{}, FORCE])
async def test_chat_answers_a_tool_result_with_text(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"model": "gpt-4o", "messages": CHAT_ANSWERED, "tools": CHAT_TOOLS}
    reply = (await client.post(CHAT, json=body, headers=headers)).json()["choices"][0]
    assert reply["finish_reason"] == "stop" and reply["message"]["content"] == WORDS
    chunks = datas((await read_stream(client, CHAT, {**body, "stream": True}, headers=headers))[0].decode())
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == WORDS


# --- Claude ------------------------------------------------------------------------------------------

CLAUDE_TOOLS = [{"name": "weather", "input_schema": SCHEMA}]
CLAUDE_TURN = [{"role": "user", "content": "please call a tool"}]
CLAUDE_ANSWERED = [
    *CLAUDE_TURN,
    {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "weather", "input": {}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
]


def _claude(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": messages,
        "tools": CLAUDE_TOOLS,
        **extra,
    }


async def test_claude_tool_use_fits_the_schema(client: httpx.AsyncClient) -> None:
    data = (await client.post("/v1/messages", json=_claude(CLAUDE_TURN))).json()
    assert data["stop_reason"] == "tool_use" and data["content"][-1]["input"] == FITTED
    raw = (await read_stream(client, "/v1/messages", _claude(CLAUDE_TURN, stream=True)))[0].decode()
    deltas = [json.loads(d)["delta"] for n, d in events(raw) if n == "content_block_delta"]
    assert json.loads("".join(d["partial_json"] for d in deltas)) == FITTED


@pytest.mark.parametrize("headers", [{}, FORCE])
async def test_claude_answers_a_tool_result_with_text(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    data = (await client.post("/v1/messages", json=_claude(CLAUDE_ANSWERED), headers=headers)).json()
    assert data["stop_reason"] == "end_turn" and data["content"] == [{"type": "text", "text": WORDS}]
    raw = (await read_stream(client, "/v1/messages", _claude(CLAUDE_ANSWERED, stream=True), headers=headers))[
        0
    ]
    deltas = [json.loads(d)["delta"] for n, d in events(raw.decode()) if n == "content_block_delta"]
    assert "".join(d["text"] for d in deltas) == WORDS


# --- Gemini ------------------------------------------------------------------------------------------

GEMINI_TOOLS = [{"functionDeclarations": [{"name": "weather", "parameters": GEMINI_SCHEMA}]}]
GEMINI_TURN = [{"role": "user", "parts": [{"text": "please call a tool"}]}]
GEMINI_ANSWERED = [
    *GEMINI_TURN,
    {"role": "model", "parts": [{"functionCall": {"name": "weather", "args": {}}}]},
    {"role": "user", "parts": [{"functionResponse": {"name": "weather", "response": {"sky": "sunny"}}}]},
]


async def test_gemini_function_call_fits_the_schema(client: httpx.AsyncClient) -> None:
    body = {"contents": GEMINI_TURN, "tools": GEMINI_TOOLS}
    data = (await client.post(f"{GEMINI}:generateContent", json=body)).json()
    assert data["candidates"][0]["content"]["parts"][0]["functionCall"] == {
        "name": "weather",
        "args": GEMINI_FITTED,
    }
    # JSON Schema in parametersJsonSchema (the newer field) is read too.
    declared = [{"functionDeclarations": [{"name": "weather", "parametersJsonSchema": SCHEMA}]}]
    data = (await client.post(f"{GEMINI}:generateContent", json={**body, "tools": declared})).json()
    assert data["candidates"][0]["content"]["parts"][0]["functionCall"]["args"] == FITTED


@pytest.mark.parametrize("headers", [{}, FORCE])
async def test_gemini_answers_a_function_response_with_text(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"contents": GEMINI_ANSWERED, "tools": GEMINI_TOOLS}
    data = (await client.post(f"{GEMINI}:generateContent", json=body, headers=headers)).json()
    assert data["candidates"][0]["content"]["parts"] == [{"text": WORDS}]
    raw = (await read_stream(client, f"{GEMINI}:streamGenerateContent?alt=sse", body, headers=headers))[0]
    pieces = datas(raw.decode())
    assert "".join(p["candidates"][0]["content"]["parts"][0]["text"] for p in pieces) == WORDS


# --- Responses ---------------------------------------------------------------------------------------

RESPONSES_TOOLS = [{"type": "function", "name": "weather", "parameters": SCHEMA}]
RESPONSES_ANSWERED = [
    {"role": "user", "content": "please call a tool"},
    {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": "{}"},
    {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
]


async def test_responses_function_call_fits_the_schema(client: httpx.AsyncClient) -> None:
    body = {"model": "gpt-4.1", "input": "please call a tool", "tools": RESPONSES_TOOLS}
    data = (await client.post("/v1/responses", json=body)).json()
    assert json.loads(data["output"][-1]["arguments"]) == FITTED
    raw = (await read_stream(client, "/v1/responses", {**body, "stream": True}))[0].decode()
    done = [json.loads(d) for n, d in events(raw) if n == "response.function_call_arguments.done"]
    assert json.loads(done[0]["arguments"]) == FITTED


@pytest.mark.parametrize("headers", [{}, FORCE])
async def test_responses_answers_a_function_call_output_with_text(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"model": "gpt-4.1", "input": RESPONSES_ANSWERED, "tools": RESPONSES_TOOLS}
    data = (await client.post("/v1/responses", json=body, headers=headers)).json()
    assert [o["type"] for o in data["output"]] == ["message"]
    assert data["output"][0]["content"][0]["text"] == WORDS
    raw = (await read_stream(client, "/v1/responses", {**body, "stream": True}, headers=headers))[0]
    deltas = [json.loads(d)["delta"] for n, d in events(raw.decode()) if n == "response.output_text.delta"]
    assert "".join(deltas) == WORDS
