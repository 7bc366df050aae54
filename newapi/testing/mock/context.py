"""The structs handlers receive and return: configuration, per-request context, replies."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from newapi.testing.mock import multipart
from newapi.testing.mock.faults import NONE, Faults
from newapi.testing.mock.http11 import Request
from newapi.testing.mock.multipart import Part
from newapi.testing.mock.record import RequestRecord
from newapi.testing.mock.usage import Usage

JSON = b"application/json"
SSE = b"text/event-stream; charset=utf-8"


@dataclass(frozen=True, slots=True)
class MockConfig:
    """Server-wide defaults; directives override ``chunks`` and ``latency`` per request.

    ``max_records`` bounds the request log (oldest dropped first; 0 keeps none).
    ``require_key``, when set, must appear as a Bearer token, ``x-api-key``, ``x-goog-api-key``,
    ``api-key`` or ``?key=``; anything else gets 401 in the provider's error shape.
    """

    chunks: int = 20
    latency: float = 0.0
    require_key: str | None = None
    max_records: int = 100_000
    embedding_dims: int = 16
    #: Bedrock: (access key, secret) pairs a SigV4 signature must verify against, and API keys
    #: accepted as bearer tokens; with neither set, Bedrock routes check no credentials
    aws_keys: tuple[tuple[str, str], ...] = ()
    aws_api_keys: tuple[str, ...] = ()
    #: Vertex: (client_email, RSA public key PEM) of service accounts whose JWTs ``/token``
    #: accepts, and express-mode API keys; with neither set, Vertex routes check no credentials
    google_accounts: tuple[tuple[str, str], ...] = ()
    google_api_keys: tuple[str, ...] = ()
    #: Baidu, Zhipu v3, Xunfei and Tencent: (provider, key) pairs whose signatures or tokens the
    #: provider's routes accept (newapi.testing.mock.signed); with none for a provider, its
    #: routes check no credentials
    signed_keys: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Shared:
    """State every request of one server can see: OAuth tokens it minted (token -> expiry)."""

    tokens: dict[str, float] = field(default_factory=dict)
    #: Dify files uploaded (id -> the user who uploaded it)
    dify_files: dict[str, str] = field(default_factory=dict)
    #: Codex refresh tokens already traded (rotating ones are good for one refresh)
    spent_refresh_tokens: set[str] = field(default_factory=set)


class BadBody(Exception):
    """The request body is not what the endpoint accepts (answered with 400)."""


@dataclass(slots=True)
class Reply:
    """A complete response with a ``Content-Length`` body. ``headers``: extra CRLF-ended lines."""

    status: int
    body: bytes
    content_type: bytes = JSON
    headers: bytes = b""


@dataclass(slots=True)
class Stream:
    """A chunked response whose body is ``events``, each an already-framed event.

    ``error_event`` is what ``error-event-K`` injects: the provider's in-stream error.
    """

    events: Iterator[bytes]
    error_event: bytes
    content_type: bytes = SSE
    headers: bytes = b""


@dataclass(slots=True)
class Ctx:
    req: Request
    config: MockConfig
    record: RequestRecord
    family: str
    faults: Faults = NONE
    model: str = ""
    action: str = ""
    shared: Shared = field(default_factory=Shared)
    _json: Any = None
    _form: dict[str, list[Part]] | None = None

    def json(self) -> dict[str, Any]:
        """The JSON object body, decoded once."""
        if self._json is None:
            try:
                value = orjson.loads(self.req.body) if self.req.body else {}
            except orjson.JSONDecodeError as exc:
                raise BadBody(f"request body is not valid JSON: {exc}") from None
            if not isinstance(value, dict):
                raise BadBody("request body must be a JSON object")
            self._json = value
        return self._json  # type: ignore[no-any-return]

    def form(self) -> dict[str, list[Part]]:
        """The multipart/form-data body, parsed once."""
        if self._form is None:
            try:
                self._form = multipart.parse(self.req.headers.get("content-type", ""), self.req.body)
            except ValueError as exc:
                raise BadBody(str(exc)) from None
        return self._form

    @property
    def is_form(self) -> bool:
        return self.req.headers.get("content-type", "").startswith("multipart/")

    @property
    def pieces(self) -> int:
        chunks = self.faults.chunks
        return self.config.chunks if chunks is None else chunks

    @property
    def latency(self) -> float:
        latency = self.faults.latency
        return self.config.latency if latency is None else latency

    def ident(self, prefix: str) -> str:
        return f"{prefix}mock{self.record.id:08d}"

    def set_usage(self, usage: Usage | None) -> Usage | None:
        self.record.usage = None if usage is None else usage.as_dict()
        return usage

    def usage_sent(self) -> None:
        self.record.usage_sent = True
