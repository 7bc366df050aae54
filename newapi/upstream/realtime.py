"""Opening an upstream Realtime WebSocket (OpenAI's and Azure's ``/realtime``).

Only the handshake lives here: the session's frames are pumped by :mod:`newapi.relay.realtime`.
``websockets`` is the protocol implementation; its handshake errors are converted to the
gateway's upstream errors at this boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from newapi.core.errors import (
    UpstreamConnectError,
    UpstreamProtocolError,
    UpstreamStatusError,
    UpstreamTimeout,
)

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

#: The largest error body read from a refused handshake.
_MAX_ERROR_BODY = 64 * 1024


async def open_realtime(
    url: str,
    headers: Sequence[tuple[str, str]],
    *,
    subprotocols: Sequence[str] = (),
    proxy: str = "",
    open_timeout: float = 30.0,
    max_message: int = 8 << 20,
) -> ClientConnection:
    """The open connection; a refused handshake raises :class:`UpstreamStatusError` with the
    upstream's status and body (its keys are scrubbed by the caller)."""
    # Imported here: only Realtime sessions (and Xunfei channels) open WebSockets.
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
    from websockets.typing import Subprotocol

    try:
        return await connect(
            url,
            additional_headers=list(headers),
            subprotocols=[Subprotocol(p) for p in subprotocols] or None,
            proxy=proxy or None,
            open_timeout=open_timeout,
            compression=None,
            max_size=max_message,
            user_agent_header=None,
        )
    except InvalidStatus as exc:
        response = exc.response
        body = bytes(response.body or b"")[:_MAX_ERROR_BODY]
        raise UpstreamStatusError(
            f"upstream refused the WebSocket: HTTP {response.status_code}",
            status=response.status_code,
            raw_body=body,
            content_type=response.headers.get("content-type", "") or "",
        ) from None
    except TimeoutError:
        raise UpstreamTimeout("upstream WebSocket handshake timed out") from None
    except (InvalidURI, InvalidHandshake) as exc:
        raise UpstreamProtocolError(f"upstream WebSocket handshake failed: {exc}") from None
    except OSError as exc:
        raise UpstreamConnectError(f"cannot connect to the upstream WebSocket: {exc}") from None
