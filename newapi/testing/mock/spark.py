"""Xunfei Spark: the chat protocol over a WebSocket, on a server of its own.

The upgrade request must carry Xunfei's signed query (``host``, ``date``, ``authorization``): the
HMAC-SHA256 over ``host``, ``date`` and the request line is recomputed from the API secret of the
``api_key`` (``MockConfig``-style ``keys``: ``"APPID|APISecret|APIKey"``), the date must be within
five minutes; a refusal is the handshake's 401/403 with ``{"message": ...}`` as Xunfei answers.
Then one request frame, and the answer in frames (status 0, 1 ..., 2) whose last carries
``payload.usage.text``; the server closes after it. Written apart from the gateway's signer.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from newapi.testing.mock import text, usage
from newapi.testing.mock.ws import WebSocketMock, WebSocketMockThread, refuse

VERSIONS = {
    "/v1.1/chat": "lite",
    "/v2.1/chat": "generalv2",
    "/v3.1/chat": "generalv3",
    "/v3.5/chat": "generalv3.5",
    "/v4.0/chat": "4.0Ultra",
    "/chat/pro-128k": "pro-128k",
    "/chat/max-32k": "max-32k",
}


class SparkMock(WebSocketMock):
    """The server on the running loop: ``url`` is ``http://host:port`` (a channel base URL)."""

    def __init__(self, keys: Sequence[str] = (), chunks: int = 5, latency: float = 0.0) -> None:
        self.keys = {k.split("|")[2]: (k.split("|")[0], k.split("|")[1]) for k in keys}
        self.chunks = chunks
        self.latency = latency  # seconds between frames
        self.cut_short = 0  # answers the client closed before their last frame
        self.frames: list[dict[str, Any]] = []  # the request frames received
        self.paths: list[str] = []

    def _check(self, conn: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        self.paths.append(parts.path)
        if parts.path not in VERSIONS:
            return refuse(conn, 404, {"message": "no Route matched with those values"})
        if not self.keys:
            return None
        query = dict(parse_qsl(parts.query))
        date = query.get("date", "")
        try:
            skew = abs(time.time() - parsedate_to_datetime(date).timestamp())
        except (TypeError, ValueError):
            skew = float("inf")
        if skew > 300:
            return refuse(
                conn,
                403,
                {"message": "HMAC signature cannot be verified, a valid date or x-date header is required"},
            )
        try:
            fields = dict(
                item.strip().split("=", 1)
                for item in base64.b64decode(query["authorization"]).decode().split(",")
            )
        except (KeyError, ValueError, UnicodeDecodeError):
            return refuse(conn, 401, {"message": "Unauthorized"})
        api_key = fields.get("api_key", "").strip('"')
        if api_key not in self.keys:
            return refuse(
                conn, 401, {"message": "HMAC signature cannot be verified: fail to retrieve credential"}
            )
        origin = f"host: {query.get('host', '')}\ndate: {date}\nGET {parts.path} HTTP/1.1"
        expected = base64.b64encode(
            hmac.new(self.keys[api_key][1].encode(), origin.encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, fields.get("signature", "").strip('"')):
            return refuse(conn, 401, {"message": "HMAC signature does not match"})
        return None

    async def _serve(self, conn: ServerConnection) -> None:
        path = urlsplit(conn.request.path if conn.request else "").path
        frame = orjson.loads(await conn.recv())
        self.frames.append(frame)
        sid = f"cht000mock{len(self.frames):08d}"
        header = frame.get("header") or {}
        domain = ((frame.get("parameter") or {}).get("chat") or {}).get("domain")
        app_ids = {app for app, _ in self.keys.values()}
        if (app_ids and header.get("app_id") not in app_ids) or domain != VERSIONS[path]:
            bad = {
                "header": {
                    "code": 10163,
                    "message": f"invalid app_id or domain {domain!r}",
                    "sid": sid,
                    "status": 2,
                }
            }
            await conn.send(orjson.dumps(bad).decode())
            await conn.close()
            return
        turns = ((frame.get("payload") or {}).get("message") or {}).get("text") or []
        prompt = sum(usage.unit(t.get("content")) for t in turns if isinstance(t, dict))
        n = self.chunks
        for i in range(n):
            final = i == n - 1
            out: dict[str, Any] = {
                "header": {
                    "code": 0,
                    "message": "Success",
                    "sid": sid,
                    "status": 2 if final else (0 if i == 0 else 1),
                },
                "payload": {
                    "choices": {
                        "status": 2 if final else (0 if i == 0 else 1),
                        "seq": i,
                        "text": [{"content": text.piece(i), "role": "assistant", "index": 0}],
                    }
                },
            }
            if final:
                out["payload"]["usage"] = {
                    "text": {
                        "question_tokens": prompt,
                        "prompt_tokens": prompt,
                        "completion_tokens": n,
                        "total_tokens": prompt + n,
                    }
                }
            try:
                await conn.send(orjson.dumps(out).decode())
            except ConnectionClosed:
                self.cut_short += 1
                return
            if self.latency and not final:
                await asyncio.sleep(self.latency)
        await conn.close()


class SparkMockThread(WebSocketMockThread[SparkMock]):
    """:class:`SparkMock` on its own loop in a daemon thread, for sync tests."""

    def __init__(self, keys: Sequence[str] = (), chunks: int = 5, latency: float = 0.0) -> None:
        super().__init__(SparkMock(keys, chunks, latency), "spark-mock")
