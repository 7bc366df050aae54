"""What the client of a Realtime session is answered outside the relayed frames: the refused
upgrade (an HTTP status and OpenAI's error body), the accept (subprotocol ``realtime`` when
offered), and the close, after an ``error`` event when the gateway ends the session.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from newapi.core.errors import BadRequest, GatewayError, UpstreamStatusError
from newapi.core.types import Scope, Send
from newapi.relay.call import Call
from newapi.relay.realtime.pump import Ending

log = logging.getLogger(__name__)

#: close codes a peer may not send (reserved for "none given", "abnormal", "TLS")
_RESERVED = frozenset({1004, 1005, 1006, 1015})


def error_event(error: GatewayError, request_id: str) -> str:
    """An ``error`` server event carrying ``error`` in OpenAI's shape (New API's ``WssError``)."""
    inner = orjson.loads(error.body("openai", request_id))["error"]
    return orjson.dumps({"type": "error", "event_id": f"evt_{request_id}", "error": inner}).decode()


def client_view(error: GatewayError) -> GatewayError:
    if isinstance(error, UpstreamStatusError):
        code = error.upstream_code or "upstream_error"
        return BadRequest(error.message, code=code, status=error.status, error_type="upstream_error")
    return error


async def deny(scope: Scope, send: Send, error: GatewayError, request_id: str) -> None:
    """Refuse the upgrade with an HTTP answer (or, without the ASGI extension, a 403)."""
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    body = error.body("openai", request_id)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-oneapi-request-id", request_id.encode()),
        *((name.lower().encode(), value.encode()) for name, value in error.headers.items()),
    ]
    await send({"type": "websocket.http.response.start", "status": error.status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


async def accept(send: Send, subprotocols: list[str], request_id: str) -> None:
    message: dict[str, Any] = {
        "type": "websocket.accept",
        "headers": [(b"x-oneapi-request-id", request_id.encode())],
    }
    if "realtime" in subprotocols:
        message["subprotocol"] = "realtime"
    await send(message)


async def close(send: Send, ending: Ending, call: Call) -> None:
    """Close the client's side as ``ending`` says (after an ``error`` event when there is one)."""
    if ending.code == 0:
        return  # the client is gone
    error = ending.error
    if error is None and ending.reason in ("idle", "session_limit", "upstream_error"):
        error = GatewayError(ending.detail, code=f"realtime_{ending.reason}")
    code = ending.code if ending.code not in _RESERVED and 1000 <= ending.code < 5000 else 1011
    try:
        if error is not None:
            await send({"type": "websocket.send", "text": error_event(error, call.request_id)})
        reason = ending.detail.encode()[:120].decode(errors="ignore")  # a close reason fits 123 bytes
        await send({"type": "websocket.close", "code": code, "reason": reason})
    except Exception:
        log.debug("the client of %s left before its close", call.request_id, exc_info=True)
