"""Turning request credentials into a Viewer: JWTs for people, X-API-Key for servers.

Pure of any settings object: callers pass the secret and the lifetime, so the API (app/, schema/) and any
other process share one implementation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

from game.access.errors import AccessReason
from game.access.service import viewer_for_api_key
from game.access.standing import standings
from game.access.viewer import ANONYMOUS, Role, Viewer

ISSUER = "tessera"
ALGORITHM = "HS256"


def issue_token(secret: str, ttl_s: int, subject: UUID, role: Role, version: int = 0) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": str(subject),
        "role": role.value,
        "ver": version,
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_s),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@dataclass(frozen=True, slots=True)
class Authentication:
    viewer: Viewer
    # Why credentials that were sent were refused; permissions report it instead of a bare "sign in".
    error: str | None = None
    reason: AccessReason | None = None
    # The access token's expiry and its account's token version when it was issued.
    expires_at: datetime | None = None
    version: int = 0


# A session sends the same token with every request, and decoding it (signature, claims) was a tenth of a
# small request. A token that decoded is remembered with what it yields, by secret and token; its expiry is
# checked again on every use, as the decoder would. Refusals are not remembered.
_decoded: dict[tuple[str, str], Authentication] = {}
_MAX_DECODED = 10_000


def viewer_from_token(secret: str, token: str) -> Authentication:
    known = _decoded.get((secret, token))
    if known is not None and known.expires_at is not None and known.expires_at > datetime.now(UTC):
        return known
    auth = _decode(secret, token)
    if auth.error is None:
        if len(_decoded) >= _MAX_DECODED:
            _decoded.clear()
        _decoded[(secret, token)] = auth
    return auth


def _decode(secret: str, token: str) -> Authentication:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "role", "exp", "iat"]},
        )
        role = Role(claims["role"])
        if role not in (Role.CUSTOMER, Role.MARKETER):
            raise ValueError(role)
        version = claims.get("ver", 0)
        expires_at = datetime.fromtimestamp(int(claims["exp"]), UTC)
        viewer = Viewer(role=role, id=UUID(claims["sub"]))
        return Authentication(
            viewer, expires_at=expires_at, version=version if isinstance(version, int) else -1
        )
    except jwt.ExpiredSignatureError:
        return Authentication(ANONYMOUS, "the token has expired; log in again", AccessReason.TOKEN_EXPIRED)
    except (jwt.InvalidTokenError, ValueError):
        return Authentication(ANONYMOUS, "the token is not valid", AccessReason.TOKEN_INVALID)


async def authenticate(secret: str, headers: Mapping[str, str]) -> Authentication:
    """An X-API-Key, else an `Authorization: Bearer <JWT>`, else anonymous (header names in lower case)."""
    api_key = headers.get("x-api-key")
    if api_key:
        viewer = await viewer_for_api_key(api_key.strip())
        return (
            Authentication(viewer)
            if viewer
            else Authentication(ANONYMOUS, "the API key is unknown or revoked", AccessReason.UNKNOWN_API_KEY)
        )
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if not authorization:
        return Authentication(ANONYMOUS)
    if scheme.lower() != "bearer" or not token:
        return Authentication(
            ANONYMOUS, "use 'Authorization: Bearer <token>'", AccessReason.MALFORMED_AUTHORIZATION
        )
    return await _still_valid(viewer_from_token(secret, token.strip()))


async def _still_valid(auth: Authentication) -> Authentication:
    """A well-signed token is refused when its account is gone or disabled, or it was revoked since (an
    indexed read, remembered a few seconds by a listening API process: standing.py)."""
    viewer = auth.viewer
    if viewer.id is None or viewer.role not in (Role.CUSTOMER, Role.MARKETER):
        return auth
    account = await standings.of(viewer.role, viewer.id)
    if account is not None and account.token_version < auth.version:
        # Versions only grow: a token newer than what this process remembers means the memory is behind (a
        # sign-out everywhere it has not heard of yet, then a new sign-in), not that the token is revoked.
        account = await standings.of(viewer.role, viewer.id, fresh=True)
    if account is None:
        return Authentication(ANONYMOUS, "this account no longer exists", AccessReason.ACCOUNT_GONE)
    if account.disabled:
        return Authentication(ANONYMOUS, "this account is disabled", AccessReason.ACCOUNT_DISABLED)
    if account.token_version != auth.version:
        return Authentication(ANONYMOUS, "signed out since; log in again", AccessReason.TOKEN_REVOKED)
    return auth
