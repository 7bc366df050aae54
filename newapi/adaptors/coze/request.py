"""Neutral chat requests to Coze's ``/v3/chat`` body (``additional_messages``, always streamed).

Coze keeps its own conversation, so the turns go as ``additional_messages`` (text only, as New
API sends them); the bot is the channel's ``other`` (New API's bot id), else the model name.
"""

from __future__ import annotations

from typing import Any

from newapi.convert import model as m


def render_request(req: m.Request, bot_id: str, user: str) -> dict[str, Any]:
    messages = []
    for message in req.messages:
        text = m.text_of(message.parts)
        if text:
            messages.append({"role": message.role, "content": text, "content_type": "text"})
    return {
        "bot_id": bot_id,
        "user_id": req.user or user,
        # The answer is always streamed: a whole reply is the stream read to its end, one request
        # instead of New API's create + poll retrieve + list messages.
        "stream": True,
        "auto_save_history": True,
        "additional_messages": messages,
    }
