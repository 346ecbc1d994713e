from __future__ import annotations

from datetime import datetime

import strawberry

from game.eco.models import EcoActionType as EcoActionTypeModel
from game.eco.service import EcoResult, Impact
from schema.texts import LocalizedText, LocalizedTextInput


@strawberry.type(description="An eco-responsible action the programme rewards, and the CO2e one unit saves.")
class EcoActionType:
    code: str = strawberry.field(
        description="A lowercase identifier, e.g. 'refill_cup': the type recordEcoAction and "
        "declareEcoAction take."
    )
    label: LocalizedText = strawberry.field(description="Its name in each language written.")
    co2e_grams_per_unit: int = strawberry.field(description="Grams of CO2e one unit saves.")
    points_per_unit: int = strawberry.field(description="Points one unit earns.")
    declared_daily_cap: int = strawberry.field(description="Units a customer may declare per day.")
    active: bool = strawberry.field(
        description="Whether it can be recorded and declared; while off both are refused (BAD_USER_INPUT)."
    )

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


@strawberry.input(description="An eco action type; it replaces the one with the same code, if any.")
class EcoActionTypeInput:
    code: str = strawberry.field(
        description="a-z, 0-9 or '_', starting with a letter, at most 64, e.g. 'refill_cup'."
    )
    label: LocalizedTextInput = strawberry.field(description="Its name in French, English or both.")
    co2e_grams_per_unit: int = strawberry.field(description="Grams of CO2e one unit saves, 0 to 1000000.")
    points_per_unit: int = strawberry.field(default=0, description="Points one unit earns, 0 to 10000.")
    declared_daily_cap: int = strawberry.field(
        default=1,
        description="Units a customer may declare per programme-local day, 0 to 1000 (0: not at all). "
        "Verified actions are not capped.",
    )
    active: bool = strawberry.field(default=True, description="Off: it can be neither recorded nor declared.")


@strawberry.input(description="An eco action a store or partner verified.")
class RecordEcoActionInput:
    customer_id: strawberry.ID = strawberry.field(
        description="The customer's UUID; NOT_FOUND if none has it."
    )
    type: str = strawberry.field(
        description="The code of an active eco action type; BAD_USER_INPUT otherwise."
    )
    quantity: int = strawberry.field(default=1, description="Units, 1 to 1000.")
    idempotency_key: str = strawberry.field(
        description="1 to 200 printable characters, unique per API-key source: a replay is recorded once, "
        "and one with other details is a CONFLICT."
    )
    proof: str | None = strawberry.field(
        default=None, description="The partner's reference: receipt, scan...; at most 500 characters."
    )
    occurred_at: datetime | None = strawberry.field(
        default=None, description="With a UTC offset, at most 5 minutes ahead and a year ago; now if absent."
    )


@strawberry.type(description="What an eco action earned and saved.")
class EcoActionPayload:
    points_awarded: int = strawberry.field(description="Points it earned: the type's pointsPerUnit per unit.")
    balance: int = strawberry.field(description="The customer's balance right after it.")
    co2e_grams: int = strawberry.field(
        description="Grams of CO2e it saved: the type's co2eGramsPerUnit per unit."
    )
    duplicate: bool = strawberry.field(
        description="True when this idempotencyKey was already recorded; nothing changed."
    )

    @classmethod
    def from_result(cls, r: EcoResult) -> EcoActionPayload:
        return cls(
            points_awarded=r.points_awarded, balance=r.balance, co2e_grams=r.co2e_grams, duplicate=r.duplicate
        )


@strawberry.type(description="One eco action type's share of an impact.")
class EcoActionImpact:
    action: str = strawberry.field(description="The eco action type's code.")
    quantity: int = strawberry.field(description="Units recorded and declared.")
    co2e_grams: int = strawberry.field(description="Grams of CO2e they saved.")


@strawberry.type(description="CO2e saved by eco actions, in grams.")
class EcoImpact:
    co2e_grams: int = strawberry.field(description="Grams of CO2e saved, verified and declared together.")
    verified_co2e_grams: int = strawberry.field(description="The part recorded by stores and partners.")
    actions: list[EcoActionImpact] = strawberry.field(description="Per eco action type, by code.")

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
