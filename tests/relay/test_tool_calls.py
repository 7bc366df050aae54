"""Built-in tool calls counted from the upstream's replies and billed as New API bills them
(``calculateTextToolCallSurcharge``), as units: Responses ``*_call`` items (whole and streamed,
each item once), Gemini grounding with web search, the request-dependent naming rules."""

from __future__ import annotations

from typing import Any

import orjson

from newapi.adaptors.gemini import response as gemini_response
from newapi.adaptors.gemini.stream import GeminiPassThrough
from newapi.adaptors.gemini.stream import Reader as GeminiReader
from newapi.adaptors.responses import response as responses_response
from newapi.adaptors.responses.stream import Reader as ResponsesReader
from newapi.adaptors.responses.stream import ResponsesPassThrough
from newapi.billing.pricing import PriceBook, price_book
from newapi.billing.quota import compute_charge
from newapi.convert import model as m
from newapi.core.endpoints import CHAT
from newapi.core.usage import Usage
from newapi.options.store import OptionStore
from newapi.relay.call import Call
from newapi.relay.endpoints import RESPONSES
from newapi.relay.tool_calls import bill_request_tools
from newapi.streaming.scanner import SSEScanner

USAGE = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
ITEMS: list[dict[str, Any]] = [
    {"type": "web_search_call", "id": "ws_1", "status": "completed"},
    {"type": "web_search_call", "id": "ws_2", "status": "completed"},
    {"type": "web_search_call", "id": "ws_3", "status": "failed"},  # failed: not billed
    {"type": "file_search_call", "id": "fs_1", "status": "completed"},
    {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": "aW1n"},
    {"type": "image_generation_call", "id": "ig_2", "status": "completed"},  # no image: not billed
    {"type": "function_call", "id": "fc_1", "name": "web_search", "call_id": "c", "arguments": "{}"},
    {"type": "message", "id": "m_1", "role": "assistant", "content": [{"type": "output_text", "text": "x"}]},
]
COUNTS = {"web_search_preview": 2, "file_search": 1, "image_generation": 1}


def _response(output: list[dict[str, Any]]) -> dict[str, Any]:
    return {"id": "resp_1", "status": "completed", "output": output, "usage": USAGE}


def _sse(kind: str, **fields: Any) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps({"type": kind, **fields}) + b"\n\n"


def _stream(final_output: list[dict[str, Any]], terminal: str = "response.completed") -> bytes:
    events = [_sse("response.created", response={"id": "resp_1", "status": "in_progress", "output": []})]
    for index, item in enumerate(ITEMS):
        events.append(_sse("response.output_item.done", output_index=index, item=item))
        events.append(_sse("response.output_item.done", output_index=index, item=item))  # repeated: once
    events.append(_sse(terminal, response=_response(final_output)))
    return b"".join(events)


def _events(raw: bytes) -> list[Any]:
    scanner = SSEScanner(1 << 20)
    return [*scanner.feed(raw), *scanner.finish()]


def test_whole_responses_reply_counts_each_billable_item() -> None:
    usage = responses_response.usage_of(orjson.dumps(_response(ITEMS)))
    assert usage is not None and usage.tool_calls == COUNTS
    assert responses_response.usage_of(orjson.dumps(_response([ITEMS[-1]]))).tool_calls is None  # type: ignore[union-attr]


def test_a_converted_responses_reply_bills_no_image_it_drops() -> None:
    reply = responses_response.parse_response(orjson.dumps(_response(ITEMS)))
    assert reply.usage is not None
    assert reply.usage.tool_calls == {"web_search_preview": 2, "file_search": 1}


def test_responses_stream_counts_items_once_whether_streamed_or_final() -> None:
    for final in (ITEMS, []):
        policy = ResponsesPassThrough("r-1")
        for event in _events(_stream(final)):
            policy.on_event(event)
        assert policy.usage is not None and policy.usage.tool_calls == COUNTS
    failed = ResponsesPassThrough("r-1")
    for event in _events(_stream(ITEMS, terminal="response.failed")):
        failed.on_event(event)
    assert failed.usage is not None and failed.usage.tool_calls is None


def test_responses_reader_reports_calls_with_the_usage() -> None:
    reader = ResponsesReader()
    reports = [e for ev in _events(_stream(ITEMS)) for e in reader.read(ev) if isinstance(e, m.UsageReport)]
    assert [r.usage.tool_calls for r in reports] == [{"web_search_preview": 2, "file_search": 1}]


def _gemini_chunk(final: bool, queries: list[str] | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": "hi"}]}}
    if final:
        candidate["finishReason"] = "STOP"
    if queries is not None:
        candidate["groundingMetadata"] = {"webSearchQueries": queries}
    chunk: dict[str, Any] = {"candidates": [candidate], "responseId": "g1"}
    if final:
        chunk["usageMetadata"] = {"promptTokenCount": 7, "candidatesTokenCount": 3, "totalTokenCount": 10}
    return chunk


def test_gemini_grounded_reply_is_one_google_search_call() -> None:
    usage = gemini_response.usage_of(orjson.dumps(_gemini_chunk(True, ["a", "b", "c"])))
    assert usage is not None and usage.tool_calls == {"google_search": 1}
    assert gemini_response.usage_of(orjson.dumps(_gemini_chunk(True, []))).tool_calls is None  # type: ignore[union-attr]
    reply = gemini_response.parse_response(orjson.dumps(_gemini_chunk(True, ["a"])))
    assert reply.usage is not None and reply.usage.tool_calls == {"google_search": 1}


def test_gemini_stream_grounding_before_or_after_the_usage() -> None:
    for chunks in (
        [_gemini_chunk(False, ["a"]), _gemini_chunk(True, None)],
        [_gemini_chunk(True, None), _gemini_chunk(False, ["a", "b"])],
    ):
        raw = b"".join(b"data: " + orjson.dumps(c) + b"\r\n\r\n" for c in chunks)
        policy = GeminiPassThrough("r-1", sse=True)
        reader = GeminiReader()
        merged: Usage | None = None
        for event in _events(raw):
            policy.on_event(event)
            for item in reader.read(event):
                if isinstance(item, m.UsageReport):
                    merged = m.merge_usage(merged, item.usage)
        assert policy.usage is not None and policy.usage.tool_calls == {"google_search": 1}
        assert merged is not None and merged.tool_calls == {"google_search": 1}
        assert (merged.prompt_tokens, merged.completion_tokens) == (7, 3)


def test_merge_keeps_tool_calls_reported_apart() -> None:
    claude = Usage(prompt_tokens=5, semantic="anthropic", web_search_calls=2)
    merged = m.merge_usage(claude, Usage(completion_tokens=9, semantic="anthropic"))
    assert (merged.web_search_calls, merged.completion_tokens) == (2, 9)
    merged = m.merge_usage(Usage(tool_calls={"a": 1}), Usage(tool_calls={"b": 2}))
    assert merged.tool_calls == {"a": 1, "b": 2}


def _call(endpoint: Any, fmt: str, model: str, body: dict[str, Any]) -> Call:
    call = Call("r-1", endpoint, endpoint.path, 0.0, 0, "127.0.0.1", model=model, fmt=fmt)
    call.body = orjson.dumps(body)
    return call


def test_a_declared_web_search_is_priced_as_web_search() -> None:
    usage = Usage(tool_calls={"web_search_preview": 2, "file_search": 1})
    tools = [{"type": "web_search"}, {"type": "file_search"}]
    bill_request_tools(_call(RESPONSES, "responses", "gpt-4o", {"tools": tools}), usage)
    assert usage.tool_calls == {"web_search": 2, "file_search": 1}
    usage = Usage(tool_calls={"web_search_preview": 2})
    preview = {"tools": [{"type": "web_search_preview_2025_03_11"}]}
    bill_request_tools(_call(RESPONSES, "responses", "gpt-4o", preview), usage)
    assert usage.tool_calls == {"web_search_preview": 2}


def test_a_search_preview_model_is_one_call_outside_responses() -> None:
    usage = Usage(prompt_tokens=3)
    bill_request_tools(_call(CHAT, "openai", "gpt-4o-search-preview", {}), usage)
    assert usage.tool_calls == {"web_search_preview": 1}
    usage = Usage(prompt_tokens=3)
    bill_request_tools(_call(RESPONSES, "responses", "gpt-4o-search-preview", {}), usage)
    assert usage.tool_calls is None
    usage = Usage(prompt_tokens=3)
    bill_request_tools(_call(CHAT, "openai", "gpt-4o-mini", {}), usage)
    assert usage.tool_calls is None


def test_surcharges_use_tool_prices_with_model_prefixes() -> None:
    book: PriceBook = price_book(OptionStore())
    usage = Usage(prompt_tokens=100, completion_tokens=50, tool_calls=COUNTS)
    for model, preview_usd in (("gpt-4o-mini", 25.0), ("gpt-4.1", 25.0), ("gpt-5", 10.0)):
        price = book.price(model)
        assert price is not None
        charge = compute_charge(price, 1.0, usage, book)
        tokens = (100 + 50 * price.completion_ratio) * price.model_ratio
        surcharge = (2 * preview_usd + 2.5 + 150) / 1000 * 500_000
        assert charge.quota == int(tokens + surcharge + 0.5)
        assert charge.other["tool_surcharges"] == [
            {"name": "file_search", "count": 1, "price": 2.5},
            {"name": "image_generation", "count": 1, "price": 150.0},
            {"name": "web_search_preview", "count": 2, "price": preview_usd},
        ]
    gemini = book.price("gemini-2.5-flash")
    assert gemini is not None
    charge = compute_charge(gemini, 2.0, Usage(tool_calls={"google_search": 1}), book)
    assert charge.quota == 14 / 1000 * 500_000 * 2 and not charge.no_billing_info
