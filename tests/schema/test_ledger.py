from __future__ import annotations

import base64
import itertools
from typing import Any

import pytest
from tortoise.context import get_current_context

from app.settings import Settings
from tests import factories as f
from tests.graphql import GraphQL
from tests.processes import run_tessera

LEDGER = """
query($first: Int, $after: String) {
  me { points { balance }
       ledger(first: $first, after: $after) {
         edges { cursor node { id delta balanceAfter kind reason } } pageInfo { hasNextPage endCursor } } }
}
"""


async def _purchases(gql: GraphQL, customer_id: str, count: int) -> None:
    """`count` purchases; purchase n (1-based) is n euros, so it earns 10 * n points."""
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    for n in range(1, count + 1):
        await gql(f.RECORD_PURCHASE, {"input": f.purchase(customer_id, f"L-{n}", n * 100)}, api_key=key)


async def _page(gql: GraphQL, token: str, first: int, after: str | None = None) -> dict[str, Any]:
    return dict((await gql(LEDGER, {"first": first, "after": after}, token=token))["me"])


async def test_pages_walk_the_whole_ledger_newest_first(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    await _purchases(gql, alice.id, 25)

    pages, after = [], None
    for _ in range(4):  # one more than needed: a loop that does not stop would show here
        me = await _page(gql, alice.token, 10, after)
        pages.append(me["ledger"])
        if not me["ledger"]["pageInfo"]["hasNextPage"]:
            break
        after = me["ledger"]["pageInfo"]["endCursor"]

    assert [len(p["edges"]) for p in pages] == [10, 10, 5]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    for page in pages:
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    nodes = [edge["node"] for page in pages for edge in page["edges"]]
    assert [n["delta"] for n in nodes] == [10 * n for n in range(25, 0, -1)]
    assert [n["reason"] for n in nodes] == [f"Purchase L-{n}" for n in range(25, 0, -1)]
    assert len({n["id"] for n in nodes}) == 25
    assert {n["kind"] for n in nodes} == {"EARN"}
    balance = me["points"]["balance"]
    assert balance == sum(10 * n for n in range(1, 26)) == 3250
    assert sum(n["delta"] for n in nodes) == balance
    # Newest first: each entry's balanceAfter is the one before it minus its own delta.
    assert nodes[0]["balanceAfter"] == balance
    for newer, older in itertools.pairwise(nodes):
        assert older["balanceAfter"] == newer["balanceAfter"] - newer["delta"]


async def test_a_page_exactly_as_long_as_the_ledger_has_no_next_page(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    await _purchases(gql, alice.id, 10)

    first = await _page(gql, alice.token, 10)
    assert len(first["ledger"]["edges"]) == 10
    assert first["ledger"]["pageInfo"]["hasNextPage"] is False

    rest = await _page(gql, alice.token, 10, first["ledger"]["pageInfo"]["endCursor"])
    assert rest["ledger"] == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


async def test_page_size_bounds(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    await _purchases(gql, alice.id, 3)

    assert len((await _page(gql, alice.token, 1))["ledger"]["edges"]) == 1
    assert len((await _page(gql, alice.token, 100))["ledger"]["edges"]) == 3
    for first in (0, -1, 101):
        error = await gql.error(LEDGER, {"first": first}, token=alice.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", first
        assert error["extensions"]["field"] == "first", first


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!not-base64!!!",
        base64.urlsafe_b64encode(b"ledger:abc").decode(),
        base64.urlsafe_b64encode(b"other:5").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_garbage_cursor_is_bad_input(gql: GraphQL, cursor: str) -> None:
    alice = await f.customer(gql)
    await _purchases(gql, alice.id, 2)

    error = await gql.error(LEDGER, {"first": 10, "after": cursor}, token=alice.token)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "after"


async def test_ledger_needs_a_signed_in_customer(gql: GraphQL) -> None:
    assert await gql.code(LEDGER, {"first": 10}) == "UNAUTHENTICATED"


async def _check_ledger(settings: Settings) -> tuple[int, str]:
    run = await run_tessera(settings, "check-ledger")
    return run.returncode, run.stdout + run.stderr


async def _purchases_and_refunds(gql: GraphQL) -> list[f.Customer]:
    alice, bob = await f.customer(gql), await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    for who, order, amount in [(alice, "C-1", 1000), (alice, "C-2", 999), (bob, "C-3", 1250)]:
        await gql(f.RECORD_PURCHASE, {"input": f.purchase(who.id, order, amount)}, api_key=key)
    for who, order, refund_id, amount in [
        (alice, "C-1", "R-1", 250),
        (alice, "C-2", "R-2", 333),
        (bob, "C-3", "R-3", 1250),
    ]:
        refund = {"customerId": who.id, "orderId": order, "refundId": refund_id, "amountCents": amount}
        await gql(f.REFUND_PURCHASE, {"input": refund}, api_key=key)
    return [alice, bob]


async def test_check_ledger_finds_the_ledger_consistent(gql: GraphQL, settings: Settings) -> None:
    alice, bob = await _purchases_and_refunds(gql)
    assert (await _page(gql, alice.token, 10))["points"]["balance"] == 100 - 25 + 99 - 33
    assert (await _page(gql, bob.token, 10))["points"]["balance"] == 0

    code, output = await _check_ledger(settings)

    assert code == 0, output
    assert output.strip().splitlines()[-1] == "ledger consistent"


async def test_check_ledger_reports_a_drifted_balance(gql: GraphQL, settings: Settings) -> None:
    alice = await f.customer(gql)
    await _purchases(gql, alice.id, 2)  # 10 + 20 points
    ctx = get_current_context()
    assert ctx is not None
    await ctx.db().execute_script("UPDATE balance SET points = points + 7")  # behind the ledger's back

    code, output = await _check_ledger(settings)

    assert code == 1, output
    lines = output.strip().splitlines()
    assert lines[-2:] == [f"customer {alice.id}: cached 37, ledger 30", "1 balance(s) drifted"]
