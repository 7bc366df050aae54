"""Hiding hosts, IPs and keys in messages that reach clients or logs (New API's sensitive-info mask)."""

from __future__ import annotations

import re

_URL = re.compile(r"https?://[^\s\"'<>)]+", re.IGNORECASE)
_IP = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b")
_KEY = re.compile(r"(?i)(api[_-]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._\-]{8,}")
_SECRET_LIKE = re.compile(r"\b(sk|ak|AIza)[-_A-Za-z0-9]{16,}\b")


def mask_sensitive(text: str) -> str:
    if not text:
        return text
    text = _URL.sub("[url]", text)
    text = _IP.sub("[ip]", text)
    text = _KEY.sub(r"\1***", text)
    text = _BEARER.sub(r"\1***", text)
    return _SECRET_LIKE.sub("***", text)
