"""Reading ``response.done`` out of Realtime server frames, and nothing else."""

from __future__ import annotations

import orjson

from newapi.billing.realtime_quota import RealtimeUsage
from newapi.relay.realtime.events import response_done
from newapi.relay.realtime.partial import PartialResponse
from newapi.tokens import count_text


def done(usage: object) -> str:
    event = {
        "type": "response.done",
        "event_id": "e1",
        "response": {"id": "resp_1", "status": "completed", "usage": usage},
    }
    return orjson.dumps(event).decode()


def test_the_usage_of_a_response_done_with_its_details() -> None:
    usage = {
        "total_tokens": 200,
        "input_tokens": 120,
        "output_tokens": 80,
        "input_token_details": {"cached_tokens": 64, "text_tokens": 100, "audio_tokens": 20},
        "output_token_details": {"text_tokens": 30, "audio_tokens": 50},
    }
    found = response_done(done(usage))
    assert found is not None
    assert (found.response_id, found.status) == ("resp_1", "completed")
    assert found.usage == RealtimeUsage(120, 80, 200, 100, 20, 64, 30, 50)


def test_usage_without_the_split_counts_as_text() -> None:
    found = response_done(done({"input_tokens": 7, "output_tokens": 5}))
    assert found is not None and found.usage is not None
    assert (found.usage.text_input, found.usage.text_output, found.usage.total_tokens) == (7, 5, 12)


def test_a_response_done_without_usage() -> None:
    found = response_done(done(None))
    assert found is not None and found.usage is None


def test_other_frames_are_not_read() -> None:
    assert response_done('{"type":"response.output_text.delta","delta":"response.done"}') is None
    text = orjson.dumps({"type": "response.output_text.delta", "delta": '"response.done"'}).decode()
    assert response_done(text) is None
    assert response_done('{"type":"response.done"') is None  # cut short: not billed from garbage
    assert response_done('{"type":"response.done","response":{"usage":{"input_tokens":"many"}}}') is None


def frame(kind: str, **fields: object) -> str:
    return orjson.dumps({"type": kind, "event_id": "e", **fields}).decode()


def test_the_open_response_is_counted_from_its_text_deltas() -> None:
    partial = PartialResponse("gpt-4o-realtime-preview")
    assert partial.usage() is None
    partial.observe(frame("response.created", response={"id": "r"}))
    partial.observe(frame("response.output_text.delta", delta="Hello there"))
    partial.observe(frame("response.audio_transcript.delta", delta=" friend"))
    partial.observe(frame("response.output_audio.delta", delta="AAAA"))  # audio: known only from usage
    partial.observe(frame("session.updated", session={"instructions": "response.text.delta"}))
    expected = count_text("Hello there", "gpt-4o-realtime-preview") + count_text(
        " friend", "gpt-4o-realtime-preview"
    )
    assert partial.usage() == RealtimeUsage(
        output_tokens=expected, total_tokens=expected, text_output=expected
    )
    partial.done()  # its response.done billed it: nothing left to count
    assert partial.usage() is None


def test_a_created_response_without_text_bills_nothing() -> None:
    partial = PartialResponse("gpt-4o-realtime-preview")
    partial.observe(frame("response.created", response={"id": "r"}))
    partial.observe(frame("response.text.delta", delta=""))
    partial.observe('{"type":"response.text.delta","delta":')  # cut short
    assert partial.usage() is None
