"""Customer outcomes a client may branch on."""

from __future__ import annotations

from enum import StrEnum


class CustomerReason(StrEnum):
    UNKNOWN_CUSTOMER = "UNKNOWN_CUSTOMER"  # NOT_FOUND: no customer with this id in the programme
