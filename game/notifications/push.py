"""Sending one Web Push message (RFC 8030, encrypted per RFC 8291 aes128gcm, signed per RFC 8292 VAPID).

A `Sender` lives as long as a worker: it holds the worker's one aiohttp session and the parsed VAPID key.
Every call gets a fresh claims dict, since pywebpush writes `aud` and `exp` into the one it is given.
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
# VAPID tokens live 12 hours: RFC 8292 allows at most 24.
VAPID_TTL_S = 12 * 3600


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

    async def send(
        self, endpoint: str, p256dh: str, auth: str, data: str, ttl_s: int, urgency: str, topic: str | None
    ) -> Answer:
        headers: dict[str, str | int | float] = {"Urgency": urgency}
        if topic:
            headers["Topic"] = topic
        # Fresh every call: webpush_async fills in `aud` from the endpoint it was first given otherwise.
        claims: dict[str, str | int] = {"sub": self.subject, "exp": int(time.time()) + VAPID_TTL_S}
        try:
            response = await webpush_async(
                {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                data,
                vapid_private_key=self.signer,
                vapid_claims=claims,
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
