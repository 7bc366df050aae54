"""The SSE scanner: one suite over the pure-Python twin (``py``) and the compiled module (``c``)."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from newapi._speedups import _sse_py

_sse_c: ModuleType | None
try:
    from newapi._speedups import sse as _sse_c
except ImportError:
    _sse_c = None

STREAMS = Path(__file__).parent.parent / "fixtures" / "streams"
Fields = tuple[bytes | None, str | None, str | None, bytes | None, bytes]


@pytest.fixture(params=["py", "c"])
def sse(request: pytest.FixtureRequest) -> ModuleType:
    if request.param == "py":
        return _sse_py
    if _sse_c is None:
        pytest.skip("newapi._speedups.sse is not compiled (cythonize newapi/_speedups/sse.pyx)")
    return _sse_c


def fields(event: Any) -> Fields:
    return (event.data, event.event, event.id, event.comment, event.raw)


def scan(sse: ModuleType, chunks: Iterable[bytes], max_line: int | None = None) -> list[Fields]:
    scanner = sse.SSEScanner() if max_line is None else sse.SSEScanner(max_line)
    events = [fields(e) for chunk in chunks for e in scanner.feed(chunk)]
    events += [fields(e) for e in scanner.finish()]
    assert scanner.pending_bytes == 0
    return events


def assert_raw_covers(events: list[Fields], stream: bytes) -> None:
    """The raws concatenated are the input, less blank lines after the last event."""
    joined = b"".join(e[4] for e in events)
    assert stream.startswith(joined)
    assert stream[len(joined) :].strip(b"\r\n") == b""


def ev(
    data: bytes | None = None,
    event: str | None = None,
    id: str | None = None,
    comment: bytes | None = None,
    *,
    raw: bytes,
) -> Fields:
    return (data, event, id, comment, raw)


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
def test_line_endings(sse: ModuleType, eol: bytes) -> None:
    first = b"data: a" + eol + eol
    second = b"event: x" + eol + b"data: b" + eol + eol
    stream = first + second + b"data: c" + eol + eol
    events = scan(sse, [stream])
    assert events == [ev(b"a", raw=first), ev(b"b", "x", raw=second), ev(b"c", raw=b"data: c" + eol + eol)]
    assert_raw_covers(events, stream)


def test_crlf_split_across_chunks(sse: ModuleType) -> None:
    scanner = sse.SSEScanner()
    assert scanner.feed(b"data: a\r") == []
    assert scanner.feed(b"\n\r") == []  # the CR may still be half of a CRLF
    assert scanner.pending_bytes == 10
    [event] = scanner.feed(b"\ndata: b\r\n")
    assert fields(event) == ev(b"a", raw=b"data: a\r\n\r\n")
    assert scanner.pending_bytes == 9
    assert [fields(e) for e in scanner.finish()] == [ev(b"b", raw=b"data: b\r\n")]


def test_cr_only_stream_waits_for_next_byte(sse: ModuleType) -> None:
    scanner = sse.SSEScanner()
    assert scanner.feed(b"data: a\r\r") == []
    assert [fields(e) for e in scanner.feed(b"data: b\r\r")] == [ev(b"a", raw=b"data: a\r\r")]
    assert [fields(e) for e in scanner.finish()] == [ev(b"b", raw=b"data: b\r\r")]


def test_multiline_data(sse: ModuleType) -> None:
    stream = b"data: a\ndata: b\r\ndata:\rdata:  c\n\n"
    assert scan(sse, [stream]) == [ev(b"a\nb\n\n c", raw=stream)]


def test_event_and_id_fields(sse: ModuleType) -> None:
    stream = b"event: first\nid: 1\nevent:second\nid: 42\ndata: x\n\n"
    assert scan(sse, [stream]) == [ev(b"x", "second", "42", raw=stream)]


def test_id_with_nul_is_ignored_and_empty_id_kept(sse: ModuleType) -> None:
    events = scan(sse, [b"id: 7\nid: a\0b\ndata: x\n\n", b"id\ndata: y\n\n"])
    assert [e[2] for e in events] == ["7", ""]


def test_field_without_event_or_data_is_none(sse: ModuleType) -> None:
    assert scan(sse, [b"data: x\n\n"]) == [ev(b"x", None, None, None, raw=b"data: x\n\n")]


def test_comments(sse: ModuleType) -> None:
    stream = b": PING\n\n:x\n:\n:  two\ndata: y\n\n"
    assert scan(sse, [stream]) == [
        ev(comment=b"PING", raw=b": PING\n\n"),
        ev(b"y", comment=b"x\n\n two", raw=b":x\n:\n:  two\ndata: y\n\n"),
    ]


@pytest.mark.parametrize(
    ("line", "data"),
    [
        (b"data:x", b"x"),
        (b"data: x", b"x"),
        (b"data:  x", b" x"),
        (b"data:", b""),
        (b"data: ", b""),
        (b"data", b""),
        (b"data:a:b", b"a:b"),
        (b"data: x ", b"x "),
    ],
)
def test_data_value_forms(sse: ModuleType, line: bytes, data: bytes) -> None:
    assert scan(sse, [line + b"\n\n"]) == [ev(data, raw=line + b"\n\n")]


@pytest.mark.parametrize(
    ("line", "done"),
    [(b"data: [DONE]", True), (b"data:[DONE]", True), (b"data: [DONE] ", False), (b"data: [done]", False)],
)
def test_done(sse: ModuleType, line: bytes, done: bool) -> None:
    [event] = sse.SSEScanner().feed(line + b"\n\n")
    assert event.done is done


def test_empty_data_is_not_none(sse: ModuleType) -> None:
    [event] = sse.SSEScanner().feed(b"data:\n\n")
    assert event.data == b""
    assert not event.done


def test_leading_blank_lines_ride_in_next_raw(sse: ModuleType) -> None:
    stream = b"\n\r\n\r\ndata: x\n\n\n\ndata: y\n\n"
    events = scan(sse, [stream])
    assert events == [ev(b"x", raw=b"\n\r\n\r\ndata: x\n\n"), ev(b"y", raw=b"\n\ndata: y\n\n")]
    assert b"".join(e[4] for e in events) == stream


def test_finish_returns_unterminated_event(sse: ModuleType) -> None:
    scanner = sse.SSEScanner()
    assert [e.data for e in scanner.feed(b"data: 1\n\nevent: e\ndata: x")] == [b"1"]
    assert scanner.pending_bytes == len(b"event: e\ndata: x")
    assert [fields(e) for e in scanner.finish()] == [ev(b"x", "e", raw=b"event: e\ndata: x")]
    assert scanner.pending_bytes == 0


def test_finish_with_complete_line_but_no_blank_line(sse: ModuleType) -> None:
    assert scan(sse, [b"data: x\r\n"]) == [ev(b"x", raw=b"data: x\r\n")]
    assert scan(sse, [b"data: x\r"]) == [ev(b"x", raw=b"data: x\r")]


def test_finish_without_pending_event(sse: ModuleType) -> None:
    scanner = sse.SSEScanner()
    assert scanner.finish() == []
    assert len(scanner.feed(b"data: x\n\n\r\n\n")) == 1
    assert scanner.pending_bytes == 3  # blank lines waiting for an event that never comes
    assert scanner.finish() == []
    assert scanner.pending_bytes == 0
    assert scanner.finish() == []


def test_scanner_is_reusable_after_finish(sse: ModuleType) -> None:
    scanner = sse.SSEScanner()
    scanner.feed(b"data: a\r")
    assert [e.data for e in scanner.finish()] == [b"a"]
    assert [fields(e) for e in scanner.feed(b"\ndata: b\n\n")] == [ev(b"b", raw=b"\ndata: b\n\n")]


def test_unknown_fields_are_ignored(sse: ModuleType) -> None:
    stream = b"retry: 3000\nfoo: bar\nDATA: no\ndata2: no\n data: no\ndata: yes\n\n"
    assert scan(sse, [stream]) == [ev(b"yes", raw=stream)]


def test_event_with_only_unknown_fields_is_still_returned(sse: ModuleType) -> None:
    # A relay forwards raw bytes, so no line may vanish between two events.
    assert scan(sse, [b"retry: 3000\n\n"]) == [ev(raw=b"retry: 3000\n\n")]


def test_utf8_split_across_chunks(sse: ModuleType) -> None:
    stream = 'event: météo\ndata: {"t":"Zürich ☀️ 晴れ"}\n\n'.encode()
    whole = scan(sse, [stream])
    assert whole[0][1] == "météo"
    assert whole[0][0] == '{"t":"Zürich ☀️ 晴れ"}'.encode()
    for i in range(len(stream)):
        assert scan(sse, [stream[:i], stream[i:]]) == whole


def test_invalid_utf8_in_event_name_is_replaced(sse: ModuleType) -> None:
    [event] = sse.SSEScanner().feed(b"event: a\xffb\ndata: \xff\n\n")
    assert event.event == "a\ufffdb"
    assert event.data == b"\xff"


def test_max_line_single_long_line(sse: ModuleType) -> None:
    scanner = sse.SSEScanner(64)
    assert scanner.feed(b"data: " + b"x" * 50) == []
    with pytest.raises(sse.SSELineTooLong, match=r"line longer than the max_line limit of 64 bytes: saw 66"):
        scanner.feed(b"y" * 10)
    assert scanner.pending_bytes == 0  # nothing kept buffering
    with pytest.raises(sse.SSELineTooLong):
        scanner.feed(b"\n\n")
    with pytest.raises(sse.SSELineTooLong):
        scanner.finish()


def test_max_line_pending_event_too_big(sse: ModuleType) -> None:
    scanner = sse.SSEScanner(64)
    scanner.feed(b"data: 0123456789\n" * 3)
    with pytest.raises(sse.SSELineTooLong, match=r"event larger than the max_line limit of 64 bytes: saw 68"):
        scanner.feed(b"data: 0123456789\n")


def test_max_line_complete_event_in_one_chunk(sse: ModuleType) -> None:
    with pytest.raises(sse.SSELineTooLong, match="event larger"):
        sse.SSEScanner(20).feed(b"data: 1\n\ndata: 0123456789\ndata: 0123456789\n\ndata: 2\n\n")


def test_max_line_boundary(sse: ModuleType) -> None:
    fits = b"data: " + b"x" * 12 + b"\n\n"  # 20 bytes of raw
    assert len(scan(sse, [fits, fits], max_line=20)) == 2
    with pytest.raises(sse.SSELineTooLong):
        scan(sse, [fits[:-1] + b"x\n\n"], max_line=20)


def test_max_line_message_names_megabytes(sse: ModuleType) -> None:
    scanner = sse.SSEScanner(2 * 1024 * 1024)
    with pytest.raises(sse.SSELineTooLong, match=r"2 MB \(2097152 bytes\): saw 3145728 bytes in one line"):
        scanner.feed(b"x" * 3 * 1024 * 1024)
    assert issubclass(sse.SSELineTooLong, ValueError)


def test_pending_bytes(sse: ModuleType) -> None:
    scanner = sse.SSEScanner()
    assert scanner.pending_bytes == 0
    scanner.feed(b"\ndata: ab")
    assert scanner.pending_bytes == 9
    scanner.feed(b"c\n\ndata")
    assert scanner.pending_bytes == 4


def test_big_event_leaves_no_big_buffer_behind(sse: ModuleType) -> None:
    big = b"data: " + b"A" * (2 << 20) + b"\ndata: " + b"B" * (2 << 20) + b"\n\n"
    chunks = [big[i : i + 65536] for i in range(0, len(big), 65536)]
    scanner = sse.SSEScanner()
    scanner.feed(b"data: warm-up\n\n")
    tracemalloc.start()
    try:
        events = [e for chunk in chunks for e in scanner.feed(chunk)]
        assert len(events) == 1 and len(events[0].data) == (4 << 20) + 1
        del events
        assert scanner.feed(b"data: small\n\ndata: tail") != []
        assert tracemalloc.get_traced_memory()[0] < 256 << 10
    finally:
        tracemalloc.stop()


def test_argument_checks(sse: ModuleType) -> None:
    with pytest.raises(ValueError, match="max_line"):
        sse.SSEScanner(0)
    with pytest.raises(TypeError):
        sse.SSEScanner(1.5)
    with pytest.raises(TypeError, match="expected bytes, got bytearray"):
        sse.SSEScanner().feed(bytearray(b"data: x\n\n"))
    with pytest.raises(TypeError, match="expected bytes, got NoneType"):
        sse.SSEScanner().feed(None)


def test_event_value_semantics(sse: ModuleType) -> None:
    a = sse.SSEEvent(data=b"x", event="e", id="1", comment=b"c", raw=b"raw")
    assert a == sse.SSEEvent(data=b"x", event="e", id="1", comment=b"c", raw=b"raw")
    assert a != sse.SSEEvent(data=b"x", raw=b"raw")
    assert hash(a) == hash(sse.SSEEvent(data=b"x", event="e", id="1", comment=b"c", raw=b"raw"))
    assert repr(a) == "SSEEvent(data=b'x', event='e', id='1', comment=b'c', raw=b'raw')"
    with pytest.raises(AttributeError):
        a.data = b"y"
    assert sse.SSEEvent().raw == b"" and sse.SSEEvent().data is None
    with pytest.raises(TypeError):
        sse.SSEEvent(data="text")


# --- recorded streams ------------------------------------------------------------------------

RECORDED = sorted(p.name for p in STREAMS.glob("*.sse"))


def test_recorded_streams_present() -> None:
    assert RECORDED == [
        "anthropic_messages_tool_use.sse",
        "gemini_stream_generate_content.sse",
        "openai_chat_tool_call.sse",
    ]


@pytest.mark.parametrize("name", RECORDED)
def test_recorded_stream_any_split(sse: ModuleType, name: str) -> None:
    stream = (STREAMS / name).read_bytes()
    whole = scan(sse, [stream])
    assert b"".join(e[4] for e in whole) == stream
    for i in range(len(stream) + 1):
        assert scan(sse, [stream[:i], stream[i:]]) == whole, f"split at {i}"
    assert scan(sse, [stream[i : i + 1] for i in range(len(stream))]) == whole


def test_openai_stream(sse: ModuleType) -> None:
    events = scan(sse, [(STREAMS / "openai_chat_tool_call.sse").read_bytes()])
    assert all(e[1] is None and e[3] is None for e in events)
    assert events[-1][0] == b"[DONE]"
    chunks = [json.loads(e[0] or b"") for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Je vais vérifier la météo à Zürich ☀️ — 一秒お待ちください."
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls = [d["tool_calls"][0] for d in deltas if "tool_calls" in d]
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads("".join(c["function"]["arguments"] for c in calls)) == {
        "city": "Zürich",
        "unit": "celsius",
    }
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 128


def test_anthropic_stream(sse: ModuleType) -> None:
    events = scan(sse, [(STREAMS / "anthropic_messages_tool_use.sse").read_bytes()])
    names = [e[1] for e in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(names) == {
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
    for e in events:
        assert json.loads(e[0] or b"")["type"] == e[1]
    assert not any(sse.SSEEvent(data=e[0], raw=e[4]).done for e in events)


def test_gemini_stream(sse: ModuleType) -> None:
    events = scan(sse, [(STREAMS / "gemini_stream_generate_content.sse").read_bytes()])
    assert len(events) == 4
    assert all(e[4].endswith(b"}\r\n\r\n") and e[1] is None for e in events)
    bodies = [json.loads(e[0] or b"") for e in events]
    text = "".join(b["candidates"][0]["content"]["parts"][0]["text"] for b in bodies)
    assert text.startswith("Zur Stunde ist es in München sonnig")
    assert bodies[-1]["candidates"][0]["finishReason"] == "STOP"
    assert bodies[-1]["usageMetadata"]["totalTokenCount"] == 12 + 6 + 9 + 12 + 15


# --- the compiled module and its twin agree ----------------------------------------------------

_ALPHABET = [
    b"data",
    b"event",
    b"id",
    b"retry",
    b":",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"x",
    b"[DONE]",
    b"\xc3\xa9",
    b"\0",
]


def _outcome(sse: ModuleType, chunks: list[bytes], max_line: int) -> list[object]:
    """Per call, the events returned or the exception raised."""
    scanner = sse.SSEScanner(max_line)
    result: list[object] = []
    for call in [*((scanner.feed, c) for c in chunks), (scanner.finish, None)]:
        try:
            events = call[0]() if call[1] is None else call[0](call[1])
        except sse.SSELineTooLong as exc:
            result.append(("too long", str(exc)))
        else:
            result.append([fields(e) for e in events])
        result.append(scanner.pending_bytes)
    return result


def test_compiled_and_twin_agree_on_random_input() -> None:
    if _sse_c is None:
        pytest.skip("newapi._speedups.sse is not compiled (cythonize newapi/_speedups/sse.pyx)")
    rng = random.Random(20240611)
    for _ in range(3000):
        stream = b"".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(0, 60)))
        cuts = sorted(rng.sample(range(len(stream) + 1), min(len(stream) + 1, rng.randrange(0, 6))))
        chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
        max_line = rng.choice([1, 5, 12, 40, 1 << 20])
        assert _outcome(_sse_c, chunks, max_line) == _outcome(_sse_py, chunks, max_line), (chunks, max_line)
