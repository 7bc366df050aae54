"""The gateway's errors, one tree, each able to render itself for the caller's API family.

::

    GatewayError                      status  code (New API's error codes)
    ├── ClientError
    │   ├── BadRequest                400     invalid_request (or a more precise code)
    │   ├── Unauthorized              401     invalid token / missing key
    │   ├── Forbidden                 403     banned user, group, model limits, IP
    │   ├── QuotaExceeded             403     insufficient_user_quota, pre_consume_token_quota_failed
    │   ├── NotFound                  404     invalid URL
    │   ├── BodyTimeout               408     the request body stopped arriving
    │   ├── BodyTooLarge              413     request body too large (after decompression)
    │   ├── RateLimited               429     rate limit
    │   └── NotImplementedAPI         501     api_not_implemented
    ├── NoChannel                     503     model_not_found ("no available channel ...")
    ├── ServiceUnavailable            503     a store we need (Redis) is down
    ├── UpstreamError                 502     the upstream failed
    │   ├── UpstreamTimeout           504
    │   ├── UpstreamConnectError      502
    │   ├── UpstreamStatusError       the upstream's (mapped) status; its body may pass through
    │   └── UpstreamProtocolError     502     bad_response_body, stream cut, scanner error
    └── InternalError                 500

Lower-layer exceptions (httpx, asyncpg, redis) are converted where they are caught,
never leaked. Messages never contain secrets: callers pass already-masked text.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import orjson

Family = Literal["openai", "claude", "gemini"]

_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_CLAUDE_TYPE = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


class GatewayError(Exception):
    """Base of every error the gateway answers with."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal_error"
    error_type: ClassVar[str] = "new_api_error"
    #: retrying on another channel may help (New API: ``channel:*`` codes and retryable statuses)
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        param: str = "",
        headers: dict[str, str] | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        if status is not None:
            self.status = status  # type: ignore[misc]
        if error_type is not None:
            self.error_type = error_type  # type: ignore[misc]
        self.param = param
        self.headers = headers or {}

    def body(self, family: Family, request_id: str = "") -> bytes:
        """The error body in ``family``'s shape, with New API's request-id suffix."""
        message = self.message
        if request_id:
            message = f"{message} (request id: {request_id})"
        if family == "claude":
            kind = _CLAUDE_TYPE.get(self.status, "api_error")
            return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})
        if family == "gemini":
            state = _GEMINI_STATUS.get(self.status, "UNKNOWN")
            return orjson.dumps({"error": {"code": self.status, "message": message, "status": state}})
        return orjson.dumps(
            {"error": {"message": message, "type": self.error_type, "param": self.param, "code": self.code}}
        )


class ClientError(GatewayError):
    status = 400
    default_code = "invalid_request"


class BadRequest(ClientError):
    status = 400
    default_code = "invalid_request"
    error_type = "invalid_request_error"


class Unauthorized(ClientError):
    status = 401
    default_code = "invalid_api_key"


class Forbidden(ClientError):
    status = 403
    default_code = "access_denied"


class QuotaExceeded(ClientError):
    status = 403
    default_code = "insufficient_user_quota"


class NotFound(ClientError):
    status = 404
    default_code = "invalid_url"
    error_type = "invalid_request_error"


class BodyTimeout(ClientError):
    status = 408
    default_code = "request_timeout"


class BodyTooLarge(ClientError):
    status = 413
    default_code = "request_body_too_large"


class RateLimited(ClientError):
    status = 429
    default_code = "rate_limit_exceeded"


class NotImplementedAPI(ClientError):
    status = 501
    default_code = "api_not_implemented"


class NoChannel(GatewayError):
    status = 503
    default_code = "model_not_found"


class ServiceUnavailable(GatewayError):
    status = 503
    default_code = "service_unavailable"


class UpstreamError(GatewayError):
    status = 502
    default_code = "upstream_error"
    error_type = "upstream_error"
    retryable = True

    def __init__(self, message: str, *, channel_error: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        #: New API's ``channel:*`` errors: bad key, no key, ... (always retried, may auto-disable)
        self.channel_error = channel_error


class UpstreamTimeout(UpstreamError):
    status = 504
    default_code = "upstream_timeout"


class UpstreamConnectError(UpstreamError):
    status = 502
    default_code = "upstream_connect_failed"


class UpstreamStatusError(UpstreamError):
    """The upstream answered with an error status; ``raw_body`` may be passed through."""

    default_code = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        raw_body: bytes = b"",
        content_type: str = "",
        upstream_code: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(message, status=status, **kwargs)
        self.raw_body = raw_body
        self.content_type = content_type
        self.upstream_code = upstream_code


class UpstreamProtocolError(UpstreamError):
    status = 502
    default_code = "bad_response_body"
    retryable = False


class InternalError(GatewayError):
    status = 500
    default_code = "internal_error"
