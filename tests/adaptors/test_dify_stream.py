"""Dify's stream events as New API converts them, with DIFY_DEBUG on (its default) and off."""

from __future__ import annotations

import orjson

from newapi.adaptors.dify.stream import THINK_OPEN, QuietReader, Reader
from newapi.convert import model as m
from newapi.streaming.scanner import SSEEvent

EVENTS = [
    {"event": "workflow_started", "conversation_id": "c1", "data": {"workflow_id": "wf"}},
    {"event": "node_finished", "data": {"node_type": "llm", "status": "succeeded"}},
    {"event": "message", "answer": THINK_OPEN},
    {"event": "message", "answer": "hmm"},
    {"event": "message", "answer": "</details>"},
    {"event": "message", "answer": "Hi"},
    {"event": "message_end", "metadata": {"usage": {"prompt_tokens": 7, "completion_tokens": 3}}},
]


def _read(reader: Reader) -> list[m.Event]:
    out: list[m.Event] = []
    for event in EVENTS:
        out += reader.read(SSEEvent(data=orjson.dumps(event), raw=b""))
    return out


def test_debug_lines_are_reasoning_and_billed() -> None:
    events = _read(Reader())
    assert [e.text for e in events if isinstance(e, m.ThinkingDelta)] == [
        "Workflow: wf\n",
        "Node: llm succeeded\n",
    ]
    assert [e.text for e in events if isinstance(e, m.TextDelta)] == ["<think>", "hmm", "</think>", "Hi"]
    usage = next(e.usage for e in events if isinstance(e, m.UsageReport))
    assert (usage.prompt_tokens, usage.completion_tokens) == (7, 3 + 2)


def test_quiet_drops_them() -> None:
    events = _read(QuietReader())
    assert not any(isinstance(e, m.ThinkingDelta) for e in events)
    usage = next(e.usage for e in events if isinstance(e, m.UsageReport))
    assert usage.completion_tokens == 3


def test_an_error_event_fails_the_stream() -> None:
    event = {"event": "error", "status": 400, "code": "invalid_param", "message": "bad"}
    assert Reader().read(SSEEvent(data=orjson.dumps(event), raw=b"")) == [
        m.Begin(""),
        m.Failure("bad", "invalid_param"),
    ]
