"""IDs the API takes: checked before they reach the database."""

from __future__ import annotations

import strawberry

from game.errors import DomainError, ErrorCode

MAX_ID = 2**31 - 1


def parse_int(value: str, high: int) -> int | None:
    """1..high written in ASCII digits, else None. str.isdigit() also accepts '²' and other scripts'
    digits, which int() refuses or reads; int() refuses more than 4,300 digits: the length comes first."""
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(high)):
        return None
    number = int(value)
    return number if 1 <= number <= high else None


def int_id(value: strawberry.ID, what: str) -> int:
    # Ids are 32-bit in the database; anything else cannot name a row.
    number = parse_int(value, MAX_ID)
    if number is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no {what} with this id")
    return number


def badge_id(value: strawberry.ID) -> int:
    return int_id(value, "badge")


def reference(value: strawberry.ID) -> int:
    """An id given inside an input: one that cannot exist becomes 0, which the domain reports as bad input
    on that field rather than as a missing object."""
    return parse_int(value, MAX_ID) or 0
