"""A real Web Push receiver for the tests: what a browser's push service does with a message, on localhost.

It checks the VAPID JWT (RFC 8292: ES256 signed by the key in `k=`, which must be the server's
vapidPublicKey, `aud` the endpoint's origin, `exp` within 24 hours), decrypts the body (RFC 8291 aes128gcm)
with the subscription's private key the test generated, and records what arrived. A test can script a
device's answers: 410, or 429 (with Retry-After) then 201.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from game.notifications.vapid import b64url, b64url_decode
from tests.servers import serving


@dataclass
class Device:
    """A browser's subscription: the keys it would hand to pushManager.subscribe's caller."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def subscription_input(self, user_agent: str = "Firefox test") -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
            "userAgent": user_agent,
        }


@dataclass
class Received:
    token: str
    payload: dict[str, Any]
    headers: dict[str, str]
    claims: dict[str, Any]


@dataclass
class Receiver:
    vapid_public_key: str
    url: str = ""
    devices: dict[str, Device] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    # token -> the statuses to answer next, in order (then 201)
    script: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # why a request failed the checks
    requests: int = 0

    def device(self) -> Device:
        token = b64url(os.urandom(12))
        device = Device(
            token, f"{self.url}/push/{token}", ec.generate_private_key(ec.SECP256R1()), os.urandom(16)
        )
        self.devices[token] = device
        return device

    def answer(self, device: Device, *statuses: tuple[int, dict[str, str]]) -> None:
        self.script[device.token] = list(statuses)

    def payloads(self, device: Device) -> list[dict[str, Any]]:
        return [r.payload for r in self.received if r.token == device.token]

    def _check_vapid(self, request: Request) -> dict[str, Any]:
        scheme, _, params = request.headers.get("authorization", "").partition(" ")
        assert scheme == "vapid", "Authorization is not vapid"
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        assert parts["k"] == self.vapid_public_key, "k= is not the server's vapidPublicKey"
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(parts["k"]))
        claims: dict[str, Any] = jwt.decode(
            parts["t"],
            key,
            algorithms=["ES256"],
            audience=self.url,
            options={"require": ["exp", "aud", "sub"]},
        )
        assert time.time() < claims["exp"] <= time.time() + 24 * 3600, "exp not within 24 h"
        assert str(claims["sub"]).startswith(("mailto:", "https:")), "sub is no contact"
        return claims

    async def _push(self, request: Request) -> Response:
        self.requests += 1
        token = request.path_params["token"]
        device = self.devices.get(token)
        if device is None:
            return Response(status_code=404)
        try:
            claims = self._check_vapid(request)
            assert request.headers.get("content-encoding") == "aes128gcm", "not aes128gcm"
            assert int(request.headers["ttl"]) >= 0, "no TTL"
            body = await request.body()
            plain = http_ece.decrypt(
                body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm"
            )
        except (AssertionError, KeyError, ValueError, jwt.PyJWTError) as exc:
            self.rejected.append(f"{type(exc).__name__}: {exc}")
            return Response(status_code=400)
        planned = self.script.get(token)
        if planned:
            status, headers = planned.pop(0)
            return Response(status_code=status, headers=headers)
        self.received.append(Received(token, json.loads(plain), dict(request.headers), claims))
        return Response(status_code=201)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/push/{token}", self._push, methods=["POST"])])


@asynccontextmanager
async def receiving(vapid_public_key: str) -> AsyncIterator[Receiver]:
    receiver = Receiver(vapid_public_key)
    async with serving(receiver.app()) as url:
        receiver.url = url
        yield receiver
