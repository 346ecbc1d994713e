"""Sessions: short-lived access tokens (JWTs) and rotating refresh tokens stored hashed.

Signing in opens a session: an access token valid for minutes and a refresh token valid for weeks. The app
trades the refresh token for a new pair before the access token expires (`refresh`); each refresh token works
once, and a used one presented again closes its whole session, since only a copy can explain it. Access
tokens carry the account's `token_version`: signing out everywhere (or disabling a marketer) bumps it, and
every request checks it (tokens.py, standing.py), so no token outlives its account's will.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from redis.asyncio import Redis
from tortoise.transactions import in_transaction

from game.access.errors import AccessReason
from game.access.models import AuthSession, Marketer
from game.access.standing import announce
from game.access.tokens import issue_token
from game.access.viewer import Role
from game.customers.models import Customer
from game.customers.service import email_key
from game.errors import DomainError, ErrorCode
from game.sql import execute, fetch_one


@dataclass(frozen=True, slots=True)
class Lifetimes:
    secret: str
    access_s: int
    refresh_s: int


@dataclass(frozen=True, slots=True)
class Tokens:
    access: str
    refresh: str
    expires_at: datetime  # the access token's
    subject_id: UUID
    role: Role


def _digest(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


def _table(role: Role) -> str:
    return "customer" if role is Role.CUSTOMER else "marketer"


async def token_version(role: Role, subject_id: UUID) -> int:
    row = await fetch_one(f"SELECT token_version FROM {_table(role)} WHERE id = $1", subject_id)
    return int(row["token_version"]) if row else 0


async def open_session(
    subject_id: UUID, role: Role, lifetimes: Lifetimes, family: UUID | None = None
) -> Tokens:
    """A new access token and refresh token; `family` carries an existing session on (a refresh)."""
    now = datetime.now(UTC)
    version = await token_version(role, subject_id)
    access = issue_token(lifetimes.secret, lifetimes.access_s, subject_id, role, version)
    refresh = secrets.token_urlsafe(32)
    await AuthSession.create(
        token_hash=_digest(refresh),
        family=family or uuid4(),
        subject_id=subject_id,
        role=role.value,
        created_at=now,
        expires_at=now + timedelta(seconds=lifetimes.refresh_s),
    )
    return Tokens(access, refresh, now + timedelta(seconds=lifetimes.access_s), subject_id, role)


def _refused(reason: AccessReason, message: str) -> DomainError:
    return DomainError(ErrorCode.UNAUTHENTICATED, message, reason=reason)


async def refresh(refresh_token: str, lifetimes: Lifetimes) -> Tokens:
    """Trades a refresh token for a new pair, once. UNAUTHENTICATED when it is unknown, expired, signed
    out, or its account is gone or disabled; REFRESH_TOKEN_REUSED (the session closed) when used before."""
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        session = (
            await AuthSession.select_for_update()
            .using_db(conn)
            .get_or_none(token_hash=_digest(refresh_token))
        )
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            raise _refused(AccessReason.REFRESH_TOKEN_INVALID, "this session has ended; log in again")
        if session.used_at is not None:
            await (
                AuthSession.filter(family=session.family, revoked_at=None)
                .using_db(conn)
                .update(revoked_at=now)
            )
            stolen = _refused(
                AccessReason.REFRESH_TOKEN_REUSED, "this refresh token was already used; log in again"
            )
        else:
            stolen = None
            session.used_at = now
            await session.save(using_db=conn, update_fields=["used_at"])
    if stolen is not None:
        raise stolen  # after the commit: the revocation stands
    role = Role(session.role)
    await _check_account(role, session.subject_id)
    return await open_session(session.subject_id, role, lifetimes, session.family)


async def _check_account(role: Role, subject_id: UUID) -> None:
    if role is Role.CUSTOMER:
        if not await Customer.filter(id=subject_id).exists():
            raise _refused(AccessReason.ACCOUNT_GONE, "this account no longer exists")
        return
    marketer = await Marketer.get_or_none(id=subject_id)
    if marketer is None:
        raise _refused(AccessReason.ACCOUNT_GONE, "this account no longer exists")
    if marketer.disabled_at is not None:
        raise _refused(AccessReason.ACCOUNT_DISABLED, "this account is disabled")


async def close(refresh_token: str) -> bool:
    """Signs one session out (its refresh token and those issued after it); True when it was open."""
    session = await AuthSession.get_or_none(token_hash=_digest(refresh_token))
    if session is None:
        return False
    closed = await AuthSession.filter(family=session.family, revoked_at=None).update(
        revoked_at=datetime.now(UTC)
    )
    return closed > 0


async def close_all(redis: Redis, subject_id: UUID, role: Role) -> None:
    """Signs the account out everywhere: every refresh token revoked, every access token refused from now
    (announced to every API process after the commit)."""
    async with in_transaction() as conn:
        await execute(
            conn, f"UPDATE {_table(role)} SET token_version = token_version + 1 WHERE id = $1", subject_id
        )
        await (
            AuthSession.filter(subject_id=subject_id, revoked_at=None)
            .using_db(conn)
            .update(revoked_at=datetime.now(UTC))
        )
    await announce(redis, role, subject_id)


async def disable_marketer(redis: Redis, email: str) -> bool:
    """Refuses the marketer from now on, whatever tokens they hold; False when no marketer has that email."""
    marketer = await Marketer.get_or_none(email=email_key(email))
    if marketer is None:
        return False
    await Marketer.filter(id=marketer.id).update(disabled_at=datetime.now(UTC))
    await close_all(redis, marketer.id, Role.MARKETER)
    return True
