from __future__ import annotations

import strawberry

from schema.context import Info
from schema.customers.types import Customer
from schema.permissions import IsCustomer


@strawberry.type
class CustomerQueries:
    @strawberry.field(description="The signed-in customer.", permission_classes=[IsCustomer])
    async def me(self, info: Info) -> Customer:
        return Customer.from_model(await info.context.signed_in_customer())
