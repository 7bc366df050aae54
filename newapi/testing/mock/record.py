"""What the mock remembers about each request it served."""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from typing import Any


@dataclass(slots=True)
class RequestRecord:
    """One request. ``family`` is openai, responses, claude or gemini. Times are ``time.time()``
    seconds; ``connection`` numbers the TCP connection it came on; events count SSE events (or
    Gemini JSON-array items, the closing ``]`` included).

    ``events_sent`` counts events handed to the socket; ``events_generated`` also counts those
    produced after the client left (only with ``ignore-cancel``). ``usage`` is the usage the response
    carries (``None`` with ``no-usage``), and ``usage_sent`` says whether the event or body carrying it
    was actually sent.
    """

    id: int
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    arrived_at: float
    connection: int = 0
    family: str = ""
    model: str = ""
    stream: bool = False
    faults: tuple[str, ...] = ()
    status: int = 0
    finished_at: float | None = None
    client_closed_early: bool = False
    closed_at: float | None = None
    events_sent: int = 0
    events_generated: int = 0
    usage: dict[str, int] | None = None
    usage_sent: bool = False
    #: the credential a cloud route verified: ``sigv4:<access key>``, ``bedrock-key``,
    #: ``oauth:<token>``, ``google-key`` (empty when none was checked)
    auth: str = ""

    def copy(self) -> RequestRecord:
        return replace(self, headers=dict(self.headers))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: the body as text when it is UTF-8, otherwise base64."""
        try:
            body, encoding = self.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            body, encoding = base64.b64encode(self.body).decode("ascii"), "base64"
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": body,
            "body_encoding": encoding,
            "arrived_at": self.arrived_at,
            "connection": self.connection,
            "family": self.family,
            "model": self.model,
            "stream": self.stream,
            "faults": list(self.faults),
            "status": self.status,
            "finished_at": self.finished_at,
            "client_closed_early": self.client_closed_early,
            "closed_at": self.closed_at,
            "events_sent": self.events_sent,
            "events_generated": self.events_generated,
            "usage": self.usage,
            "usage_sent": self.usage_sent,
            "auth": self.auth,
        }
