"""OpenAI embeddings, models, moderations, and the Jina/Cohere-style ``/v1/rerank``."""

from __future__ import annotations

import base64
import struct
from typing import Any

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import BadBody, Ctx, Reply
from newapi.testing.mock.wire import dumps

MODELS = (
    ("gpt-4o", "openai"),
    ("gpt-4o-mini", "openai"),
    ("gpt-4.1", "openai"),
    ("o3-mini", "openai"),
    ("text-embedding-3-small", "openai"),
    ("gpt-image-1", "openai"),
    ("whisper-1", "openai"),
    ("tts-1", "openai"),
    ("claude-sonnet-4-5", "anthropic"),
    ("gemini-2.5-flash", "google"),
)
_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)


def _inputs(value: Any) -> list[Any]:
    if isinstance(value, str) or (isinstance(value, list) and value and isinstance(value[0], int)):
        return [value]
    if isinstance(value, list):
        return value
    raise BadBody("input must be a string or a list")


def embeddings(ctx: Ctx) -> Reply:
    body = ctx.json()
    inputs = _inputs(body.get("input"))
    dims = int(body.get("dimensions") or ctx.config.embedding_dims)
    as_base64 = body.get("encoding_format") == "base64"
    data = []
    for i, item in enumerate(inputs):
        vec = text.vector(item if isinstance(item, str) else repr(item), dims)
        embedding: Any = vec
        if as_base64:
            embedding = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode("ascii")
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    out: dict[str, Any] = {"object": "list", "data": data, "model": ctx.model}
    u = ctx.set_usage(usage.resolve(ctx.faults, usage.units(body.get("input")), 0))
    if u is not None:
        out["usage"] = {"prompt_tokens": u.prompt, "total_tokens": u.prompt}
        ctx.usage_sent()
    return Reply(200, dumps(out))


def _model(name: str, owner: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1700000000, "owned_by": owner}


def list_models(ctx: Ctx) -> Reply:
    return Reply(200, dumps({"object": "list", "data": [_model(m, o) for m, o in MODELS]}))


def get_model(ctx: Ctx) -> Reply:
    return Reply(200, dumps(_model(ctx.model, "openai")))


def moderations(ctx: Ctx) -> Reply:
    body = ctx.json()
    inputs = _inputs(body.get("input"))
    ctx.set_usage(usage.resolve(ctx.faults, usage.units(body.get("input")), 0))
    result = {
        "flagged": False,
        "categories": dict.fromkeys(_CATEGORIES, False),
        "category_scores": dict.fromkeys(_CATEGORIES, 0.0001),
        "category_applied_input_types": {c: ["text"] for c in _CATEGORIES},
    }
    model = ctx.model or "omni-moderation-latest"
    return Reply(200, dumps({"id": ctx.ident("modr-"), "model": model, "results": [result] * len(inputs)}))


def ranked(query: str, texts: list[str]) -> list[tuple[float, int]]:
    """(score, index) of each document, best first: its share of words found in the query."""
    wanted = set(query.lower().split())
    scored = []
    for i, doc in enumerate(texts):
        words = doc.lower().split()
        overlap = sum(1 for w in words if w in wanted)
        scored.append((round((overlap + 1) / (len(words) + 2), 6), i))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return scored


def rerank_body(ctx: Ctx) -> tuple[dict[str, Any], str, list[Any]]:
    """The rerank body, its query and its documents (400 unless both are there)."""
    body = ctx.json()
    query = body.get("query")
    documents = body.get("documents")
    if not isinstance(query, str) or not isinstance(documents, list):
        raise BadBody("rerank needs a query string and a documents list")
    return body, query, documents


def rerank(ctx: Ctx) -> Reply:
    body, query, documents = rerank_body(ctx)
    texts = [
        d if isinstance(d, str) else str(d.get("text", "")) if isinstance(d, dict) else "" for d in documents
    ]
    scored = ranked(query, texts)
    top = body.get("top_n") or len(scored)
    results = []
    for score, i in scored[: int(top)]:
        item: dict[str, Any] = {"index": i, "relevance_score": score}
        if body.get("return_documents", True):
            item["document"] = {"text": texts[i]}
        results.append(item)
    out: dict[str, Any] = {"id": ctx.ident("rerank-"), "model": ctx.model, "results": results}
    prompt = usage.unit(query) + sum(usage.unit(t) for t in texts)
    u = ctx.set_usage(usage.resolve(ctx.faults, prompt, 0))
    if u is not None and ctx.model.startswith("jina-"):
        out["usage"] = {"total_tokens": u.prompt}  # Jina's rerank reports only the total
        ctx.usage_sent()
    elif u is not None:
        out["usage"] = {"prompt_tokens": u.prompt, "total_tokens": u.prompt}
        out["meta"] = {"billed_units": {"search_units": 1}}
        ctx.usage_sent()
    return Reply(200, dumps(out))
