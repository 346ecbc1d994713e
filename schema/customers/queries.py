from __future__ import annotations

import strawberry

from game.customers.service import readable_by
from schema.context import Info
from schema.customers.types import Customer
from schema.permissions import IsCustomer


@strawberry.type
class CustomerQueries:
    @strawberry.field(description="The signed-in customer.", permission_classes=[IsCustomer])
    async def me(self, info: Info) -> Customer:
        customer = await readable_by(info.context.viewer).get()
        return Customer.from_model(customer)
