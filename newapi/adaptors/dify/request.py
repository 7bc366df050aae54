"""Neutral chat requests to Dify's ``/v1/chat-messages`` body, as New API builds it.

Dify keeps the conversation itself: New API sends the whole history as one ``query`` with a
``ROLE: \\n`` line before each message, ``inputs`` empty, the client's ``user`` (or the request id),
remote images as ``files``, and ``response_mode`` blocking or streaming.
"""

from __future__ import annotations

from typing import Any

from newapi.convert import model as m


def render_request(req: m.Request, user: str) -> dict[str, Any]:
    query: list[str] = []
    files: list[dict[str, Any]] = []
    for text in req.system:
        query.append("SYSTEM: \n" + text.text + "\n")
    for message in req.messages:
        role = "ASSISTANT" if message.role == "assistant" else "USER"
        for part in message.parts:
            if isinstance(part, m.Text):
                query.append(f"{role}: \n{part.text}\n")
            elif isinstance(part, m.ToolResult):
                query.append(f"{role}: \n{m.text_of(list(part.content))}\n")
            elif isinstance(part, m.Media) and part.url and part.media_type.startswith("image"):
                # Inline images need Dify's file upload first, which is not done here.
                files.append({"type": "image", "transfer_mode": "remote_url", "url": part.url})
    return {
        "inputs": {},
        "query": "".join(query),
        "response_mode": "streaming" if req.stream else "blocking",
        "user": req.user or user,
        "files": files,
        "auto_generate_name": False,
    }
