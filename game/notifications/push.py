"""Sending one Web Push message (RFC 8030, encrypted per RFC 8291 aes128gcm, signed per RFC 8292 VAPID).

A `Sender` lives as long as a worker: it holds the worker's one aiohttp session, the parsed VAPID key and the
VAPID token of each push service it talks to. A VAPID token names only the push service (`aud`), the sender
(`sub`) and an expiry: nothing in it is bound to one message, so RFC 8292 lets it be sent with many. Signing
one is an ECDSA signature, about a quarter of a push's CPU; the sender signs one per push service and hour
instead of one per push, each from a fresh claims dict (py_vapid and pywebpush write into the one they get).
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import aiohttp
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async

from game.errors import bad_input
from game.notifications import vapid
from game.notifications.errors import NotificationReason

NOT_ALLOWED = NotificationReason.ENDPOINT_NOT_ALLOWED

LOOPBACK = ("localhost",)
# VAPID tokens live 12 hours (RFC 8292 allows at most 24) and are signed again after one hour of use, so a
# push service never sees one with less than 11 hours left.
VAPID_TTL_S = 12 * 3600
VAPID_REUSE_S = 3600
# Push services a worker talks to: a handful in production (FCM, Mozilla, Apple, WNS); bounded all the same.
VAPID_AUDIENCES = 256


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    for pattern in allowed:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and host != pattern[2:]:
                return True
        elif host == pattern:
            return True
    return False


def check_endpoint(endpoint: str, allowed: tuple[str, ...]) -> str:
    """The endpoint if the server may POST to it: https to an allowed push service, or http(s) to a loopback
    host that is itself listed (tests). Anything else would let a customer aim the server at any URL."""
    try:
        parts = urlsplit(endpoint)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise bad_input("endpoint is not a URL", "endpoint") from None
    if len(endpoint) > 1000 or not host or parts.username or parts.password:
        raise bad_input("endpoint is not a push service URL", "endpoint", reason=NOT_ALLOWED)
    if not _host_allowed(host, allowed):
        raise bad_input(
            f"endpoint host {host!r} is not an allowed push service", "endpoint", reason=NOT_ALLOWED
        )
    if _is_loopback(host):
        if parts.scheme not in ("http", "https"):
            raise bad_input("endpoint must be an http(s) URL", "endpoint", reason=NOT_ALLOWED)
    elif parts.scheme != "https" or port not in (None, 443):
        raise bad_input("endpoint must be https on the standard port", "endpoint", reason=NOT_ALLOWED)
    return endpoint


def check_keys(p256dh: str, auth: str) -> tuple[str, str]:
    try:
        point, secret = vapid.b64url_decode(p256dh.strip()), vapid.b64url_decode(auth.strip())
    except (ValueError, TypeError):
        raise bad_input("keys must be base64url", "keys") from None
    if len(point) != 65 or point[0] != 4:
        raise bad_input("keys.p256dh must be an uncompressed P-256 point", "keys.p256dh")
    if len(secret) != 16:
        raise bad_input("keys.auth must be 16 bytes", "keys.auth")
    return p256dh.strip(), auth.strip()


@dataclass(frozen=True, slots=True)
class Answer:
    status: int | None  # None: no answer (network error, timeout)
    reason: str
    retry_after_s: float | None = None


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        return max((parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


class Sender:
    def __init__(
        self, session: aiohttp.ClientSession, private_key: str, subject: str, timeout_s: float
    ) -> None:
        self.session = session
        self.signer: Vapid02 = vapid.signer(private_key)
        self.subject = subject
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._tokens: dict[str, tuple[float, str]] = {}  # audience -> (sign again after, Authorization)

    def authorization(self, endpoint: str, now: float | None = None) -> str:
        """The VAPID `Authorization` header for the endpoint's push service, signed at most an hour ago."""
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time() if now is None else now
        known = self._tokens.get(audience)
        if known is not None and now < known[0]:
            return known[1]
        claims = {"sub": self.subject, "aud": audience, "exp": int(now) + VAPID_TTL_S}
        header = str(self.signer.sign(claims)["Authorization"])
        if len(self._tokens) >= VAPID_AUDIENCES:
            self._tokens.clear()
        self._tokens[audience] = (now + VAPID_REUSE_S, header)
        return header

    async def send(
        self, endpoint: str, p256dh: str, auth: str, data: str, ttl_s: int, urgency: str, topic: str | None
    ) -> Answer:
        headers: dict[str, str | int | float] = {
            "Urgency": urgency,
            "Authorization": self.authorization(endpoint),
        }
        if topic:
            headers["Topic"] = topic
        try:
            # No claims: the token is already in the headers. The body is still encrypted per message.
            response = await webpush_async(
                {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                data,
                ttl=ttl_s,
                headers=headers,
                timeout=self.timeout,  # type: ignore[arg-type,unused-ignore]  # forwarded to aiohttp
                aiohttp_session=self.session,
            )
        except WebPushException as exc:
            status = exc.status_code
            retry = _retry_after(exc.retry_after)
            return Answer(status, str(exc.message)[:300], retry)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Answer(None, f"{type(exc).__name__}: {exc}"[:300])
        assert isinstance(response, aiohttp.ClientResponse)
        response.release()
        return Answer(response.status, response.reason or "")
