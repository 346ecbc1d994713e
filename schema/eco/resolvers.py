from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry

from game.eco.service import (
    EcoAction,
    action_types,
    declare_eco_action,
    eco_impact,
    record_eco_action,
    upsert_action_type,
)
from schema.context import Info
from schema.eco.types import (
    EcoActionPayload,
    EcoActionType,
    EcoActionTypeInput,
    EcoImpact,
    RecordEcoActionInput,
)
from schema.permissions import CanRecordEcoActions, IsCustomer, IsMarketer


@strawberry.type
class EcoQueries:
    @strawberry.field(
        description="The eco actions of the programme, inactive ones included, by code (anyone: the app "
        "lists them)."
    )
    async def eco_action_types(self) -> list[EcoActionType]:
        return [EcoActionType.from_model(a) for a in await action_types()]

    @strawberry.field(description="The signed-in customer's eco impact.", permission_classes=[IsCustomer])
    async def eco_impact(self, info: Info) -> EcoImpact:
        return EcoImpact.from_impact(await eco_impact(info.context.viewer.customer_id))

    @strawberry.field(
        description="The whole programme's eco impact (marketer).", permission_classes=[IsMarketer]
    )
    async def programme_eco_impact(self) -> EcoImpact:
        return EcoImpact.from_impact(await eco_impact(None))


@strawberry.type
class EcoMutations:
    @strawberry.mutation(
        description="Create or replace an eco action type (marketer).", permission_classes=[IsMarketer]
    )
    async def upsert_eco_action_type(
        self, input: Annotated[EcoActionTypeInput, strawberry.argument(description="The action type.")]
    ) -> EcoActionType:
        action = await upsert_action_type(
            input.code,
            input.label.to_dict(),
            input.co2e_grams_per_unit,
            input.points_per_unit,
            input.declared_daily_cap,
            input.active,
        )
        return EcoActionType.from_model(action)

    @strawberry.mutation(
        description="A verified eco action, from a store or partner (API key with the 'eco' scope).",
        permission_classes=[CanRecordEcoActions],
    )
    async def record_eco_action(
        self,
        info: Info,
        input: Annotated[RecordEcoActionInput, strawberry.argument(description="The action.")],
    ) -> EcoActionPayload:
        context = info.context
        action = EcoAction(input.type, input.quantity, input.idempotency_key, input.proof, input.occurred_at)
        tz = ZoneInfo(context.settings.programme_timezone)
        result = await record_eco_action(
            context.arq, context.viewer.source or "", str(input.customer_id), action, tz
        )
        return EcoActionPayload.from_result(result)

    @strawberry.mutation(
        description="The signed-in customer declares an eco action: unverified, capped per day and type.",
        permission_classes=[IsCustomer],
    )
    async def declare_eco_action(
        self,
        info: Info,
        type: Annotated[
            str,
            strawberry.argument(
                description="The code of an active eco action type; BAD_USER_INPUT otherwise."
            ),
        ],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="1 to 200 printable characters, unique per customer: a retry is recorded once."
            ),
        ],
        quantity: Annotated[
            int,
            strawberry.argument(
                description="Units, 1 to 1000; with those already declared today, at most the type's "
                "declaredDailyCap (RATE_LIMITED beyond)."
            ),
        ] = 1,
    ) -> EcoActionPayload:
        context = info.context
        assert context.viewer.customer_id is not None  # IsCustomer
        tz = ZoneInfo(context.settings.programme_timezone)
        action = EcoAction(type, quantity, idempotency_key)
        return EcoActionPayload.from_result(
            await declare_eco_action(context.arq, context.viewer.customer_id, action, tz)
        )
