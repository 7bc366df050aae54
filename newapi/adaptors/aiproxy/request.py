"""Neutral chat requests to the library API's body: the last message is the question.

The API answers one question against the library (the channel's ``other``); earlier turns, the
system prompt and sampling settings have no field in it, so New API sent only the last message.
"""

from __future__ import annotations

from typing import Any

from newapi.convert import model as m


def render_request(req: m.Request, library_id: str) -> dict[str, Any]:
    query = m.text_of(req.messages[-1].parts) if req.messages else ""
    return {"model": req.model, "query": query, "libraryId": library_id, "stream": req.stream}
