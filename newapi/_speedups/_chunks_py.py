"""What a stream relay reads from an OpenAI chat-completion chunk without decoding its JSON
(pure-Python twin of ``chunks.pyx``).

``bytes.find`` rather than ``marker in data``: in CPython 3.11 ``in`` first tries the marker as an
integer and formats a TypeError for it, several times the cost of the search.
"""

from __future__ import annotations

from typing import Final

_USAGE: Final = b'"usage":'
_CONTENT: Final = b'"content":"'
_OPEN: Final = 0x7B  # {
_SPACE: Final = 0x20
_BACKSLASH: Final = 0x5C


def _exact(data: bytes) -> None:
    # The same refusal as Cython's ``bytes data not None``.
    if type(data) is not bytes:
        raise TypeError(f"Argument 'data' has incorrect type (expected bytes, got {type(data).__name__})")


def has_usage_object(data: bytes) -> bool:
    """Whether ``data`` has ``"usage":{`` or ``"usage": {`` (a usage object, not ``null``)."""
    _exact(data)
    n = len(data)
    hit = data.find(_USAGE)
    while hit >= 0:
        hit += 8
        if hit < n and data[hit] == _OPEN:
            return True
        if hit + 1 < n and data[hit] == _SPACE and data[hit + 1] == _OPEN:
            return True
        hit = data.find(_USAGE, hit)
    return False


def content_length(data: bytes) -> int:
    """Bytes of the first ``"content":"..."`` string in ``data`` (0 if none), escapes included."""
    _exact(data)
    start = data.find(_CONTENT)
    if start < 0:
        return 0
    start += len(_CONTENT)
    end = start
    while True:
        end = data.find(b'"', end)
        if end < 0:
            return 0
        # A quote preceded by an odd number of backslashes is escaped.
        slashes = 0
        back = end - 1
        while back >= start and data[back] == _BACKSLASH:
            slashes += 1
            back -= 1
        if slashes % 2 == 0:
            return end - start
        end += 1
