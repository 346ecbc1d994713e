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
    # FORBIDDEN
    WRONG_ROLE = "WRONG_ROLE"  # signed in, but as a role this field is not for
    MISSING_SCOPE = "MISSING_SCOPE"  # the API key lacks the scope this field needs
    # CONFLICT
    EMAIL_TAKEN = "EMAIL_TAKEN"  # an account with this email exists
