"""Error codes of the domain; schema/ translates them once into GraphQL `extensions.code`."""

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

    def __init__(self, code: ErrorCode, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def bad_input(message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorCode.BAD_USER_INPUT, message, field=field)


def not_found(message: str) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, message)
