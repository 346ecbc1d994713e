"""Why a caller was not let in (`UNAUTHENTICATED`, `FORBIDDEN`) or an account not made (`CONFLICT`)."""

from __future__ import annotations

from enum import StrEnum


class AccessReason(StrEnum):
    # UNAUTHENTICATED
    CREDENTIALS_REQUIRED = "CREDENTIALS_REQUIRED"  # nothing was sent, and this field needs a token or key
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"  # login: no account with this email and password
    TOKEN_EXPIRED = "TOKEN_EXPIRED"  # log in again
    TOKEN_INVALID = "TOKEN_INVALID"  # not a token this server issued (or tampered with)
    MALFORMED_AUTHORIZATION = "MALFORMED_AUTHORIZATION"  # the header is not `Bearer <token>`
    UNKNOWN_API_KEY = "UNKNOWN_API_KEY"  # never issued, or revoked
    ACCOUNT_GONE = "ACCOUNT_GONE"  # a valid token whose account no longer exists
    ACCOUNT_DISABLED = "ACCOUNT_DISABLED"  # the account is disabled (`tessera disable-marketer`)
    TOKEN_REVOKED = "TOKEN_REVOKED"  # signed out everywhere since this token was issued: log in again
    REFRESH_TOKEN_INVALID = "REFRESH_TOKEN_INVALID"  # unknown, expired or signed out: log in again
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"  # already used once: the session is closed, log in again
    # RATE_LIMITED
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"  # failed logins, or sign-ups, from here: wait `retryAfter`
    ACCOUNT_LOCKED = "ACCOUNT_LOCKED"  # too many failed logins for this account: wait `retryAfter`
    # BAD_USER_INPUT
    WEAK_PASSWORD = "WEAK_PASSWORD"  # too common or too easy to guess: the message says why
    # FORBIDDEN
    WRONG_ROLE = "WRONG_ROLE"  # signed in, but as a role this field is not for
    MISSING_SCOPE = "MISSING_SCOPE"  # the API key lacks the scope this field needs
    # CONFLICT
    EMAIL_TAKEN = "EMAIL_TAKEN"  # an account with this email exists
