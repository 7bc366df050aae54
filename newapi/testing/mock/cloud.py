"""AWS Bedrock and Google Vertex AI in front of the Claude and Gemini handlers, with their auth checked.

Bedrock: ``POST /model/{id}/invoke`` and ``/invoke-with-response-stream`` take a Claude body
(``anthropic_version`` ``bedrock-2023-05-31``, no ``model``/``stream``); the stream is AWS's binary
event stream whose ``chunk`` events carry ``{"bytes": base64(Claude event)}``. A SigV4 signature is
recomputed from the configured secret (service ``bedrock``); an API key is a bearer token.

Vertex: ``POST /token`` trades a service account's RS256 JWT (jwt-bearer grant) for an access token;
``/v1/projects/{p}/locations/{r}/publishers/google/models/{m}:{action}`` answer as Gemini and
``.../publishers/anthropic/models/{m}:rawPredict|streamRawPredict`` as Claude (``anthropic_version``
``vertex-2023-10-16``), both with ``Authorization: Bearer <minted token>``;
``/v1/publishers/google/models/{m}:{action}?key=K`` is express mode with an API key.

This verifier is written apart from the gateway's signer on purpose: the same misreading of the
spec in both would otherwise pass unnoticed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import struct
import time
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from newapi.testing.mock import claude, gemini, imagen
from newapi.testing.mock.context import BadBody, Ctx, Reply, Stream

EVENT_STREAM = b"application/vnd.amazon.eventstream"
_minted = itertools.count(1)


class Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _aws_error(status: int, message: str) -> Reply:
    kind = b"AccessDeniedException" if status == 403 else b"UnrecognizedClientException"
    return Reply(status, orjson.dumps({"message": message}), headers=b"x-amzn-errortype: " + kind + b"\r\n")


# -- AWS SigV4 and event stream -----------------------------------------------------------------


def _aws_quote(text: str) -> str:
    return quote(text, safe="-_.~")


def _check_sigv4(ctx: Ctx) -> str:
    headers = ctx.req.headers
    auth = headers.get("authorization", "")
    keys = dict(ctx.config.aws_keys)
    if auth.startswith("Bearer "):
        if auth[7:] in ctx.config.aws_api_keys:
            return "bedrock-key"
        raise Denied(403, "The security token included in the request is invalid.")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        raise Denied(403, "Missing Authentication Token")
    fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 ") :].split(","))
    access, day, region, service, _ = fields["Credential"].split("/")
    secret = keys.get(access)
    if secret is None:
        raise Denied(403, "The security token included in the request is invalid.")
    signed = fields["SignedHeaders"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        raise Denied(403, "host and x-amz-date must be signed")
    payload_hash = hashlib.sha256(ctx.req.body).hexdigest()
    if headers.get("x-amz-content-sha256", payload_hash) != payload_hash:
        raise Denied(400, "The provided x-amz-content-sha256 header does not match what was computed.")
    # The request line carried the path encoded once; the canonical form encodes it again.
    wire = "/".join(_aws_quote(s) for s in ctx.req.path.split("/"))
    uri = "/".join(_aws_quote(s) for s in wire.split("/"))
    query = "&".join(f"{_aws_quote(k)}={_aws_quote(v)}" for k, v in sorted(parse_qsl(ctx.req.query, True)))
    canonical_headers = "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed)
    request = "\n".join(("POST", uri, query, canonical_headers, ";".join(signed), payload_hash))
    stamp = headers.get("x-amz-date", "")
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if service != "bedrock" or not hmac.compare_digest(expected, fields["Signature"]):
        raise Denied(403, "The request signature we calculated does not match the signature you provided.")
    return f"sigv4:{access}"


def _string_header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One binary event-stream message (prelude, headers, payload, CRCs)."""
    head = b"".join(_string_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + head + payload
    return body + struct.pack(">I", zlib.crc32(body))


def _chunk_frame(event: bytes) -> bytes:
    data = event.split(b"data: ", 1)[1].split(b"\n", 1)[0]
    payload = orjson.dumps({"bytes": base64.b64encode(data).decode(), "p": "abcdefgh"})
    return frame(
        {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}, payload
    )


def _framed(events: Iterator[bytes]) -> Iterator[bytes]:
    for event in events:
        if event.startswith(b"event: ping"):
            continue  # Bedrock does not relay Anthropic's pings
        yield _chunk_frame(event)


_EXCEPTION = frame(
    {
        ":exception-type": "modelStreamErrorException",
        ":content-type": "application/json",
        ":message-type": "exception",
    },
    b'{"message":"Model stream error (mock)."}',
)


def bedrock(ctx: Ctx, streaming: bool) -> Reply | Stream:
    try:
        if ctx.config.aws_keys or ctx.config.aws_api_keys:
            ctx.record.auth = _check_sigv4(ctx)
    except Denied as denied:
        return _aws_error(denied.status, str(denied))
    except (KeyError, ValueError):
        return _aws_error(403, "Authorization header requires Credential, SignedHeaders and Signature.")
    body = ctx.json()
    if body.get("anthropic_version") != "bedrock-2023-05-31" or "model" in body or "stream" in body:
        raise BadBody("Bedrock takes anthropic_version bedrock-2023-05-31 and no model or stream")
    body["stream"] = streaming
    result = claude.messages(ctx)
    if isinstance(result, Stream):
        return Stream(_framed(result.events), _EXCEPTION, content_type=EVENT_STREAM)
    return result


# -- Google OAuth and Vertex ----------------------------------------------------------------------


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token(ctx: Ctx) -> Reply:
    """The jwt-bearer grant: verify the assertion's RS256 signature and claims, mint a token."""
    form = dict(parse_qsl(ctx.req.body.decode("latin-1")))
    if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return Reply(400, b'{"error":"unsupported_grant_type"}')
    try:
        head, claims_b64, signature = form["assertion"].split(".")
        header = orjson.loads(_b64decode(head))
        claims: dict[str, Any] = orjson.loads(_b64decode(claims_b64))
        pem = dict(ctx.config.google_accounts)[claims["iss"]]
        key = serialization.load_pem_public_key(pem.encode())
        assert isinstance(key, rsa.RSAPublicKey) and header.get("alg") == "RS256"
        key.verify(
            _b64decode(signature), f"{head}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except (KeyError, ValueError, AssertionError, InvalidSignature, orjson.JSONDecodeError):
        return Reply(400, b'{"error":"invalid_grant","error_description":"Invalid JWT Signature."}')
    now = time.time()
    scope_ok = "https://www.googleapis.com/auth/cloud-platform" in str(claims.get("scope", "")).split()
    if (
        not scope_ok
        or not str(claims.get("aud", "")).endswith("/token")
        or not claims["iat"] - 60 <= now < claims["exp"]
    ):
        return Reply(400, b'{"error":"invalid_grant","error_description":"Invalid JWT claims."}')
    minted = f"ya29.mock-{next(_minted)}"
    ctx.shared.tokens[minted] = now + 3600
    ctx.record.auth = f"jwt:{claims['iss']}"
    return Reply(200, orjson.dumps({"access_token": minted, "expires_in": 3599, "token_type": "Bearer"}))


def _check_google(ctx: Ctx) -> str:
    auth = ctx.req.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        expiry = ctx.shared.tokens.get(auth[7:])
        if expiry is not None and expiry > time.time():
            return f"oauth:{auth[7:]}"
        raise Denied(401, "Request had invalid authentication credentials.")
    for name, value in parse_qsl(ctx.req.query):
        if name == "key" and value in ctx.config.google_api_keys:
            return "google-key"
    raise Denied(401, "Request is missing required authentication credential.")


def vertex(ctx: Ctx, publisher: str, model: str, action: str) -> Reply | Stream:
    try:
        if ctx.config.google_accounts or ctx.config.google_api_keys:
            ctx.record.auth = _check_google(ctx)
    except Denied as denied:
        status = "UNAUTHENTICATED" if denied.status == 401 else "PERMISSION_DENIED"
        error = {"error": {"code": denied.status, "message": str(denied), "status": status}}
        return Reply(denied.status, orjson.dumps(error))
    ctx.action = action
    if publisher == "google":
        handler = {
            "generateContent": gemini.generate,
            "streamGenerateContent": gemini.generate,
            "predict": imagen.predict if model.startswith("imagen") else imagen.vertex_embed,
        }.get(action)
        if handler is None:
            raise BadBody(f"unsupported action {action}")
        return handler(ctx)
    body = ctx.json()
    if body.get("anthropic_version") != "vertex-2023-10-16" or "model" in body:
        raise BadBody("Claude on Vertex takes anthropic_version vertex-2023-10-16 and the model in the URL")
    if action not in ("rawPredict", "streamRawPredict"):
        raise BadBody(f"unsupported action {action}")
    return claude.messages(ctx)


def split_vertex(path: str) -> tuple[str, str, str] | None:
    """(publisher, model, action) of a Vertex path, or None."""
    marker = "/publishers/"
    if not path.startswith("/v1/") or marker not in path:
        return None
    rest = path.split(marker, 1)[1]
    publisher, _, tail = rest.partition("/models/")
    model, _, action = tail.rpartition(":")
    if publisher not in ("google", "anthropic") or not model or not action:
        return None
    return publisher, model, action
