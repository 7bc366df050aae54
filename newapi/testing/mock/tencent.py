"""Tencent Hunyuan: ``POST /`` with ``X-TC-Action: ChatCompletions`` (version 2023-09-01).

The TC3-HMAC-SHA256 signature is recomputed from the secret configured for the SecretId
(``MockConfig.signed_keys`` entries ``("tencent", "SecretId|SecretKey")``) over the request as it
arrived: its ``content-type`` and ``host`` headers and the exact body bytes; the timestamp must be
within five minutes. Every failure is answered as Tencent Cloud does, HTTP 200 with
``Response.Error``. Written apart from the gateway's signer on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from newapi.testing.mock import text, usage
from newapi.testing.mock.context import Ctx, Reply, Stream
from newapi.testing.mock.wire import dumps, now

NOTE = "以上内容为AI生成，不代表开发者立场，请勿删除或修改本标记"


def _error(ctx: Ctx, code: str, message: str) -> Reply:
    return Reply(
        200, dumps({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": ctx.ident("")}})
    )


def _secrets(ctx: Ctx) -> dict[str, str]:
    pairs = (key.split("|", 1) for provider, key in ctx.config.signed_keys if provider == "tencent")
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def _verify(ctx: Ctx) -> tuple[str, str] | None:
    """(error code, message) when the request's signature does not hold."""
    secrets = _secrets(ctx)
    if not secrets:
        return None
    h = ctx.req.headers
    auth = h.get("authorization", "")
    if not auth.startswith("TC3-HMAC-SHA256 "):
        return "AuthFailure.SignatureFailure", "The provided credentials could not be validated."
    fields = dict(p.strip().split("=", 1) for p in auth[len("TC3-HMAC-SHA256 ") :].split(",") if "=" in p)
    secret_id, _, scope = fields.get("Credential", "").partition("/")
    secret = secrets.get(secret_id)
    if secret is None:
        return (
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        )
    try:
        stamp = int(h.get("x-tc-timestamp", ""))
    except ValueError:
        return "MissingParameter", "The request is missing a required parameter `X-TC-Timestamp`."
    if abs(time.time() - stamp) > 300:
        return "AuthFailure.SignatureExpire", "Signature expired."
    day, service, terminator = [*scope.split("/"), "", "", ""][:3]
    if day != datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d") or terminator != "tc3_request":
        return "AuthFailure.InvalidAuthorization", "Credential scope does not match the timestamp."
    names = fields.get("SignedHeaders", "").split(";")
    if "content-type" not in names or "host" not in names:
        return "AuthFailure.InvalidAuthorization", "content-type and host must be signed."
    canonical_headers = "".join(f"{name}:{h.get(name, '').strip().lower()}\n" for name in names)
    canonical = "\n".join(
        ("POST", "/", "", canonical_headers, ";".join(names), hashlib.sha256(ctx.req.body).hexdigest())
    )
    to_sign = "\n".join(
        ("TC3-HMAC-SHA256", str(stamp), scope, hashlib.sha256(canonical.encode()).hexdigest())
    )
    key = ("TC3" + secret).encode()
    for part in (day, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields.get("Signature", "")):
        return "AuthFailure.SignatureFailure", "The provided credentials could not be validated."
    return None


def chat(ctx: Ctx) -> Reply | Stream:
    h = ctx.req.headers
    if h.get("x-tc-action") != "ChatCompletions" or h.get("x-tc-version") != "2023-09-01":
        return _error(ctx, "InvalidAction", "The action or version is not valid for hunyuan.")
    refused = _verify(ctx)
    if refused is not None:
        return _error(ctx, *refused)
    body = ctx.json()
    messages = body.get("Messages")
    model = body.get("Model")
    if not isinstance(messages, list) or not messages or not isinstance(model, str):
        return _error(ctx, "InvalidParameter", "Model and Messages are required.")
    ctx.model = ctx.record.model = model
    n = ctx.pieces
    prompt = sum(usage.unit(m.get("Content")) for m in messages if isinstance(m, dict))
    used = ctx.set_usage(usage.resolve(ctx.faults, prompt, n))
    ident = ctx.ident("hy-")
    if body.get("Stream") is True:
        return Stream(_events(ctx, ident, n, used), b"data: " + dumps(_error_event()) + b"\n\n")
    answer: dict[str, Any] = {
        "Id": ident,
        "Created": now(),
        "Note": NOTE,
        "Choices": [{"FinishReason": "stop", "Message": {"Role": "assistant", "Content": text.content(n)}}],
        "RequestId": ident,
    }
    if used is not None:
        answer["Usage"] = _usage(used.prompt, used.completion)
        ctx.usage_sent()
    return Reply(200, dumps({"Response": answer}))


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"PromptTokens": prompt, "CompletionTokens": completion, "TotalTokens": prompt + completion}


def _error_event() -> dict[str, Any]:
    return {"Error": {"Code": "InternalError", "Message": "Internal error (mock)."}}


def _events(ctx: Ctx, ident: str, n: int, used: usage.Usage | None) -> Iterator[bytes]:
    created = now()
    for i in range(n + 1):
        final = i == n
        event: dict[str, Any] = {
            "Note": NOTE,
            "Choices": [
                {
                    "FinishReason": "stop" if final else "",
                    "Delta": {"Role": "assistant", "Content": "" if final else text.piece(i)},
                }
            ],
            "Created": created,
            "Id": ident,
        }
        if used is not None:
            # Every event carries the usage so far; the last one the whole.
            event["Usage"] = _usage(used.prompt, used.completion if final else i + 1)
            if final:
                ctx.usage_sent()
        yield b"data: " + dumps(event) + b"\n\n"
