"""The ChatGPT Codex backend (``POST /backend-api/codex/responses``) and its OAuth refresh.

The backend is the Responses API, streaming only, with ``store: false`` and ``instructions``
required; it takes an access token as a bearer plus ``chatgpt-account-id``. ``POST
/oauth/token`` (OpenAI's auth server) trades ``{grant_type: refresh_token, refresh_token,
client_id}`` for ``{access_token, refresh_token, id_token, expires_in}``; the access token is a
JWT whose ``exp`` says when it lapses. Accepted: a token minted here, or any unexpired JWT.

A refresh token starting with ``rt-rot`` rotates, as OpenAI's do: trading it returns a new one and
spends it, so a gateway that forgets the new one cannot refresh again.
"""

from __future__ import annotations

import base64
import itertools
import time

import orjson

from newapi.testing.mock import responses
from newapi.testing.mock.context import Ctx, Reply, Stream

REFRESH_TOKEN = "rt-mock"
ROTATING = "rt-rot"
_minted = itertools.count(1)


def jwt(claims: dict[str, object]) -> str:
    """An unsigned JWT-shaped token (the mock reads only its claims)."""

    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(obj)).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part(claims)}.mock"


def _exp(token: str) -> float:
    try:
        payload = token.split(".")[1]
        return float(orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])
    except (IndexError, KeyError, ValueError, orjson.JSONDecodeError):
        return 0.0


def _refused(status: int, message: str) -> Reply:
    return Reply(status, orjson.dumps({"error": {"message": message, "type": "invalid_request_error"}}))


def token(ctx: Ctx) -> Reply:
    body = ctx.json()
    given = body.get("refresh_token")
    rotating = isinstance(given, str) and given.startswith(ROTATING)
    valid = given == REFRESH_TOKEN or (rotating and given not in ctx.shared.spent_refresh_tokens)
    if body.get("grant_type") != "refresh_token" or not valid:
        return Reply(401, b'{"error":"invalid_grant","error_description":"Refresh token is invalid."}')
    n = next(_minted)
    minted = jwt({"exp": int(time.time()) + 3600, "n": n})
    ctx.shared.tokens[minted] = time.time() + 3600
    ctx.record.auth = "codex-refresh"
    successor = REFRESH_TOKEN
    if rotating:
        ctx.shared.spent_refresh_tokens.add(str(given))
        successor = f"{ROTATING}-{n}"
    email: dict[str, object] = {"email": "dev@example.com"}
    out = {"access_token": minted, "refresh_token": successor, "id_token": jwt(email), "expires_in": 3600}
    return Reply(200, orjson.dumps(out))


def codex_responses(ctx: Ctx) -> Reply | Stream:
    auth = ctx.req.headers.get("authorization", "").removeprefix("Bearer ")
    if _exp(auth) <= time.time():
        return _refused(401, "Your authentication token has expired. Please try signing in again.")
    if not ctx.req.headers.get("chatgpt-account-id"):
        return _refused(400, "chatgpt-account-id is required")
    body = ctx.json()
    if body.get("stream") is not True or body.get("store") is not False or "instructions" not in body:
        return _refused(400, "Codex requires stream: true, store: false and instructions")
    ctx.record.auth = "codex"
    return responses.create(ctx)


def wham_usage(ctx: Ctx) -> Reply:
    """ChatGPT's subscription usage (``GET /backend-api/wham/usage``): the 5-hour and weekly
    windows of the plan's rate limit, for an unexpired access token and an account id."""
    auth = ctx.req.headers.get("authorization", "").removeprefix("Bearer ")
    if _exp(auth) <= time.time():
        return _refused(401, "Your authentication token has expired. Please try signing in again.")
    if not ctx.req.headers.get("chatgpt-account-id"):
        return _refused(400, "chatgpt-account-id is required")
    ctx.record.auth = "codex"
    now = int(time.time())
    windows = {
        "primary_window": {"used_percent": 12, "limit_window_seconds": 18000, "reset_at": now + 3600},
        "secondary_window": {"used_percent": 40, "limit_window_seconds": 604800, "reset_at": now + 86400},
    }
    usage = {"plan_type": "plus", "rate_limit": {"allowed": True, "limit_reached": False, **windows}}
    return Reply(200, orjson.dumps(usage))
