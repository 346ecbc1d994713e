"""`extensions.reason`: the outcome a client branches on, next to the stable `extensions.code`.

Domain-specific cases are asserted beside their features (test_accounts, test_refunds, test_challenge_rules,
test_badge_definitions, test_eco); these are the ones that cut across domains, and the README's list.
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from pathlib import Path
from uuid import uuid4

from game.access.service import revoke_api_keys
from game.errors import ErrorCode
from tests import factories as f
from tests.graphql import GraphQL

ME_ID = "{ me { id } }"
SET_TAGS = "mutation($c: ID!, $t: [String!]!) { setCustomerTags(customerId: $c, tags: $t) { tags } }"


async def test_an_unknown_customer_is_named_as_such_wherever_a_server_names_one(gql: GraphQL) -> None:
    key, marketer = await f.api_key(), await f.marketer_token(gql)
    await f.earn_rule()
    nobody = str(uuid4())

    purchase = await gql.reason(f.RECORD_PURCHASE, {"input": f.purchase(nobody)}, api_key=key)
    malformed = await gql.reason(f.RECORD_PURCHASE, {"input": f.purchase("not-a-uuid")}, api_key=key)
    tags = await gql.reason(SET_TAGS, {"c": nobody, "t": ["vip"]}, token=marketer)

    assert purchase == malformed == tags == ("NOT_FOUND", "UNKNOWN_CUSTOMER")


async def test_a_currency_without_an_earn_rule(gql: GraphQL) -> None:
    alice, key = await f.customer(gql), await f.api_key()
    await f.earn_rule("EUR")

    error = await gql.error(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, currency="USD")}, api_key=key)

    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "currency",
        "reason": "CURRENCY_NOT_EARNED",
    }


async def test_refused_credentials_say_why(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    revoked = await f.api_key("old-till")
    await revoke_api_keys("old-till")
    eco_only = await f.api_key("partner", ["eco"])

    assert await gql.reason(ME_ID, api_key=revoked) == ("UNAUTHENTICATED", "UNKNOWN_API_KEY")
    assert await gql.reason(ME_ID, api_key="tsk_never-issued") == ("UNAUTHENTICATED", "UNKNOWN_API_KEY")
    basic = await gql.client.post("/graphql", json={"query": ME_ID}, headers={"Authorization": "Basic eDp5"})
    [error] = basic.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "MALFORMED_AUTHORIZATION"}
    purchase = await gql.reason(f.RECORD_PURCHASE, {"input": f.purchase(alice.id)}, api_key=eco_only)
    assert purchase == ("FORBIDDEN", "MISSING_SCOPE")
    as_customer = await gql.reason(f.RECORD_PURCHASE, {"input": f.purchase(alice.id)}, token=alice.token)
    assert as_customer == ("FORBIDDEN", "WRONG_ROLE")


async def test_plain_field_validation_carries_the_field_and_no_reason(gql: GraphQL) -> None:
    alice, key = await f.customer(gql), await f.api_key()
    await f.earn_rule()

    error = await gql.error(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, amount_cents=0)}, api_key=key)

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "amountCents"}


def _reason_enums(repo_root: Path) -> list[type[StrEnum]]:
    enums = []
    for path in sorted((repo_root / "game").glob("*/errors.py")):
        module = importlib.import_module(f"game.{path.parent.name}.errors")
        enums += [
            value
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, StrEnum) and value.__module__ == module.__name__
        ]
    return enums


def test_the_readme_lists_every_code_and_every_reason(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    section = readme[readme.index("## Errors") :]
    section = section[: section.find("\n## ", 1)]
    enums = _reason_enums(repo_root)

    assert len(enums) >= 8
    missing = [
        f"{enum.__name__}.{member.name}"
        for enum in [ErrorCode, *enums]
        for member in enum
        if f"`{member.value}`" not in section
    ]
    assert missing == []
