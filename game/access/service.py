"""Marketer accounts and API keys."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from game.access.errors import AccessReason
from game.access.models import ApiKey, Marketer
from game.access.passwords import hash_password, validate_password, verify_password
from game.access.viewer import Role, Scope, Viewer
from game.customers.service import MAX_EMAIL_LENGTH, email_key, normalise_email
from game.errors import DomainError, ErrorCode, bad_input
from game.sql import UNAVAILABLE, fetch_one

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
KEY_PREFIX = "tsk_"


async def create_marketer(email: str, password: str, display_name: str = "") -> Marketer:
    email = normalise_email(email)
    await validate_password(password, email, display_name)
    password_hash = await hash_password(password)  # before the transaction: no connection held meanwhile
    try:
        async with in_transaction():
            return await Marketer.create(
                email=email, password_hash=password_hash, display_name=display_name.strip()[:80]
            )
    except IntegrityError:
        raise DomainError(
            ErrorCode.CONFLICT,
            "a marketer with this email already exists",
            field="email",
            reason=AccessReason.EMAIL_TAKEN,
        ) from None


async def authenticate_marketer(email: str, password: str) -> Marketer:
    key = email_key(email)
    marketer = await Marketer.get_or_none(email=key) if len(key) <= MAX_EMAIL_LENGTH else None
    if not await verify_password(marketer.password_hash if marketer else None, password) or marketer is None:
        raise DomainError(
            ErrorCode.UNAUTHENTICATED, "invalid email or password", reason=AccessReason.INVALID_CREDENTIALS
        )
    if marketer.disabled_at is not None:
        raise DomainError(
            ErrorCode.UNAUTHENTICATED, "this account is disabled", reason=AccessReason.ACCOUNT_DISABLED
        )
    return marketer


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(
    name: str, scopes: list[str] | None = None, source: str | None = None
) -> tuple[ApiKey, str]:
    """Returns the stored key and its secret; the secret is shown once and never stored."""
    if not _NAME.match(name):
        raise bad_input("name: letters, digits, '.', '_' or '-', at most 80 characters", "name")
    wanted = scopes if scopes is not None else [Scope.PURCHASES.value]
    unknown = sorted(set(wanted) - {s.value for s in Scope})
    if unknown:
        raise bad_input(f"unknown scopes: {', '.join(unknown)}", "scopes")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = await ApiKey.create(
        name=name,
        source=source or name,
        prefix=secret[: len(KEY_PREFIX) + 6],
        key_hash=_hash_key(secret),
        scopes=sorted(set(wanted)),
    )
    return key, secret


async def revoke_api_keys(name: str) -> int:
    """Revokes every live key with this name (or this prefix); returns how many."""
    now = datetime.now(UTC)
    by_name = await ApiKey.filter(name=name, revoked_at=None).update(revoked_at=now)
    by_prefix = await ApiKey.filter(prefix=name, revoked_at=None).update(revoked_at=now)
    return by_name + by_prefix


async def viewer_for_api_key(secret: str) -> Viewer | None:
    if not secret.startswith(KEY_PREFIX) or len(secret) > 100:
        return None
    # Every API request asks this: raw SQL, see game/sql.py.
    try:
        row = await fetch_one(
            "SELECT source, scopes FROM api_key WHERE key_hash = $1 AND revoked_at IS NULL", _hash_key(secret)
        )
    except UNAVAILABLE:
        raise DomainError(
            ErrorCode.SERVICE_UNAVAILABLE, "the API key cannot be checked right now; retry shortly"
        ) from None
    if row is None:
        return None
    return Viewer(role=Role.SERVICE, source=row["source"], scopes=frozenset(json.loads(row["scopes"])))
