"""Codex channels (type 57): ``/backend-api/codex/responses`` under the base (chatgpt.com), the
access token as a bearer with the account in ``chatgpt-account-id``, as Codex CLI sends them."""

from __future__ import annotations

from newapi.core.structs import ChannelInfo


def responses_url(channel: ChannelInfo) -> str:
    return channel.base_url.rstrip("/") + "/backend-api/codex/responses"


def headers(access_token: str, account_id: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"authorization", b"Bearer " + access_token.encode()),
        (b"chatgpt-account-id", account_id.encode()),
        (b"openai-beta", b"responses=experimental"),
        (b"originator", b"codex_cli_rs"),
        (b"content-type", b"application/json"),
        (b"accept", b"text/event-stream"),
    ]
