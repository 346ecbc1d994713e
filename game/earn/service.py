"""Earn rules: how many points a purchase is worth."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from game.earn.currencies import MINOR_UNITS
from game.earn.errors import EarnReason
from game.earn.models import EarnRule
from game.errors import bad_input
from game.sql import fetch_one

MAX_POINTS_PER_UNIT = 1000
MAX_MULTIPLIER_PCT = 1000
MAX_ECO_BONUS_PCT = 1000
MAX_PENDING_DAYS = 365  # a return window longer than a year is a typo
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Line:
    category: str | None
    quantity: int
    unit_price_minor: int
    eco: bool = False


def multipliers_from_pairs(pairs: Sequence[tuple[str, int]]) -> dict[str, int]:
    """Category multipliers as a marketer lists them; a category listed twice is ambiguous, so refused."""
    multipliers = dict(pairs)
    if len(multipliers) != len(pairs):
        raise bad_input("each category may appear once", "categoryMultipliers")
    return multipliers


async def upsert_rule(
    currency: str,
    points_per_unit: int,
    category_multipliers: dict[str, int],
    active: bool = True,
    *,
    eco_bonus_pct: int = 0,
    pending_days: int = 0,
) -> EarnRule:
    currency = validate_currency(currency)
    if not 0 <= points_per_unit <= MAX_POINTS_PER_UNIT:
        raise bad_input(f"pointsPerUnit must be between 0 and {MAX_POINTS_PER_UNIT}", "pointsPerUnit")
    if not 0 <= eco_bonus_pct <= MAX_ECO_BONUS_PCT:
        raise bad_input(f"ecoBonusPct must be between 0 and {MAX_ECO_BONUS_PCT}", "ecoBonusPct")
    if not 0 <= pending_days <= MAX_PENDING_DAYS:
        raise bad_input(f"pendingDays must be between 0 and {MAX_PENDING_DAYS}", "pendingDays")
    if len(category_multipliers) > 200:
        raise bad_input("at most 200 category multipliers", "categoryMultipliers")
    for category, pct in category_multipliers.items():
        if not _CATEGORY.match(category):
            raise bad_input(
                f"category {category!r}: lowercase letters, digits, '_' or '-'", "categoryMultipliers"
            )
        if not 0 <= pct <= MAX_MULTIPLIER_PCT:
            raise bad_input(
                f"category {category!r}: percent must be between 0 and {MAX_MULTIPLIER_PCT}",
                "categoryMultipliers",
            )
    async with in_transaction():
        rule, _ = await EarnRule.update_or_create(
            currency=currency,
            defaults={
                "points_per_unit": points_per_unit,
                "category_multipliers": dict(sorted(category_multipliers.items())),
                "eco_bonus_pct": eco_bonus_pct,
                "pending_days": pending_days,
                "active": active,
            },
        )
    return rule


async def list_rules() -> list[EarnRule]:
    return await EarnRule.all().order_by("currency")


def validate_currency(currency: str) -> str:
    if currency not in MINOR_UNITS:
        raise bad_input(f"unknown currency {currency!r}: use an ISO 4217 code such as 'EUR'", "currency")
    return currency


@dataclass(frozen=True, slots=True)
class Rate:
    """The part of an active EarnRule that prices a purchase."""

    currency: str
    points_per_unit: int
    category_multipliers: dict[str, int]
    eco_bonus_pct: int
    pending_days: int = 0


async def active_rate(currency: str) -> Rate:
    validate_currency(currency)
    # Every purchase asks this: raw SQL, see game/sql.py.
    row = await fetch_one(
        "SELECT points_per_unit, category_multipliers, eco_bonus_pct, pending_days FROM earn_rule"
        " WHERE currency = $1 AND active = $2",
        currency,
        True,
    )
    if row is None:
        raise bad_input(
            f"the programme does not earn points in {currency}",
            "currency",
            reason=EarnReason.CURRENCY_NOT_EARNED,
        )
    return Rate(
        currency,
        int(row["points_per_unit"]),
        json.loads(row["category_multipliers"]),
        int(row["eco_bonus_pct"]),
        int(row["pending_days"]),
    )


@dataclass(frozen=True, slots=True)
class Earned:
    """What a purchase earns: `base` at the category rates, `eco_bonus` on top for its eco items."""

    base: int
    eco_bonus: int

    @property
    def total(self) -> int:
        return self.base + self.eco_bonus


def points_for(rule: Rate, amount_minor: int, lines: Sequence[Line]) -> Earned:
    """Base rate on the amount paid, weighted by category where the lines say what was bought.

    A line weighs its price times its category percent (100 when unlisted), plus `eco_bonus_pct` when the
    item is eco: additive, so a 200% category with a 50% eco bonus earns 250%. When the lines add up to
    more than was paid (discounts), every weight, eco bonus included, shrinks in proportion; what the
    lines do not cover earns the base rate. Integer arithmetic, rounded down once: the total is what the
    summed weights earn, the eco bonus what the total has over the same purchase without it.
    """
    listed = sum(line.quantity * line.unit_price_minor for line in lines)
    base = sum(
        line.quantity * line.unit_price_minor * rule.category_multipliers.get(line.category or "", 100)
        for line in lines
    )
    eco = sum(line.quantity * line.unit_price_minor * rule.eco_bonus_pct for line in lines if line.eco)
    if listed > amount_minor:
        paid, of = amount_minor, listed
    else:
        base += (amount_minor - listed) * 100
        paid, of = 1, 1
    # One exact fraction per figure (Python integers do not overflow), floored once.
    scale = rule.points_per_unit * paid
    divisor = 100 * 10 ** MINOR_UNITS[rule.currency] * of
    total = (base + eco) * scale // divisor
    base_points = base * scale // divisor
    return Earned(base_points, total - base_points)
