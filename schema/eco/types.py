from __future__ import annotations

from datetime import datetime

import strawberry

from game.eco.models import EcoActionType as EcoActionTypeModel
from game.eco.service import EcoResult, Impact
from schema.texts import LocalizedText, LocalizedTextInput


@strawberry.type(description="An eco-responsible action the programme rewards, and the CO2e one unit saves.")
class EcoActionType:
    code: str
    label: LocalizedText
    co2e_grams_per_unit: int
    points_per_unit: int
    declared_daily_cap: int = strawberry.field(description="Units a customer may declare per day.")
    active: bool

    @classmethod
    def from_model(cls, a: EcoActionTypeModel) -> EcoActionType:
        return cls(
            code=a.code,
            label=LocalizedText(fr=a.label.get("fr"), en=a.label.get("en")),
            co2e_grams_per_unit=a.co2e_grams_per_unit,
            points_per_unit=a.points_per_unit,
            declared_daily_cap=a.declared_daily_cap,
            active=a.active,
        )


@strawberry.input
class EcoActionTypeInput:
    code: str
    label: LocalizedTextInput
    co2e_grams_per_unit: int
    points_per_unit: int = 0
    declared_daily_cap: int = 1
    active: bool = True


@strawberry.input
class RecordEcoActionInput:
    customer_id: strawberry.ID
    type: str
    quantity: int = 1
    idempotency_key: str = strawberry.field(
        description="Unique per API-key source: a replay is recorded once."
    )
    proof: str | None = strawberry.field(
        default=None, description="The partner's reference: receipt, scan..."
    )
    occurred_at: datetime | None = None


@strawberry.type
class EcoActionPayload:
    points_awarded: int
    balance: int
    co2e_grams: int
    duplicate: bool

    @classmethod
    def from_result(cls, r: EcoResult) -> EcoActionPayload:
        return cls(
            points_awarded=r.points_awarded, balance=r.balance, co2e_grams=r.co2e_grams, duplicate=r.duplicate
        )


@strawberry.type
class EcoActionImpact:
    action: str
    quantity: int
    co2e_grams: int


@strawberry.type(description="CO2e saved by eco actions, in grams.")
class EcoImpact:
    co2e_grams: int
    verified_co2e_grams: int = strawberry.field(description="The part recorded by stores and partners.")
    actions: list[EcoActionImpact]

    @classmethod
    def from_impact(cls, i: Impact) -> EcoImpact:
        return cls(
            co2e_grams=i.co2e_grams,
            verified_co2e_grams=i.verified_co2e_grams,
            actions=[
                EcoActionImpact(action=a.action, quantity=a.quantity, co2e_grams=a.co2e_grams)
                for a in i.actions
            ],
        )
