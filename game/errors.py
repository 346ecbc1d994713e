"""Error codes of the domain; schema/ translates them once into GraphQL `extensions.code` and `.reason`.

The code says what kind of failure it is (the same few for the whole API); the reason, when there is one, says
which outcome of which domain, from the enum in that domain's `errors.py`, for clients that branch on it.
Plain field validation (a value out of range, a malformed id) carries `field` and no reason.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


class DomainError(Exception):
    """An expected failure with a stable code; raising it inside a transaction rolls the transaction back."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        field: str | None = None,
        reason: StrEnum | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.reason = reason
        # RATE_LIMITED: how long until the same attempt would be accepted.
        self.retry_after_s = retry_after_s


def bad_input(message: str, field: str | None = None, *, reason: StrEnum | None = None) -> DomainError:
    return DomainError(ErrorCode.BAD_USER_INPUT, message, field=field, reason=reason)


def not_found(message: str, reason: StrEnum) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, message, reason=reason)
