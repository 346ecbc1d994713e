"""Accounts and who may see what: customers, marketers, tokens, and the customer's own events."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any
from uuid import UUID, uuid4

import jwt
import pytest

from app.settings import Settings
from game.access.service import create_marketer
from game.customers.models import Customer
from game.earn.models import EarnRule
from game.events.models import Event
from tests import factories as f
from tests.graphql import GraphQL

LOGIN = """
mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { token customer { id displayName } }
}
"""
MARKETER_LOGIN = """
mutation($email: String!, $password: String!) {
  marketerLogin(email: $email, password: $password) { token marketer { id email displayName } }
}
"""
UPSERT_RULE = """
mutation($input: EarnRuleInput!) {
  upsertEarnRule(input: $input) {
    currency pointsPerUnit active categoryMultipliers { category percent }
  }
}
"""
EARN_RULES = "{ earnRules { currency pointsPerUnit active categoryMultipliers { category percent } } }"
TRACK = """
mutation($type: String!, $key: String!, $attributes: JSON) {
  trackEvent(type: $type, idempotencyKey: $key, attributes: $attributes) { eventId duplicate }
}
"""
ME_ID = "{ me { id email } }"


def _registration(**overrides: str) -> dict[str, str]:
    return {"email": "ann@example.com", "password": f.PASSWORD, "displayName": "Ann", **overrides}


def _claims(token: str, settings: Settings) -> dict[str, Any]:
    return dict(jwt.decode(token, settings.jwt_secret, algorithms=["HS256"], issuer="tessera"))


# --- register and login -----------------------------------------------------------------------------


async def test_register_returns_a_token_for_the_new_customer(gql: GraphQL, settings: Settings) -> None:
    data = _registration(displayName="  Ann   Lee ")

    result = (await gql(f.REGISTER, {"input": data}))["register"]

    customer_id = result["customer"]["id"]
    assert UUID(customer_id).version == 4
    assert result["customer"] == {"id": customer_id, "displayName": "Ann Lee"}
    claims = _claims(result["token"], settings)
    assert (claims["sub"], claims["role"]) == (customer_id, "customer")
    me = (await gql(ME_ID, token=result["token"]))["me"]
    assert me == {"id": customer_id, "email": "ann@example.com"}


async def test_login_returns_a_token_for_the_same_customer(gql: GraphQL, settings: Settings) -> None:
    ann = await f.customer(gql, email="ann@example.com", displayName="Ann")

    result = (await gql(LOGIN, {"email": " ANN@Example.com ", "password": f.PASSWORD}))["login"]

    assert result["customer"] == {"id": ann.id, "displayName": "Ann"}
    assert _claims(result["token"], settings)["sub"] == ann.id
    assert (await gql(ME_ID, token=result["token"]))["me"] == {"id": ann.id, "email": "ann@example.com"}


async def test_an_email_registers_once_whatever_its_case(gql: GraphQL) -> None:
    ann = await f.customer(gql, email="ann@example.com")

    error = await gql.error(
        f.REGISTER, {"input": _registration(email="ANN@Example.COM", password="another password")}
    )

    assert error["extensions"] == {"code": "CONFLICT", "field": "email", "reason": "EMAIL_TAKEN"}
    # The first account is untouched: its password still works, the second one's does not.
    login = await gql(LOGIN, {"email": "ann@example.com", "password": f.PASSWORD})
    assert login["login"]["customer"]["id"] == ann.id
    code = await gql.code(LOGIN, {"email": "ann@example.com", "password": "another password"})
    assert code == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        pytest.param({"password": "short"}, "password", id="short-password"),
        pytest.param({"password": "x" * 257}, "password", id="long-password"),
        pytest.param({"email": "not-an-email"}, "email", id="no-at"),
        pytest.param({"email": "ann@example"}, "email", id="no-tld"),
        pytest.param({"email": "ann lee@example.com"}, "email", id="space"),
        pytest.param({"displayName": "   "}, "displayName", id="blank-name"),
        pytest.param({"timezone": "Mars/Olympus"}, "timezone", id="unknown-timezone"),
        pytest.param({"locale": "French"}, "locale", id="bad-locale"),
    ],
)
async def test_invalid_registration_names_the_field(
    gql: GraphQL, override: dict[str, str], field: str
) -> None:
    error = await gql.error(f.REGISTER, {"input": _registration(**override)})

    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert await Customer.all().count() == 0


async def test_wrong_password_and_unknown_email_are_indistinguishable(gql: GraphQL) -> None:
    await f.customer(gql, email="ann@example.com")

    wrong_password = await gql.error(LOGIN, {"email": "ann@example.com", "password": "not the password"})
    unknown_email = await gql.error(LOGIN, {"email": "bob@example.com", "password": f.PASSWORD})

    refused = {"code": "UNAUTHENTICATED", "reason": "INVALID_CREDENTIALS"}
    assert wrong_password["extensions"] == unknown_email["extensions"] == refused
    assert wrong_password["message"] == unknown_email["message"] == "invalid email or password"


# --- tokens -------------------------------------------------------------------------------------------


def _mint(
    settings: Settings, sub: str, *, role: str = "customer", secret: str | None = None, **times: int
) -> str:
    now = int(time.time())
    claims = {"sub": sub, "role": role, "iss": "tessera", "iat": now + times.get("iat", 0)}
    claims["exp"] = now + times.get("exp", 3600)
    return jwt.encode(claims, secret or settings.jwt_secret, algorithm="HS256")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_token_minted_like_the_api_does_is_accepted(gql: GraphQL, settings: Settings) -> None:
    """The control for the refusals below: only the one thing each of them changes is wrong."""
    ann = await f.customer(gql)

    me = (await gql(ME_ID, token=_mint(settings, ann.id)))["me"]

    assert me["id"] == ann.id


async def test_expired_token_is_refused(gql: GraphQL, settings: Settings) -> None:
    ann = await f.customer(gql)
    token = _mint(settings, ann.id, iat=-7200, exp=-3600)

    error = await gql.error(ME_ID, token=token)

    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED"}
    assert error["message"] == "the token has expired; log in again"


async def test_a_token_accepted_before_is_refused_once_expired(gql: GraphQL, settings: Settings) -> None:
    # The server remembers tokens it decoded: the memory must not outlive the token.
    ann = await f.customer(gql)
    token = _mint(settings, ann.id, exp=2)
    assert (await gql(ME_ID, token=token))["me"]["id"] == ann.id
    assert (await gql(ME_ID, token=token))["me"]["id"] == ann.id
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    await asyncio.sleep(max(0.0, expires - time.time()) + 0.1)

    error = await gql.error(ME_ID, token=token)

    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "TOKEN_EXPIRED"}


async def test_tampered_tokens_are_refused(gql: GraphQL, settings: Settings) -> None:
    ann = await f.customer(gql)
    other = str(uuid4())
    header, payload, signature = ann.token.split(".")
    other_payload = _b64({**_claims(ann.token, settings), "sub": other})
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    forged = {
        "garbage": "not-a-jwt",
        "payload-swapped": f"{header}.{other_payload}.{signature}",
        "flipped-signature": f"{header}.{payload}.{flipped}",
        "other-secret": _mint(settings, ann.id, secret="another-secret-" + "y" * 32),
        "alg-none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "service-role": _mint(settings, ann.id, role="service"),
        "role-swapped": f"{header}.{_b64({**_claims(ann.token, settings), 'role': 'marketer'})}.{signature}",
        "other-issuer": jwt.encode(
            {**_claims(ann.token, settings), "iss": "evil"}, settings.jwt_secret, "HS256"
        ),
        "no-exp": jwt.encode(
            {"sub": ann.id, "role": "customer", "iss": "tessera", "iat": int(time.time())},
            settings.jwt_secret,
            "HS256",
        ),
    }

    answers = {}
    for name, token in forged.items():
        error = await gql.error(ME_ID, token=token)
        answers[name] = (error["extensions"], error["message"])

    refused = ({"code": "UNAUTHENTICATED", "reason": "TOKEN_INVALID"}, "the token is not valid")
    assert answers == dict.fromkeys(forged, refused)
    # The genuine token still works: the refusals were about the forgeries, not the customer.
    assert (await gql(ME_ID, token=ann.token))["me"]["id"] == ann.id


async def test_token_of_a_customer_that_does_not_exist_is_unauthenticated(
    gql: GraphQL, settings: Settings
) -> None:
    error = await gql.error(ME_ID, token=_mint(settings, str(uuid4())))

    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "ACCOUNT_GONE"}


async def test_no_token_is_unauthenticated(gql: GraphQL) -> None:
    error = await gql.error(ME_ID)

    assert error["extensions"] == {"code": "UNAUTHENTICATED", "reason": "CREDENTIALS_REQUIRED"}
    assert error["message"] == "this needs a signed-in customer"


# --- one customer never sees another's data ------------------------------------------------------------


async def _reasons(gql: GraphQL, customer: f.Customer, **page: object) -> tuple[str, int, list[str], Any]:
    me = (await gql(f.ME, dict(page), token=customer.token))["me"]
    reasons = [edge["node"]["reason"] for edge in me["ledger"]["edges"]]
    return me["id"], me["points"]["balance"], reasons, me["ledger"]["pageInfo"]


async def test_customers_only_ever_see_their_own_ledger(gql: GraphQL) -> None:
    ann, bob = await f.customer(gql), await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    # Interleaved, so each customer's entry ids fall between the other's.
    for n in range(1, 4):
        await gql(f.RECORD_PURCHASE, {"input": f.purchase(ann.id, f"ANN-{n}", 1000)}, api_key=key)
        await gql(f.RECORD_PURCHASE, {"input": f.purchase(bob.id, f"BOB-{n}", 500)}, api_key=key)

    assert (await _reasons(gql, ann))[:3] == (
        ann.id,
        300,
        ["Purchase ANN-3", "Purchase ANN-2", "Purchase ANN-1"],
    )
    assert (await _reasons(gql, bob))[:3] == (
        bob.id,
        150,
        ["Purchase BOB-3", "Purchase BOB-2", "Purchase BOB-1"],
    )

    # Bob replays a cursor taken from Ann's first page: it only positions him within his own ledger.
    _, _, ann_page, ann_info = await _reasons(gql, ann, first=2)
    assert ann_page == ["Purchase ANN-3", "Purchase ANN-2"]
    assert ann_info["hasNextPage"] is True
    bob_id, _, bob_page, bob_info = await _reasons(gql, bob, first=10, after=ann_info["endCursor"])
    assert (bob_id, bob_page, bob_info["hasNextPage"]) == (bob.id, ["Purchase BOB-1"], False)


async def test_a_foreign_cursor_never_reaches_the_other_ledger(gql: GraphQL) -> None:
    ann, bob = await f.customer(gql), await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule()
    for n in range(1, 4):
        await gql(f.RECORD_PURCHASE, {"input": f.purchase(ann.id, f"ANN-{n}", 1000)}, api_key=key)
    _, _, _, ann_info = await _reasons(gql, ann, first=1)

    _, balance, reasons, info = await _reasons(gql, bob, first=10, after=ann_info["endCursor"])

    assert (balance, reasons, info) == (0, [], {"hasNextPage": False, "endCursor": None})


# --- marketers and earn rules -------------------------------------------------------------------------


async def test_marketer_login_returns_a_marketer_token(gql: GraphQL, settings: Settings) -> None:
    marketer = await create_marketer("Mia@Example.com", f.PASSWORD, "Mia")

    result = (await gql(MARKETER_LOGIN, {"email": "mia@example.com", "password": f.PASSWORD}))[
        "marketerLogin"
    ]

    assert result["marketer"] == {"id": str(marketer.id), "email": "mia@example.com", "displayName": "Mia"}
    claims = _claims(result["token"], settings)
    assert (claims["sub"], claims["role"]) == (str(marketer.id), "marketer")


async def test_customer_credentials_do_not_open_the_marketer_login(gql: GraphQL) -> None:
    await f.customer(gql, email="ann@example.com")
    await create_marketer("mia@example.com", f.PASSWORD)

    customer = await gql.error(MARKETER_LOGIN, {"email": "ann@example.com", "password": f.PASSWORD})
    wrong = await gql.error(MARKETER_LOGIN, {"email": "mia@example.com", "password": "not the password"})

    refused = {"code": "UNAUTHENTICATED", "reason": "INVALID_CREDENTIALS"}
    assert customer["extensions"] == wrong["extensions"] == refused
    assert customer["message"] == wrong["message"] == "invalid email or password"


async def test_marketer_manages_earn_rules(gql: GraphQL) -> None:
    token = await f.marketer_token(gql)
    rule = {
        "currency": "EUR",
        "pointsPerUnit": 10,
        "categoryMultipliers": [{"category": "beans", "percent": 200}],
    }

    upserted = (await gql(UPSERT_RULE, {"input": rule}, token=token))["upsertEarnRule"]
    replaced = await gql(UPSERT_RULE, {"input": {"currency": "EUR", "pointsPerUnit": 5}}, token=token)

    expected = {**rule, "active": True}
    assert upserted == expected
    assert replaced["upsertEarnRule"] == {
        "currency": "EUR",
        "pointsPerUnit": 5,
        "active": True,
        "categoryMultipliers": [],
    }
    assert (await gql(EARN_RULES, token=token))["earnRules"] == [replaced["upsertEarnRule"]]


@pytest.mark.parametrize(
    ("who", "code", "reason"),
    [("customer", "FORBIDDEN", "WRONG_ROLE"), ("anonymous", "UNAUTHENTICATED", "CREDENTIALS_REQUIRED")],
)
async def test_earn_rules_are_for_marketers_only(gql: GraphQL, who: str, code: str, reason: str) -> None:
    token = (await f.customer(gql)).token if who == "customer" else None
    await f.earn_rule("EUR", 10)

    upsert = await gql.error(UPSERT_RULE, {"input": {"currency": "EUR", "pointsPerUnit": 999}}, token=token)
    read = await gql.error(EARN_RULES, token=token)

    assert upsert["extensions"] == read["extensions"] == {"code": code, "reason": reason}
    assert upsert["message"] == read["message"] == "this needs a signed-in marketer"
    assert [(r.currency, r.points_per_unit) for r in await EarnRule.all()] == [("EUR", 10)]


async def test_marketer_token_cannot_read_me(gql: GraphQL) -> None:
    token = await f.marketer_token(gql)

    error = await gql.error(ME_ID, token=token)

    assert error["extensions"] == {"code": "FORBIDDEN", "reason": "WRONG_ROLE"}


INVALID_RULES = {
    "unknown-currency": ({"currency": "XXX", "pointsPerUnit": 10}, "currency"),
    "lowercase-currency": ({"currency": "eur", "pointsPerUnit": 10}, "currency"),
    "negative-rate": ({"currency": "EUR", "pointsPerUnit": -1}, "pointsPerUnit"),
    "absurd-rate": ({"currency": "EUR", "pointsPerUnit": 1001}, "pointsPerUnit"),
    "duplicate-category": (
        {
            "currency": "EUR",
            "pointsPerUnit": 10,
            "categoryMultipliers": [
                {"category": "beans", "percent": 200},
                {"category": "beans", "percent": 50},
            ],
        },
        "categoryMultipliers",
    ),
    "negative-percent": (
        {
            "currency": "EUR",
            "pointsPerUnit": 10,
            "categoryMultipliers": [{"category": "beans", "percent": -5}],
        },
        "categoryMultipliers",
    ),
    "bad-category": (
        {
            "currency": "EUR",
            "pointsPerUnit": 10,
            "categoryMultipliers": [{"category": "Beans!", "percent": 150}],
        },
        "categoryMultipliers",
    ),
}


async def test_invalid_earn_rules_are_refused(gql: GraphQL) -> None:
    """One marketer for every case: signing in costs a password hash, and the cases share nothing."""
    token = await f.marketer_token(gql)
    await f.earn_rule("EUR", 10)

    answers = {}
    for name, (rule, _) in INVALID_RULES.items():
        answers[name] = (await gql.error(UPSERT_RULE, {"input": rule}, token=token))["extensions"]

    assert answers == {
        name: {"code": "BAD_USER_INPUT", "field": field} for name, (_, field) in INVALID_RULES.items()
    }
    rules = (await gql(EARN_RULES, token=token))["earnRules"]
    assert rules == [{"currency": "EUR", "pointsPerUnit": 10, "active": True, "categoryMultipliers": []}]


# --- trackEvent -------------------------------------------------------------------------------------


async def _track(
    gql: GraphQL, customer: f.Customer, type: str, key: str, attributes: Any = None
) -> dict[str, Any]:
    variables = {"type": type, "key": key, "attributes": attributes}
    return dict((await gql(TRACK, variables, token=customer.token))["trackEvent"])


async def _track_error(
    gql: GraphQL, customer: f.Customer, type: str, key: str, attributes: Any = None
) -> dict[str, Any]:
    return await gql.error(TRACK, {"type": type, "key": key, "attributes": attributes}, token=customer.token)


async def test_track_event_records_once(gql: GraphQL) -> None:
    ann = await f.customer(gql)

    first = await _track(gql, ann, "share", "share-1", {"network": "mastodon"})
    replay = await _track(gql, ann, "share", "share-1", {"network": "mastodon"})

    assert first["duplicate"] is False
    assert replay == {"eventId": first["eventId"], "duplicate": True}
    [event] = await Event.all()
    assert (str(event.id), str(event.customer_id), event.type) == (first["eventId"], ann.id, "share")
    assert event.payload == {"attributes": {"network": "mastodon"}}


async def test_same_idempotency_key_for_another_event_is_a_conflict(gql: GraphQL) -> None:
    ann = await f.customer(gql)
    await _track(gql, ann, "share", "share-1", {"network": "mastodon"})

    error = await _track_error(gql, ann, "share", "share-1", {"network": "bluesky"})

    assert error["extensions"] == {
        "code": "CONFLICT",
        "field": "idempotencyKey",
        "reason": "IDEMPOTENCY_KEY_REUSED",
    }
    assert [e.payload for e in await Event.all()] == [{"attributes": {"network": "mastodon"}}]


async def test_idempotency_keys_belong_to_each_customer(gql: GraphQL) -> None:
    ann, bob = await f.customer(gql), await f.customer(gql)
    first = await _track(gql, ann, "share", "share-1")

    other = await _track(gql, bob, "share", "share-1")

    assert other["duplicate"] is False
    assert other["eventId"] != first["eventId"]


INVALID_EVENTS: dict[str, tuple[str, str, Any, str]] = {
    "reserved-purchase": ("purchase", "k-1", {"orderId": "A-1"}, "type"),
    "reserved-referral": ("referral_qualified", "k-1", None, "type"),
    "not-an-identifier": ("Share It", "k-1", None, "type"),
    "list-attributes": ("share", "k-1", ["mastodon"], "attributes"),
    "string-attributes": ("share", "k-1", "mastodon", "attributes"),
    "oversized-attributes": ("share", "k-1", {"blob": "x" * 5000}, "attributes"),
    "empty-key": ("share", "", None, "idempotencyKey"),
    "long-key": ("share", "k" * 201, None, "idempotencyKey"),
}


async def test_invalid_events_are_refused(gql: GraphQL) -> None:
    ann = await f.customer(gql)

    answers = {}
    for name, (event_type, key, attributes, _) in INVALID_EVENTS.items():
        answers[name] = (await _track_error(gql, ann, event_type, key, attributes))["extensions"]

    assert answers == {
        name: {"code": "BAD_USER_INPUT", "field": field} for name, (*_, field) in INVALID_EVENTS.items()
    }
    assert await Event.all().count() == 0
    # k-1 was never consumed.
    assert (await _track(gql, ann, "share", "k-1"))["duplicate"] is False


async def test_track_event_needs_a_customer(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    key = await f.api_key()
    variables = {"type": "share", "key": "k-1"}

    assert await gql.code(TRACK, variables) == "UNAUTHENTICATED"
    assert await gql.code(TRACK, variables, token=marketer) == "FORBIDDEN"
    assert await gql.code(TRACK, variables, api_key=key) == "FORBIDDEN"
    assert await Event.all().count() == 0


async def test_too_many_events_of_any_types_are_rate_limited(gql: GraphQL, settings: Settings) -> None:
    ann = await f.customer(gql)
    limit = settings.track_event_limit
    assert limit == 10
    # Five types, one event each: self-declared events share one limit, whatever they are called.
    accepted = [await _track(gql, ann, f"type_{n}", f"event-{n}") for n in range(limit)]
    refused = await _track_error(gql, ann, "another_type", f"event-{limit}")
    replay = await _track(gql, ann, "type_0", "event-0")

    assert [a["duplicate"] for a in accepted] == [False] * limit
    assert refused["extensions"]["code"] == "RATE_LIMITED"
    assert refused["extensions"]["reason"] == "TOO_MANY_EVENTS"
    assert 1 <= refused["extensions"]["retryAfter"] <= settings.track_event_window_s + 1
    assert refused["message"].startswith(
        f"at most {limit} tracked events per {settings.track_event_window_s} s"
    )
    assert replay == {"eventId": accepted[0]["eventId"], "duplicate": True}
    # The refused event left no row: its key was not consumed.
    assert await Event.filter(customer_id=ann.id).count() == limit
    assert await Event.filter(idempotency_key=f"event-{limit}").count() == 0


async def test_rate_limit_is_per_customer(gql: GraphQL, settings: Settings) -> None:
    ann, bob = await f.customer(gql), await f.customer(gql)
    for n in range(settings.track_event_limit):
        await _track(gql, ann, "share", f"share-{n}")

    refused = await _track_error(gql, ann, "share", "one-more")
    assert refused["extensions"]["reason"] == "TOO_MANY_EVENTS"
    assert (await _track(gql, bob, "share", "share-0"))["duplicate"] is False
