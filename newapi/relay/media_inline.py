"""Remote media a target family needs inline: fetched once per URL per request, under the guard.

Gemini takes images and files as ``inlineData`` (its ``fileData`` holds only its own Files API or
Cloud Storage URIs), so an OpenAI ``image_url`` (or a Claude URL source) with an http(s) URL is
downloaded by :class:`newapi.security.fetch.MediaFetcher` and sent as base64. A failed download is
the client's 400, never retried on another channel; the bytes are kept on the request, so a retry
does not fetch again.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import TYPE_CHECKING

from newapi.convert import model as m
from newapi.core.errors import BadRequest
from newapi.security.fetched import FetchError

if TYPE_CHECKING:
    from newapi.security.fetch import MediaFetcher

# URIs Gemini reads itself (its Files API); everything else http(s) is fetched.
_GEMINI_OWN = ("https://generativelanguage.googleapis.com/",)


def _remote(req: m.Request) -> Iterator[m.Media]:
    for message in req.messages:
        for part in message.parts:
            items = part.content if isinstance(part, m.ToolResult) else (part,)
            for item in items:
                if isinstance(item, m.Media) and item.url and not item.data:
                    url = item.url.lower()
                    if url.startswith(("http://", "https://")) and not url.startswith(_GEMINI_OWN):
                        yield item


async def inline_remote_media(
    req: m.Request, fetcher: MediaFetcher, cache: dict[str, tuple[str, str]]
) -> None:
    """Replace every remote media URL in ``req`` by its bytes (``cache``: URL -> (type, base64))."""
    for media in _remote(req):
        found = cache.get(media.url)
        if found is None:
            try:
                fetched = await fetcher.fetch(media.url)
            except FetchError as exc:
                shown = media.url if len(media.url) <= 200 else media.url[:200] + "..."
                raise BadRequest(
                    f"cannot fetch the media at {shown}: {exc}", code="invalid_media_url"
                ) from None
            found = cache[media.url] = (fetched.media_type, base64.b64encode(fetched.data).decode())
        media.media_type, media.data = found
        media.url = ""
