"""Who is calling: the subject every read and write is scoped to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    CUSTOMER = "customer"
    MARKETER = "marketer"
    SERVICE = "service"


class Scope(StrEnum):
    """What an API key may do."""

    PURCHASES = "purchases"
    ECO = "eco"
    REWARDS = "rewards"  # tills: validate and consume coupons


@dataclass(frozen=True, slots=True)
class Viewer:
    role: Role = Role.ANONYMOUS
    id: UUID | None = None
    # For API keys: the namespace of their idempotency keys (see ApiKey.source).
    source: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def customer_id(self) -> UUID | None:
        return self.id if self.role is Role.CUSTOMER else None


ANONYMOUS = Viewer()
