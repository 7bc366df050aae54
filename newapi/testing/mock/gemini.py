"""Gemini ``/v1beta/models/{model}:{action}`` and ``GET /v1beta/models``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from newapi.testing.mock import errors, text, usage
from newapi.testing.mock.context import BadBody, Ctx, Reply, Stream
from newapi.testing.mock.wire import dumps, last_is_tool_result, last_user_text, offered, tool_to_call

MODELS = ("gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.0-flash", "gemini-embedding-001")


def _include_thoughts(body: dict[str, Any]) -> bool:
    config = body.get("generationConfig") or body.get("generation_config") or {}
    thinking = (
        config.get("thinkingConfig") or config.get("thinking_config") if isinstance(config, dict) else None
    )
    if not isinstance(thinking, dict):
        return False
    return thinking.get("includeThoughts", thinking.get("include_thoughts")) is True


_SCHEMAS = ("parameters", "parametersJsonSchema", "parameters_json_schema")


def _tools(body: dict[str, Any]) -> list[tuple[str, Any]]:
    tools = body.get("tools")
    return offered(tools, "functionDeclarations", schema=_SCHEMAS) or offered(
        tools, "function_declarations", schema=_SCHEMAS
    )


class _Plan:
    def __init__(self, ctx: Ctx) -> None:
        body = ctx.json()
        self.ctx = ctx
        self.n = ctx.pieces
        self.reasoning = self.n if _include_thoughts(body) else 0
        contents = body.get("contents")
        last = last_user_text(contents, key="parts")
        answered = last_is_tool_result(contents, kinds=("functionResponse", "function_response"), key="parts")
        self.tool = tool_to_call(_tools(body), last, answered, ctx.faults, self.n)
        completion = (len(self.tool.pieces) if self.tool else self.n) + self.reasoning
        prompt = usage.gemini_prompt(body)
        self.usage = ctx.set_usage(usage.resolve(ctx.faults, prompt, completion, self.reasoning))

    def chunk(self, parts: list[dict[str, Any]], final: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        out: dict[str, Any] = {"candidates": [candidate]}
        if final:
            candidate["finishReason"] = "STOP"
            searches = self.ctx.faults.web_search
            if searches:
                # Grounding with Google Search, as the API reports it on the answer's last chunk.
                candidate["groundingMetadata"] = {
                    "webSearchQueries": [f"query {i}" for i in range(searches)],
                    "searchEntryPoint": {"renderedContent": "<div></div>"},
                    "groundingChunks": [{"web": {"uri": "https://example.com/", "title": "example.com"}}],
                }
        if self.usage is not None:
            out["usageMetadata"] = usage.gemini(self.usage) if final else usage.gemini_partial(self.usage)
        out["modelVersion"] = self.ctx.model
        out["responseId"] = self.ctx.ident("")
        return out

    def answer_part(self) -> dict[str, Any]:
        if self.tool:
            return {"functionCall": {"name": self.tool.name, "args": orjson.loads(self.tool.arguments)}}
        return {"text": text.content(self.n, self.ctx.faults.huge_line)}


def generate(ctx: Ctx) -> Reply | Stream:
    plan = _Plan(ctx)
    if ctx.action == "streamGenerateContent":
        sse = "alt=sse" in ctx.req.query
        return Stream(
            _events(plan, sse),
            errors.stream_event("gemini") if sse else b",\r\n" + errors.body("gemini", 500) + b"]",
            content_type=b"text/event-stream" if sse else b"application/json; charset=UTF-8",
        )
    parts = [{"text": text.thinking(plan.n), "thought": True}] if plan.reasoning else []
    parts.append(plan.answer_part())
    if plan.usage is not None:
        ctx.usage_sent()
    return Reply(200, dumps(plan.chunk(parts, final=True)))


def _events(plan: _Plan, sse: bool) -> Iterator[bytes]:
    first = True

    def frame(obj: dict[str, Any]) -> bytes:
        nonlocal first
        if sse:
            return b"data: " + dumps(obj) + b"\r\n\r\n"
        lead, first = (b"[" if first else b",\r\n"), False
        return lead + dumps(obj)

    for i in range(plan.reasoning):
        yield frame(plan.chunk([{"text": text.piece(i), "thought": True}], final=False))
    if plan.tool:
        if plan.usage is not None:
            plan.ctx.usage_sent()
        yield frame(plan.chunk([plan.answer_part()], final=True))
    else:
        huge = plan.ctx.faults.huge_line
        for i in range(plan.n):
            piece = text.filler(huge) if huge and i == 0 else text.piece(i)
            yield frame(plan.chunk([{"text": piece}], final=False))
        if plan.usage is not None:
            plan.ctx.usage_sent()
        yield frame(plan.chunk([{"text": ""}], final=True))
    if not sse:
        yield b"]"


def _prompt(ctx: Ctx, body: dict[str, Any]) -> int:
    forced = ctx.faults.usage
    return forced[0] if forced else usage.gemini_prompt(body)


def count_tokens(ctx: Ctx) -> Reply:
    body = ctx.json()
    inner = body.get("generateContentRequest")
    tokens = _prompt(ctx, inner if isinstance(inner, dict) else body)
    return Reply(
        200,
        dumps({"totalTokens": tokens, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": tokens}]}),
    )


def _embedding(ctx: Ctx, request: Any) -> dict[str, Any]:
    if not isinstance(request, dict):
        raise BadBody("each embedding request must be an object")
    content = request.get("content") or {}
    seed = " ".join(usage.text_of(content.get("parts") if isinstance(content, dict) else None))
    dims = request.get("outputDimensionality") or ctx.config.embedding_dims
    return {"values": text.vector(seed, int(dims))}


def embed(ctx: Ctx) -> Reply:
    body = ctx.json()
    ctx.set_usage(usage.resolve(ctx.faults, usage.unit((body.get("content") or {}).get("parts")), 0))
    return Reply(200, dumps({"embedding": _embedding(ctx, body)}))


def batch_embed(ctx: Ctx) -> Reply:
    requests = ctx.json().get("requests")
    if not isinstance(requests, list):
        raise BadBody("requests must be a list")
    prompt = sum(usage.unit((r.get("content") or {}).get("parts")) for r in requests if isinstance(r, dict))
    ctx.set_usage(usage.resolve(ctx.faults, prompt, 0))
    return Reply(200, dumps({"embeddings": [_embedding(ctx, r) for r in requests]}))


def _model(name: str) -> dict[str, Any]:
    embedding = "embedding" in name
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": name,
        "description": "Mock Gemini model.",
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": ["embedContent"] if embedding else ["generateContent", "countTokens"],
    }


def list_models(ctx: Ctx) -> Reply:
    return Reply(200, dumps({"models": [_model(m) for m in MODELS]}))


def get_model(ctx: Ctx) -> Reply:
    return Reply(200, dumps(_model(ctx.model)))
