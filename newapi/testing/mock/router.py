"""Path → handler, plus what every request goes through first: auth, model, fault directives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from newapi.testing.mock import (
    aiproxy,
    balance,
    claude,
    cloud,
    cloudflare,
    codex,
    cohere,
    compaction,
    coze,
    dify,
    errors,
    faults,
    gemini,
    imagen,
    media,
    minimax,
    ollama,
    openai,
    openai_misc,
    palm,
    replicate,
    responses,
    signed,
)
from newapi.testing.mock.context import BadBody, Ctx, Reply, Stream
from newapi.testing.mock.http11 import Request

Handler = Callable[[Ctx], Reply | Stream]


@dataclass(frozen=True, slots=True)
class Route:
    family: str
    handler: Handler
    model: str = ""
    action: str = ""


_EXACT: dict[tuple[str, str], Route] = {
    ("POST", "/v1/chat/completions"): Route("openai", openai.chat),
    ("POST", "/v1/completions"): Route("openai", openai.completions),
    ("POST", "/v1/embeddings"): Route("openai", openai_misc.embeddings),
    ("GET", "/v1/models"): Route("openai", openai_misc.list_models),
    ("POST", "/v1/images/generations"): Route("openai", media.images),
    ("POST", "/v1/images/edits"): Route("openai", media.images),
    ("POST", "/v1/audio/speech"): Route("openai", media.speech),
    ("POST", "/v1/audio/transcriptions"): Route("openai", media.transcriptions),
    ("POST", "/v1/audio/translations"): Route("openai", media.translations),
    ("POST", "/v1/moderations"): Route("openai", openai_misc.moderations),
    ("POST", "/v1/rerank"): Route("openai", openai_misc.rerank),
    ("POST", "/v1/responses"): Route("responses", responses.create),
    ("POST", "/v1/responses/compact"): Route("responses", compaction.compact),
    ("POST", "/v1/messages"): Route("claude", claude.messages),
    ("POST", "/v1/messages/count_tokens"): Route("claude", claude.count_tokens),
    ("GET", "/v1beta/models"): Route("gemini", gemini.list_models),
    ("POST", "/token"): Route("gemini", cloud.token, model="oauth-token"),
    ("POST", "/v2/chat"): Route("cohere", cohere.chat),
    ("POST", "/v2/rerank"): Route("cohere", cohere.rerank),
    ("POST", "/api/chat"): Route("ollama", ollama.chat),
    ("POST", "/api/embed"): Route("ollama", ollama.embed),
    ("POST", "/v1/text/chatcompletion_v2"): Route("minimax", minimax.chat),
    ("POST", "/v1/chat-messages"): Route("dify", dify.chat),
    ("POST", "/v1/files/upload"): Route("dify", dify.upload, model="dify-upload"),
    ("POST", "/v3/chat"): Route("coze", coze.chat),
    ("POST", "/backend-api/codex/responses"): Route("responses", codex.codex_responses),
    ("POST", "/oauth/token"): Route("openai", codex.token, model="oauth-token"),
    ("GET", "/backend-api/wham/usage"): Route("responses", codex.wham_usage),
    ("POST", "/v1/files"): Route("replicate", replicate.upload_file, model="replicate-upload"),
    ("POST", "/anthropic/v1/messages"): Route("claude", claude.messages),
    ("POST", "/apps/anthropic/v1/messages"): Route("claude", claude.messages),  # DashScope's
    ("POST", "/v1beta2/models/chat-bison-001:generateMessage"): Route(
        "palm", palm.generate_message, model="chat-bison-001", action="generateMessage"
    ),
    ("POST", "/api/library/ask"): Route("aiproxy", aiproxy.ask),
    **{("GET", path): Route("openai", handler) for path, handler in balance.ROUTES.items()},
}
_GEMINI_ACTIONS: dict[str, Handler] = {
    "generateContent": gemini.generate,
    "streamGenerateContent": gemini.generate,
    "countTokens": gemini.count_tokens,
    "embedContent": gemini.embed,
    "batchEmbedContents": gemini.batch_embed,
    "predict": imagen.predict,
}
# Handlers whose non-stream reply waits ``latency x pieces``, like a real model generating.
GENERATIVE = frozenset(
    {
        openai.chat,
        openai.completions,
        responses.create,
        claude.messages,
        gemini.generate,
        cohere.chat,
        ollama.chat,
        minimax.chat,
        dify.chat,
        coze.chat,
        codex.codex_responses,
        palm.generate_message,
        aiproxy.ask,
    }
)


# OpenAI-compatible providers' own paths for OpenAI's endpoints (Ali's compatible mode, Zhipu v4,
# VolcEngine Ark, Qianfan v2, DeepSeek's beta FIM, Perplexity's unversioned path, coding plans;
# MokaAI's ``/embeddings``, which answers in OpenAI's shape).
_COMPAT_PREFIXES = (
    "/compatible-mode/v1/",
    "/api/paas/v4/",
    "/api/coding/paas/v4/",
    "/api/v3/bots/",
    "/api/v3/",
    "/api/coding/v3/",
    "/api/v1/",
    "/v2/",
    "/beta/",
    "/",
)


ENTERPRISE = "/openrouter-enterprise"


def _enveloped(ctx: Ctx, handler: Handler) -> Reply | Stream:
    """OpenRouter Enterprise: a whole answer inside ``{"success": true, "data": ...}``; the header
    ``x-mock-enterprise: fail`` makes it ``success: false`` (streams are not enveloped)."""
    result = handler(ctx)
    if isinstance(result, Stream) or result.status != 200:
        return result
    success = b"false" if ctx.req.headers.get("x-mock-enterprise") == "fail" else b"true"
    return Reply(200, b'{"success":' + success + b',"data":' + result.body + b"}")


def resolve(method: str, path: str) -> Route | None:
    route = _EXACT.get((method, path))
    if route is not None:
        return route
    if path.startswith(ENTERPRISE + "/"):  # OpenRouter Enterprise's envelope around any route
        inner = resolve(method, path[len(ENTERPRISE) :])
        if inner is None:
            return None
        return Route(inner.family, partial(_enveloped, handler=inner.handler), inner.model, inner.action)
    own = signed.resolve(method, path)  # Baidu, Zhipu v3, Tencent (Xunfei is a WebSocket server)
    if own is not None:
        return Route(own[0], own[1])
    for prefix in _COMPAT_PREFIXES:
        if path.startswith(prefix) and not path.startswith("/v1/"):
            found = _EXACT.get((method, "/v1/" + path[len(prefix) :]))
            if found is not None:
                return found
    if path.startswith("/openai/deployments/"):
        deployment, _, rest = path[len("/openai/deployments/") :].partition("/")
        found = _EXACT.get((method, "/v1/" + rest))
        return Route(found.family, found.handler, model=deployment) if found else None
    if path.startswith("/client/v4/accounts/"):
        # Cloudflare Workers AI's OpenAI-compatible API under an account id
        _account, _, rest = path[len("/client/v4/accounts/") :].partition("/")
        if rest.startswith("ai/run/") and method == "POST":  # Workers AI's own model API
            return Route("cloudflare", cloudflare.run, model=rest[len("ai/run/") :])
        found = (
            _EXACT.get((method, "/v1/" + rest.removeprefix("ai/v1/"))) if rest.startswith("ai/v1/") else None
        )
        return Route("cloudflare", found.handler) if found else None
    if path.startswith("/openai/v1/"):
        return _EXACT.get((method, path[len("/openai") :]))
    if path.startswith("/model/") and method == "POST":
        model, _, action = path[len("/model/") :].rpartition("/")
        if action in ("invoke", "invoke-with-response-stream") and model:
            return Route("claude", partial(cloud.bedrock, streaming=action != "invoke"), model, action)
    vertex = cloud.split_vertex(path) if method == "POST" else None
    if vertex is not None:
        publisher, model, action = vertex
        family = "gemini" if publisher == "google" else "claude"
        return Route(
            family, partial(cloud.vertex, publisher=publisher, model=model, action=action), model, action
        )
    if path.startswith("/replicate-delivery/") and method == "GET":
        return Route("replicate", replicate.delivery, model="replicate-file")
    if path.startswith("/v1/models/") and path.endswith("/predictions") and method == "POST":
        model = path[len("/v1/models/") : -len("/predictions")]  # Replicate's owner/name
        return Route("replicate", replicate.predictions, model)
    for prefix in ("/v1beta/models/", "/v1/models/"):
        if path.startswith(prefix):
            name, _, action = path[len(prefix) :].partition(":")
            if action:
                handler = _GEMINI_ACTIONS.get(action)
                return Route("gemini", handler, name, action) if handler and method == "POST" else None
            if method == "GET":
                getter = gemini.get_model if prefix == "/v1beta/models/" else openai_misc.get_model
                return Route("gemini" if getter is gemini.get_model else "openai", getter, name)
    return None


def guess_family(path: str) -> str:
    if path.startswith("/v1/messages"):
        return "claude"
    if path.startswith("/v1beta/") or ":" in path:
        return "gemini"
    return "responses" if path.startswith("/v1/responses") else "openai"


def authorized(req: Request, key: str) -> bool:
    h = req.headers
    if h.get("authorization") == f"Bearer {key}" or key in (h.get("x-api-key"), h.get("x-goog-api-key")):
        return True
    return h.get("api-key") == key or f"key={key}" in req.query.split("&")


def dispatch(ctx: Ctx) -> tuple[Reply | Stream, float]:
    """The reply to send and how long to wait before its head (``slow-ttfb`` and generation time)."""
    req = ctx.req
    route = resolve(req.method, req.path)
    if route is None:
        return errors.reply(ctx.family, 404, f"Unknown mock route {req.method} {req.path}."), 0.0
    ctx.family = ctx.record.family = route.family
    ctx.action = route.action
    key = ctx.config.require_key
    if key is not None and not authorized(req, key):
        return errors.reply(route.family, 401), 0.0
    try:
        ctx.model = route.model or _body_model(ctx)
        ctx.faults = faults.for_request(
            ctx.model, req.headers.get("x-mock-fault"), req.headers.get("x-mock-usage")
        )
    except (BadBody, ValueError) as exc:
        return errors.reply(ctx.family, 400, str(exc)), 0.0
    if ctx.family == "openai" and ctx.model.startswith("jina-"):
        ctx.family = ctx.record.family = "jina"  # Jina's API: OpenAI's paths, its own error shape
    f = ctx.faults
    ctx.record.model, ctx.record.faults = ctx.model, f.names
    if f.quote_key:
        return errors.reply(ctx.family, f.status or 401, errors.quoting_key(req.headers, req.query)), f.ttfb
    if f.status is not None:
        return errors.reply(ctx.family, f.status, retry_after=f.retry_after), f.ttfb
    if f.error_body_200:
        return Reply(200, errors.body(ctx.family, 500)), f.ttfb
    try:
        result = route.handler(ctx)
    except BadBody as exc:
        return errors.reply(ctx.family, 400, str(exc)), f.ttfb
    if isinstance(result, Stream):
        ctx.record.stream = True
        return result, f.ttfb
    generation = ctx.latency * ctx.pieces if route.handler in GENERATIVE and result.status == 200 else 0.0
    return result, f.ttfb + generation


def _body_model(ctx: Ctx) -> str:
    if ctx.req.method == "GET" or not ctx.req.body:
        return ""
    if ctx.is_form:
        parts = ctx.form().get("model")
        return parts[0].text if parts else ""
    model = ctx.json().get("model")
    return model if isinstance(model, str) else ""
