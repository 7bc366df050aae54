"""Where a Realtime session goes upstream: the channel's WebSocket URL and headers.

OpenAI: ``wss://{base}/v1/realtime?model=...`` with ``Authorization: Bearer``. Azure:
``wss://{base}/openai/realtime?api-version=...&deployment=...`` with ``api-key``. The client's
``OpenAI-Beta`` header (or the browser's ``openai-beta.realtime-v1`` subprotocol) is passed on,
never added: it picks the protocol version, and a GA client given beta events would break. The
channel's ``header_override`` applies last, as on the other routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from newapi.adaptors.headers import apply_header_override
from newapi.core.constants import DEFAULT_BASE_URLS, ChannelType
from newapi.core.structs import ChannelInfo

#: The channel types that serve ``/v1/realtime``.
REALTIME_TYPES = frozenset({ChannelType.OPENAI, ChannelType.AZURE})
_BETA_SUBPROTOCOL = "openai-beta.realtime-v1"
_NOT_FORWARDED = frozenset({"model", "api-version", "deployment", "key", "api_key", "api-key", "token"})


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    headers: tuple[tuple[str, str], ...]


def client_beta(headers: list[tuple[bytes, bytes]], subprotocols: list[str]) -> str:
    """The ``OpenAI-Beta`` value the client asked for ('' for none)."""
    for name, value in headers:
        if name == b"openai-beta":
            return value.decode("latin-1").strip()
    return "realtime=v1" if _BETA_SUBPROTOCOL in subprotocols else ""


def _ws_base(channel: ChannelInfo) -> str:
    base = (channel.base_url or DEFAULT_BASE_URLS.get(channel.type, "")).rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :]
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :]
    return base


def target(
    channel: ChannelInfo,
    key: str,
    model: str,
    query: bytes,
    beta: str,
    azure_version: str,
    client_headers: list[tuple[bytes, bytes]] | None = None,
) -> Target:
    """The upstream URL and headers of a session for ``model`` (the channel's name for it); the
    channel's ``header_override`` applies as on the other routes (``client_headers``: the
    upgrade request's, for its pass-through rules)."""
    base = _ws_base(channel)
    # The client's other query parameters (intent=transcription, ...) go on unchanged.
    # A credential-looking parameter is the caller's gateway key, never the upstream's business.
    rest = [(k, v) for k, v in parse_qsl(query.decode("latin-1")) if k.lower() not in _NOT_FORWARDED]
    headers: list[tuple[str, str]] = []
    if channel.type == ChannelType.AZURE:
        version = channel.other or azure_version
        params = [("api-version", version), ("deployment", model.replace(".", "")), *rest]
        url = f"{base}/openai/realtime?{urlencode(params)}"
        headers.append(("api-key", key))
    else:
        url = f"{base}/v1/realtime?{urlencode([('model', model), *rest])}"
        headers.append(("Authorization", f"Bearer {key}"))
        if channel.openai_organization:
            headers.append(("OpenAI-Organization", channel.openai_organization))
    if beta:
        headers.append(("OpenAI-Beta", beta))
    if channel.header_override:
        raw = [(n.lower().encode(), v.encode("latin-1", "replace")) for n, v in headers]
        raw = apply_header_override(raw, channel.header_override, client_headers or [], key)
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw]
    return Target(url, tuple(headers))
