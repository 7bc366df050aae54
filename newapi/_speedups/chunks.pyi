"""Stubs of the compiled chunk reader; the pure-Python twin ``_chunks_py`` has the same API."""

def has_usage_object(data: bytes) -> bool:
    """Whether ``data`` has ``"usage":{`` or ``"usage": {`` (a usage object, not ``null``)."""

def content_length(data: bytes) -> int:
    """Bytes of the first ``"content":"..."`` string in ``data`` (0 if none), escapes included."""
