"""Plain async factories: `await customer(gql)`, overriding only what a test cares about."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from game.access.service import create_api_key, create_marketer
from game.earn.service import upsert_rule
from tests.graphql import GraphQL

_seq = itertools.count(1)

REGISTER = """
mutation($input: RegisterInput!) { register(input: $input) { token customer { id displayName } } }
"""
RECORD_PURCHASE = """
mutation($input: RecordPurchaseInput!) { recordPurchase(input: $input) { pointsAwarded balance duplicate } }
"""
REFUND_PURCHASE = """
mutation($input: RefundPurchaseInput!) { refundPurchase(input: $input) { pointsReversed balance duplicate } }
"""
ME = """
query($first: Int, $after: String) {
  me { id email displayName points { balance }
       ledger(first: $first, after: $after) {
         edges { node { id delta kind reason createdAt } } pageInfo { hasNextPage endCursor } } }
}
"""
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Customer:
    id: str
    token: str
    email: str


async def customer(gql: GraphQL, **overrides: str) -> Customer:
    n = next(_seq)
    data = {
        "email": f"customer{n}@example.com",
        "password": PASSWORD,
        "displayName": f"Customer {n}",
        "locale": "fr",
    }
    data.update(overrides)
    result = await gql(REGISTER, {"input": data})
    return Customer(result["register"]["customer"]["id"], result["register"]["token"], data["email"])


async def api_key(name: str = "till-1", scopes: list[str] | None = None) -> str:
    _, secret = await create_api_key(name, scopes)
    return secret


async def earn_rule(
    currency: str = "EUR", points_per_unit: int = 10, *, eco_bonus_pct: int = 0, **multipliers: int
) -> None:
    await upsert_rule(currency, points_per_unit, multipliers, eco_bonus_pct=eco_bonus_pct)


async def marketer_token(gql: GraphQL) -> str:
    email = f"marketer{next(_seq)}@example.com"
    await create_marketer(email, PASSWORD)
    query = "mutation($e: String!, $p: String!) { marketerLogin(email: $e, password: $p) { token } }"
    result = await gql(query, {"e": email, "p": PASSWORD})
    return str(result["marketerLogin"]["token"])


def purchase(
    customer_id: str, order_id: str = "A-1", amount_cents: int = 1250, **extra: object
) -> dict[str, object]:
    return {
        "customerId": customer_id,
        "orderId": order_id,
        "amountCents": amount_cents,
        "currency": "EUR",
        **extra,
    }
