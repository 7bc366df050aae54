"""Request shapes of native adaptors that the e2e tests reach only in their simplest form: ERNIE
turns when one assistant turn calls several tools, and Dify's upload form and waiting files."""

from __future__ import annotations

from typing import Any

import pytest

from newapi.adaptors.baidu.request import embeddings_request, render_request
from newapi.adaptors.dify import files as dify_files
from newapi.adaptors.dify import request as dify_request
from newapi.adaptors.signed import Context
from newapi.convert import model as m
from newapi.core.errors import BadRequest, UpstreamError
from newapi.core.structs import ChannelInfo
from newapi.testing.mock import multipart


async def _post(url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes]:
    raise AssertionError("rendering posts nothing")


def _ctx() -> Context:
    channel = ChannelInfo(
        id=1, type=15, name="ernie", status=1, keys=("k",), base_url="http://x", models=(),
        groups=("default",), priority=0, weight=0, model_mapping={}, status_code_mapping={},
        openai_organization="", other="", param_override={}, header_override={}, setting={},
        other_settings={}, test_model="", auto_ban=True, tag="",
    )  # fmt: skip
    return Context(channel, "k", "ERNIE-4.0-8K", False, _post)


def _tool_turns() -> m.Request:
    calls = [m.ToolCall("c1", "weather", '{"city":"Paris"}'), m.ToolCall("c2", "time", "{}")]
    results = [m.ToolResult("c2", "time", [m.Text("noon")]), m.ToolResult("c1", "weather", [m.Text("sunny")])]
    return m.Request(
        model="ERNIE-4.0-8K",
        messages=[
            m.Message("user", [m.Text("weather and time?")]),
            m.Message("assistant", [m.Text("checking"), *calls]),
            m.Message("user", results),
        ],
        tools=[m.Tool("weather", "Weather", {"type": "object"}), m.Tool("time")],
    )


def test_ernie_gets_one_call_and_its_result_per_tool() -> None:
    body = render_request(_tool_turns(), _ctx())
    assert body["messages"] == [
        {"role": "user", "content": "weather and time?"},
        {
            "role": "assistant",
            "content": "checking",
            "function_call": {"name": "weather", "arguments": '{"city":"Paris"}'},
        },
        {"role": "function", "name": "weather", "content": "sunny"},
        {"role": "assistant", "content": "", "function_call": {"name": "time", "arguments": "{}"}},
        {"role": "function", "name": "time", "content": "noon"},
    ]
    assert len(body["messages"]) % 2 == 1  # ERNIE's odd count holds
    assert body["functions"][1] == {
        "name": "time",
        "description": "",
        "parameters": {"type": "object", "properties": {}},
    }
    assert "tool_choice" not in body


def test_ernie_tool_choice() -> None:
    req = _tool_turns()
    req.tool_choice = m.ToolChoice("tool", "time")
    assert render_request(req, _ctx())["tool_choice"] == {"type": "function", "function": {"name": "time"}}
    req.tool_choice = m.ToolChoice("none")
    assert "functions" not in render_request(req, _ctx())


@pytest.mark.parametrize(
    ("given", "sent"),
    [("one", {"input": ["one"]}), (["a", "b"], {"input": ["a", "b"]})],
)
def test_ernie_embeddings_input(given: Any, sent: dict[str, Any]) -> None:
    assert embeddings_request({"input": given}) == sent


@pytest.mark.parametrize("given", [[], [1, 2], None, {"a": 1}])
def test_ernie_embeddings_refuse_non_text(given: Any) -> None:
    with pytest.raises(ValueError, match="input must be"):
        embeddings_request({"input": given})


def test_dify_waiting_files_are_filled_in_order() -> None:
    req = m.Request(
        model="dify",
        messages=[
            m.Message(
                "user",
                [
                    m.Media("image/png", data="AAAA"),
                    m.Media("image/jpeg", url="https://example.com/a.jpg"),
                    m.Media("image/gif", data="BBBB"),
                ],
            )
        ],
    )
    body = dify_request.render_request(req, "")
    assert [f["transfer_mode"] for f in body["files"]] == ["local_file", "remote_url", "local_file"]
    assert [media.data for media in dify_request.inline_images(req)] == ["AAAA", "BBBB"]
    dify_request.fill_uploads(body, ["id-1", "id-2"])
    assert [f.get("upload_file_id") for f in body["files"]] == ["id-1", None, "id-2"]


def test_dify_upload_form_is_a_valid_multipart_body() -> None:
    content_type, body = dify_files.upload_form(b"\x89PNG-bytes", 'image/png"\r\nX-Evil: 1', "user-1")
    form = multipart.parse(content_type.decode(), body)
    assert multipart.field(form, "user") == "user-1"
    assert form["file"][0].data == b"\x89PNG-bytes"
    # a data URL's type cannot add a header or break out of the filename's quotes
    assert form["file"][0].filename == "image.pngX-Evil1" and b"X-Evil: 1" not in body


def test_dify_upload_answers() -> None:
    assert dify_files.uploaded_id(201, b'{"id": "f-1", "name": "image.png"}') == "f-1"
    with pytest.raises(UpstreamError, match="status 415: File type not allowed"):
        dify_files.uploaded_id(415, b'{"code": "unsupported_file_type", "message": "File type not allowed."}')
    with pytest.raises(UpstreamError, match="status 200"):
        dify_files.uploaded_id(200, b"<html>")
    with pytest.raises(BadRequest):
        dify_files.image_bytes("not base64 !")
