"""Zhipu v4's images answer made OpenAI's: the reply converter of an images request on type 26.

Reading and rendering are newapi.adaptors.zhipu.images'; this module downloads what must be
inlined, once per URL, under the worker's media fetcher (SSRF guard, MAX_FILE_DOWNLOAD_MB, timeout).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING

from newapi.adaptors.zhipu import images
from newapi.core.errors import UpstreamError
from newapi.core.usage import Usage
from newapi.security.fetched import FetchError

if TYPE_CHECKING:
    from newapi.relay.native_spec import WholeReply
    from newapi.security.fetch import MediaFetcher


def converter(request: bytes, fetcher: Callable[[], MediaFetcher]) -> WholeReply:
    """The converter of the answer to ``request`` (the client's body, for its response_format)."""
    url_wanted = images.wants_url(request)

    async def convert(payload: bytes) -> tuple[bytes, Usage | None]:
        created, found = images.read(payload, url_wanted)
        inlined: dict[str, str] = {}
        ready: list[images.Image] = []
        for image in found:
            if image.download:
                if image.download not in inlined:
                    inlined[image.download] = await _download(fetcher(), image.download)
                image = images.Image(b64=inlined[image.download])
            ready.append(image)
        # Images are priced per call (New API reports empty usage here too).
        return images.render(created, ready), None

    return convert


async def _download(fetcher: MediaFetcher, url: str) -> str:
    try:
        fetched = await fetcher.fetch(url)
    except FetchError as exc:
        raise UpstreamError(f"cannot download the image Zhipu made: {exc}") from None
    if not fetched.media_type.startswith("image/"):
        raise UpstreamError(f"the file Zhipu made is {fetched.media_type or 'untyped'}, not an image")
    return base64.b64encode(fetched.data).decode()
