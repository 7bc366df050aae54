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
    b"x-real-ip": "x_real_ip",
}


class RequestHeaders:
    """The few headers the relay needs, as latin-1 strings: each one's first non-empty value ('' when
    absent). Picked once a request, so that the body reader and the client's address need not
    look through the list again (``read_body(headers=...)``, ``client_ip(headers=...)``)."""

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
        "x_real_ip",
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
        self.x_real_ip = ""
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        self.raw = raw
        wanted = _WANTED
        # Last to first, so that the first non-empty value is the one left (no read of the slot).
        for name, value in reversed(raw):
            attr = wanted.get(name)
            if attr is not None and value:
                setattr(self, attr, value.decode("latin-1"))

    def get(self, name: bytes) -> str:
        """Any header by lower-case name ('' when absent)."""
        for key, value in self.raw:
            if key == name:
                return value.decode("latin-1")
        return ""
