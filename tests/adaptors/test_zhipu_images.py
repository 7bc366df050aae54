"""Zhipu v4's images answer read as New API's zhipu_4v image handler reads it."""

from __future__ import annotations

import orjson
import pytest

from newapi.adaptors.zhipu import images
from newapi.core.errors import UpstreamStatusError


def test_the_client_asks_for_urls_only_by_name() -> None:
    assert images.wants_url(b'{"prompt":"x","response_format":" URL "}')
    assert not images.wants_url(b'{"prompt":"x","response_format":"b64_json"}')
    assert not images.wants_url(b'{"prompt":"x"}')
    assert not images.wants_url(b"[1]") and not images.wants_url(b"{bad")


def test_a_url_is_given_when_asked_for_and_downloaded_otherwise() -> None:
    payload = b'{"created":1710000000,"data":[{"url":"https://z/a.png"},{"image_url":"https://z/b.png"}]}'
    assert images.read(payload, True) == (
        1710000000,
        [images.Image(url="https://z/a.png"), images.Image(url="https://z/b.png")],
    )
    assert images.read(payload, False)[1] == [
        images.Image(download="https://z/a.png"),
        images.Image(download="https://z/b.png"),
    ]


def test_inline_data_is_kept_under_either_name_and_empty_items_are_left_out() -> None:
    payload = b'{"data":[{"b64_image":"cG5n"},{"b64_json":"anBn","url":"https://z/c.png"},{},"x"]}'
    created, found = images.read(payload, False)
    assert created > 1_700_000_000  # none given: now
    assert found == [images.Image(b64="cG5n"), images.Image(b64="anBn")]
    # asked for URLs: an item with one gets it, one with only data keeps the data
    assert images.read(payload, True)[1] == [images.Image(b64="cG5n"), images.Image(url="https://z/c.png")]


def test_render_is_openais_answer() -> None:
    body = images.render(7, [images.Image(url="https://z/a.png"), images.Image(b64="cG5n")])
    assert orjson.loads(body) == {"created": 7, "data": [{"url": "https://z/a.png"}, {"b64_json": "cG5n"}]}


def test_an_error_in_the_answer_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamStatusError) as caught:
        images.read(b'{"error":{"code":"1301","message":"unsafe prompt"}}', False)
    assert str(caught.value) == "unsafe prompt" and caught.value.upstream_code == "1301"
    with pytest.raises(orjson.JSONDecodeError):
        images.read(b"[]", False)
