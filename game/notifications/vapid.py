"""VAPID keys (RFC 8292) as Tessera stores them: the private key as base64url of its 32-byte scalar,
the public key as base64url of the uncompressed P-256 point, as browsers take `applicationServerKey`."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def generate() -> tuple[str, str]:
    """A new (private, public) pair."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    return private, public_key(private)


def private_key(private: str) -> ec.EllipticCurvePrivateKey:
    """ValueError on anything but a base64url 32-byte P-256 scalar."""
    raw = b64url_decode(private.strip())
    if len(raw) != 32:
        raise ValueError("a VAPID private key is the base64url of 32 bytes")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def public_key(private: str) -> str:
    point = (
        private_key(private)
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return b64url(point)


def signer(private: str) -> Vapid02:
    """Parsed once per worker: pywebpush would parse a string key again on every call."""
    return Vapid02(private_key=private_key(private))
