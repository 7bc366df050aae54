"""Where the relay reads the API key from (New API's TokenAuth, reference §1.2)."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import parse_qsl

from newapi.http.headers import RequestHeaders

_WS_PREFIX = "openai-insecure-api-key."
_GEMINI_PATHS = ("/v1beta/models", "/v1beta/openai/models", "/v1/models/")


class PresentedKey(NamedTuple):
    """Immutable and made per request: a NamedTuple, cheaper to build than a frozen dataclass."""

    key: str  # the token key without ``sk-``
    channel_id: int | None  # ``sk-KEY-<channel>``: a channel an admin asks for


def query_key(query_string: bytes) -> str:
    if b"key=" not in query_string:
        return ""
    for name, value in parse_qsl(query_string.decode("latin-1")):
        if name == "key":
            return value
    return ""


def read_key(
    path: str, headers: RequestHeaders, query_string: bytes, websocket: bool = False
) -> PresentedKey:
    raw = headers.authorization
    if websocket and headers.websocket_protocol:
        for part in headers.websocket_protocol.split(","):
            part = part.strip()
            if part.startswith(_WS_PREFIX):
                raw = part[len(_WS_PREFIX) :]
    if headers.x_api_key and ("/v1/messages" in path or "/v1/models" in path):
        raw = headers.x_api_key
    if path.startswith(_GEMINI_PATHS):
        from_query = query_key(query_string)
        if from_query:
            raw = from_query
        if headers.x_goog_api_key:
            raw = headers.x_goog_api_key
    raw = raw.strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    if not raw or raw == "midjourney-proxy":
        raw = headers.mj_api_secret.strip()
    if raw.startswith("sk-"):
        raw = raw[3:]
    key, _, rest = raw.partition("-")
    channel: int | None = None
    if rest:
        part = rest.split("-", 1)[0]
        if part.isdigit():
            channel = int(part)
    return PresentedKey(key, channel)
