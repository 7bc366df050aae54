"""Neutral chat requests to MiniMax's ``chatcompletion_v2`` body: OpenAI's Chat Completions body."""

from __future__ import annotations

from typing import Any

from newapi.adaptors.openai import request as openai_request
from newapi.convert import model as m


def render_request(req: m.Request) -> dict[str, Any]:
    body = openai_request.render_request(req)
    if req.stream:
        body["stream_options"] = {"include_usage": True}  # the last chunk then carries usage
    return body
