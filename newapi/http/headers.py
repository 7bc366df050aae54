"""Picking the request headers the relay reads, in one pass over the ASGI header list."""

from __future__ import annotations

from newapi.core.types import Scope

_WANTED = {
    b"authorization": "authorization",
    b"x-api-key": "x_api_key",
    b"x-goog-api-key": "x_goog_api_key",
    b"mj-api-secret": "mj_api_secret",
    b"sec-websocket-protocol": "websocket_protocol",
    b"content-type": "content_type",
    b"content-encoding": "content_encoding",
    b"content-length": "content_length",
    b"anthropic-version": "anthropic_version",
    b"anthropic-beta": "anthropic_beta",
    b"user-agent": "user_agent",
    b"x-forwarded-for": "x_forwarded_for",
}


class RequestHeaders:
    """The few headers the relay needs, as latin-1 strings ('' when absent)."""

    __slots__ = (
        "anthropic_beta",
        "anthropic_version",
        "authorization",
        "content_encoding",
        "content_length",
        "content_type",
        "mj_api_secret",
        "raw",
        "user_agent",
        "websocket_protocol",
        "x_api_key",
        "x_forwarded_for",
        "x_goog_api_key",
    )

    def __init__(self, scope: Scope) -> None:
        self.authorization = ""
        self.x_api_key = ""
        self.x_goog_api_key = ""
        self.mj_api_secret = ""
        self.websocket_protocol = ""
        self.content_type = ""
        self.content_encoding = ""
        self.content_length = ""
        self.anthropic_version = ""
        self.anthropic_beta = ""
        self.user_agent = ""
        self.x_forwarded_for = ""
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        self.raw = raw
        wanted = _WANTED
        for name, value in raw:
            attr = wanted.get(name)
            if attr is not None and not getattr(self, attr):
                setattr(self, attr, value.decode("latin-1"))

    def get(self, name: bytes) -> str:
        """Any header by lower-case name ('' when absent)."""
        for key, value in self.raw:
            if key == name:
                return value.decode("latin-1")
        return ""
