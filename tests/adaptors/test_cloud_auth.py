"""SigV4 against AWS's published test vector, the event-stream decoder, and the Vertex JWT."""

from __future__ import annotations

import base64
import struct
import zlib
from datetime import UTC, datetime

import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from newapi.adaptors.bedrock import sigv4
from newapi.adaptors.bedrock.channel import model_id, parse_key
from newapi.adaptors.bedrock.eventstream import Decoder, as_sse
from newapi.adaptors.vertex.credentials import ServiceAccount, parse_service_account, signed_jwt
from newapi.core.errors import UpstreamProtocolError
from newapi.testing.mock.cloud import frame


def test_sigv4_matches_the_aws_test_suite_get_vanilla() -> None:
    # aws-sig-v4-test-suite/get-vanilla: GET / with host and x-amz-date signed.
    headers = {"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"}
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    request = sigv4.canonical_request("GET", "/", "", headers, empty)
    to_sign = sigv4.string_to_sign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", request)
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    signature = sigv4.signature(secret, "20150830", "us-east-1", "service", to_sign)
    assert signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


def test_sigv4_encodes_model_ids_twice_in_the_canonical_uri() -> None:
    assert (
        sigv4.canonical_uri("/model/anthropic.claude-v2%3A1/invoke")
        == "/model/anthropic.claude-v2%253A1/invoke"
    )
    headers = dict(
        sigv4.sign(
            "POST",
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/x%3A0/invoke",
            b"{}",
            access_key="AK",
            secret_key="SK",
            region="us-east-1",
            service="bedrock",
            now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        )
    )
    auth = headers[b"authorization"].decode()
    assert auth.startswith("AWS4-HMAC-SHA256 Credential=AK/20260102/us-east-1/bedrock/aws4_request, ")
    assert "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date," in auth


def test_bedrock_keys_and_model_ids() -> None:
    assert parse_key("AK|SK|eu-west-1").secret_key == "SK"
    assert parse_key("apikey|us-west-2").api_key == "apikey"
    with pytest.raises(ValueError):
        parse_key("nonsense")
    assert model_id("claude-3-5-sonnet-20241022") == "anthropic.claude-3-5-sonnet-20241022-v2:0"
    assert (
        model_id("us.anthropic.claude-sonnet-4-20250514-v1:0") == "us.anthropic.claude-sonnet-4-20250514-v1:0"
    )
    assert model_id("claude-new") == "anthropic.claude-new-v1:0"


def _chunk(event: dict[str, object]) -> bytes:
    payload = orjson.dumps({"bytes": base64.b64encode(orjson.dumps(event)).decode()})
    return frame(
        {":event-type": "chunk", ":message-type": "event", ":content-type": "application/json"}, payload
    )


async def test_event_stream_split_at_every_byte() -> None:
    frames = _chunk({"type": "message_start", "message": {}}) + _chunk({"type": "message_stop"})
    for cut in range(1, len(frames)):

        async def pieces(cut: int = cut) -> object:
            yield frames[:cut]
            yield frames[cut:]

        out = b"".join([c async for c in as_sse(pieces())])  # type: ignore[arg-type]
        assert out == (
            b'event: message_start\ndata: {"type":"message_start","message":{}}\n\n'
            b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
        )


def test_event_stream_rejects_corruption_and_renders_exceptions() -> None:
    good = _chunk({"type": "ping"})
    bad = good[:-1] + bytes([good[-1] ^ 1])
    with pytest.raises(UpstreamProtocolError):
        Decoder().feed(bad)
    prelude = struct.pack(">II", 100, 0)
    with pytest.raises(UpstreamProtocolError):
        Decoder().feed(prelude + struct.pack(">I", zlib.crc32(prelude) ^ 1))
    exception = frame(
        {":message-type": "exception", ":exception-type": "throttlingException"}, b'{"message":"slow"}'
    )
    [(headers, payload)] = Decoder().feed(exception)
    assert headers[":exception-type"] == "throttlingException" and payload == b'{"message":"slow"}'


def test_vertex_jwt_is_rs256_signed_with_the_service_account() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = orjson.dumps({"client_email": "a@b", "private_key": pem.decode(), "project_id": "p"}).decode()
    account = parse_service_account(raw)
    assert account == ServiceAccount("a@b", pem.decode(), "p")
    assert parse_service_account("AIza-plain-key") is None
    token = signed_jwt(account, now=1_700_000_000)
    head, claims, signature = token.split(".")

    def b64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    assert orjson.loads(b64(head)) == {"alg": "RS256", "typ": "JWT"}
    assert orjson.loads(b64(claims)) == {
        "iss": "a@b",
        "scope": "https://www.googleapis.com/auth/cloud-platform",
        "aud": "https://oauth2.googleapis.com/token",
        "iat": 1_700_000_000,
        "exp": 1_700_003_600,
    }
    key.public_key().verify(b64(signature), f"{head}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
