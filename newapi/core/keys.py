"""Generating New API's keys and codes."""

from __future__ import annotations

import secrets
import string
import uuid

_ALNUM = string.ascii_letters + string.digits


def random_string(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_token_key() -> str:
    """An API key body: 48 characters of [0-9a-zA-Z], stored without ``sk-``."""
    return random_string(48)


def new_access_token() -> str:
    """A personal access token (32 hex characters, like New API's uuid without dashes)."""
    return uuid.uuid4().hex


def new_aff_code() -> str:
    return random_string(4)


def new_redemption_key() -> str:
    return uuid.uuid4().hex


def mask_key(key: str) -> str:
    """New API's list masking: first 4 + ********** + last 4."""
    if not key:
        return ""
    if len(key) <= 4:
        return "*" * len(key)
    if len(key) <= 8:
        return key[:2] + "****" + key[-2:]
    return key[:4] + "**********" + key[-4:]
