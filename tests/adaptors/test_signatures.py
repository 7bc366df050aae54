"""Our signers against the providers' published examples and the reference implementations.

Tencent's TC3 and Xunfei's signed WebSocket URL against the worked examples of their API
documentation (Xunfei's prints only the first bytes of its digest); AWS SigV4 (Bedrock) against
botocore's signer and the Vertex service-account JWT against google-auth's (issue 17 §6).
"""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import orjson
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newapi.adaptors.bedrock import sigv4
from newapi.adaptors.tencent import signature as tc3
from newapi.adaptors.vertex.credentials import SCOPE, ServiceAccount, signed_jwt
from newapi.adaptors.xunfei import signature as spark
from newapi.adaptors.xunfei import versions

# Tencent Cloud API "Signature v3" documentation, worked example (CVM DescribeInstances).
TC3_SECRET_ID = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE"
TC3_SECRET_KEY = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
TC3_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
TC3_CONTENT_TYPE = "application/json; charset=utf-8"


def test_tc3_matches_tencents_documented_example() -> None:
    request = tc3.canonical_request(TC3_CONTENT_TYPE, "cvm.tencentcloudapi.com", TC3_PAYLOAD)
    assert hashlib.sha256(request.encode()).hexdigest() == (
        "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
    )
    auth = tc3.authorization(
        TC3_SECRET_ID,
        TC3_SECRET_KEY,
        "cvm",
        "cvm.tencentcloudapi.com",
        TC3_CONTENT_TYPE,
        TC3_PAYLOAD,
        1551113065,
    )
    assert auth == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
    )


def test_tc3_signature_covers_the_body() -> None:
    args = (TC3_SECRET_ID, TC3_SECRET_KEY, "hunyuan", "hunyuan.tencentcloudapi.com", "application/json")
    assert tc3.authorization(*args, b"{}", 1700000000) != tc3.authorization(*args, b"{ }", 1700000000)


# -- AWS SigV4 (Bedrock) against botocore's signer ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke",
        "https://bedrock-runtime.eu-west-3.amazonaws.com/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0"
        "/invoke-with-response-stream",
    ],
)
@pytest.mark.parametrize("session_token", ["", "FwoGZXIvYXdzEXAMPLETOKEN"])
def test_sigv4_matches_botocore(monkeypatch: pytest.MonkeyPatch, url: str, session_token: str) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: moment.replace(tzinfo=None))
    body = b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":16,"messages":[]}'
    region = url.split(".")[1]
    ours = dict(
        sigv4.sign(
            "POST",
            url,
            body,
            access_key="AKIDEXAMPLE",
            secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region=region,
            service="bedrock",
            session_token=session_token,
            now=moment,
        )
    )
    headers = {"content-type": "application/json", "x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    credentials = Credentials(
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", session_token or None
    )
    SigV4Auth(credentials, "bedrock", region).add_auth(request)
    assert ours[b"authorization"].decode() == request.headers["Authorization"]
    assert ours[b"x-amz-date"].decode() == request.headers["X-Amz-Date"]
    if session_token:
        assert ours[b"x-amz-security-token"].decode() == request.headers["X-Amz-Security-Token"]


# -- the Vertex service-account JWT against google-auth's -----------------------------------------


def _account() -> tuple[ServiceAccount, dict[str, str], bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    info = {
        "type": "service_account",
        "project_id": "mock-project",
        "private_key_id": "kid-1234",
        "private_key": pem,
        "client_email": "relay@mock-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    account = ServiceAccount(
        info["client_email"], pem, info["project_id"], info["token_uri"], info["private_key_id"]
    )
    return account, info, public


def _segments(token: str) -> tuple[dict[str, object], dict[str, object], str]:
    def part(text: str) -> dict[str, object]:
        loaded = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        assert isinstance(loaded, dict)
        return loaded

    header, claims, signature = token.split(".")
    return part(header), part(claims), signature


def test_vertex_jwt_matches_google_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    from google.auth import jwt as google_jwt
    from google.oauth2 import service_account

    account, info, public = _account()
    issued = int(time.time()) - 7200  # two hours ago: google-auth must find it expired
    monkeypatch.setattr(
        "google.auth._helpers.utcnow", lambda: datetime.fromtimestamp(issued, UTC).replace(tzinfo=None)
    )
    theirs = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    reference = theirs._make_authorization_grant_assertion()
    reference = reference.decode() if isinstance(reference, bytes) else reference
    ours = signed_jwt(account, now=issued)
    our_header, our_claims, _ = _segments(ours)
    their_header, their_claims, _ = _segments(reference)
    assert our_header == their_header
    assert our_claims == their_claims
    # google-auth's verifier accepts our token (RS256 over our own signing input).
    monkeypatch.undo()
    with pytest.raises(ValueError, match="expired"):
        google_jwt.decode(ours, certs=public, audience=info["token_uri"])
    fresh = signed_jwt(account)
    assert google_jwt.decode(fresh, certs=public, audience=info["token_uri"])["iss"] == info["client_email"]


# -- Xunfei Spark's signed WebSocket URL -----------------------------------------------------------

# Xunfei's "通用鉴权URL生成说明" worked example: host, date, request line and APISecret, and the
# first bytes of the HMAC-SHA256 digest the document prints.
SPARK_SECRET = "MjlmNzkzNmZkMDQ2OTc0ZDdmNGE2ZTZi"
SPARK_DATE = "Fri, 05 May 2023 10:43:39 GMT"
SPARK_DIGEST_PREFIX = b"\xcf\x98\x07v\xed\xe9\xc5Ux\x0032\x93\x8e\xbb"


def test_spark_signature_matches_xunfeis_documented_example() -> None:
    assert spark.http_date(datetime(2023, 5, 5, 10, 43, 39, tzinfo=UTC)) == SPARK_DATE
    sig = spark.signature(SPARK_SECRET, "spark-api.xf-yun.com", SPARK_DATE, "/v1.1/chat")
    assert base64.b64decode(sig).startswith(SPARK_DIGEST_PREFIX)
    assert sig == "z5gHdu3pxVV4ADMyk467wOWDQ9q6BQzR3nfMTjc/DaQ="


def test_spark_signed_url_carries_host_date_and_authorization() -> None:
    url = spark.signed_url(
        "wss://spark-api.xf-yun.com/v3.5/chat",
        "key123",
        SPARK_SECRET,
        datetime(2023, 5, 5, 10, 43, 39, tzinfo=UTC),
    )
    base, _, query = url.partition("?")
    fields = dict(parse_qsl(query))
    assert base == "wss://spark-api.xf-yun.com/v3.5/chat"
    assert fields["host"] == "spark-api.xf-yun.com" and fields["date"] == SPARK_DATE
    origin = base64.b64decode(fields["authorization"]).decode()
    expected = spark.signature(SPARK_SECRET, "spark-api.xf-yun.com", SPARK_DATE, "/v3.5/chat")
    assert origin == (
        f'api_key="key123", algorithm="hmac-sha256", headers="host date request-line", signature="{expected}"'
    )


@pytest.mark.parametrize(
    ("model", "other", "version", "domain", "url"),
    [
        ("SparkDesk-v3.5", "", "v3.5", "generalv3.5", "wss://spark-api.xf-yun.com/v3.5/chat"),
        ("SparkDesk", "v4.0", "v4.0", "4.0Ultra", "wss://spark-api.xf-yun.com/v4.0/chat"),
        ("SparkDesk", "", "v1.1", "lite", "wss://spark-api.xf-yun.com/v1.1/chat"),
        (
            "SparkDesk-v3.1-128K",
            "v3.1-128K",
            "v3.1-128K",
            "pro-128k",
            "wss://spark-api.xf-yun.com/chat/pro-128k",
        ),
    ],
)
def test_spark_versions(model: str, other: str, version: str, domain: str, url: str) -> None:
    assert versions.version_of(model, other) == version
    assert versions.domain_of(version) == domain
    assert versions.chat_url("", version) == url
