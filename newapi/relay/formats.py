"""The four text API families by name: the pipeline's table of each family's functions.

Only the pipeline imports every family (STYLE: stages never import each other); a family's
codec is picked here by the name of the format a client or a channel speaks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from newapi.adaptors.claude import request as claude_request
from newapi.adaptors.claude import response as claude_response
from newapi.adaptors.claude import stream as claude_stream
from newapi.adaptors.gemini import request as gemini_request
from newapi.adaptors.gemini import response as gemini_response
from newapi.adaptors.gemini import stream as gemini_stream
from newapi.adaptors.openai import request as openai_request
from newapi.adaptors.openai import response as openai_response
from newapi.adaptors.openai import stream as openai_stream
from newapi.adaptors.responses import request as responses_request
from newapi.adaptors.responses import response as responses_response
from newapi.adaptors.responses import stream as responses_stream
from newapi.convert import model as m
from newapi.convert.stream import Reader
from newapi.core.errors import Family
from newapi.core.usage import Usage
from newapi.relay.native_spec import QUIET, Reading
from newapi.relay.natives import NATIVES
from newapi.relay.signed import BY_NAME as SIGNED_FAMILIES

OPENAI = "openai"  # Chat Completions
RESPONSES = "responses"
CLAUDE = "claude"
GEMINI = "gemini"


@dataclass(frozen=True, slots=True)
class Codec:
    name: str
    errors: Family  # the error shape its clients expect
    parse_request: Callable[[dict[str, Any]], m.Request]
    parse_response: Callable[[bytes], m.Reply]
    render_response: Callable[[m.Reply], bytes]
    reader: Callable[[], Reader]
    usage_of: Callable[[bytes], Usage | None]
    response_id: Callable[[bytes], str]
    error_message: Callable[[bytes], tuple[str, str]]


CODECS: dict[str, Codec] = {
    OPENAI: Codec(
        OPENAI,
        "openai",
        openai_request.parse_request,
        openai_response.parse_response,
        openai_response.render_response,
        openai_stream.Reader,
        openai_response.usage_of,
        openai_response.response_id,
        openai_response.error_message,
    ),
    RESPONSES: Codec(
        RESPONSES,
        "openai",
        responses_request.parse_request,
        responses_response.parse_response,
        responses_response.render_response,
        responses_stream.Reader,
        responses_response.usage_of,
        responses_response.response_id,
        openai_response.error_message,
    ),
    CLAUDE: Codec(
        CLAUDE,
        "claude",
        claude_request.parse_request,
        claude_response.parse_response,
        claude_response.render_response,
        claude_stream.Reader,
        claude_response.usage_of,
        claude_response.response_id,
        claude_response.error_message,
    ),
    GEMINI: Codec(
        GEMINI,
        "gemini",
        gemini_request.parse_request,
        gemini_response.parse_response,
        gemini_response.render_response,
        gemini_stream.Reader,
        gemini_response.usage_of,
        gemini_response.response_id,
        gemini_response.error_message,
    ),
}


@dataclass(frozen=True, slots=True)
class Upstream:
    """How a channel's answer in one format is read (the channel side of a codec)."""

    parse_response: Callable[[bytes], m.Reply]
    reader: Callable[[], Reader]
    usage_of: Callable[[bytes], Usage | None]
    response_id: Callable[[bytes], str]
    error_message: Callable[[bytes], tuple[str, str]]


def _read(r: Reading) -> Upstream:
    return Upstream(r.parse_response, r.reader, r.usage_of, r.response_id, r.error_message)


#: every format a channel may be spoken to in: the four families and the native types' (their
#: format is named by newapi.relay.natives)
UPSTREAM: dict[str, Upstream] = {
    **{
        name: Upstream(c.parse_response, c.reader, c.usage_of, c.response_id, c.error_message)
        for name, c in CODECS.items()
    },
    **{n.target: _read(n.reading) for n in NATIVES.values() if n.reading is not None},
    **{n.target + QUIET: _read(n.quiet) for n in NATIVES.values() if n.quiet is not None},
}


# Families with their own signed auth (Baidu, Zhipu v3, Xunfei, Tencent): read from their channels.
UPSTREAM.update(
    {
        f.name: Upstream(f.parse_response, f.reader, f.usage_of, f.response_id, f.error_message)
        for f in SIGNED_FAMILIES.values()
    }
)
