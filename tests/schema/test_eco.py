"""Eco-responsible actions: verified from partners, declared by customers (capped), and their impact."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from app.settings import Settings
from tests import factories as f
from tests.challenge_helpers import CHALLENGES, process_all, published_challenge
from tests.graphql import GraphQL

UPSERT = """
mutation($input: EcoActionTypeInput!) {
  upsertEcoActionType(input: $input) { code co2eGramsPerUnit pointsPerUnit declaredDailyCap }
}
"""
RECORD = """
mutation($input: RecordEcoActionInput!) {
  recordEcoAction(input: $input) { pointsAwarded balance co2eGrams duplicate }
}
"""
DECLARE = """
mutation($type: String!, $key: String!, $q: Int!) {
  declareEcoAction(type: $type, idempotencyKey: $key, quantity: $q) {
    pointsAwarded balance co2eGrams duplicate
  }
}
"""
IMPACT = "{ ecoImpact { co2eGrams verifiedCo2eGrams actions { action quantity co2eGrams } } }"
REFILL = {"code": "refill_cup", "label": {"en": "Refill cup"}, "co2eGramsPerUnit": 30, "pointsPerUnit": 5}


async def _programme(gql: GraphQL, **refill: object) -> tuple[str, str]:
    marketer = await f.marketer_token(gql)
    await gql(UPSERT, {"input": {**REFILL, "declaredDailyCap": 2, **refill}}, token=marketer)
    return marketer, await f.api_key("partner", ["eco"])


def _record(customer_id: str, key: str, quantity: int = 1, **extra: object) -> dict[str, object]:
    return {
        "input": {
            "customerId": customer_id,
            "type": "refill_cup",
            "quantity": quantity,
            "idempotencyKey": key,
            **extra,
        }
    }


async def test_a_verified_action_earns_points_and_impact_once(gql: GraphQL) -> None:
    _, partner = await _programme(gql)
    alice = await f.customer(gql)

    first = await gql(RECORD, _record(alice.id, "scan-1", 3, proof="receipt 881"), api_key=partner)
    replay = await gql(RECORD, _record(alice.id, "scan-1", 3, proof="receipt 881"), api_key=partner)

    assert first["recordEcoAction"] == {
        "pointsAwarded": 15,
        "balance": 15,
        "co2eGrams": 90,
        "duplicate": False,
    }
    assert replay["recordEcoAction"] == {**first["recordEcoAction"], "duplicate": True}
    impact = (await gql(IMPACT, token=alice.token))["ecoImpact"]
    assert impact == {
        "co2eGrams": 90,
        "verifiedCo2eGrams": 90,
        "actions": [{"action": "refill_cup", "quantity": 3, "co2eGrams": 90}],
    }


async def test_declarations_are_capped_per_day_and_type(gql: GraphQL) -> None:
    await _programme(gql)
    alice = await f.customer(gql)

    first = await gql(DECLARE, {"type": "refill_cup", "key": "d-1", "q": 2}, token=alice.token)
    over = await gql.error(DECLARE, {"type": "refill_cup", "key": "d-2", "q": 1}, token=alice.token)

    assert first["declareEcoAction"]["pointsAwarded"] == 10
    assert over["extensions"] == {"code": "RATE_LIMITED", "reason": "DAILY_CAP_REACHED"}
    assert "at most 2 'refill_cup' a day" in over["message"]
    impact = (await gql(IMPACT, token=alice.token))["ecoImpact"]
    assert (impact["co2eGrams"], impact["verifiedCo2eGrams"]) == (60, 0)


async def test_concurrent_declarations_never_exceed_the_cap(gql: GraphQL) -> None:
    await _programme(gql)
    alice = await f.customer(gql)

    answers = await asyncio.gather(
        *(
            gql.raw(DECLARE, {"type": "refill_cup", "key": f"c-{n}", "q": 1}, token=alice.token)
            for n in range(6)
        )
    )

    bodies = [a.json() for a in answers]
    accepted = [b for b in bodies if not b.get("errors")]
    assert len(accepted) == 2
    assert {b["errors"][0]["extensions"]["code"] for b in bodies if b.get("errors")} == {"RATE_LIMITED"}
    assert (await gql(IMPACT, token=alice.token))["ecoImpact"]["co2eGrams"] == 60


async def test_verified_actions_are_not_capped_and_need_the_eco_scope(gql: GraphQL) -> None:
    await _programme(gql)
    alice = await f.customer(gql)
    till = await f.api_key("till", ["purchases"])

    recorded = await gql(RECORD, _record(alice.id, "big-1", 10), api_key=(await f.api_key("p2", ["eco"])))
    forbidden = await gql.code(RECORD, _record(alice.id, "x-1"), api_key=till)
    customer = await gql.code(RECORD, _record(alice.id, "x-2"), token=alice.token)

    assert recorded["recordEcoAction"]["co2eGrams"] == 300
    assert (forbidden, customer) == ("FORBIDDEN", "FORBIDDEN")


async def test_bad_eco_input_is_refused(gql: GraphQL) -> None:
    marketer, partner = await _programme(gql)
    alice = await f.customer(gql)

    unknown = await gql.error(
        RECORD, {"input": {**_record(alice.id, "u-1")["input"], "type": "fly"}}, api_key=partner
    )
    zero = await gql.error(RECORD, _record(alice.id, "z-1", 0), api_key=partner)
    bad_code = await gql.error(UPSERT, {"input": {**REFILL, "code": "Refill Cup"}}, token=marketer)
    not_marketer = await gql.code(UPSERT, {"input": REFILL}, token=alice.token)

    assert unknown["extensions"] == {"code": "BAD_USER_INPUT", "field": "type", "reason": "UNKNOWN_ACTION"}
    assert zero["extensions"] == {"code": "BAD_USER_INPUT", "field": "quantity"}
    assert bad_code["extensions"] == {"code": "BAD_USER_INPUT", "field": "code"}
    assert not_marketer == "FORBIDDEN"
    assert (await gql(IMPACT, token=alice.token))["ecoImpact"]["co2eGrams"] == 0


async def test_programme_impact_sums_every_customer(gql: GraphQL) -> None:
    marketer, partner = await _programme(gql)
    alice, bob = await f.customer(gql), await f.customer(gql)
    await gql(RECORD, _record(alice.id, "a-1", 2), api_key=partner)
    await gql(DECLARE, {"type": "refill_cup", "key": "b-1", "q": 1}, token=bob.token)

    programme = await gql("{ programmeEcoImpact { co2eGrams verifiedCo2eGrams } }", token=marketer)
    bobs = (await gql(IMPACT, token=bob.token))["ecoImpact"]

    assert programme["programmeEcoImpact"] == {"co2eGrams": 90, "verifiedCo2eGrams": 60}
    assert bobs["co2eGrams"] == 30


async def test_eco_challenges_work_through_the_same_engine(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    marketer, partner = await _programme(gql, pointsPerUnit=0)
    alice = await f.customer(gql)
    rule = {
        "steps": [
            {
                "event": "eco_action",
                "filters": [{"field": "verified", "op": "eq", "value": True}],
                "aggregate": "sum",
                "field": "quantity",
                "target": 5,
            }
        ]
    }
    await published_challenge(gql, marketer, rule)

    await gql(DECLARE, {"type": "refill_cup", "key": "d-1", "q": 2}, token=alice.token)  # declared: ignored
    await gql(RECORD, _record(alice.id, "v-1", 5), api_key=partner)
    await process_all(settings, redis)

    [done] = (await gql(CHALLENGES, {"status": "COMPLETED"}, token=alice.token))["challenges"]
    assert done["steps"][0]["value"] == 5
    assert (await gql(f.ME, token=alice.token))["me"]["points"]["balance"] == 50
