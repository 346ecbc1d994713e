from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import strawberry

from game.customers.models import Customer
from game.ledger.service import balance_of
from game.rewards import service
from game.rewards.errors import RewardReason
from game.rewards.models import RewardKind as Kind
from game.rewards.models import RewardStatus as DefinitionStatus
from schema.context import Info
from schema.ids import int_id
from schema.permissions import CanRedeemCoupons, IsCustomer, IsMarketer
from schema.rewards.types import (
    Coupon,
    Redemption,
    RedemptionConnection,
    Reward,
    RewardDefinition,
    RewardInput,
    RewardStatus,
    decode_cursor,
)


def _customer_id(info: Info) -> UUID:
    customer_id = info.context.viewer.customer_id
    assert customer_id is not None  # IsCustomer
    return customer_id


def _data(input: RewardInput) -> service.RewardInput:
    return service.RewardInput(
        kind=Kind[input.kind.name],
        name=input.name.to_dict(),
        cost_points=input.cost_points,
        description=input.description.to_dict() if input.description else {},
        image_url=input.image_url,
        stock=input.stock,
        per_customer_limit=input.per_customer_limit,
        starts_at=input.starts_at,
        ends_at=input.ends_at,
        coupon_valid_days=input.coupon_valid_days,
        cancel_window_hours=input.cancel_window_hours,
        audience_tags=list(input.audience_tags),
    )


def _reward_id(value: strawberry.ID) -> int:
    return int_id(value, "reward", RewardReason.UNKNOWN_REWARD)


@strawberry.type
class RewardQueries:
    @strawberry.field(
        description="Live rewards offered to the signed-in customer, cheapest first, with the stock left and "
        "whether they can redeem each now (customer).",
        permission_classes=[IsCustomer],
    )
    async def rewards(self, info: Info) -> list[Reward]:
        customer = await Customer.get(id=_customer_id(info))
        balance = await balance_of(customer.id)
        offers = await service.offers(customer.id, list(customer.tags), balance)
        return [Reward.of(offer, customer.locale) for offer in offers]

    @strawberry.field(
        description="The signed-in customer's redemptions, newest first (customer).",
        permission_classes=[IsCustomer],
    )
    async def my_redemptions(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Redemptions per page, 1 to 100.")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="pageInfo.endCursor of the previous page.")
        ] = None,
    ) -> RedemptionConnection:
        page = await service.history(
            _customer_id(info), first=first, before_id=decode_cursor(after) if after else None
        )
        return RedemptionConnection.from_page(page)

    @strawberry.field(
        description="Every reward of the catalogue, or those of one status (marketer).",
        permission_classes=[IsMarketer],
    )
    async def reward_definitions(
        self,
        status: Annotated[
            RewardStatus | None, strawberry.argument(description="Only rewards of this status; null: all.")
        ] = None,
    ) -> list[RewardDefinition]:
        wanted = DefinitionStatus[status.name] if status else None
        return [RewardDefinition.from_model(r) for r in await service.definitions(wanted)]


@strawberry.type
class RewardMutations:
    @strawberry.mutation(description="Create a draft reward (marketer).", permission_classes=[IsMarketer])
    async def create_reward(
        self, input: Annotated[RewardInput, strawberry.argument(description="The new reward.")]
    ) -> RewardDefinition:
        return RewardDefinition.from_model(await service.create_reward(_data(input)))

    @strawberry.mutation(
        description="Replace a reward's definition (marketer); CONFLICT once archived. Redemptions made "
        "keep what they were; a stock below what was redeemed leaves none.",
        permission_classes=[IsMarketer],
    )
    async def update_reward(
        self,
        id: Annotated[strawberry.ID, strawberry.argument(description="The reward's id; NOT_FOUND if none.")],
        input: Annotated[RewardInput, strawberry.argument(description="Every field, anew.")],
    ) -> RewardDefinition:
        return RewardDefinition.from_model(await service.update_reward(_reward_id(id), _data(input)))

    @strawberry.mutation(
        description="Offer a reward to customers: to LIVE (marketer); CONFLICT once archived.",
        permission_classes=[IsMarketer],
    )
    async def publish_reward(
        self,
        id: Annotated[strawberry.ID, strawberry.argument(description="The reward's id; NOT_FOUND if none.")],
    ) -> RewardDefinition:
        return RewardDefinition.from_model(await service.set_status(_reward_id(id), DefinitionStatus.LIVE))

    @strawberry.mutation(
        description="Stop offering a reward: to ARCHIVED, for good (marketer). Coupons issued stay valid.",
        permission_classes=[IsMarketer],
    )
    async def archive_reward(
        self,
        id: Annotated[strawberry.ID, strawberry.argument(description="The reward's id; NOT_FOUND if none.")],
    ) -> RewardDefinition:
        return RewardDefinition.from_model(
            await service.set_status(_reward_id(id), DefinitionStatus.ARCHIVED)
        )

    @strawberry.mutation(
        description="Spend points on a reward (customer): one unit of stock, a coupon code (a receipt for "
        "a donation). The same idempotencyKey answers the first result again. Refusals: CONFLICT, FORBIDDEN "
        "or NOT_FOUND, the message starting with INSUFFICIENT_POINTS, OUT_OF_STOCK, LIMIT_REACHED, "
        "NOT_ELIGIBLE or NOT_AVAILABLE.",
        permission_classes=[IsCustomer],
    )
    async def redeem_reward(
        self,
        info: Info,
        reward_id: Annotated[strawberry.ID, strawberry.argument(description="The reward to redeem.")],
        idempotency_key: Annotated[
            str,
            strawberry.argument(description="1 to 120 printable characters, one per intended redemption."),
        ],
    ) -> Redemption:
        result = await service.redeem(
            info.context.arq, _customer_id(info), _reward_id(reward_id), idempotency_key
        )
        return Redemption.from_model(result.redemption)

    @strawberry.mutation(
        description="Cancel an unused redemption within the reward's cancel window (customer): the points "
        "and the unit of stock go back, once; a second call answers the cancelled redemption. A consumed "
        "coupon cannot be cancelled (COUPON_USED).",
        permission_classes=[IsCustomer],
    )
    async def cancel_redemption(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The redemption's id.")],
    ) -> Redemption:
        redemption = await service.cancel(
            info.context.arq, _customer_id(info), int_id(id, "redemption", RewardReason.UNKNOWN_REDEMPTION)
        )
        return Redemption.from_model(redemption)

    @strawberry.mutation(
        description="Look a coupon code up at a till; changes nothing (API key with the rewards scope).",
        permission_classes=[CanRedeemCoupons],
    )
    async def validate_coupon(
        self,
        code: Annotated[str, strawberry.argument(description="As the customer shows it; dashes ignored.")],
    ) -> Coupon:
        redemption = await service.validate_coupon(code)
        problem = service.coupon_problem(redemption, datetime.now(UTC))
        return Coupon.from_model(redemption, problem.value if problem else None)

    @strawberry.mutation(
        description="Use a coupon, once (API key with the rewards scope): of two tills at once one succeeds, "
        "the other gets CONFLICT with COUPON_USED; the same till resending the same orderId gets the coupon "
        "back. CANCELLED and COUPON_EXPIRED coupons are refused.",
        permission_classes=[CanRedeemCoupons],
    )
    async def consume_coupon(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="As the customer shows it; dashes ignored.")],
        order_id: Annotated[
            str | None, strawberry.argument(description="The till's order the coupon is used on.")
        ] = None,
    ) -> Coupon:
        source = info.context.viewer.source or ""
        return Coupon.from_model(await service.consume_coupon(source, code, order_id), None)
