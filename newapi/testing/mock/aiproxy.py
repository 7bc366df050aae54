"""aiproxy.io's library API: ``POST /api/library/ask`` (a question against a knowledge base).

From aiproxy.io's library documentation as New API used it: the body is ``{model, query,
libraryId, stream}``; the answer ``{success, answer, documents: [{title, url}]}``; the stream is
SSE ``data: {content, finish, model, documents}`` lines (the documents with the last, no
``[DONE]``). No token counts. Errors are ``{"success": false, "errCode": N, "message": ...}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import BadBody, Ctx, Reply, Stream
from newapi.testing.mock.wire import dumps

DOCUMENTS = [
    {"title": "Mock handbook", "url": "https://docs.example/handbook"},
    {"title": "Mock FAQ", "url": "https://docs.example/faq"},
]


def _data(obj: Any) -> bytes:
    return b"data:" + dumps(obj) + b"\n\n"


def ask(ctx: Ctx) -> Reply | Stream:
    body = ctx.json()
    query, library = body.get("query"), body.get("libraryId")
    if not isinstance(query, str) or not query:
        raise BadBody("query is required")
    if not isinstance(library, str) or not library:
        raise BadBody("libraryId is required")
    n = ctx.pieces
    ctx.set_usage(usage.resolve(ctx.faults, usage.unit(query), n))
    if body.get("stream") is True:
        error = _data({"success": False, "errCode": 500, "message": "library failure (mock)"})
        return Stream(_pieces(ctx, n), error)
    out = {"success": True, "answer": text.content(n, ctx.faults.huge_line), "documents": DOCUMENTS}
    return Reply(200, dumps(out))


def _pieces(ctx: Ctx, n: int) -> Iterator[bytes]:
    for i in range(n):
        yield _data({"content": text.piece(i), "finish": False, "model": ctx.model})
    yield _data({"content": "", "finish": True, "model": ctx.model, "documents": DOCUMENTS})
