from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from game.customers.models import Customer as CustomerModel
from game.ledger.service import history
from schema.context import Info
from schema.ledger.types import LedgerConnection, Points, decode_cursor


@strawberry.type(description="A member of the loyalty programme. Only ever the signed-in customer themself.")
class Customer:
    id: strawberry.ID
    email: str
    display_name: str
    locale: str
    timezone: str
    created_at: datetime

    @strawberry.field(description="The points balance.")
    async def points(self, info: Info) -> Points:
        return Points(balance=await info.context.loaders.balance.load(UUID(self.id)))

    @strawberry.field(description="Ledger entries, newest first, paginated with `first` and `after`.")
    async def ledger(self, first: int = 20, after: str | None = None) -> LedgerConnection:
        page = await history(UUID(self.id), first=first, before_id=decode_cursor(after) if after else None)
        return LedgerConnection.from_page(page)

    @classmethod
    def from_model(cls, customer: CustomerModel) -> Customer:
        return cls(
            id=strawberry.ID(str(customer.id)),
            email=customer.email,
            display_name=customer.display_name,
            locale=customer.locale,
            timezone=customer.timezone,
            created_at=customer.created_at,
        )


@strawberry.type(description="A marketer: configures the programme.")
class Marketer:
    id: strawberry.ID
    email: str
    display_name: str


@strawberry.type
class AuthPayload:
    token: str = strawberry.field(description="A JWT to send as 'Authorization: Bearer <token>'.")
    customer: Customer


@strawberry.type
class MarketerAuthPayload:
    token: str
    marketer: Marketer


@strawberry.input
class RegisterInput:
    email: str
    password: str
    display_name: str
    locale: str = "en"
    timezone: str = strawberry.field(default="UTC", description="IANA name, e.g. 'Europe/Paris'.")
