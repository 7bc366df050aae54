"""Asking a channel's provider about itself: the models it serves, and the HTTP helpers the
balance queries (``balance_queries``) share.

Control-plane calls, so httpx (DESIGN: the default client off the relay path).
Channel base URLs are set by admins and may point anywhere, local model
servers included, so no address check applies here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from newapi.core.constants import ChannelType
from newapi.core.structs import ChannelInfo

# httpx (and the rich, pygments and click its CLI pulls in: 11 MB) is imported by the first call,
# not by every worker at start (issue 19).
if TYPE_CHECKING:
    import httpx

#: Seconds for the whole call and for connecting, and the largest answer read.
TIMEOUT, CONNECT_TIMEOUT = 15.0, 5.0
MAX_ANSWER_BYTES = 4 << 20


class UpstreamInfoError(Exception):
    """The provider could not tell us (unsupported, unreachable, or an unexpected answer)."""


def client(proxy: str = "") -> httpx.AsyncClient:
    import httpx

    timeout = httpx.Timeout(TIMEOUT, connect=CONNECT_TIMEOUT)
    return httpx.AsyncClient(timeout=timeout, proxy=proxy or None, follow_redirects=False)


async def get_json(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    if not all(value.isascii() and value.isprintable() for value in headers.values()):
        raise UpstreamInfoError("the key has characters that cannot be sent in an HTTP header")
    import httpx

    try:
        async with http.stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                raise UpstreamInfoError(f"the provider answered HTTP {response.status_code}")
            body = bytearray()
            async for piece in response.aiter_bytes():
                body += piece
                if len(body) > MAX_ANSWER_BYTES:
                    raise UpstreamInfoError("the provider's answer is too large")
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise UpstreamInfoError(f"request to the provider failed: {type(exc).__name__}") from None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise UpstreamInfoError("the provider's answer is not JSON") from None


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def first_key(channel: ChannelInfo) -> str:
    for index, key in enumerate(channel.keys):
        if channel.key_status.get(index, 1) == 1:
            return key
    return channel.keys[0] if channel.keys else ""


async def list_models(channel_type: int, base_url: str, key: str, proxy: str = "") -> list[str]:
    """Model ids the provider lists for this key (OpenAI, Anthropic, Gemini and Ollama styles)."""
    base = base_url.rstrip("/")
    if not base:
        raise UpstreamInfoError("the channel has no base URL")
    async with client(proxy) as http:
        if channel_type == ChannelType.GEMINI:
            data = await get_json(http, f"{base}/v1beta/models", {"x-goog-api-key": key})
            items = data.get("models") if isinstance(data, dict) else None
            names = [str(m.get("name", "")) for m in items or [] if isinstance(m, dict)]
            return sorted({n.removeprefix("models/") for n in names if n})
        if channel_type == ChannelType.OLLAMA:
            data = await get_json(http, f"{base}/api/tags", {})
            items = data.get("models") if isinstance(data, dict) else None
            return sorted({str(m.get("name")) for m in items or [] if isinstance(m, dict) and m.get("name")})
        headers = (
            {"x-api-key": key, "anthropic-version": "2023-06-01"}
            if channel_type == ChannelType.ANTHROPIC
            else _bearer(key)
        )
        data = await get_json(http, f"{base}/v1/models", headers)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise UpstreamInfoError("the provider's answer has no model list")
        return sorted({str(m.get("id")) for m in items if isinstance(m, dict) and m.get("id")})
