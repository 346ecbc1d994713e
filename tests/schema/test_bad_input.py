"""Every bad request gets a coded error and leaves no trace: no event, no purchase, no ledger entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from game.access.service import revoke_api_keys
from game.events.models import Event
from game.ledger.models import LedgerEntry
from game.purchases.models import Purchase
from tests import factories as f
from tests.graphql import GraphQL

_NOW = datetime.now(UTC)
UNKNOWN_CUSTOMER = "00000000-0000-4000-8000-000000000000"


def _items(count: int, **item: Any) -> list[dict[str, Any]]:
    return [{"sku": f"SKU-{i}", "quantity": 1, "unitPriceCents": 1, **item} for i in range(count)]


async def _rows() -> tuple[int, int, int]:
    return await Event.all().count(), await Purchase.all().count(), await LedgerEntry.all().count()


async def _me(gql: GraphQL, customer: f.Customer) -> tuple[int, list[str]]:
    me = (await gql(f.ME, token=customer.token))["me"]
    return me["points"]["balance"], [edge["node"]["reason"] for edge in me["ledger"]["edges"]]


async def _customer_with_one_purchase(gql: GraphQL, key: str) -> f.Customer:
    """A customer with 100 points from order OK-1, so "unchanged" is not the same as "empty"."""
    alice = await f.customer(gql)
    await f.earn_rule(points_per_unit=10)
    await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "OK-1", 1000)}, api_key=key)
    assert await _me(gql, alice) == (100, ["Purchase OK-1"])
    return alice


async def _assert_nothing_written(
    gql: GraphQL, alice: f.Customer, key: str, rows: tuple[int, int, int]
) -> None:
    assert await _rows() == rows
    assert await _me(gql, alice) == (100, ["Purchase OK-1"])
    # The refused order id is still free: no event row was left behind under its idempotency key.
    retry = await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "BAD-1", 1000)}, api_key=key)
    assert retry["recordPurchase"] == {"pointsAwarded": 100, "balance": 200, "duplicate": False}


BAD_PURCHASES = [
    pytest.param({"orderId": "O" * 111}, "BAD_USER_INPUT", "orderId", id="order-id-111-chars"),
    pytest.param({"orderId": ""}, "BAD_USER_INPUT", "orderId", id="order-id-empty"),
    pytest.param({"amountCents": -100}, "BAD_USER_INPUT", "amountCents", id="negative-amount"),
    pytest.param({"amountCents": 0}, "BAD_USER_INPUT", "amountCents", id="zero-amount"),
    pytest.param({"amountCents": 10_000_001}, "BAD_USER_INPUT", "amountCents", id="absurd-amount"),
    pytest.param({"currency": "XXX"}, "BAD_USER_INPUT", "currency", id="unknown-currency"),
    pytest.param({"currency": "USD"}, "BAD_USER_INPUT", "currency", id="currency-without-rule"),
    pytest.param(
        {"occurredAt": (_NOW - timedelta(days=1)).replace(tzinfo=None).isoformat()},
        "BAD_USER_INPUT",
        "occurredAt",
        id="naive-date",
    ),
    pytest.param(
        {"occurredAt": (_NOW + timedelta(days=1)).isoformat()}, "BAD_USER_INPUT", "occurredAt", id="future"
    ),
    pytest.param(
        {"occurredAt": (_NOW - timedelta(days=400)).isoformat()},
        "BAD_USER_INPUT",
        "occurredAt",
        id="over-a-year-ago",
    ),
    pytest.param({"items": _items(201)}, "BAD_USER_INPUT", "items", id="201-items"),
    pytest.param({"items": _items(1, quantity=0)}, "BAD_USER_INPUT", "items", id="zero-quantity"),
    pytest.param({"items": _items(1, quantity=10_001)}, "BAD_USER_INPUT", "items", id="huge-quantity"),
    pytest.param({"items": _items(1, unitPriceCents=-1)}, "BAD_USER_INPUT", "items", id="negative-price"),
    pytest.param({"customerId": UNKNOWN_CUSTOMER}, "NOT_FOUND", None, id="unknown-customer"),
    pytest.param({"customerId": "not-a-uuid"}, "NOT_FOUND", None, id="non-uuid-customer"),
]


async def test_the_longest_ids_from_the_longest_source_are_recorded(gql: GraphQL) -> None:
    """Order and refund ids of 110 characters from a key named with 80 fit every column they reach (award
    keys, event keys), on PostgreSQL too, where column lengths are enforced; 111 are refused up front."""
    key = await f.api_key("k" * 80, ["purchases"])
    alice = await f.customer(gql)
    await f.earn_rule(points_per_unit=10)
    order, refund = "O" * 110, "R" * 110
    bought = await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, order, 1000)}, api_key=key)
    assert bought["recordPurchase"] == {"pointsAwarded": 100, "balance": 100, "duplicate": False}
    data = {"customerId": alice.id, "orderId": order, "refundId": refund, "amountCents": 500}
    refunded = await gql(f.REFUND_PURCHASE, {"input": data}, api_key=key)
    assert refunded["refundPurchase"] == {"pointsReversed": 50, "balance": 50, "duplicate": False}
    error = await gql.error(f.REFUND_PURCHASE, {"input": {**data, "refundId": "R" * 111}}, api_key=key)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "refundId")


@pytest.mark.parametrize(("override", "code", "field"), BAD_PURCHASES)
async def test_bad_purchase_is_refused_and_writes_nothing(
    gql: GraphQL, override: dict[str, Any], code: str, field: str | None
) -> None:
    key = await f.api_key()
    alice = await _customer_with_one_purchase(gql, key)
    rows = await _rows()

    error = await gql.error(
        f.RECORD_PURCHASE, {"input": {**f.purchase(alice.id, "BAD-1"), **override}}, api_key=key
    )

    assert error["extensions"]["code"] == code, error
    assert error["extensions"].get("field") == field, error
    await _assert_nothing_written(gql, alice, key, rows)


# Refused by graphql-core while coercing $input, before any resolver runs.
UNCOERCIBLE = [
    pytest.param({"amountCents": 2**31}, "amountCents", id="amount-beyond-int"),
    pytest.param({"amountCents": "1250"}, "amountCents", id="amount-as-string"),
    pytest.param({"occurredAt": "last tuesday"}, "occurredAt", id="unparseable-date"),
    pytest.param({"items": [{"quantity": 1}]}, "sku", id="item-without-sku"),
    pytest.param({"currency": None}, "currency", id="null-currency"),
]


@pytest.mark.parametrize(("override", "field"), UNCOERCIBLE)
async def test_uncoercible_input_is_refused_before_execution(
    gql: GraphQL, override: dict[str, Any], field: str
) -> None:
    key = await f.api_key()
    alice = await _customer_with_one_purchase(gql, key)
    rows = await _rows()
    variables = {"input": {**f.purchase(alice.id, "BAD-1", 1000), **override}}

    body = (await gql.raw(f.RECORD_PURCHASE, variables, api_key=key)).json()

    assert body.get("data") is None
    assert len(body["errors"]) == 1
    await _assert_nothing_written(gql, alice, key, rows)


@pytest.mark.parametrize(("override", "field"), UNCOERCIBLE)
async def test_uncoercible_input_is_bad_user_input(
    gql: GraphQL, override: dict[str, Any], field: str
) -> None:
    key = await f.api_key()
    alice = await f.customer(gql)

    error = await gql.error(f.RECORD_PURCHASE, {"input": {**f.purchase(alice.id), **override}}, api_key=key)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("Variable '$input'"), error["message"]
    assert field in error["message"]


async def test_missing_variable_is_bad_user_input(gql: GraphQL) -> None:
    key = await f.api_key()

    error = await gql.error(f.RECORD_PURCHASE, {}, api_key=key)

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("Variable '$input'"), error["message"]


AUTH_FAILURES = [
    pytest.param("no-key", "UNAUTHENTICATED", "this needs an API key (X-API-Key header)", id="missing-key"),
    pytest.param("unknown-key", "UNAUTHENTICATED", "the API key is unknown or revoked", id="unknown-key"),
    pytest.param("not-a-key", "UNAUTHENTICATED", "the API key is unknown or revoked", id="garbage-key"),
    pytest.param("revoked-key", "UNAUTHENTICATED", "the API key is unknown or revoked", id="revoked-key"),
    pytest.param("eco-key", "FORBIDDEN", "this API key lacks the 'purchases' scope", id="no-purchases-scope"),
    pytest.param("customer", "FORBIDDEN", "this needs an API key (X-API-Key header)", id="customer-jwt"),
]


async def _credentials(kind: str, gql: GraphQL, alice: f.Customer) -> dict[str, str | None]:
    if kind == "unknown-key":
        return {"api_key": "tsk_" + "A" * 43}
    if kind == "not-a-key":
        return {"api_key": "hunter2"}
    if kind == "revoked-key":
        secret = await f.api_key("old-till")
        assert await revoke_api_keys("old-till") == 1
        return {"api_key": secret}
    if kind == "eco-key":
        return {"api_key": await f.api_key("recycling-kiosk", scopes=["eco"])}
    if kind == "customer":
        return {"token": alice.token}
    return {}


@pytest.mark.parametrize(("kind", "code", "message"), AUTH_FAILURES)
async def test_purchase_without_the_right_credentials_is_refused(
    gql: GraphQL, kind: str, code: str, message: str
) -> None:
    key = await f.api_key()
    alice = await _customer_with_one_purchase(gql, key)
    credentials = await _credentials(kind, gql, alice)
    rows = await _rows()

    error = await gql.error(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "BAD-1", 1000)}, **credentials)

    assert error["extensions"]["code"] == code
    assert error["message"] == message
    await _assert_nothing_written(gql, alice, key, rows)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(b'{"query": "{ me { id } }"', "application/json", id="truncated-json"),
        pytest.param(b"not json at all", "application/json", id="not-json"),
        pytest.param(b'{"variables": {}}', "application/json", id="no-query"),
    ],
)
async def test_malformed_body_gets_a_json_error(gql: GraphQL, body: bytes, content_type: str) -> None:
    response = await gql.client.post("/graphql", content=body, headers={"Content-Type": content_type})

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    payload = response.json()
    assert payload["data"] is None
    [error] = payload["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"}
    assert isinstance(error["message"], str)
    assert error["message"] != ""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"query": 5}, "The GraphQL operation's `query` must be a string or null, if provided."),
        (
            {"query": "{ vapidPublicKey }", "variables": [1]},
            "The GraphQL operation's `variables` must be an object or null, if provided.",
        ),
        (
            {"query": "{ vapidPublicKey }", "extensions": "x"},
            "The GraphQL operation's `extensions` must be an object or null, if provided.",
        ),
        (
            [{"query": "{ vapidPublicKey }"}],
            "the request body must be a JSON object (batches are not accepted)",
        ),
    ],
)
async def test_a_body_of_the_wrong_shape_is_refused(gql: GraphQL, body: object, message: str) -> None:
    headers = {"Content-Type": "application/json"}
    response = await gql.client.post("/graphql", content=json.dumps(body).encode(), headers=headers)

    assert response.status_code == 400
    assert response.json()["errors"] == [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]


@pytest.mark.parametrize(
    ("method", "body", "message"),
    [
        ("POST", {"variables": {}}, "No GraphQL query found in the request"),
        ("POST", {"query": ""}, "No GraphQL query found in the request"),
        (
            "POST",
            {"query": "fragment F on Query { vapidPublicKey }"},
            "Can't get GraphQL operation type",
        ),
        (
            "POST",
            {"query": "query A { vapidPublicKey }", "operationName": "B"},
            'Unknown operation named "B".',
        ),
        ("GET", {"query": "mutation { logoutEverywhere }"}, "mutations are not allowed when using GET"),
        (
            "POST",
            {"query": "subscription { pointsChanged { balance } }"},
            "subscriptions are not allowed when using POST",
        ),
    ],
)
async def test_an_operation_that_cannot_run_is_a_bad_request(
    gql: GraphQL, method: str, body: dict[str, Any], message: str
) -> None:
    if method == "POST":
        response = await gql.client.post("/graphql", json=body)
    else:
        response = await gql.client.get("/graphql", params=body)

    assert response.status_code == 400
    assert response.json()["errors"] == [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]


async def test_one_document_runs_the_operation_each_request_names(gql: GraphQL) -> None:
    # The operation found in a document is remembered per document and name (schema/request_rules.py).
    document = "query A { vapidPublicKey } mutation B { logoutEverywhere }"
    for _ in range(2):
        by_get = await gql.client.get("/graphql", params={"query": document, "operationName": "A"})
        assert isinstance(by_get.json()["data"]["vapidPublicKey"], str)

        refused = await gql.client.get("/graphql", params={"query": document, "operationName": "B"})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["message"] == "mutations are not allowed when using GET"

        by_post = await gql.client.post("/graphql", json={"query": document, "operationName": "B"})
        assert by_post.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json", 200),
        ("Application/JSON; charset=utf-8", 200),
        ("text/plain", 400),
        ("", 400),
    ],
)
async def test_a_json_body_is_read_whatever_the_case_and_parameters(
    gql: GraphQL, content_type: str, status: int
) -> None:
    content = json.dumps({"query": "{ vapidPublicKey }"}).encode()
    response = await gql.client.post("/graphql", content=content, headers={"Content-Type": content_type})

    assert response.status_code == status
    if status == 200:
        assert isinstance(response.json()["data"]["vapidPublicKey"], str)
    else:
        assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


async def test_oversized_body_is_refused_before_parsing(gql: GraphQL) -> None:
    key = await f.api_key()
    alice = await _customer_with_one_purchase(gql, key)
    rows = await _rows()
    items = [{"sku": "X" * 60, "category": "c" * 60, "quantity": 1, "unitPriceCents": 1}] * 3000
    variables = {"input": f.purchase(alice.id, "BAD-1", 1000, items=items)}

    response = await gql.client.post(
        "/graphql", json={"query": f.RECORD_PURCHASE, "variables": variables}, headers={"X-API-Key": key}
    )

    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    await _assert_nothing_written(gql, alice, key, rows)


async def test_syntax_error_is_a_parse_failure(gql: GraphQL) -> None:
    response = await gql.raw("{ me { id ")

    body = response.json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert error["message"].startswith("Syntax Error")
    assert body.get("data") is None


async def test_unknown_field_is_a_validation_failure(gql: GraphQL) -> None:
    alice = await f.customer(gql)

    error = await gql.error("{ me { id passwordHash } }", token=alice.token)

    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"] == "Cannot query field 'passwordHash' on type 'Customer'."


@pytest.mark.parametrize(
    "query", ["{ ... @defer { vapidPublicKey } }", "{ rewards @stream(initialCount: 1) { __typename } }"]
)
async def test_incremental_delivery_is_not_offered(gql: GraphQL, query: str) -> None:
    # schema/execution.py runs operations on graphql-core's executor without @defer and @stream.
    response = await gql.raw(query)

    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"].startswith("Unknown directive")


def _nested(depth: int) -> str:
    """`me { id { f1 { f2 ... } } }`: no field of the schema nests deeper than 4 levels, so a document
    that exceeds the limit must nest under a leaf (introspection fields are exempt from the limit)."""
    inner = "leaf"
    for level in range(depth - 2, 0, -1):
        inner = f"f{level} {{ {inner} }}"
    return f"{{ me {{ id {{ {inner} }} }} }}"


async def test_query_deeper_than_the_limit_is_rejected_before_execution(gql: GraphQL, settings: Any) -> None:
    alice = await f.customer(gql)
    limit = settings.max_query_depth
    assert limit == 12

    body = (await gql.raw(_nested(limit + 2), token=alice.token)).json()

    assert body.get("data") is None
    depth_errors = [e for e in body["errors"] if "exceeds maximum operation depth" in e["message"]]
    assert [e["message"] for e in depth_errors] == [f"'anonymous' exceeds maximum operation depth of {limit}"]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}


async def test_depth_error_only_once_the_limit_is_passed(gql: GraphQL, settings: Any) -> None:
    alice = await f.customer(gql)

    body = (await gql.raw(_nested(settings.max_query_depth), token=alice.token)).json()

    # Still invalid (a selection under a scalar) but within the depth limit.
    assert [e["message"] for e in body["errors"] if "depth" in e["message"]] == []
    assert len(body["errors"]) == 1


def _aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


async def test_more_aliases_than_the_limit_are_rejected(gql: GraphQL, settings: Any) -> None:
    limit = settings.max_aliases
    assert limit == 30

    error = await gql.error(_aliased(limit + 1))

    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["message"] == f"{limit + 1} aliases found. Allowed: {limit}"


async def test_aliases_up_to_the_limit_are_served(gql: GraphQL, settings: Any) -> None:
    data = await gql(_aliased(settings.max_aliases))

    assert data == {f"a{i}": "Query" for i in range(settings.max_aliases)}
