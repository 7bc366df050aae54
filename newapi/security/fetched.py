"""What a media fetch gives back or fails with, importable without the HTTP client.

The relay catches :class:`FetchError` on every request path, while the fetcher itself (and httpx
under it) is loaded only when a request first carries a remote URL to inline.
"""

from __future__ import annotations

from dataclasses import dataclass


class FetchError(ValueError):
    """The URL could not be fetched as media; the message says why (safe to show the client)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    media_type: str
    data: bytes
