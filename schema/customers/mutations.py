from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from game.access.service import authenticate_marketer
from game.access.tokens import issue_token
from game.access.viewer import Role
from game.customers.service import authenticate, existing_customer_id, register
from game.customers.tags import set_tags
from game.referrals.service import join, referrer_of_code, validate_device_id
from schema.context import Info
from schema.customers.types import AuthPayload, Customer, Marketer, MarketerAuthPayload, RegisterInput
from schema.permissions import IsMarketer


def _token(info: Info, subject: UUID, role: Role) -> str:
    settings = info.context.settings
    return issue_token(settings.jwt_secret, settings.jwt_ttl_s, subject, role)


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(name="register", description="Create a customer account and sign in (anyone).")
    async def register_customer(
        self, info: Info, input: Annotated[RegisterInput, strawberry.argument(description="The new account.")]
    ) -> AuthPayload:
        validate_device_id(input.device_id)
        if input.referral_code is not None:  # checked before the account exists: a refusal creates nothing
            await referrer_of_code(input.referral_code)
        customer = await register(
            input.email, input.password, input.display_name, input.locale, input.timezone
        )
        await join(customer.id, input.referral_code, input.device_id)
        token = _token(info, customer.id, Role.CUSTOMER)
        return AuthPayload(token=token, customer=Customer.from_model(customer))

    @strawberry.mutation(description="Sign in as a customer (anyone); UNAUTHENTICATED if either is wrong.")
    async def login(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="As registered; case does not matter.")],
        password: Annotated[str, strawberry.argument(description="The account's password.")],
    ) -> AuthPayload:
        customer = await authenticate(email, password)
        token = _token(info, customer.id, Role.CUSTOMER)
        return AuthPayload(token=token, customer=Customer.from_model(customer))

    @strawberry.mutation(description="Sign in as a marketer (anyone); UNAUTHENTICATED if either is wrong.")
    async def marketer_login(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The marketer's email; case does not matter.")],
        password: Annotated[str, strawberry.argument(description="The marketer's password.")],
    ) -> MarketerAuthPayload:
        marketer = await authenticate_marketer(email, password)
        token = _token(info, marketer.id, Role.MARKETER)
        return MarketerAuthPayload(
            token=token,
            marketer=Marketer(
                id=strawberry.ID(str(marketer.id)), email=marketer.email, display_name=marketer.display_name
            ),
        )


@strawberry.type(description="A customer's tags, as now stored.")
class CustomerTags:
    customer_id: strawberry.ID = strawberry.field(description="The customer's UUID.")
    tags: list[str] = strawberry.field(description="Sorted, without duplicates.")


@strawberry.type
class CustomerTagMutations:
    @strawberry.mutation(
        description="Replace a customer's tags, which challenge audiences target (marketer).",
        permission_classes=[IsMarketer],
    )
    async def set_customer_tags(
        self,
        customer_id: Annotated[
            strawberry.ID, strawberry.argument(description="The customer's UUID; NOT_FOUND if none has it.")
        ],
        tags: Annotated[
            list[str],
            strawberry.argument(
                description="The whole new set, at most 50, each 1 to 40 of a-z, 0-9, '_', ':', '-' "
                "starting with a letter or digit; empty clears them."
            ),
        ],
    ) -> CustomerTags:
        uid = await existing_customer_id(str(customer_id))
        return CustomerTags(customer_id=customer_id, tags=await set_tags(uid, tags))
