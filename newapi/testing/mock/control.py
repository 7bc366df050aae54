"""``/__mock__/*``: the request log and health over HTTP, for tests in another process.

``GET /__mock__/requests[?since=N]`` lists records as JSON (bodies as text when UTF-8, else
base64); ``DELETE /__mock__/requests`` clears them; ``GET /__mock__/health`` answers
``{"status": "ok", "requests": <count>}``. These requests are not recorded themselves.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson

from newapi.testing.mock.context import Reply
from newapi.testing.mock.http11 import Request
from newapi.testing.mock.media import IMAGE_PATH
from newapi.testing.mock.record import RequestRecord
from newapi.testing.mock.text import PNG_1X1

PREFIX = "/__mock__/"


def _since(query: str) -> int:
    """``?since=N`` lists only records with an id above N (ids start at 1)."""
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if name == "since" and value.isdigit():
            return int(value)
    return 0


def handle(req: Request, records: Callable[[], list[RequestRecord]], clear: Callable[[], None]) -> Reply:
    if req.path == "/__mock__/requests":
        if req.method == "GET":
            since = _since(req.query)
            return Reply(200, orjson.dumps([r.to_json() for r in records() if r.id > since]))
        if req.method == "DELETE":
            clear()
            return Reply(200, b'{"cleared":true}')
    elif req.path == "/__mock__/health" and req.method == "GET":
        return Reply(200, orjson.dumps({"status": "ok", "requests": len(records())}))
    elif req.path == IMAGE_PATH and req.method == "GET":
        return Reply(200, PNG_1X1, content_type=b"image/png")
    return Reply(404, b'{"error":"unknown mock control route"}')
