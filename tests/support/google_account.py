"""A Google service account for Vertex AI tests: a fresh RSA key and the account's JSON."""

from __future__ import annotations

import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def rsa_pems() -> tuple[str, str]:
    """A new 2048-bit RSA key: (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def service_account(email: str, private_pem: str, token_uri: str) -> str:
    """The service-account JSON a Vertex AI channel's key holds (project ``mock-project``)."""
    return orjson.dumps(
        {
            "type": "service_account",
            "project_id": "mock-project",
            "private_key_id": "k1",
            "private_key": private_pem,
            "client_email": email,
            "token_uri": token_uri,
        }
    ).decode()
