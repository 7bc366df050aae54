"""Random valid requests, replies and streams through every conversion path and back.

For each ordered pair of families (X, Y): a neutral value is rendered as X, parsed, rendered as Y,
parsed, rendered as X again and parsed; nothing raises, and the text, the tool calls (names, ids
where the family keeps them, arguments as JSON), the tool results and the usage survive.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

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
from newapi.core.usage import Usage
from newapi.relay.formats import CODECS
from newapi.streaming.scanner import SSEScanner

FAMILIES = ("openai", "responses", "claude", "gemini")
PAIRS = list(itertools.permutations(FAMILIES, 2))
RENDER_REQUEST = {
    "openai": openai_request.render_request,
    "responses": responses_request.render_request,
    "claude": claude_request.render_request,
    "gemini": gemini_request.render_request,
}

words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
)
names = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
json_args = st.dictionaries(names, st.one_of(st.integers(-1000, 1000), words, st.booleans()), max_size=3)


@st.composite
def conversations(draw: st.DrawFn) -> m.Request:
    req = m.Request(model="model-x", max_tokens=draw(st.integers(16, 4096)))
    if draw(st.booleans()):
        req.system = [m.Text(draw(words))]
    tool_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    req.tools = [
        m.Tool(n, "does " + n, {"type": "object", "properties": {"q": {"type": "string"}}})
        for n in tool_names
    ]
    turns = draw(st.integers(1, 3))
    for turn in range(turns):
        req.messages.append(m.Message("user", [m.Text(draw(words))]))
        calls = draw(st.integers(0, 2))
        if calls:
            parts: list[m.Part] = [m.Text(draw(words))] if draw(st.booleans()) else []
            ids = [f"call_{turn}_{i}" for i in range(calls)]
            parts += [
                m.ToolCall(ident, draw(st.sampled_from(tool_names)), orjson.dumps(draw(json_args)).decode())
                for ident in ids
            ]
            req.messages.append(m.Message("assistant", parts))
            results = [
                m.ToolResult(
                    ident,
                    next(p.name for p in parts if isinstance(p, m.ToolCall) and p.id == ident),
                    [m.Text(draw(words))],
                )
                for ident in ids
            ]
            req.messages.append(m.Message("user", list(results)))
        else:
            req.messages.append(m.Message("assistant", [m.Text(draw(words))]))
    req.messages.append(m.Message("user", [m.Text(draw(words))]))
    return req


def _convert(req: m.Request, family: str) -> m.Request:
    body = RENDER_REQUEST[family](req)
    wire = orjson.loads(orjson.dumps(body))  # what actually travels: JSON
    parsed = CODECS[family].parse_request(wire)
    parsed.model = req.model
    return parsed


def _digest(req: m.Request) -> dict[str, Any]:
    """What must survive: texts in order per role, tool calls (name, arguments), tool results."""
    texts: list[tuple[str, str]] = []
    calls: list[tuple[str, Any]] = []
    results: list[str] = []
    for message in req.messages:
        for part in message.parts:
            if isinstance(part, m.Text) and part.text:
                texts.append((message.role, part.text))
            elif isinstance(part, m.ToolCall):
                calls.append((part.name, orjson.loads(part.arguments)))
            elif isinstance(part, m.ToolResult):
                results.append(m.text_of(list(part.content)))
    return {
        "system": "\n".join(t.text for t in req.system),
        "texts": "".join(t for _, t in texts),
        "calls": calls,
        "results": results,
        "tools": [t.name for t in req.tools],
    }


@settings(max_examples=100, deadline=None)
@given(conversations(), st.sampled_from(PAIRS))
def test_requests_survive_every_path_and_back(req: m.Request, pair: tuple[str, str]) -> None:
    source, target = pair
    original = _convert(req, source)
    there = _convert(original, target)
    back = _convert(there, source)
    expected = _digest(original)
    for value in (there, back):
        got = _digest(value)
        assert got == expected


# -- whole replies -------------------------------------------------------------------------------


@st.composite
def replies(draw: st.DrawFn) -> m.Reply:
    parts: list[m.Part] = [m.Text(draw(words))]
    calls = draw(st.integers(0, 2))
    parts += [
        m.ToolCall(f"call_{i}", draw(names), orjson.dumps(draw(json_args)).decode()) for i in range(calls)
    ]
    prompt = draw(st.integers(0, 10_000))
    cached = draw(st.integers(0, prompt))
    usage = Usage(prompt_tokens=prompt, completion_tokens=draw(st.integers(1, 5000)), cached_tokens=cached)
    return m.Reply(
        id="abc", model="model-x", parts=parts, stop_reason="tool_calls" if calls else "stop", usage=usage
    )


def _reply_digest(reply: m.Reply) -> tuple[Any, ...]:
    usage = reply.usage
    assert usage is not None
    return (
        m.text_of(reply.parts),
        [(p.name, orjson.loads(p.arguments)) for p in reply.parts if isinstance(p, m.ToolCall)],
        reply.stop_reason,
        m.openai_prompt(usage),
        usage.completion_tokens,
        usage.cached_tokens,
    )


@settings(max_examples=100, deadline=None)
@given(replies(), st.sampled_from(PAIRS))
def test_replies_survive_every_path_and_back(reply: m.Reply, pair: tuple[str, str]) -> None:
    expected = _reply_digest(reply)
    value = reply
    for family in (pair[0], pair[1], pair[0]):
        codec = CODECS[family]
        value = codec.parse_response(codec.render_response(value))
        assert _reply_digest(value) == expected


# -- streams -------------------------------------------------------------------------------------


def _writer(family: str) -> Writer:
    if family == "openai":
        return openai_stream.Writer("model-x", "rid", wants_usage=True)
    if family == "claude":
        return claude_stream.Writer("model-x", "rid")
    if family == "gemini":
        return gemini_stream.Writer("model-x", "rid")
    return responses_stream.Writer("model-x", "rid")


def _replay(family: str, events: list[m.Event], usage: Usage) -> bytes:
    writer = _writer(family)
    return b"".join(writer.write(e) for e in events) + writer.close(usage)


def _read(family: str, data: bytes, into: str) -> tuple[bytes, ConvertingPolicy]:
    """Scan ``data`` (``family``'s stream) and convert it to ``into``'s stream."""
    policy = ConvertingPolicy(CODECS[family].reader(), _writer(into), "rid")
    out = [x for e in SSEScanner().feed(data) if (x := policy.on_event(e)) is not None]
    out.append(policy.finish())
    return b"".join(out), policy


def _stream_digest(family: str, data: bytes) -> tuple[str, list[tuple[str, str]]]:
    reader = CODECS[family].reader()
    text: list[str] = []
    calls: dict[int, list[str]] = {}
    for event in SSEScanner().feed(data):
        for item in reader.read(event):
            if isinstance(item, m.TextDelta):
                text.append(item.text)
            elif isinstance(item, m.ToolStart):
                calls[item.index] = [item.name]
            elif isinstance(item, m.ToolArgs):
                calls[item.index].append(item.arguments)
    return "".join(text), [(c[0], orjson.loads("".join(c[1:]))) for c in calls.values()]


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[m.Event], Usage]:
    events: list[m.Event] = [m.Begin("abc", "model-x")]
    events += [m.TextDelta(t) for t in draw(st.lists(words, min_size=1, max_size=5))]
    for index in range(draw(st.integers(0, 2))):
        events.append(m.ToolStart(index, f"call_{index}", draw(names)))
        arguments = orjson.dumps(draw(json_args)).decode()
        cut = draw(st.integers(0, len(arguments)))
        events += [m.ToolArgs(index, piece) for piece in (arguments[:cut], arguments[cut:]) if piece]
    usage = Usage(prompt_tokens=draw(st.integers(1, 10_000)), completion_tokens=draw(st.integers(1, 5000)))
    return events, usage


@settings(max_examples=100, deadline=None)
@given(streams(), st.sampled_from(PAIRS))
def test_streams_survive_every_path_and_back(
    stream: tuple[list[m.Event], Usage], pair: tuple[str, str]
) -> None:
    events, usage = stream
    source, target = pair
    original = _replay(source, events, usage)
    expected = _stream_digest(source, original)
    there, policy = _read(source, original, target)
    assert policy.usage is not None
    assert (m.openai_prompt(policy.usage), policy.usage.completion_tokens) == (
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    back, policy = _read(target, there, source)
    assert _stream_digest(target, there) == expected
    assert _stream_digest(source, back) == expected
    assert policy.usage is not None and policy.usage.completion_tokens == usage.completion_tokens
