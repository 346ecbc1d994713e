"""Challenges as a marketer writes them: every rule mistake named by its path, the lifecycle, who may do what.

All through GraphQL over HTTP; a refused write leaves no challenge behind.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import factories as f
from tests.challenge_helpers import CHALLENGES, CREATE, PUBLISH, challenge_input, published_challenge
from tests.graphql import GraphQL

DEFINITION_FIELDS = """
  id status title { fr en } description { fr en } icon startsAt endsAt recurrence rule rewardPoints
"""
CREATE_FULL = (
    f"mutation($input: ChallengeInput!) {{ createChallenge(input: $input) {{ {DEFINITION_FIELDS} }} }}"
)
UPDATE = f"""
mutation($id: ID!, $input: ChallengeInput!) {{
  updateChallenge(id: $id, input: $input) {{ {DEFINITION_FIELDS} }}
}}
"""
PAUSE = "mutation($id: ID!) { pauseChallenge(id: $id) { id status } }"
ARCHIVE = "mutation($id: ID!) { archiveChallenge(id: $id) { id status } }"
DEFINITIONS = (
    "query($status: ChallengeStatus) { challengeDefinitions(status: $status) { id status title { en } } }"
)
DEFINITION = f"query($id: ID!) {{ challengeDefinition(id: $id) {{ {DEFINITION_FIELDS} }} }}"
STATUS_CHANGES = {"publish": PUBLISH, "pause": PAUSE, "archive": ARCHIVE}

COUNT_STEP: dict[str, Any] = {"event": "purchase", "aggregate": "count", "target": 3}
VALID_RULE: dict[str, Any] = {"steps": [COUNT_STEP]}
PURCHASE_FIELDS = "amount_cents, category, channel, currency, eco, eco_quantity, quantity, sku, verified"
AGGREGATES = "count, sum, distinct_days, consecutive_days, consecutive_weeks"
TARGET = "must be a whole number from 1 to 1000000000"
SUM_FIELD = "sum needs a numeric field of the event, e.g. 'amount_cents'"
EVENT = "must be an event type such as 'purchase' or 'check_in'"
EQ = "eq compares with a string, a whole number or true/false"
IN = "in needs a list of 1 to 100 strings or whole numbers"
FILTERS = "must be a list of at most 20 filters"
WINDOW = "must be a whole number of days from 1 to 366"


def step(**changes: Any) -> dict[str, Any]:
    """A valid count-of-purchases step with some keys changed; a key set to ... is removed."""
    result = {**COUNT_STEP, **changes}
    return {k: v for k, v in result.items() if v is not ...}


def one_step(**changes: Any) -> dict[str, Any]:
    return {"steps": [step(**changes)]}


def filtered(*filters: Any, event: str = "purchase") -> dict[str, Any]:
    return one_step(event=event, filters=list(filters))


def flt(field: str = "channel", op: str = "eq", value: Any = "web", **extra: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value, **extra}


async def definitions(gql: GraphQL, marketer: str, status: str | None = None) -> list[dict[str, Any]]:
    result = await gql(DEFINITIONS, {"status": status}, token=marketer)
    return list(result["challengeDefinitions"])


async def create(gql: GraphQL, marketer: str, rule: Any = None, **overrides: Any) -> dict[str, Any]:
    data = await gql(CREATE_FULL, {"input": challenge_input(rule or VALID_RULE, **overrides)}, token=marketer)
    return dict(data["createChallenge"])


# --- the rule language ---------------------------------------------------------------------------------

BAD_RULES = [
    pytest.param([COUNT_STEP], "rule: must be an object with 'steps'", id="rule-is-a-list"),
    pytest.param("3 coffees", "rule: must be an object with 'steps'", id="rule-is-a-string"),
    pytest.param(42, "rule: must be an object with 'steps'", id="rule-is-a-number"),
    pytest.param({**VALID_RULE, "repeat": True}, "repeat: unknown key", id="unknown-top-level-key"),
    pytest.param({**VALID_RULE, "ordered": "yes"}, "ordered: must be true or false", id="ordered-string"),
    pytest.param({**VALID_RULE, "ordered": 1}, "ordered: must be true or false", id="ordered-one"),
    pytest.param({}, "steps: must be a list of 1 to 10 steps", id="steps-missing"),
    pytest.param({"steps": []}, "steps: must be a list of 1 to 10 steps", id="steps-empty"),
    pytest.param({"steps": COUNT_STEP}, "steps: must be a list of 1 to 10 steps", id="steps-an-object"),
    pytest.param({"steps": [COUNT_STEP] * 11}, "steps: must be a list of 1 to 10 steps", id="11-steps"),
    pytest.param({"steps": ["purchase"]}, "steps[0]: must be an object", id="step-a-string"),
    pytest.param({"steps": [COUNT_STEP, [COUNT_STEP]]}, "steps[1]: must be an object", id="step-a-list"),
    pytest.param(one_step(repeat=2), "steps[0].repeat: unknown key", id="unknown-step-key"),
    pytest.param(one_step(event="Purchase!"), f"steps[0].event: {EVENT}", id="event-bad-chars"),
    pytest.param(one_step(event=...), f"steps[0].event: {EVENT}", id="event-missing"),
    pytest.param(one_step(event=""), f"steps[0].event: {EVENT}", id="event-empty"),
    pytest.param(one_step(event="1st_visit"), f"steps[0].event: {EVENT}", id="event-starts-with-digit"),
    pytest.param(one_step(event="e" * 65), f"steps[0].event: {EVENT}", id="event-65-chars"),
    pytest.param(one_step(event=7), f"steps[0].event: {EVENT}", id="event-a-number"),
    pytest.param(
        one_step(aggregate="average"), f"steps[0].aggregate: must be one of {AGGREGATES}", id="bad-aggregate"
    ),
    pytest.param(
        one_step(aggregate=...), f"steps[0].aggregate: must be one of {AGGREGATES}", id="aggregate-missing"
    ),
    pytest.param(
        one_step(aggregate=["count"]), f"steps[0].aggregate: must be one of {AGGREGATES}", id="aggregate-list"
    ),
    pytest.param(one_step(target=...), f"steps[0].target: {TARGET}", id="target-missing"),
    pytest.param(one_step(target=0), f"steps[0].target: {TARGET}", id="target-zero"),
    pytest.param(one_step(target=-3), f"steps[0].target: {TARGET}", id="target-negative"),
    pytest.param(one_step(target=2.5), f"steps[0].target: {TARGET}", id="target-float"),
    pytest.param(one_step(target=3.0), f"steps[0].target: {TARGET}", id="target-whole-float"),
    pytest.param(one_step(target=True), f"steps[0].target: {TARGET}", id="target-bool"),
    pytest.param(one_step(target="3"), f"steps[0].target: {TARGET}", id="target-string"),
    pytest.param(one_step(target=1_000_000_001), f"steps[0].target: {TARGET}", id="target-over-1e9"),
    pytest.param(one_step(aggregate="sum"), f"steps[0].field: {SUM_FIELD}", id="sum-without-field"),
    pytest.param(
        one_step(aggregate="sum", field="currency"), f"steps[0].field: {SUM_FIELD}", id="sum-of-currency"
    ),
    pytest.param(one_step(aggregate="sum", field="eco"), f"steps[0].field: {SUM_FIELD}", id="sum-of-bool"),
    pytest.param(
        one_step(aggregate="sum", field="price"), f"steps[0].field: {SUM_FIELD}", id="sum-of-unknown-field"
    ),
    pytest.param(one_step(aggregate="sum", field=5), f"steps[0].field: {SUM_FIELD}", id="sum-field-number"),
    pytest.param(
        one_step(field="amount_cents"),
        "steps[0].field: only 'sum' takes a field, not count",
        id="field-with-count",
    ),
    pytest.param(
        one_step(aggregate="distinct_days", field="quantity"),
        "steps[0].field: only 'sum' takes a field, not distinct_days",
        id="field-with-distinct-days",
    ),
    pytest.param(one_step(filters=flt()), f"steps[0].filters: {FILTERS}", id="filters-an-object"),
    pytest.param(one_step(filters=None), f"steps[0].filters: {FILTERS}", id="filters-null"),
    pytest.param(filtered(*[flt()] * 21), f"steps[0].filters: {FILTERS}", id="21-filters"),
    pytest.param(
        filtered("channel=web"),
        "steps[0].filters[0]: must be an object with field, op and value",
        id="filter-a-string",
    ),
    pytest.param(
        filtered(flt(), ["channel", "eq", "web"]),
        "steps[0].filters[1]: must be an object with field, op and value",
        id="filter-a-list",
    ),
    pytest.param(
        filtered(flt(negate=True)), "steps[0].filters[0].negate: unknown key", id="unknown-filter-key"
    ),
    pytest.param(
        filtered(flt(field="colour")),
        f"steps[0].filters[0].field: must be one of {PURCHASE_FIELDS}",
        id="unknown-purchase-field",
    ),
    pytest.param(
        filtered({"op": "eq", "value": "web"}),
        f"steps[0].filters[0].field: must be one of {PURCHASE_FIELDS}",
        id="filter-field-missing",
    ),
    pytest.param(
        filtered(flt(field="Bad-Field"), event="check_in"),
        "steps[0].filters[0].field: must be an attribute name (a-z, 0-9, _)",
        id="custom-event-bad-field",
    ),
    pytest.param(
        filtered(flt(op="ne")),
        "steps[0].filters[0].op: must be one of eq, in, gte, lte, contains",
        id="bad-op",
    ),
    pytest.param(
        filtered({"field": "channel", "value": "web"}),
        "steps[0].filters[0].op: must be one of eq, in, gte, lte, contains",
        id="op-missing",
    ),
    pytest.param(filtered(flt(value=["web"])), f"steps[0].filters[0].value: {EQ}", id="eq-list"),
    pytest.param(
        filtered(flt(field="quantity", value=1.5)), f"steps[0].filters[0].value: {EQ}", id="eq-float"
    ),
    pytest.param(filtered(flt(value={"is": "web"})), f"steps[0].filters[0].value: {EQ}", id="eq-object"),
    pytest.param(filtered(flt(value=None)), f"steps[0].filters[0].value: {EQ}", id="eq-null"),
    pytest.param(filtered(flt(op="in", value=[])), f"steps[0].filters[0].value: {IN}", id="in-empty-list"),
    pytest.param(filtered(flt(op="in", value="web")), f"steps[0].filters[0].value: {IN}", id="in-not-a-list"),
    pytest.param(
        filtered(flt(op="in", value=[f"c{i}" for i in range(101)])),
        f"steps[0].filters[0].value: {IN}",
        id="in-101-values",
    ),
    pytest.param(
        filtered(flt(op="in", value=["web", True])), f"steps[0].filters[0].value: {IN}", id="in-bool-element"
    ),
    pytest.param(
        filtered(flt(op="in", value=["web", 1.5])), f"steps[0].filters[0].value: {IN}", id="in-float-element"
    ),
    pytest.param(
        filtered(flt(op="in", value=[["web"]])), f"steps[0].filters[0].value: {IN}", id="in-list-element"
    ),
    pytest.param(
        filtered(flt(field="amount_cents", op="gte", value="100")),
        "steps[0].filters[0].value: gte compares with a whole number",
        id="gte-string",
    ),
    pytest.param(
        filtered(flt(field="amount_cents", op="lte", value="100")),
        "steps[0].filters[0].value: lte compares with a whole number",
        id="lte-string",
    ),
    pytest.param(
        filtered(flt(field="amount_cents", op="gte", value=True)),
        "steps[0].filters[0].value: gte compares with a whole number",
        id="gte-bool",
    ),
    pytest.param(
        filtered(flt(field="amount_cents", op="lte", value=99.5)),
        "steps[0].filters[0].value: lte compares with a whole number",
        id="lte-float",
    ),
    pytest.param(
        filtered(flt(field="category", op="contains", value=3)),
        "steps[0].filters[0].value: contains looks for a string",
        id="contains-number",
    ),
    pytest.param(
        filtered(flt(field="category", op="contains", value=["coffee"])),
        "steps[0].filters[0].value: contains looks for a string",
        id="contains-list",
    ),
    pytest.param(
        filtered(flt("eco", "eq", 1)),
        "steps[0].filters[0].value: eco compares with true/false values",
        id="eq-number-on-a-boolean-field",
    ),
    pytest.param(
        filtered(flt("quantity", "in", [1, True])),
        "steps[0].filters[0].value: in needs a list of 1 to 100 strings or whole numbers",
        id="in-bool-on-a-number-field",
    ),
    pytest.param(
        filtered(flt("channel", "eq", 3)),
        "steps[0].filters[0].value: channel compares with str values",
        id="eq-number-on-a-text-field",
    ),
    pytest.param(
        filtered(flt("currency", "gte", 5)),
        "steps[0].filters[0].op: gte does not apply to currency",
        id="gte-on-a-text-field",
    ),
    pytest.param(
        filtered(flt("amount_cents", "contains", "5")),
        "steps[0].filters[0].op: contains does not apply to amount_cents",
        id="contains-on-a-number",
    ),
    pytest.param(one_step(within_days=0), f"steps[0].within_days: {WINDOW}", id="window-zero-days"),
    pytest.param(one_step(within_days=367), f"steps[0].within_days: {WINDOW}", id="window-367-days"),
    pytest.param(one_step(within_days=True), f"steps[0].within_days: {WINDOW}", id="window-true"),
    pytest.param(one_step(within_days="30"), f"steps[0].within_days: {WINDOW}", id="window-a-string"),
    pytest.param(
        one_step(aggregate="consecutive_days", within_days=30),
        "steps[0].within_days: applies to count, sum and distinct_days, not consecutive_days",
        id="window-on-consecutive-days",
    ),
]


@pytest.mark.parametrize(("rule", "problem"), BAD_RULES)
async def test_a_bad_rule_is_refused_with_the_path_of_the_problem(
    gql: GraphQL, rule: Any, problem: str
) -> None:
    marketer = await f.marketer_token(gql)
    error = await gql.error(CREATE, {"input": challenge_input(rule)}, token=marketer)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "rule"
    assert error["message"] == f"invalid rule: {problem}"
    assert await definitions(gql, marketer) == []


async def test_every_problem_of_a_rule_is_reported_at_once(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    rule = {
        "steps": [
            step(aggregate="avg"),
            COUNT_STEP,
            step(target=0, filters=[flt(field="colour"), flt(op="in", value=[])]),
        ]
    }
    error = await gql.error(CREATE, {"input": challenge_input(rule)}, token=marketer)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "rule"}
    assert error["message"] == (
        f"invalid rule: steps[0].aggregate: must be one of {AGGREGATES}; "
        f"steps[2].target: {TARGET}; "
        f"steps[2].filters[0].field: must be one of {PURCHASE_FIELDS}; "
        f"steps[2].filters[1].value: {IN}"
    )


async def test_rule_level_and_step_level_problems_are_reported_together(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    rule = {"ordered": "no", "mode": "fast", "steps": [step(event="Bad Event", extra=1)]}
    error = await gql.error(CREATE, {"input": challenge_input(rule)}, token=marketer)
    assert error["extensions"]["field"] == "rule"
    assert error["message"] == (
        "invalid rule: mode: unknown key; ordered: must be true or false; "
        f"steps[0].extra: unknown key; steps[0].event: {EVENT}"
    )


async def test_a_refused_create_writes_nothing_next_to_existing_challenges(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    kept = await create(gql, marketer)
    code = await gql.code(CREATE, {"input": challenge_input(one_step(target=0))}, token=marketer)
    assert code == "BAD_USER_INPUT"
    code = await gql.code(CREATE, {"input": challenge_input(VALID_RULE, rewardPoints=-1)}, token=marketer)
    assert code == "BAD_USER_INPUT"
    assert await definitions(gql, marketer) == [
        {"id": kept["id"], "status": "DRAFT", "title": {"en": "Regular"}}
    ]


GOOD_RULES = [
    pytest.param(one_step(target=1), id="target-1"),
    pytest.param(one_step(target=1_000_000_000), id="target-1e9"),
    pytest.param({"steps": [COUNT_STEP] * 10, "ordered": True}, id="10-ordered-steps"),
    pytest.param(filtered(*[flt()] * 20), id="20-filters"),
    pytest.param(filtered(flt(op="in", value=[f"shop-{n}" for n in range(100)])), id="in-100-values"),
    pytest.param(filtered(flt(field="eco", value=True)), id="eq-bool"),
    pytest.param(filtered(flt(field="quantity", value=2)), id="eq-int"),
    pytest.param(filtered(flt(field="amount_cents", op="gte", value=0)), id="gte-zero"),
    pytest.param(one_step(aggregate="sum", field="amount_cents", target=5000), id="sum-amount"),
    pytest.param(one_step(aggregate="sum", field="eco_quantity"), id="sum-eco-quantity"),
    pytest.param(one_step(aggregate="consecutive_weeks", filters=[]), id="consecutive-weeks"),
    pytest.param(
        one_step(
            event="check_in",
            aggregate="sum",
            field="minutes",
            filters=[flt(field="store_id", value="S-1"), flt(field="x9_", op="in", value=["a", 2])],
        ),
        id="custom-event-any-identifier-field",
    ),
    pytest.param(one_step(event="e" * 64), id="event-64-chars"),
    pytest.param(one_step(within_days=30), id="count-within-30-days"),
    pytest.param(one_step(aggregate="distinct_days", within_days=1), id="distinct-days-within-1-day"),
    pytest.param(
        one_step(aggregate="sum", field="amount_cents", target=5000, within_days=366),
        id="sum-within-366-days",
    ),
]


@pytest.mark.parametrize("rule", GOOD_RULES)
async def test_a_valid_rule_is_accepted_and_kept_as_written(gql: GraphQL, rule: dict[str, Any]) -> None:
    marketer = await f.marketer_token(gql)
    created = await create(gql, marketer, rule)
    assert created["status"] == "DRAFT"
    expected = {
        "ordered": rule.get("ordered", False),
        "steps": [{"filters": [], **s} for s in rule["steps"]],
    }
    assert created["rule"] == expected


# --- the rest of the input -----------------------------------------------------------------------------

_STARTS = datetime.now(UTC) - timedelta(days=30)

BAD_INPUTS = [
    pytest.param({"title": {}}, "title", "title: give at least one of fr, en", id="title-empty"),
    pytest.param(
        {"title": {"fr": None, "en": None}}, "title", "title: give at least one of fr, en", id="title-nulls"
    ),
    pytest.param(
        {"title": {"fr": "Habitué", "en": "x" * 121}},
        "title",
        "title.en must have 1 to 120 characters",
        id="title-121-chars",
    ),
    pytest.param(
        {"title": {"fr": "   "}}, "title", "title.fr must have 1 to 120 characters", id="title-blank"
    ),
    pytest.param(
        {"description": {"en": "x" * 2001}},
        "description",
        "description.en must have 1 to 2000 characters",
        id="description-2001-chars",
    ),
    pytest.param(
        {"startsAt": _STARTS.isoformat(), "endsAt": (_STARTS - timedelta(days=1)).isoformat()},
        "endsAt",
        "endsAt must be after startsAt",
        id="ends-before-start",
    ),
    pytest.param(
        {"startsAt": _STARTS.isoformat(), "endsAt": _STARTS.isoformat()},
        "endsAt",
        "endsAt must be after startsAt",
        id="ends-at-start",
    ),
    pytest.param(
        {"startsAt": "2026-01-01T00:00:00"}, "startsAt", "startsAt must carry a UTC offset", id="naive-start"
    ),
    pytest.param(
        {"rewardPoints": -1},
        "rewardPoints",
        "rewardPoints must be between 0 and 1000000",
        id="reward-negative",
    ),
    pytest.param(
        {"rewardPoints": 1_000_001},
        "rewardPoints",
        "rewardPoints must be between 0 and 1000000",
        id="reward-over-1e6",
    ),
    pytest.param({"icon": "i" * 201}, "icon", "icon must have at most 200 characters", id="icon-201-chars"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUTS)
async def test_bad_challenge_input_is_refused_with_its_field(
    gql: GraphQL, overrides: dict[str, Any], field: str, message: str
) -> None:
    marketer = await f.marketer_token(gql)
    error = await gql.error(CREATE, {"input": challenge_input(VALID_RULE, **overrides)}, token=marketer)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert error["message"] == message
    assert await definitions(gql, marketer) == []


async def test_a_title_in_another_language_cannot_even_be_sent(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    bad = challenge_input(VALID_RULE, title={"fr": "Habitué", "de": "Stammkunde"})
    error = await gql.error(CREATE, {"input": bad}, token=marketer)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("Variable '$input' has invalid value at .title: ")
    assert "unknown field 'de'" in error["message"]
    assert await definitions(gql, marketer) == []


async def test_input_at_the_limits_is_accepted(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    created = await create(
        gql,
        marketer,
        title={"en": "  " + "x" * 120 + "  "},
        description={"fr": "d" * 2000},
        icon="i" * 200,
        rewardPoints=1_000_000,
        startsAt=_STARTS.isoformat(),
        endsAt=(_STARTS + timedelta(seconds=1)).isoformat(),
    )
    assert created["title"] == {"fr": None, "en": "x" * 120}
    assert created["description"] == {"fr": "d" * 2000, "en": None}
    assert created["icon"] == "i" * 200
    assert created["rewardPoints"] == 1_000_000


async def test_an_update_is_validated_like_a_create(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    created = await create(gql, marketer)
    bad = challenge_input(one_step(aggregate="sum", field="currency"))
    error = await gql.error(UPDATE, {"id": created["id"], "input": bad}, token=marketer)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "rule"}
    assert error["message"] == f"invalid rule: steps[0].field: {SUM_FIELD}"
    unchanged = (await gql(DEFINITION, {"id": created["id"]}, token=marketer))["challengeDefinition"]
    assert unchanged == created


# --- lifecycle -----------------------------------------------------------------------------------------


async def test_a_created_challenge_is_a_draft_that_echoes_its_normalised_rule(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    ends = _STARTS + timedelta(days=60)
    rule = {
        "steps": [
            {"event": "purchase", "aggregate": "count", "target": 2},
            {
                "event": "purchase",
                "filters": [{"field": "category", "op": "contains", "value": "coffee"}],
                "aggregate": "sum",
                "field": "quantity",
                "target": 10,
            },
        ]
    }
    created = await create(
        gql,
        marketer,
        rule,
        title={"fr": " Habitué ", "en": "Regular"},
        description={"en": "Come back"},
        icon="cup",
        startsAt=_STARTS.isoformat(),
        endsAt=ends.isoformat(),
        recurrence="WEEKLY",
        rewardPoints=75,
    )
    assert created["status"] == "DRAFT"
    assert created["rule"] == {
        "ordered": False,
        "steps": [
            {"event": "purchase", "filters": [], "aggregate": "count", "target": 2},
            {
                "event": "purchase",
                "filters": [{"field": "category", "op": "contains", "value": "coffee"}],
                "aggregate": "sum",
                "field": "quantity",
                "target": 10,
            },
        ],
    }
    assert created["title"] == {"fr": "Habitué", "en": "Regular"}
    assert created["description"] == {"fr": None, "en": "Come back"}
    assert (created["icon"], created["recurrence"], created["rewardPoints"]) == ("cup", "WEEKLY", 75)
    assert datetime.fromisoformat(created["startsAt"]) == _STARTS
    assert datetime.fromisoformat(created["endsAt"]) == ends
    fetched = (await gql(DEFINITION, {"id": created["id"]}, token=marketer))["challengeDefinition"]
    assert fetched == created


async def test_update_replaces_a_draft_and_conflicts_once_published(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    created = await create(gql, marketer)
    new_rule = {"ordered": True, "steps": [step(target=5), step(event="check_in", target=1)]}
    new_input = challenge_input(new_rule, title={"en": "Loyal"}, rewardPoints=10)
    updated = (await gql(UPDATE, {"id": created["id"], "input": new_input}, token=marketer))[
        "updateChallenge"
    ]
    assert updated["id"] == created["id"]
    assert updated["status"] == "DRAFT"
    assert updated["title"] == {"fr": None, "en": "Loyal"}
    assert updated["rewardPoints"] == 10
    assert updated["rule"] == {
        "ordered": True,
        "steps": [
            {"event": "purchase", "filters": [], "aggregate": "count", "target": 5},
            {"event": "check_in", "filters": [], "aggregate": "count", "target": 1},
        ],
    }
    assert (await gql(DEFINITION, {"id": created["id"]}, token=marketer))["challengeDefinition"] == updated

    await gql(PUBLISH, {"id": created["id"]}, token=marketer)
    error = await gql.error(
        UPDATE, {"id": created["id"], "input": challenge_input(VALID_RULE)}, token=marketer
    )
    assert (error["extensions"]["code"], error["extensions"]["reason"]) == ("CONFLICT", "NOT_DRAFT")
    assert error["message"] == "only drafts can be edited; this one is active"
    after = (await gql(DEFINITION, {"id": created["id"]}, token=marketer))["challengeDefinition"]
    assert after == {**updated, "status": "ACTIVE"}


async def test_status_moves_draft_active_paused_active_archived_and_stops_there(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    challenge_id = (await create(gql, marketer))["id"]

    async def change(action: str) -> str:
        result = await gql(STATUS_CHANGES[action], {"id": challenge_id}, token=marketer)
        [(_, value)] = result.items()
        assert value["id"] == challenge_id
        return str(value["status"])

    assert await change("publish") == "ACTIVE"
    assert await change("pause") == "PAUSED"
    assert await change("publish") == "ACTIVE"
    assert await change("archive") == "ARCHIVED"
    for action, query in STATUS_CHANGES.items():
        error = await gql.error(query, {"id": challenge_id}, token=marketer)
        assert (error["extensions"]["code"], error["extensions"]["reason"]) == ("CONFLICT", "ARCHIVED")
        assert error["message"] == f"cannot {action} a challenge that is archived"
    error = await gql.error(
        UPDATE, {"id": challenge_id, "input": challenge_input(VALID_RULE)}, token=marketer
    )
    assert (error["extensions"]["code"], error["extensions"]["reason"]) == ("CONFLICT", "NOT_DRAFT")
    assert await definitions(gql, marketer) == [
        {"id": challenge_id, "status": "ARCHIVED", "title": {"en": "Regular"}}
    ]


@pytest.mark.parametrize(
    ("before", "action", "outcome"),
    [
        pytest.param([], "pause", "CONFLICT NOT_ACTIVE", id="pause-draft"),
        pytest.param(["publish"], "publish", "CONFLICT ALREADY_PUBLISHED", id="publish-active"),
        pytest.param(["publish", "pause"], "pause", "CONFLICT NOT_ACTIVE", id="pause-paused"),
        pytest.param([], "archive", "ARCHIVED", id="archive-draft"),
        pytest.param(["publish", "pause"], "archive", "ARCHIVED", id="archive-paused"),
        pytest.param(["publish", "pause"], "publish", "ACTIVE", id="publish-paused"),
    ],
)
async def test_each_status_change_from_each_status(
    gql: GraphQL, before: list[str], action: str, outcome: str
) -> None:
    marketer = await f.marketer_token(gql)
    challenge_id = (await create(gql, marketer))["id"]
    for earlier in before:
        await gql(STATUS_CHANGES[earlier], {"id": challenge_id}, token=marketer)
    status_before = (await definitions(gql, marketer))[0]["status"]
    response = await gql.raw(STATUS_CHANGES[action], {"id": challenge_id}, token=marketer)
    body = response.json()
    if outcome.startswith("CONFLICT"):
        [error] = body["errors"]
        assert error["extensions"] == {"code": "CONFLICT", "reason": outcome.split()[1]}
        assert error["message"] == f"cannot {action} a challenge that is {status_before.lower()}"
        assert (await definitions(gql, marketer))[0]["status"] == status_before
    else:
        assert "errors" not in body, body
        [value] = body["data"].values()
        assert value == {"id": challenge_id, "status": outcome}
        assert (await definitions(gql, marketer))[0]["status"] == outcome


ID_OPERATIONS = {
    "publish": (PUBLISH, False),
    "pause": (PAUSE, False),
    "archive": (ARCHIVE, False),
    "update": (UPDATE, True),
    "definition": (DEFINITION, False),
}


@pytest.mark.parametrize("operation", list(ID_OPERATIONS))
@pytest.mark.parametrize(
    "missing_id",
    [
        pytest.param("next", id="unknown-id"),
        pytest.param("abc", id="non-numeric"),
        pytest.param("-1", id="negative"),
        pytest.param("1.5", id="decimal"),
        pytest.param("", id="empty"),
    ],
)
async def test_an_id_without_a_challenge_is_not_found(gql: GraphQL, operation: str, missing_id: str) -> None:
    marketer = await f.marketer_token(gql)
    existing = (await create(gql, marketer))["id"]
    if missing_id == "next":
        missing_id = str(int(existing) + 1)
    query, needs_input = ID_OPERATIONS[operation]
    variables: dict[str, Any] = {"id": missing_id}
    if needs_input:
        variables["input"] = challenge_input(VALID_RULE)
    error = await gql.error(query, variables, token=marketer)
    assert error["extensions"] == {"code": "NOT_FOUND", "reason": "UNKNOWN_CHALLENGE"}
    assert error["message"] == "no challenge with this id"
    assert await definitions(gql, marketer) == [
        {"id": existing, "status": "DRAFT", "title": {"en": "Regular"}}
    ]


@pytest.mark.parametrize(
    "huge_id",
    # challenge.id is an INTEGER: 32 bits on PostgreSQL, 64 on SQLite.
    [pytest.param("2147483648", id="2^31"), pytest.param(str(2**64), id="2^64")],
)
async def test_an_id_beyond_the_column_range_is_not_found(gql: GraphQL, huge_id: str) -> None:
    marketer = await f.marketer_token(gql)
    for query in (PUBLISH, DEFINITION):
        error = await gql.error(query, {"id": huge_id}, token=marketer)
        assert error["extensions"] == {"code": "NOT_FOUND", "reason": "UNKNOWN_CHALLENGE"}, error


async def test_definitions_filter_by_status_newest_first(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    ids = {}
    for name in ("draft", "active", "paused", "archived", "active2"):
        ids[name] = (await create(gql, marketer, title={"en": name}))["id"]
    for name, actions in {
        "active": ["publish"],
        "paused": ["publish", "pause"],
        "archived": ["archive"],
        "active2": ["publish"],
    }.items():
        for action in actions:
            await gql(STATUS_CHANGES[action], {"id": ids[name]}, token=marketer)

    def row(name: str, status: str) -> dict[str, Any]:
        return {"id": ids[name], "status": status, "title": {"en": name}}

    assert await definitions(gql, marketer, "ACTIVE") == [row("active2", "ACTIVE"), row("active", "ACTIVE")]
    assert await definitions(gql, marketer, "DRAFT") == [row("draft", "DRAFT")]
    assert await definitions(gql, marketer, "PAUSED") == [row("paused", "PAUSED")]
    assert await definitions(gql, marketer, "ARCHIVED") == [row("archived", "ARCHIVED")]
    assert await definitions(gql, marketer) == [
        row("active2", "ACTIVE"),
        row("archived", "ARCHIVED"),
        row("paused", "PAUSED"),
        row("active", "ACTIVE"),
        row("draft", "DRAFT"),
    ]
    one = (await gql(DEFINITION, {"id": ids["paused"]}, token=marketer))["challengeDefinition"]
    assert (one["id"], one["status"], one["title"]) == (ids["paused"], "PAUSED", {"fr": None, "en": "paused"})


# --- who may do what -----------------------------------------------------------------------------------

MARKETER_OPERATIONS = {
    "createChallenge": (CREATE, {"input": challenge_input(VALID_RULE)}),
    "updateChallenge": (UPDATE, {"input": challenge_input(one_step(target=9))}),
    "publishChallenge": (PUBLISH, {}),
    "pauseChallenge": (PAUSE, {}),
    "archiveChallenge": (ARCHIVE, {}),
    "challengeDefinitions": (DEFINITIONS, {}),
    "challengeDefinition": (DEFINITION, {}),
}


@pytest.mark.parametrize("operation", list(MARKETER_OPERATIONS))
@pytest.mark.parametrize(
    ("caller", "code"),
    [
        pytest.param("customer", "FORBIDDEN", id="customer"),
        pytest.param("anonymous", "UNAUTHENTICATED", id="anonymous"),
        pytest.param("api-key", "FORBIDDEN", id="api-key"),
    ],
)
async def test_only_marketers_manage_challenges(gql: GraphQL, operation: str, caller: str, code: str) -> None:
    marketer = await f.marketer_token(gql)
    existing = await create(gql, marketer)
    auth: dict[str, str] = {}
    if caller == "customer":
        auth["token"] = (await f.customer(gql)).token
    elif caller == "api-key":
        auth["api_key"] = await f.api_key()
    query, variables = MARKETER_OPERATIONS[operation]
    error = await gql.error(query, {**variables, "id": existing["id"]}, **auth)
    assert error["extensions"]["code"] == code
    assert error["path"] == [operation]
    assert await definitions(gql, marketer) == [
        {"id": existing["id"], "status": "DRAFT", "title": {"en": "Regular"}}
    ]
    assert (await gql(DEFINITION, {"id": existing["id"]}, token=marketer))["challengeDefinition"] == existing


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        pytest.param("marketer", "FORBIDDEN", id="marketer"),
        pytest.param("anonymous", "UNAUTHENTICATED", id="anonymous"),
        pytest.param("api-key", "FORBIDDEN", id="api-key"),
    ],
)
async def test_only_customers_see_their_challenges(gql: GraphQL, caller: str, code: str) -> None:
    marketer = await f.marketer_token(gql)
    await published_challenge(gql, marketer, VALID_RULE)
    auth = {"marketer": {"token": marketer}, "anonymous": {}, "api-key": {"api_key": await f.api_key()}}[
        caller
    ]
    error = await gql.error(CHALLENGES, {"status": "ACTIVE"}, **auth)
    assert error["extensions"]["code"] == code
    assert error["path"] == ["challenges"]


async def _customer_titles(gql: GraphQL, token: str, view: str) -> list[str]:
    result = await gql(CHALLENGES, {"status": view}, token=token)
    return [c["title"] for c in result["challenges"]]


async def test_customers_see_only_published_challenges_in_their_window(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    alice = await f.customer(gql, locale="en")
    now = datetime.now(UTC)
    past, future = (now - timedelta(days=30)).isoformat(), (now + timedelta(days=2)).isoformat()

    async def make(title: str, actions: list[str], **overrides: Any) -> str:
        challenge_id = (await create(gql, marketer, title={"en": title}, **overrides))["id"]
        for action in actions:
            await gql(STATUS_CHANGES[action], {"id": challenge_id}, token=marketer)
        return str(challenge_id)

    live = await make("live", ["publish"], startsAt=past)
    await make("ends-tomorrow", ["publish"], startsAt=past, endsAt=(now + timedelta(days=1)).isoformat())
    await make("draft", [], startsAt=past)
    await make("paused", ["publish", "pause"], startsAt=past)
    await make("archived", ["publish", "archive"], startsAt=past)
    await make("expired", ["publish"], startsAt=past, endsAt=(now - timedelta(seconds=1)).isoformat())
    soon = await make("soon", ["publish"], startsAt=future)
    await make("soon-draft", [], startsAt=future)
    await make("soon-paused", ["publish", "pause"], startsAt=future)

    assert await _customer_titles(gql, alice.token, "ACTIVE") == ["live", "ends-tomorrow"]
    assert await _customer_titles(gql, alice.token, "UPCOMING") == ["soon"]
    assert await _customer_titles(gql, alice.token, "COMPLETED") == []

    upcoming = (await gql(CHALLENGES, {"status": "UPCOMING"}, token=alice.token))["challenges"]
    assert upcoming == [
        {
            "id": soon,
            "title": "soon",
            "period": "",
            "rewardPoints": 50,
            "completedAt": None,
            "steps": [{"event": "purchase", "aggregate": "count", "target": 3, "value": 0}],
        }
    ]
    active = (await gql(CHALLENGES, {"status": "ACTIVE"}, token=alice.token))["challenges"]
    assert active[0]["id"] == live
    assert active[0]["steps"] == [{"event": "purchase", "aggregate": "count", "target": 3, "value": 0}]


async def test_pausing_and_archiving_take_a_challenge_off_the_customer_list(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    alice = await f.customer(gql, locale="fr")
    challenge_id = await published_challenge(gql, marketer, VALID_RULE)
    assert await _customer_titles(gql, alice.token, "ACTIVE") == ["Habitué"]
    await gql(PAUSE, {"id": challenge_id}, token=marketer)
    assert await _customer_titles(gql, alice.token, "ACTIVE") == []
    await gql(PUBLISH, {"id": challenge_id}, token=marketer)
    assert await _customer_titles(gql, alice.token, "ACTIVE") == ["Habitué"]
    await gql(ARCHIVE, {"id": challenge_id}, token=marketer)
    assert await _customer_titles(gql, alice.token, "ACTIVE") == []
    assert await _customer_titles(gql, alice.token, "UPCOMING") == []
