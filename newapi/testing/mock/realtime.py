"""OpenAI's Realtime API over a WebSocket, on a server of its own (OpenAI's and Azure's paths).

``/v1/realtime?model=M`` with ``Authorization: Bearer <key>``, or Azure's
``/openai/realtime?api-version=V&deployment=D`` with ``api-key: <key>``; a refused key is the
handshake's 401 with OpenAI's error body. The client's ``OpenAI-Beta: realtime=v1`` picks the
beta event names (``response.text.delta``, ``conversation.item.created``); without it the GA
names (``response.output_text.delta``, ``conversation.item.added``).

Events: ``session.created`` on connect; ``session.update`` -> ``session.updated``;
``conversation.item.create`` -> item created/added; ``input_audio_buffer.append`` / ``commit``;
``response.create`` -> ``response.created``, the output item and part, ``chunks`` deltas (text,
or audio with its transcript when the session or the response asks for audio),
the done events and ``response.done`` with usage. A ``-latency-Nms`` model name spaces the deltas;
``-drop-after-N`` drops the connection (no close frame) after the N-th delta of a response;
``-close-after-N`` closes it normally (1000) after the N-th ``response.done``; ``-no-usage`` sends
``response.done`` with ``usage: null`` (a compatible server that reports none).

Usage (a contract the tests compute with): input text tokens = ``usage.unit`` of each text in
the conversation (user items and earlier answers) plus the instructions; input audio tokens =
audio bytes / 480 (PCM16 at 24 kHz: one token per 10 ms); cached tokens = the previous
response's input tokens; output text tokens = ``chunks``; output audio tokens = 10 per chunk.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from newapi.testing.mock import text, usage
from newapi.testing.mock.ws import WebSocketMock, WebSocketMockThread, refuse

AUDIO_BYTES_PER_TOKEN = 480
AUDIO_TOKENS_PER_CHUNK = 10
_LATENCY = re.compile(r"-latency-(\d+)ms")
_DROP = re.compile(r"-drop-after-(\d+)")
_CLOSE = re.compile(r"-close-after-(\d+)")


def _refuse(conn: ServerConnection, status: int, message: str, code: str) -> Response:
    return refuse(
        conn, status, {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    )


class _Session:
    """One connection's conversation."""

    def __init__(self, mock: RealtimeMock, conn: ServerConnection, model: str, beta: bool) -> None:
        self.mock, self.conn, self.model, self.beta = mock, conn, model, beta
        self.session: dict[str, Any] = {
            "id": f"sess_mock{len(mock.connections):06d}",
            "object": "realtime.session",
            "model": model,
            "modalities": ["text"],
            "instructions": "",
        }
        self.texts: list[str] = []
        self.audio_bytes = 0
        self.buffer = 0
        self.previous_input = 0
        self.items = 0
        match = _LATENCY.search(model)
        self.latency = int(match.group(1)) / 1000 if match else mock.latency
        drop = _DROP.search(model)
        self.drop_after = int(drop.group(1)) if drop else -1
        close = _CLOSE.search(model)
        self.close_after = int(close.group(1)) if close else -1
        self.done = 0
        self.no_usage = "-no-usage" in model

    async def emit(self, kind: str, **fields: Any) -> None:
        self.mock.sent += 1
        await self.conn.send(
            orjson.dumps({"type": kind, "event_id": f"event_{self.mock.sent}", **fields}).decode()
        )

    def name(self, beta: str, ga: str) -> str:
        return beta if self.beta else ga

    async def item_created(self, item: dict[str, Any]) -> None:
        self.items += 1
        item = {"id": f"item_mock{self.items:04d}", "object": "realtime.item", "status": "completed", **item}
        await self.emit(self.name("conversation.item.created", "conversation.item.added"), item=item)

    async def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "session.update":
            self.session.update(event.get("session") or {})
            await self.emit("session.updated", session=self.session)
        elif kind == "conversation.item.create":
            item = event.get("item") or {}
            for part in item.get("content") or []:
                if isinstance(part, dict):
                    if isinstance(part.get("text"), str):
                        self.texts.append(part["text"])
                    if isinstance(part.get("audio"), str):
                        self.audio_bytes += len(base64.b64decode(part["audio"]))
            await self.item_created(item)
        elif kind == "input_audio_buffer.append":
            self.buffer += len(base64.b64decode(event.get("audio") or ""))
        elif kind == "input_audio_buffer.commit":
            self.audio_bytes += self.buffer
            self.buffer = 0
            await self.emit("input_audio_buffer.committed", item_id=f"item_mock{self.items + 1:04d}")
            await self.item_created({"type": "message", "role": "user", "content": [{"type": "input_audio"}]})
        elif kind == "response.create":
            await self.respond(event.get("response") or {})
        else:
            error = {"type": "invalid_request_error", "code": "unknown_event", "message": f"unknown {kind!r}"}
            await self.emit("error", error=error)

    async def respond(self, options: dict[str, Any]) -> None:
        mock = self.mock
        mock.responses += 1
        rid = f"resp_mock{mock.responses:04d}"
        modalities = options.get("modalities") or options.get("output_modalities")
        modalities = (
            modalities or self.session.get("modalities") or self.session.get("output_modalities") or []
        )
        audio = "audio" in modalities
        instructions = str(options.get("instructions") or self.session.get("instructions") or "")
        text_in = sum(usage.unit(t) for t in self.texts) + (usage.unit(instructions) if instructions else 0)
        audio_in = self.audio_bytes // AUDIO_BYTES_PER_TOKEN
        cached = self.previous_input
        self.previous_input = text_in + audio_in
        n = mock.chunks
        self.items += 1
        item_id = f"item_mock{self.items:04d}"
        where = {"response_id": rid, "item_id": item_id, "output_index": 0, "content_index": 0}
        part_type = "audio" if audio else "text"
        await self.emit(
            "response.created",
            response={"id": rid, "object": "realtime.response", "status": "in_progress", "output": []},
        )
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant"}
        await self.emit(
            "response.output_item.added", response_id=rid, output_index=0, item={**item, "content": []}
        )
        await self.emit("response.content_part.added", **where, part={"type": part_type})
        pieces = [text.piece(i) for i in range(n)]
        try:
            for i, piece in enumerate(pieces):
                if audio:
                    chunk = base64.b64encode(bytes(AUDIO_TOKENS_PER_CHUNK * AUDIO_BYTES_PER_TOKEN)).decode()
                    await self.emit(
                        self.name("response.audio.delta", "response.output_audio.delta"), **where, delta=chunk
                    )
                    name = self.name(
                        "response.audio_transcript.delta", "response.output_audio_transcript.delta"
                    )
                else:
                    name = self.name("response.text.delta", "response.output_text.delta")
                await self.emit(name, **where, delta=piece)
                if i + 1 == self.drop_after:
                    mock.dropped += 1
                    self.conn.transport.abort()  # the upstream dies mid-response: no close frame
                    return
                if self.latency and i < n - 1:
                    await asyncio.sleep(self.latency)
        except ConnectionClosed:
            mock.cut_short += 1
            raise
        answer = "".join(pieces)
        self.texts.append(answer)
        if audio:
            await self.emit(self.name("response.audio.done", "response.output_audio.done"), **where)
            transcript = self.name("response.audio_transcript.done", "response.output_audio_transcript.done")
            await self.emit(transcript, **where, transcript=answer)
            part = {"type": "audio", "transcript": answer}
        else:
            await self.emit(
                self.name("response.text.done", "response.output_text.done"), **where, text=answer
            )
            part = {"type": "text", "text": answer}
        await self.emit("response.content_part.done", **where, part=part)
        done_item = {**item, "status": "completed", "content": [part]}
        await self.emit("response.output_item.done", response_id=rid, output_index=0, item=done_item)
        audio_out = n * AUDIO_TOKENS_PER_CHUNK if audio else 0
        details_in = {
            "cached_tokens": cached,
            "text_tokens": text_in,
            "audio_tokens": audio_in,
            "cached_tokens_details": {"text_tokens": cached, "audio_tokens": 0},
        }
        report = {
            "total_tokens": text_in + audio_in + n + audio_out,
            "input_tokens": text_in + audio_in,
            "output_tokens": n + audio_out,
            "input_token_details": details_in,
            "output_token_details": {"text_tokens": n, "audio_tokens": audio_out},
        }
        response = {
            "id": rid,
            "object": "realtime.response",
            "status": "completed",
            "status_details": None,
            "output": [done_item],
            "usage": None if self.no_usage else report,
        }
        await self.emit("response.done", response=response)
        mock.usages.append(report)
        self.done += 1
        if self.done == self.close_after:
            await self.conn.close(1000, "session over")


class RealtimeMock(WebSocketMock):
    """The server on the running loop: ``url`` is ``http://host:port`` (a channel base URL)."""

    def __init__(self, keys: Sequence[str] = (), chunks: int = 5, latency: float = 0.0) -> None:
        self.keys = frozenset(keys)
        self.chunks = chunks
        self.latency = latency
        self.connections: list[dict[str, Any]] = []  # path, query and auth of each session
        self.events: list[str] = []  # client event types received
        self.usages: list[dict[str, Any]] = []  # the usage of every response.done sent
        self.responses = 0
        self.sent = 0
        self.cut_short = 0  # responses the client closed before their response.done
        self.dropped = 0  # connections dropped mid-response (a ``-drop-after-N`` model)
        self.closed = 0  # sessions ended
        self.open = 0  # sessions open now
        self.close_codes: list[int | None] = []  # the code each session's client closed with

    def _check(self, conn: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        query = dict(parse_qsl(parts.query))
        if parts.path == "/v1/realtime":
            key = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
            model = query.get("model", "")
        elif parts.path == "/openai/realtime":
            key = request.headers.get("api-key") or ""
            model = query.get("deployment", "")
            if not query.get("api-version"):
                return _refuse(conn, 400, "api-version query parameter is required", "missing_api_version")
        else:
            return _refuse(conn, 404, f"no route for {parts.path}", "not_found")
        self.connections.append(
            {"path": parts.path, "query": query, "key": key, "beta": request.headers.get("OpenAI-Beta")}
        )
        if self.keys and key not in self.keys:
            return _refuse(conn, 401, "Incorrect API key provided", "invalid_api_key")
        if not model:
            return _refuse(conn, 400, "model is required", "missing_model")
        return None

    async def _serve(self, conn: ServerConnection) -> None:
        request = conn.request
        assert request is not None
        parts = urlsplit(request.path)
        query = dict(parse_qsl(parts.query))
        model = query.get("model") or query.get("deployment") or ""
        session = _Session(self, conn, model, request.headers.get("OpenAI-Beta") == "realtime=v1")
        self.open += 1
        try:
            await session.emit("session.created", session=session.session)
            async for message in conn:
                event = orjson.loads(message)
                self.events.append(str(event.get("type")))
                await session.handle(event)
        except ConnectionClosed:
            pass
        finally:
            self.open -= 1
            self.closed += 1
            self.close_codes.append(conn.close_code)


class RealtimeMockThread(WebSocketMockThread[RealtimeMock]):
    """:class:`RealtimeMock` on its own loop in a daemon thread, for sync tests."""

    def __init__(self, keys: Sequence[str] = (), chunks: int = 5, latency: float = 0.0) -> None:
        super().__init__(RealtimeMock(keys, chunks, latency), "realtime-mock")
