from __future__ import annotations

from datetime import datetime

import strawberry

from game.earn.models import EarnRule as EarnRuleModel


@strawberry.type(description="A category of purchase items that earns at its own rate.")
class CategoryMultiplier:
    category: str = strawberry.field(description="As purchase items name it in `category`.")
    percent: int = strawberry.field(description="Percent of the base rate: 200 earns double.")


@strawberry.type(description="How purchases in one currency earn points.")
class EarnRule:
    id: strawberry.ID = strawberry.field(description="The rule's id.")
    currency: str = strawberry.field(description="ISO 4217 code, e.g. 'EUR': one rule per currency.")
    points_per_unit: int = strawberry.field(description="Points per whole currency unit (1 EUR, 1 JPY...).")
    category_multipliers: list[CategoryMultiplier] = strawberry.field(
        description="Categories earning their own percent of the base rate; others earn 100%."
    )
    eco_bonus_pct: int = strawberry.field(
        description="Percent of the base rate added for eco items, on top of their category's: "
        "with 50, an eco item of a 200% category earns 250%."
    )
    pending_days: int = strawberry.field(
        description="Days a purchase's points stay pending (the return window) before they can be spent."
    )
    active: bool = strawberry.field(
        description="Whether purchases in this currency earn; while off they are refused (BAD_USER_INPUT)."
    )
    updated_at: datetime = strawberry.field(description="When the rule was last created or replaced.")

    @classmethod
    def from_model(cls, rule: EarnRuleModel) -> EarnRule:
        return cls(
            id=strawberry.ID(str(rule.id)),
            currency=rule.currency,
            points_per_unit=rule.points_per_unit,
            category_multipliers=[
                CategoryMultiplier(category=c, percent=p) for c, p in rule.category_multipliers.items()
            ],
            eco_bonus_pct=rule.eco_bonus_pct,
            pending_days=rule.pending_days,
            active=rule.active,
            updated_at=rule.updated_at,
        )


@strawberry.input(description="A category of purchase items that earns at its own rate.")
class CategoryMultiplierInput:
    category: str = strawberry.field(
        description="Lowercase letters, digits, '_' or '-', starting with a letter or digit, at most 64; "
        "once per rule."
    )
    percent: int = strawberry.field(description="Percent of the base rate, 0 to 1000: 200 earns double.")


@strawberry.input(description="An earn rule; it replaces the currency's rule if there is one.")
class EarnRuleInput:
    currency: str = strawberry.field(description="ISO 4217 code, e.g. 'EUR'.")
    points_per_unit: int = strawberry.field(
        description="Points per whole currency unit (1 EUR, 1 JPY...), 0 to 1000; rounded down per purchase."
    )
    category_multipliers: list[CategoryMultiplierInput] | None = strawberry.field(
        default=None, description="At most 200; none or empty: every category earns the base rate."
    )
    eco_bonus_pct: int = strawberry.field(
        default=0, description="Percent of the base rate added for eco items (0 to 1000; 0 = no bonus)."
    )
    pending_days: int = strawberry.field(
        default=0,
        description="The return window, 0 to 365 days: purchase points stay pending (shown, not spendable) "
        "that long, and a refund inside it cancels pending points first; 0: available at once.",
    )
    active: bool = strawberry.field(
        default=True, description="Off: purchases in this currency are refused until it is on again."
    )
