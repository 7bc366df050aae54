"""Error bodies in each provider's own shape, as HTTP replies and as in-stream events."""

from __future__ import annotations

from urllib.parse import parse_qsl

from newapi.testing.mock.context import Reply
from newapi.testing.mock.wire import dumps, sse, sse_named

_MESSAGES = {
    400: "Invalid request (mock).",
    401: "Incorrect API key provided (mock).",
    403: "Permission denied (mock).",
    404: "Not found (mock).",
    429: "Rate limit reached (mock). Please try again later.",
    500: "The server had an error while processing your request (mock).",
    503: "The service is temporarily unavailable (mock).",
    529: "Overloaded (mock).",
}
_OPENAI_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
_CLAUDE_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def body(family: str, status: int, message: str | None = None) -> bytes:
    text = message or _MESSAGES.get(status, f"Mock error {status}.")
    if family == "claude":
        kind = _CLAUDE_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return dumps({"type": "error", "error": {"type": kind, "message": text}, "request_id": "req_mock"})
    if family == "cohere":
        return dumps({"id": "mock-error", "message": text})
    if family == "minimax":  # sent with HTTP 200 (see reply)
        minimax_code = {400: 2013, 401: 1004, 402: 1008, 429: 1002}.get(status, 1000)
        return dumps({"id": "", "base_resp": {"status_code": minimax_code, "status_msg": text}})
    if family == "replicate":
        return dumps({"title": "Mock error", "detail": text, "status": status})
    if family == "coze":  # sent with HTTP 200 (see reply)
        coze_code = {400: 4000, 401: 4100, 404: 4200, 429: 4013}.get(status, 5000)
        return dumps({"code": coze_code, "msg": text})
    if family == "dify":
        return dumps(
            {"code": "invalid_param" if status < 500 else "internal_error", "message": text, "status": status}
        )
    if family == "cloudflare":
        errors = [{"code": 10000, "message": text}]
        return dumps({"success": False, "errors": errors, "messages": [], "result": None})
    if family == "jina":
        return dumps({"detail": text})
    if family == "ollama":
        return dumps({"error": text})
    if family == "aiproxy":
        return dumps({"success": False, "errCode": status, "message": text})
    if family in ("gemini", "palm"):
        name = _GOOGLE_STATUS.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT")
        return dumps({"error": {"code": status, "message": text, "status": name}})
    kind, code = _OPENAI_TYPES.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return dumps({"error": {"message": text, "type": kind, "param": None, "code": code}})


def quoting_key(headers: dict[str, str], query: str) -> str:
    """A bad-key message quoting every credential the request carried, as OpenAI and Anthropic do.

    ``x-mock-echo`` is quoted too: a channel's header override can put its whole key there
    (``{api_key}``), standing in for an upstream that quotes secrets it never received on the wire.
    """
    seen: list[str] = []
    auth = headers.get("authorization", "")
    if auth.startswith("Bearer "):
        seen.append(auth[7:])
    elif "Credential=" in auth:
        seen.append(auth.split("Credential=", 1)[1].split("/", 1)[0])
    names = ("x-api-key", "x-goog-api-key", "api-key", "x-mock-echo")
    seen += [headers[name] for name in names if headers.get(name)]
    seen += [value for name, value in parse_qsl(query) if name == "key"]
    return f"Incorrect API key provided: {', '.join(seen) or '(none)'}."


def reply(family: str, status: int, message: str | None = None, retry_after: int = 1) -> Reply:
    extra = b"retry-after: %d\r\n" % retry_after if status in (429, 503, 529) else b""
    if family in ("minimax", "coze"):  # they answer errors with HTTP 200 and a code in the body
        return Reply(200, body(family, status, message))
    return Reply(status, body(family, status, message), headers=extra)


def stream_event(family: str) -> bytes:
    """The error a provider sends inside an already-started stream."""
    if family == "claude":
        return sse_named(
            "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded (mock)."}}
        )
    if family == "responses":
        return sse_named(
            "error",
            {"type": "error", "code": "server_error", "message": _MESSAGES[500], "param": None},
        )
    if family == "gemini":
        return b"data: " + body("gemini", 500) + b"\r\n\r\n"
    return sse({"error": {"message": _MESSAGES[500], "type": "server_error", "param": None, "code": None}})
