"""A channel's ``header_override``: fixed values, placeholders and client-header pass-through.

New API: ``{api_key}`` becomes the channel key; ``{client_header:<name>}`` the
client's header; a key ``*`` passes every client header through, and
``re:<regex>`` / ``regex:<regex>`` the matching ones. Credentials, cookies,
hop-by-hop and WebSocket headers are never passed through; explicit overrides
win over pass-through.

A header that cannot be sent as HTTP (a name that is not an RFC 9110 token, a value with
CR, LF, NUL or another control character) is refused when the channel is saved and dropped
here, never sent: a server that rejects the head but keeps the connection would read the body
as the next request, and every later request on that connection would get the wrong answer.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

_NEVER_PASSED = frozenset(
    {
        b"authorization",
        b"x-api-key",
        b"x-goog-api-key",
        b"api-key",
        b"cookie",
        b"set-cookie",
        b"host",
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
        b"accept-encoding",
        b"content-encoding",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-protocol",
        b"sec-websocket-extensions",
        b"x-forwarded-for",
        b"x-real-ip",
        b"mj-api-secret",
    }
)
_CLIENT_HEADER = re.compile(r"\{client_header:([A-Za-z0-9_-]+)\}")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# RFC 9110 field values: visible characters, obs-text, space and tab; no other control character.
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_warned: set[tuple[str, str]] = set()


def header_problem(name: str, value: str) -> str | None:
    """Why ``name: value`` cannot go into an HTTP/1.1 head, or None when it can."""
    if not _TOKEN.fullmatch(name):
        return f"header name {name!r} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"
    if _BAD_VALUE.search(value):
        return f"the value of header {name!r} contains a line break, NUL or another control character"
    return None


def override_problem(override: dict[str, Any]) -> str | None:
    """The first header of a ``header_override`` object that could never be sent, or None."""
    for name, value in override.items():
        if name == "*" or name.startswith(("re:", "regex:")):
            continue
        problem = header_problem(name, value if isinstance(value, str) else str(value))
        if problem is not None:
            return problem
    return None


def _drop(name: str, problem: str) -> None:
    """Say once per header (not per request) that a stored override is being ignored."""
    if (name, problem) not in _warned and len(_warned) < 1024:
        _warned.add((name, problem))
        log.warning("header override not sent: %s", problem)


@lru_cache(maxsize=256)
def _pattern(expr: str) -> re.Pattern[str] | None:
    try:
        return re.compile(expr, re.IGNORECASE)
    except re.error:
        return None


def apply_header_override(
    headers: list[tuple[bytes, bytes]],
    override: dict[str, str],
    client_headers: list[tuple[bytes, bytes]],
    api_key: str,
) -> list[tuple[bytes, bytes]]:
    """``headers`` (the adaptor's) with the override applied; returns a new list."""
    if not override:
        return headers
    passed: list[tuple[bytes, bytes]] = []
    patterns: list[re.Pattern[str]] = []
    pass_all = False
    explicit: dict[bytes, bytes] = {}
    for name, value in override.items():
        if name == "*":
            pass_all = True
            continue
        if name.startswith(("re:", "regex:")):
            pattern = _pattern(name.split(":", 1)[1])
            if pattern is not None:
                patterns.append(pattern)
            continue
        text = str(value).replace("{api_key}", api_key)
        match = _CLIENT_HEADER.fullmatch(text.strip())
        if match:
            wanted = match.group(1).lower().encode()
            text = next((v.decode("latin-1") for k, v in client_headers if k == wanted), "")
            if not text:
                continue
        # Checked after substitution: a key or a client header can bring what the template lacked.
        problem = header_problem(name, text)
        if problem is not None:
            _drop(name, problem)  # names the header, never its value (it may hold the key)
            continue
        explicit[name.lower().encode()] = text.encode("latin-1", "replace")
    if pass_all or patterns:
        for header_name, header_value in client_headers:
            if header_name in _NEVER_PASSED or header_name in explicit:
                continue
            if pass_all or any(p.search(header_name.decode("latin-1")) for p in patterns):
                passed.append((header_name, header_value))
    result = [(k, v) for k, v in headers if k not in explicit and all(k != p for p, _ in passed)]
    result.extend(passed)
    result.extend(explicit.items())
    return result
