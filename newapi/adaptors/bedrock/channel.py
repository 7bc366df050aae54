"""Bedrock InvokeModel for Claude: the key's two forms, model ids, URL and body (reference §2).

The key is ``ACCESS_KEY|SECRET_KEY|REGION`` (SigV4-signed, optionally ``|SESSION_TOKEN``) or
``API_KEY|REGION`` (a Bedrock API key sent as a bearer token).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from newapi.adaptors.bedrock import sigv4
from newapi.core.structs import ChannelInfo

BEDROCK_VERSION = "bedrock-2023-05-31"
# New API's table for the common names; anything else becomes anthropic.<model>-v1:0
_MODEL_IDS = {
    "claude-3-haiku-20240307": "anthropic.claude-3-haiku-20240307-v1:0",
    "claude-3-5-haiku-20241022": "anthropic.claude-3-5-haiku-20241022-v1:0",
    "claude-3-5-sonnet-20240620": "anthropic.claude-3-5-sonnet-20240620-v1:0",
    "claude-3-5-sonnet-20241022": "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "claude-3-7-sonnet-20250219": "anthropic.claude-3-7-sonnet-20250219-v1:0",
    "claude-sonnet-4-20250514": "anthropic.claude-sonnet-4-20250514-v1:0",
    "claude-opus-4-20250514": "anthropic.claude-opus-4-20250514-v1:0",
    "claude-opus-4-1-20250805": "anthropic.claude-opus-4-1-20250805-v1:0",
    "claude-sonnet-4-5-20250929": "anthropic.claude-sonnet-4-5-20250929-v1:0",
    "claude-haiku-4-5-20251001": "anthropic.claude-haiku-4-5-20251001-v1:0",
}


@dataclass(frozen=True, slots=True)
class Credentials:
    region: str
    access_key: str = ""
    secret_key: str = ""
    session_token: str = ""
    api_key: str = ""


def parse_key(key: str, key_type: str = "") -> Credentials:
    """``key_type`` is the channel's ``settings.aws_key_type`` (``ak_sk`` or ``api_key``); empty
    means either form, told apart by the number of parts."""
    parts = [p.strip() for p in key.split("|")]
    if key_type == "api_key" and len(parts) != 2:
        raise ValueError("the channel's AWS key type is api_key: the key must be API_KEY|REGION")
    if key_type == "ak_sk" and len(parts) not in (3, 4):
        raise ValueError("the channel's AWS key type is ak_sk: the key must be ACCESS_KEY|SECRET_KEY|REGION")
    if len(parts) == 2:
        return Credentials(region=parts[1], api_key=parts[0])
    if len(parts) in (3, 4):
        token = parts[3] if len(parts) == 4 else ""
        return Credentials(region=parts[2], access_key=parts[0], secret_key=parts[1], session_token=token)
    raise ValueError("a Bedrock key is ACCESS_KEY|SECRET_KEY|REGION or API_KEY|REGION")


def model_id(model: str) -> str:
    if "." in model.split("-", 1)[0] or model.startswith(("anthropic.", "arn:")):
        return model
    return _MODEL_IDS.get(model, f"anthropic.{model}-v1:0")


def upstream_url(channel: ChannelInfo, credentials: Credentials, model: str, stream: bool) -> str:
    base = channel.base_url.rstrip("/") or f"https://bedrock-runtime.{credentials.region}.amazonaws.com"
    action = "invoke-with-response-stream" if stream else "invoke"
    return f"{base}/model/{quote(model_id(model), safe='')}/{action}"


def body_for(claude_body: dict[str, Any], beta: str) -> dict[str, Any]:
    """Bedrock takes the Claude body without ``model``/``stream`` and with its own version."""
    body = {k: v for k, v in claude_body.items() if k not in ("model", "stream")}
    body["anthropic_version"] = BEDROCK_VERSION
    if beta:
        body["anthropic_beta"] = [b.strip() for b in beta.split(",") if b.strip()]
    return body


def auth_headers(credentials: Credentials, url: str, body: bytes, stream: bool) -> list[tuple[bytes, bytes]]:
    accept = b"application/vnd.amazon.eventstream" if stream else b"application/json"
    if credentials.api_key:
        return [(b"authorization", b"Bearer " + credentials.api_key.encode()), (b"accept", accept)]
    signed = sigv4.sign(
        "POST",
        url,
        body,
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        region=credentials.region,
        service="bedrock",
        session_token=credentials.session_token,
    )
    return [*signed, (b"accept", accept)]
