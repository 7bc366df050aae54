"""Neutral requests to the Codex backend's Responses body, with the rules New API applies.

The backend streams only, keeps nothing (``store: false``), wants ``instructions`` present, and
refuses sampling settings and ``max_output_tokens``: those are removed.
"""

from __future__ import annotations

from typing import Any

from newapi.adaptors.responses import request as responses_request
from newapi.convert import model as m

_DROPPED = ("max_output_tokens", "temperature", "top_p", "frequency_penalty", "presence_penalty")


def render_request(req: m.Request) -> dict[str, Any]:
    body = responses_request.render_request(req)
    for name in _DROPPED:
        body.pop(name, None)
    body["instructions"] = body.get("instructions") or ""
    body["store"] = False
    body["stream"] = True  # a whole answer is the stream buffered (New API does the same)
    return body
