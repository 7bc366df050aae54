"""Library answers to the neutral model: the answer, then its sources as a Markdown list.

New API appends the documents the answer drew on (``参考文档``, "reference documents") to the
text, numbered, as links. No token counts come back: the gateway counts the answer and the
prompt, as New API does. An error is ``{"success": false, "errCode": N, "message": ...}``.
"""

from __future__ import annotations

import msgspec

from newapi.adaptors.aiproxy import schemas
from newapi.convert import model as m
from newapi.core.errors import UpstreamStatusError
from newapi.core.usage import Usage


def documents_markdown(documents: list[schemas.Document] | None) -> str:
    if not documents:
        return ""
    lines = "".join(f"{i}. [{d.title}]({d.url})\n" for i, d in enumerate(documents, 1))
    return "\n\n参考文档：\n" + lines


def failure(view: schemas.Answer, body: bytes) -> UpstreamStatusError | None:
    if view.errCode == 0:
        return None
    return UpstreamStatusError(
        view.message or f"AIProxy error {view.errCode}",
        status=500,
        raw_body=body,
        content_type="application/json",
        upstream_code=str(view.errCode),
    )


def parse_response(body: bytes) -> m.Reply:
    view = schemas.answer_decoder.decode(body)
    error = failure(view, body)
    if error is not None:
        raise error
    text = view.answer + documents_markdown(view.documents)
    return m.Reply(parts=[m.Text(text)] if text else [], stop_reason="stop")


def usage_of(body: bytes) -> Usage | None:
    return None  # the library API reports no token counts


def response_id(body: bytes) -> str:
    return ""  # the library API names no answer


def error_message(body: bytes) -> tuple[str, str]:
    try:
        view = schemas.answer_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body[:500].decode("utf-8", "replace").strip(), ""
    if not view.message:
        return body[:500].decode("utf-8", "replace").strip(), ""
    return view.message, str(view.errCode) if view.errCode else ""
