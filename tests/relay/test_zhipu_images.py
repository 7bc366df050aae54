"""The reply converter of Zhipu v4 images: downloads once per URL, refuses what is not an image."""

from __future__ import annotations

import asyncio
import base64
from typing import Any, cast

import orjson
import pytest

from newapi.core.errors import UpstreamError
from newapi.relay import zhipu_images
from newapi.security.fetch import MediaFetcher
from newapi.security.fetched import Fetched, FetchError


class _Fetcher:
    def __init__(self, answers: dict[str, Fetched | FetchError]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def fetch(self, url: str) -> Fetched:
        self.asked.append(url)
        answer = self.answers[url]
        if isinstance(answer, FetchError):
            raise answer
        return answer


def _run(fetcher: _Fetcher, request: bytes, payload: bytes) -> Any:
    convert = zhipu_images.converter(request, lambda: cast(MediaFetcher, fetcher))
    return asyncio.run(convert(payload))  # type: ignore[arg-type]


def test_each_url_is_downloaded_once_and_inlined() -> None:
    fetcher = _Fetcher({"https://z/a.png": Fetched("image/png", b"PNG")})
    payload = b'{"created":5,"data":[{"url":"https://z/a.png"},{"image_url":"https://z/a.png"}]}'
    body, usage = _run(fetcher, b'{"prompt":"x"}', payload)
    png = base64.b64encode(b"PNG").decode()
    assert orjson.loads(body) == {"created": 5, "data": [{"b64_json": png}, {"b64_json": png}]}
    assert usage is None and fetcher.asked == ["https://z/a.png"]


def test_urls_asked_for_are_not_downloaded() -> None:
    fetcher = _Fetcher({})
    body, _ = _run(fetcher, b'{"response_format":"url"}', b'{"created":5,"data":[{"url":"https://z/a.png"}]}')
    assert orjson.loads(body)["data"] == [{"url": "https://z/a.png"}] and fetcher.asked == []


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (FetchError("address 10.0.0.1 is private"), "cannot download the image Zhipu made: address"),
        (Fetched("application/pdf", b"%PDF"), "application/pdf, not an image"),
    ],
)
def test_a_failed_or_foreign_download_is_an_upstream_error(answer: Fetched | FetchError, words: str) -> None:
    fetcher = _Fetcher({"https://z/a.png": answer})
    with pytest.raises(UpstreamError, match=words):
        _run(fetcher, b"{}", b'{"data":[{"url":"https://z/a.png"}]}')
