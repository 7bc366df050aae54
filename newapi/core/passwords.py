"""bcrypt password hashing, off the event loop (it is deliberately slow)."""

from __future__ import annotations

import asyncio

import bcrypt

MIN_LENGTH = 8
MAX_LENGTH = 20


def check_rules(password: str) -> str | None:
    """Why ``password`` breaks New API's rules (8 to 20 characters), or None."""
    if len(password) < MIN_LENGTH:
        return f"password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"password must be at most {MAX_LENGTH} characters"
    return None


async def hash_password(password: str) -> str:
    def work() -> str:
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()

    return await asyncio.to_thread(work)


async def verify_password(password: str, hashed: str) -> bool:
    def work() -> bool:
        try:
            return bcrypt.checkpw(password.encode(), hashed.encode())
        except ValueError:
            return False

    if not hashed:
        return False
    return await asyncio.to_thread(work)
