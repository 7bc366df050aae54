"""Neutral chat requests to Dify's ``/v1/chat-messages`` body, as New API builds it.

Dify keeps the conversation itself: New API sends the whole history as one ``query`` with a
``ROLE: \\n`` line before each message, ``inputs`` empty, the client's ``user`` (else
``chatcmpl-<request id>``), images as ``files`` and ``response_mode`` blocking or streaming.
A remote image goes as its URL (Dify fetches it); an inline one is uploaded first
(newapi.adaptors.dify.files): its entry waits with an empty ``upload_file_id`` until then.
"""

from __future__ import annotations

from typing import Any

from newapi.convert import model as m


def inline_images(req: m.Request) -> list[m.Media]:
    """The images to upload, in the order of their waiting ``files`` entries."""
    return [
        part
        for message in req.messages
        for part in message.parts
        if isinstance(part, m.Media) and part.media_type.startswith("image") and not part.url and part.data
    ]


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
            elif isinstance(part, m.Media) and part.media_type.startswith("image"):
                if part.url:
                    files.append({"type": "image", "transfer_mode": "remote_url", "url": part.url})
                elif part.data:
                    files.append({"type": "image", "transfer_mode": "local_file", "upload_file_id": ""})
    return {
        "inputs": {},
        "query": "".join(query),
        "response_mode": "streaming" if req.stream else "blocking",
        "user": req.user or user,
        "files": files,
        "auto_generate_name": False,
    }


def fill_uploads(body: dict[str, Any], ids: list[str]) -> None:
    """Name the uploaded files in the waiting ``files`` entries, in order."""
    waiting = iter(ids)
    for entry in body["files"]:
        if entry.get("transfer_mode") == "local_file" and not entry.get("upload_file_id"):
            entry["upload_file_id"] = next(waiting)
