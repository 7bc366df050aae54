"""The consume log of one request, read through the management API once the flusher wrote it."""

from __future__ import annotations

import time
from typing import Any

import httpx


def consume_log(admin: httpx.Client, request_id: str, timeout: float = 15.0) -> dict[str, Any]:
    """``admin`` is signed in as an admin (cookie and ``New-Api-User``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = admin.get("/api/log/", params={"type": 2, "p": 1, "page_size": 100}).json()["data"]["items"]
        for item in items:
            if item.get("request_id") == request_id:
                return dict(item)
        time.sleep(0.2)
    raise AssertionError(f"no consume log for {request_id}")
