"""A demo programme: a coffee shop with an earn rule, a customer with some history, a marketer and a till."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis

from game.access.models import Marketer
from game.access.service import create_api_key, create_marketer, revoke_api_keys
from game.badges.levels import Level
from game.badges.models import Badge, BadgeStatus
from game.badges.service import BadgeInput, create_badge
from game.badges.service import change_status as change_badge_status
from game.challenges.models import Challenge, Recurrence
from game.challenges.service import Action, ChallengeInput, change_status, create_challenge
from game.customers.models import Customer
from game.customers.service import register
from game.earn.service import upsert_rule
from game.eco.models import EcoActionType
from game.eco.service import upsert_action_type
from game.purchases.service import Item, PurchaseInput, record_purchase
from game.rewards.models import Reward, RewardKind, RewardStatus
from game.rewards.service import RewardInput, create_reward, set_status
from game.streaks.models import StreakPeriod
from game.streaks.rules import Milestone, StreakConfig
from game.streaks.service import configure_streak, streak_config

CUSTOMER_EMAIL = "alice@example.com"
MARKETER_EMAIL = "marketer@example.com"
DEMO_PASSWORD = "tessera-demo"
TILL = "demo-till"


@dataclass(frozen=True, slots=True)
class Demo:
    customer_id: str
    api_key: str


async def seed_demo(arq: ArqRedis) -> Demo:
    """Idempotent: running it again keeps the data and only issues a fresh till key."""
    await upsert_rule("EUR", 10, {"coffee": 100, "pastry": 150, "beans": 200}, eco_bonus_pct=100)
    if not await EcoActionType.exists(code="refill_cup"):  # a marketer's later changes stay
        await upsert_action_type(
            "refill_cup",
            {"fr": "Tasse réutilisée", "en": "Own cup"},
            30,
            points_per_unit=5,
            declared_daily_cap=2,
        )
    customer = await Customer.get_or_none(email=CUSTOMER_EMAIL) or await register(
        CUSTOMER_EMAIL, DEMO_PASSWORD, "Alice", "fr", "Europe/Paris"
    )
    if not await Marketer.exists(email=MARKETER_EMAIL):
        await create_marketer(MARKETER_EMAIL, DEMO_PASSWORD, "Demo Marketer")
    # The secret of a key is shown once: a new run revokes the old demo key and prints a new one.
    await revoke_api_keys(TILL)
    _, secret = await create_api_key(TILL, ["purchases", "eco", "rewards"])
    badges = await _demo_badges(arq)
    # Before the purchases: the worker counts their three days in a row once it processes them.
    if await streak_config() is None:
        await configure_streak(DEMO_STREAK)
    # Dated from the account's creation, so a re-run sends the same orders and they are recognised as replays.
    start = customer.created_at.astimezone(UTC).replace(microsecond=0)
    for n, (amount, items) in enumerate(
        [
            (450, [Item("ESPRESSO", "coffee", 1, 250), Item("CROISSANT", "pastry", 1, 200)]),
            (1290, [Item("BEANS-250G", "beans", 1, 990), Item("CUP-REFILL", "coffee", 1, 300, eco=True)]),
            (320, [Item("FLAT-WHITE", "coffee", 1, 320)]),
        ],
        start=1,
    ):
        await record_purchase(
            arq,
            TILL,
            PurchaseInput(
                customer_id=str(customer.id),
                order_id=f"DEMO-{n:04d}",
                amount_cents=amount,
                currency="EUR",
                occurred_at=start - timedelta(days=4 - n),
                channel="store",
                items=items,
            ),
        )
    await _demo_challenges(arq, badges)
    await _demo_reward()
    return Demo(customer_id=str(customer.id), api_key=secret)


DEMO_STREAK = StreakConfig(
    period=StreakPeriod.DAILY,
    freeze_days=1,
    milestones=(Milestone(length=3, reward_points=20), Milestone(length=7, reward_points=50)),
    # A check-in costs a tap: only what a till or partner recorded earns milestones.
    verified_only=True,
)

DEMO_CHALLENGES = [
    ChallengeInput(
        title={"fr": "Trois cafés cette semaine", "en": "Three coffees this week"},
        description={
            "fr": "Trois cafés dans la semaine : 50 points.",
            "en": "Three coffees in a week: 50 points.",
        },
        icon="coffee",
        recurrence=Recurrence.WEEKLY,
        reward_points=50,
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        rule={
            "steps": [
                {
                    "event": "purchase",
                    "filters": [{"field": "category", "op": "contains", "value": "coffee"}],
                    "aggregate": "count",
                    "target": 3,
                }
            ]
        },
    ),
    ChallengeInput(
        title={"fr": "J'apporte ma tasse", "en": "Bring your own cup"},
        description={
            "fr": "Cinq recharges dans votre propre tasse ce mois-ci.",
            "en": "Five refills in your own cup this month.",
        },
        icon="cup",
        recurrence=Recurrence.MONTHLY,
        reward_points=100,
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        rule={"steps": [{"event": "purchase", "aggregate": "sum", "field": "eco_quantity", "target": 5}]},
    ),
]


async def _demo_challenges(arq: ArqRedis, badges: dict[str, int]) -> None:
    existing = {c.title.get("en") for c in await Challenge.all()}
    for data in DEMO_CHALLENGES:
        if data.title["en"] not in existing:
            if data.icon == "cup":  # each month's bring-your-own-cup challenge counts towards Eco Hero
                data = replace(data, reward_badge_id=badges["eco-hero"])
            challenge = await create_challenge(data)
            await change_status(challenge.id, Action.PUBLISH, arq)


DEMO_REWARD = RewardInput(
    kind=RewardKind.PRODUCT,
    name={"fr": "Un espresso offert", "en": "A free espresso"},
    cost_points=50,
    coupon_valid_days=30,
)


async def _demo_reward() -> None:
    # Found by its name (a JSON column, compared here rather than in SQL, the same on both backends).
    if all(reward.name != DEMO_REWARD.name for reward in await Reward.all()):
        reward = await create_reward(DEMO_REWARD)
        await set_status(reward.id, RewardStatus.LIVE)


def _level(fr: str, en: str, target: int, points: int) -> Level:
    return Level({"fr": fr, "en": en}, target, points)


DEMO_BADGES = [
    BadgeInput(
        key="acheteur-assidu",
        name={"fr": "Acheteur Assidu", "en": "Regular Shopper"},
        description={
            "fr": "Des achats réguliers sur 30 jours glissants.",
            "en": "Regular purchases over a rolling 30 days.",
        },
        icon="bag",
        levels=[
            _level("Bronze", "Bronze", 3, 20),
            _level("Argent", "Silver", 10, 50),
            _level("Or", "Gold", 25, 150),
        ],
        rule={"steps": [{"event": "purchase", "aggregate": "count", "target": 25, "within_days": 30}]},
    ),
    BadgeInput(
        key="eco-hero",
        name={"fr": "Héros de l'éco", "en": "Eco Hero"},
        description={
            "fr": "Gagné avec le défi « J'apporte ma tasse », un mois après l'autre.",
            "en": "Earned with the Bring your own cup challenge, month after month.",
        },
        icon="leaf",
        levels=[
            _level("Pousse", "Sprout", 1, 0),
            _level("Arbre", "Tree", 3, 50),
            _level("Forêt", "Forest", 6, 200),
        ],
    ),
]


async def _demo_badges(arq: ArqRedis) -> dict[str, int]:
    """Badges by key; created and published on the first run, found on later ones."""
    ids = {}
    for data in DEMO_BADGES:
        badge = await Badge.get_or_none(key=data.key)
        if badge is None:
            badge = await create_badge(data)
            badge = await change_badge_status(badge.id, BadgeStatus.ACTIVE)
        ids[data.key] = badge.id
    return ids
