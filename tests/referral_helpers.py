"""Referral programmes through the API: a marketer configures, customers register with codes, tills buy."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from app.settings import Settings
from tests import factories as f
from tests.challenge_helpers import process_all
from tests.graphql import GraphQL
from tests.workers.test_challenge_evaluation import Till

CONFIGURE = """
mutation($input: ReferralSettingsInput!) {
  configureReferrals(input: $input) { minPurchaseCents refereePoints levels { level points } applyWithinDays
    monthlyCapPerReferrer velocityLimit active }
}
"""
APPLY = """
mutation($code: String!, $device: String) {
  applyReferralCode(code: $code, deviceId: $device) { referrerDisplayName referredAt status }
}
"""
MY_REFERRALS = """
query { myReferrals { code link levels { level pending qualified held }
  referees { displayName status referredAt } pointsEarned } }
"""
CHAIN = "query { referralChain { level displayName } }"
CODE = "query { me { referralCode points { balance } } }"
HELD = """
query($first: Int, $after: String) {
  heldReferralRewards(first: $first, after: $after) {
    items { id refereeId refereeEmail referrerId status rewards { customerId level points }
            signals { rule detail } decisionNote }
    hasNextPage endCursor
  }
}
"""
APPROVE = "mutation($id: ID!) { approveReferralReward(id: $id) { id status } }"
REJECT = (
    "mutation($id: ID!, $r: String!) { rejectReferralReward(id: $id, reason: $r) { id status decisionNote } }"
)
TOP = """
query($first: Int) { topReferrers(first: $first) { customerId referrals qualifiedReferrals conversionRate } }
"""

REFEREE_POINTS = 50
LEVEL_POINTS = {1: 100, 2: 40, 3: 20, 4: 10}
MINIMUM = 2000


def settings_input(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "minPurchaseCents": MINIMUM,
        "refereePoints": REFEREE_POINTS,
        "levels": [{"level": lv, "points": pts} for lv, pts in LEVEL_POINTS.items()],
        "applyWithinDays": 30,
    }
    data.update(overrides)
    return data


async def configure(gql: GraphQL, marketer: str, **overrides: Any) -> dict[str, Any]:
    result = await gql(CONFIGURE, {"input": settings_input(**overrides)}, token=marketer)
    return dict(result["configureReferrals"])


async def code_of(gql: GraphQL, customer: f.Customer) -> str:
    return str((await gql(CODE, token=customer.token))["me"]["referralCode"])


async def balance(gql: GraphQL, customer: f.Customer) -> int:
    return int((await gql(CODE, token=customer.token))["me"]["points"]["balance"])


async def referred(gql: GraphQL, referrer: f.Customer, **overrides: str) -> f.Customer:
    """A new customer who registers with `referrer`'s code."""
    return await f.customer(gql, referralCode=await code_of(gql, referrer), **overrides)


async def chain_of(gql: GraphQL, length: int) -> list[f.Customer]:
    """A root and `length - 1` customers, each referred by the one before."""
    people = [await f.customer(gql)]
    for _ in range(length - 1):
        people.append(await referred(gql, people[-1]))
    return people


async def buy_and_process(
    gql: GraphQL,
    till_key: str,
    customer: f.Customer,
    settings: Settings,
    redis: Redis,
    cents: int,
    **extra: Any,
) -> None:
    till = Till(gql, till_key, customer)
    till.n = await _next_order(customer)
    data = f.purchase(customer.id, f"{customer.id[:8]}-{till.n}", cents, **extra)
    result = await gql(f.RECORD_PURCHASE, {"input": data}, api_key=till_key)
    assert result["recordPurchase"]["duplicate"] is False
    await process_until_idle(settings, redis)


_orders: dict[str, int] = {}


async def _next_order(customer: f.Customer) -> int:
    _orders[customer.id] = _orders.get(customer.id, 0) + 1
    return _orders[customer.id]


def order_id(customer: f.Customer, n: int) -> str:
    return f"{customer.id[:8]}-{n}"


async def process_until_idle(settings: Settings, redis: Redis) -> None:
    """Processes events, and the events their processing recorded (referral_qualified), until none is left."""
    while await process_all(settings, redis):
        pass
