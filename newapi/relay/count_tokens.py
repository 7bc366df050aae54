"""``/v1/messages/count_tokens`` and Gemini's ``:countTokens``, counted here with the gateway's tokenizer.

Counting locally answers for every channel type (Claude Code calls it whatever the upstream) and
costs no upstream request; nothing is billed, as with New API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from newapi.convert import model as m
from newapi.core.errors import BadRequest, Family, GatewayError
from newapi.core.types import Receive, Scope, Send
from newapi.http.body import ClientDisconnected, read_body
from newapi.http.client_ip import client_ip
from newapi.http.headers import RequestHeaders
from newapi.http.responses import send_bytes, send_error
from newapi.relay import admission
from newapi.relay.formats import CLAUDE, CODECS, GEMINI
from newapi.relay.ids import new_request_id
from newapi.tokens import count_text, estimate_tokens, provider_for_model

if TYPE_CHECKING:
    from newapi.runtime import Runtime

# per message and per tool overheads, roughly what providers add for roles and framing
_PER_MESSAGE = 3
_PER_TOOL = 8


def _text(req: m.Request) -> tuple[str, int]:
    pieces = [t.text for t in req.system]
    for message in req.messages:
        for part in message.parts:
            if isinstance(part, m.Text | m.Thinking):
                pieces.append(part.text)
            elif isinstance(part, m.ToolCall):
                pieces.append(part.name + part.arguments)
            elif isinstance(part, m.ToolResult):
                pieces.append(m.text_of(list(part.content)))
    for tool in req.tools:
        pieces.append(tool.name + tool.description + orjson.dumps(tool.parameters or {}).decode())
    return "\n".join(pieces), _PER_MESSAGE * len(req.messages) + _PER_TOOL * len(req.tools)


def count_request(req: m.Request, model: str) -> int:
    text, overhead = _text(req)
    try:
        tokens = count_text(text, model)
    except Exception:
        tokens = estimate_tokens(text, provider_for_model(model))
    return tokens + overhead


class CountTokens:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def handle(self, scope: Scope, receive: Receive, send: Send, fmt: str, model: str = "") -> None:
        runtime = self._runtime
        request_id = new_request_id()
        family: Family = CODECS[fmt].errors
        headers = RequestHeaders(scope)
        try:
            ip = client_ip(scope, runtime.settings.trusted_proxies)
            await admission.authenticate(runtime, scope["path"], ip, headers, scope.get("query_string", b""))
            body = await read_body(
                scope, receive, runtime.settings.max_request_body_bytes, runtime.settings.client_body_timeout
            )
            try:
                data: Any = orjson.loads(body)
                if (
                    fmt == GEMINI
                    and isinstance(data, dict)
                    and isinstance(data.get("generateContentRequest"), dict)
                ):
                    data = data["generateContentRequest"]
                if not isinstance(data, dict):
                    raise BadRequest("the request body must be a JSON object")
                req = CODECS[fmt].parse_request(data)
                tokens = count_request(req, model or req.model)
            except (orjson.JSONEncodeError, RecursionError):
                # Deeper than orjson encodes (a tool schema past 254 levels) or Python recurses.
                raise BadRequest("invalid request: nested too deeply") from None
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                raise BadRequest(f"invalid request: {exc}") from None
        except ClientDisconnected:
            return
        except GatewayError as error:
            await send_error(send, error, family, request_id)
            return
        answer = {"input_tokens": tokens} if fmt == CLAUDE else {"totalTokens": tokens}
        extra = [(b"x-oneapi-request-id", request_id.encode())]
        await send_bytes(send, 200, orjson.dumps(answer), extra=extra)
