"""Referral codes over GraphQL: applying one, and every refusal with its reason."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest

from game.customers.models import Customer
from game.referrals.models import ReferralMember
from tests import factories as f
from tests.graphql import GraphQL
from tests.referral_helpers import APPLY, CHAIN, MY_REFERRALS, chain_of, code_of, configure


async def test_self_referral_cycles_and_second_referrers_are_refused(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    await configure(gql, marketer)
    a, b, c = await chain_of(gql, 3)
    loner = await f.customer(gql)

    async def reason(customer: f.Customer, code: str) -> str:
        error = await gql.error(APPLY, {"code": code}, token=customer.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        return str(error["extensions"]["reason"])

    assert await reason(loner, await code_of(gql, loner)) == "SELF_REFERRAL"
    assert await reason(a, await code_of(gql, b)) == "CYCLE"
    assert await reason(a, await code_of(gql, c)) == "CYCLE"
    assert await reason(b, await code_of(gql, loner)) == "ALREADY_REFERRED"
    assert await reason(loner, "ZZZZ2222") == "UNKNOWN_CODE"
    assert (await gql(CHAIN, token=a.token))["referralChain"] == []
    assert len((await gql(CHAIN, token=c.token))["referralChain"]) == 2

    # Typed loosely, a code still applies; then the loner's chain is a's.
    code = await code_of(gql, c)
    applied = await gql(APPLY, {"code": f" {code[:4].lower()}-{code[4:]} "}, token=loner.token)
    assert applied["applyReferralCode"]["status"] == "PENDING"
    assert [link["level"] for link in (await gql(CHAIN, token=loner.token))["referralChain"]] == [1, 2, 3]


async def test_an_unknown_code_at_registration_creates_no_account(gql: GraphQL) -> None:
    error = await gql.error(f.REGISTER, {"input": _registration("new@example.com", referralCode="NOPE2345")})
    assert error["extensions"]["reason"] == "UNKNOWN_CODE"
    assert not await Customer.filter(email="new@example.com").exists()


def _registration(email: str, **extra: str) -> dict[str, str]:
    return {"email": email, "password": f.PASSWORD, "displayName": "New", **extra}


async def test_a_code_is_applied_within_the_days_after_sign_up(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    await configure(gql, marketer, applyWithinDays=7)
    referrer, late, timely = await f.customer(gql), await f.customer(gql), await f.customer(gql)
    await Customer.filter(id=late.id).update(created_at=datetime.now(UTC) - timedelta(days=8))
    await Customer.filter(id=timely.id).update(created_at=datetime.now(UTC) - timedelta(days=6))
    code = await code_of(gql, referrer)

    error = await gql.error(APPLY, {"code": code}, token=late.token)
    assert error["extensions"]["reason"] == "TOO_LATE"
    assert (await gql(APPLY, {"code": code}, token=timely.token))["applyReferralCode"]["status"] == "PENDING"


@pytest.mark.parametrize("code", ["", "AB", "ABCDEFGH1", "0OIL1234", "x" * 10_000])
async def test_what_cannot_be_a_code_is_unknown(gql: GraphQL, code: str) -> None:
    customer = await f.customer(gql)
    error = await gql.error(APPLY, {"code": code}, token=customer.token)
    assert (error["extensions"]["code"], error["extensions"]["reason"]) == ("BAD_USER_INPUT", "UNKNOWN_CODE")


async def test_bad_review_input_is_refused_without_an_internal_error(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    approve = "mutation($id: ID!) { approveReferralReward(id: $id) { id } }"
    reject = "mutation($id: ID!, $r: String!) { rejectReferralReward(id: $id, reason: $r) { id } }"
    held = "query($a: String) { heldReferralRewards(first: 5, after: $a) { hasNextPage } }"
    for held_id in ("1", "x", str(2**70), "-3"):
        error = await gql.error(approve, {"id": held_id}, token=marketer)
        assert (error["extensions"]["code"], error["extensions"]["reason"]) == (
            "NOT_FOUND",
            "UNKNOWN_HELD_REWARD",
        )
    assert (await gql.error(reject, {"id": "1", "r": " "}, token=marketer))["extensions"][
        "code"
    ] == "BAD_USER_INPUT"
    assert (await gql.error(reject, {"id": "1", "r": "a\x00"}, token=marketer))["extensions"]["code"] == (
        "BAD_USER_INPUT"
    )
    huge = base64.urlsafe_b64encode(f"held:{2**70}".encode()).decode()
    assert (await gql.error(held, {"a": huge}, token=marketer))["extensions"]["code"] == "BAD_USER_INPUT"
    customer = await f.customer(gql)
    assert (await gql.error(held, {}, token=customer.token))["extensions"]["code"] == "FORBIDDEN"


async def test_a_customer_from_before_referrals_gets_a_code_on_first_read(gql: GraphQL) -> None:
    customer = await f.customer(gql)
    await ReferralMember.filter(
        customer_id=customer.id
    ).delete()  # as migration 0015 leaves existing customers

    summary = (await gql(MY_REFERRALS, token=customer.token))["myReferrals"]

    assert re.fullmatch("[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", summary["code"])
    assert summary["link"].endswith(summary["code"])
    assert summary["levels"] == [{"level": 1, "pending": 0, "qualified": 0, "held": 0}]
    assert await code_of(gql, customer) == summary["code"]
