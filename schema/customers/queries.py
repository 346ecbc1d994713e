from __future__ import annotations

import strawberry

from game.customers.service import readable_by
from game.errors import DomainError, ErrorCode
from schema.context import Info
from schema.customers.types import Customer
from schema.permissions import IsCustomer


@strawberry.type
class CustomerQueries:
    @strawberry.field(description="The signed-in customer.", permission_classes=[IsCustomer])
    async def me(self, info: Info) -> Customer:
        customer = await readable_by(info.context.viewer).first()
        if customer is None:
            # A valid token whose account is gone (erased on request, say).
            raise DomainError(ErrorCode.UNAUTHENTICATED, "this account no longer exists")
        return Customer.from_model(customer)
