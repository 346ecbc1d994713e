from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from game.customers.models import Customer as CustomerModel
from game.ledger.service import history
from game.referrals.service import referral_code
from schema.context import Info
from schema.ledger.types import LedgerConnection, Points, decode_cursor


@strawberry.type(description="A member of the loyalty programme. Only ever the signed-in customer themself.")
class Customer:
    id: strawberry.ID = strawberry.field(
        description="A UUID: what tills and partners send as customerId with their API key."
    )
    email: str = strawberry.field(description="Lowercase, as registered; unique.")
    display_name: str = strawberry.field(description="1 to 80 characters.")
    locale: str = strawberry.field(
        description="A language tag such as 'fr' or 'en-GB'; challenge and badge texts come in its "
        "language when written in it, else in the other."
    )
    timezone: str = strawberry.field(description="IANA name, e.g. 'Europe/Paris'.")
    created_at: datetime = strawberry.field(description="When the customer registered.")

    @strawberry.field(
        description="The customer's referral code to share: 8 characters without 0, O, 1, I or L (case, "
        "spaces "
        "and dashes do not matter when typed)."
    )
    async def referral_code(self) -> str:
        return await referral_code(UUID(self.id))

    @strawberry.field(description="The points: available, pending and soon expiring.")
    async def points(self, info: Info) -> Points:
        customer_id = UUID(self.id)
        return Points(
            balance=await info.context.loaders.balance.load(customer_id),
            customer_id=customer_id,
            expiry_months=info.context.settings.points_expiry_months,
        )

    @strawberry.field(description="Ledger entries, newest first, paginated with `first` and `after`.")
    async def ledger(
        self,
        first: Annotated[int, strawberry.argument(description="Entries per page, 1 to 100.")] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(description="pageInfo.endCursor of the previous page; none for the newest."),
        ] = None,
    ) -> LedgerConnection:
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
    id: strawberry.ID = strawberry.field(description="A UUID.")
    email: str = strawberry.field(description="Lowercase; unique.")
    display_name: str = strawberry.field(description="At most 80 characters; may be empty.")


@strawberry.type(description="A signed-in customer.")
class AuthPayload:
    token: str = strawberry.field(
        description="An access token (JWT) to send as 'Authorization: Bearer <token>'; valid until "
        "expiresAt (15 minutes by default)."
    )
    refresh_token: str = strawberry.field(
        description="Trade it with refreshSession for a new pair before expiresAt; each works once, for 30 "
        "days by default. Keep it secret (the device's secure storage)."
    )
    expires_at: datetime = strawberry.field(description="When the access token expires (UTC).")
    customer: Customer = strawberry.field(description="The customer the token signs in.")


@strawberry.type(description="A signed-in marketer.")
class MarketerAuthPayload:
    token: str = strawberry.field(
        description="An access token (JWT) to send as 'Authorization: Bearer <token>'; valid until "
        "expiresAt (15 minutes by default)."
    )
    refresh_token: str = strawberry.field(
        description="Trade it with refreshSession for a new pair before expiresAt; each works once."
    )
    expires_at: datetime = strawberry.field(description="When the access token expires (UTC).")
    marketer: Marketer = strawberry.field(description="The marketer the token signs in.")


@strawberry.input(description="A new customer account.")
class RegisterInput:
    email: str = strawberry.field(description="At most 254 characters; stored lowercase; unique (CONFLICT).")
    password: str = strawberry.field(description="8 to 256 characters.")
    display_name: str = strawberry.field(description="1 to 80 characters once runs of spaces are collapsed.")
    locale: str = strawberry.field(
        default="en", description="A language tag such as 'fr' or 'en-GB', at most 16 characters."
    )
    timezone: str = strawberry.field(default="UTC", description="IANA name, e.g. 'Europe/Paris'.")
    referral_code: str | None = strawberry.field(
        default=None,
        description="A friend's referral code; BAD_USER_INPUT with reason UNKNOWN_CODE "
        "if no customer has it, and then no account is created.",
    )
    device_id: str | None = strawberry.field(
        default=None,
        description="The app's device identifier (1 to 128 printable characters), kept to spot one device "
        "behind a referrer and their referee.",
    )


@strawberry.type(description="A refreshed session: a new access token and the next refresh token.")
class SessionTokens:
    token: str = strawberry.field(
        description="The new access token, for 'Authorization: Bearer <token>'; valid until expiresAt."
    )
    refresh_token: str = strawberry.field(
        description="The next refresh token; the one just used no longer works (using it again closes the "
        "session)."
    )
    expires_at: datetime = strawberry.field(description="When the new access token expires (UTC).")
