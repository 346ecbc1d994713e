"""The notification API as the app and the marketers' console use it: the VAPID key, the inbox, preferences,
devices, permissions, and the live notificationReceived subscription."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import pytest
from redis.asyncio import Redis
from tortoise.transactions import in_transaction
from websockets.asyncio.client import ClientConnection

from app.settings import Settings
from game.notifications.models import Notification, NotificationKind
from game.notifications.service import channel, queue_notification
from game.notifications.vapid import b64url_decode
from tests import factories as f
from tests.graphql import GraphQL
from tests.schema.test_subscriptions import bearer, graphql_ws, init, receive, send
from tests.workers.conftest import wait_until
from workers.tasks import deliver_notification

PREFERENCES = """
mutation($input: NotificationPreferencesInput!) {
  setNotificationPreferences(input: $input) { optedOut marketing quietHours { start end } dailyCap }
}
"""
READ_PREFERENCES = "{ notificationPreferences { optedOut marketing quietHours { start end } dailyCap } }"
PAGE = """
query($first: Int, $after: String) {
  notifications(first: $first, after: $after) {
    edges { node { id title } cursor } pageInfo { hasNextPage endCursor }
  }
}
"""
KEYS = {
    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
    "auth": "tBHItJI5svbpez7KI4CCXg",
}


Listening = Callable[[], Awaitable[bool]]


async def notify(customer: f.Customer, key: str, points: int = 10) -> None:
    payload = {"title": {"en": f"Challenge {key}"}, "points": points}
    async with in_transaction() as conn:
        await queue_notification(conn, UUID(customer.id), key, NotificationKind.CHALLENGE_COMPLETED, payload)


async def subscribed(ws: ClientConnection, customer: f.Customer, fields: str, redis: Redis) -> Listening:
    """Subscribes the customer's socket to notificationReceived, and waits until the server listens on their
    channel; returns the check of that, for a test that must see it still listening later."""
    await init(ws, bearer(customer.token))
    query = f"subscription {{ notificationReceived {{ {fields} }} }}"
    await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": query}})

    async def listening() -> bool:
        [(_, count)] = await redis.pubsub_numsub(channel(UUID(customer.id)))
        return int(count) == 1

    await wait_until(listening, 10, "the server to listen")
    return listening


async def test_the_vapid_public_key_is_open_to_anyone_and_a_p256_point(
    gql: GraphQL, settings: Settings
) -> None:
    key = (await gql("{ vapidPublicKey }"))["vapidPublicKey"]
    assert key == settings.vapid_public_key
    point = b64url_decode(key)
    assert (len(point), point[0]) == (65, 4)


@pytest.mark.parametrize(
    "query",
    [
        "{ notifications { edges { cursor } } }",
        "{ unreadNotificationCount }",
        READ_PREFERENCES,
        'mutation { unregisterPushSubscription(endpoint: "https://fcm.googleapis.com/x") }',
        "mutation { markNotificationsRead }",
    ],
)
async def test_the_inbox_and_preferences_need_a_signed_in_customer(gql: GraphQL, query: str) -> None:
    assert await gql.code(query) == "UNAUTHENTICATED"
    marketer = await f.marketer_token(gql)
    assert await gql.code(query, token=marketer) == "FORBIDDEN"


async def test_only_a_marketer_sends_a_campaign(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    query = 'mutation { sendCampaign(input: {title: {en: "Hi"}, body: {en: "Yo"}}) { id } }'
    assert await gql.code(query, token=alice.token) == "FORBIDDEN"
    assert await gql.code(query) == "UNAUTHENTICATED"


async def test_preferences_default_then_round_trip(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    assert await gql(READ_PREFERENCES, token=alice.token) == {
        "notificationPreferences": {"optedOut": [], "marketing": False, "quietHours": None, "dailyCap": None}
    }
    wanted = {
        "optedOut": ["CHALLENGES", "ACCOUNT"],
        "marketing": True,
        "quietHours": {"start": "22:00", "end": "07:30"},
        "dailyCap": 3,
    }
    await gql(PREFERENCES, {"input": wanted}, token=alice.token)
    read = await gql(READ_PREFERENCES, token=alice.token)
    assert read["notificationPreferences"] == wanted | {"optedOut": ["ACCOUNT", "CHALLENGES"]}


@pytest.mark.parametrize(
    ("preferences", "field"),
    [
        ({"optedOut": ["MARKETING"]}, "optedOut"),
        ({"quietHours": {"start": "25:00", "end": "07:00"}}, "quietHours.start"),
        ({"quietHours": {"start": "22:00", "end": "7h"}}, "quietHours.end"),
        ({"dailyCap": -1}, "dailyCap"),
        ({"dailyCap": 101}, "dailyCap"),
    ],
)
async def test_bad_preferences_are_refused_and_change_nothing(
    gql: GraphQL, preferences: dict[str, Any], field: str
) -> None:
    alice = await f.customer(gql)
    error = await gql.error(PREFERENCES, {"input": preferences}, token=alice.token)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", field)
    read = await gql(READ_PREFERENCES, token=alice.token)
    assert read["notificationPreferences"]["dailyCap"] is None


async def test_the_inbox_pages_newest_first_and_marks_only_ones_own(gql: GraphQL) -> None:
    alice, bob = await f.customer(gql, locale="en"), await f.customer(gql)
    for n in range(3):
        await notify(alice, f"a{n}")
    await notify(bob, "b0")

    first = (await gql(PAGE, {"first": 2}, token=alice.token))["notifications"]
    assert [e["node"]["title"] for e in first["edges"]] == ["Challenge completed"] * 2
    assert first["pageInfo"]["hasNextPage"] is True
    rest = await gql(PAGE, {"first": 2, "after": first["pageInfo"]["endCursor"]}, token=alice.token)
    assert len(rest["notifications"]["edges"]) == 1
    assert rest["notifications"]["pageInfo"]["hasNextPage"] is False
    ids = [e["node"]["id"] for e in first["edges"]]
    assert int(ids[0]) > int(ids[1])

    bobs = (await gql(PAGE, token=bob.token))["notifications"]["edges"][0]["node"]["id"]
    mark = "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) }"
    # Bob's id is not Alice's to mark; an unknown id counts nothing.
    assert await gql(mark, {"ids": [ids[0], bobs, "999999"]}, token=alice.token) == {
        "markNotificationsRead": 1
    }
    assert await gql(mark, {"ids": [ids[0]]}, token=alice.token) == {"markNotificationsRead": 0}
    assert await gql("{ unreadNotificationCount }", token=alice.token) == {"unreadNotificationCount": 2}
    assert await gql("{ unreadNotificationCount }", token=bob.token) == {"unreadNotificationCount": 1}
    assert await gql.code(PAGE, {"after": "bm90LWEtY3Vyc29y"}, token=alice.token) == "BAD_USER_INPUT"


async def test_a_device_is_registered_once_and_unregistered(gql: GraphQL) -> None:
    alice = await f.customer(gql)
    register = "mutation($input: PushSubscriptionInput!) { registerPushSubscription(input: $input) { id } }"
    subscription = {
        "endpoint": "https://fcm.googleapis.com/fcm/send/one",
        "keys": KEYS,
        "userAgent": "Chrome",
    }
    first = await gql(register, {"input": subscription}, token=alice.token)
    again = await gql(register, {"input": subscription}, token=alice.token)
    assert first == again
    unregister = "mutation($e: String!) { unregisterPushSubscription(endpoint: $e) }"
    assert await gql(unregister, {"e": subscription["endpoint"]}, token=alice.token) == {
        "unregisterPushSubscription": True
    }
    assert await gql(unregister, {"e": subscription["endpoint"]}, token=alice.token) == {
        "unregisterPushSubscription": False
    }
    assert await gql("{ pushSubscriptions { id } }", token=alice.token) == {"pushSubscriptions": []}


async def test_a_delivered_notification_is_received_live(
    server: str, gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    alice = await f.customer(gql, locale="fr")
    async with graphql_ws(server) as ws:
        await subscribed(ws, alice, "id kind category title body read", redis)
        await notify(alice, "live-1", points=20)
        ctx = {"settings": settings, "redis": redis, "job_try": 1}
        assert await deliver_notification(ctx, "live-1") == "inbox_only"

        message = await receive(ws)
        node = message["payload"]["data"]["notificationReceived"]
        assert {k: node[k] for k in ("kind", "category", "title", "body", "read")} == {
            "kind": "CHALLENGE_COMPLETED",
            "category": "REWARDS",
            "title": "Défi réussi",
            "body": "Challenge live-1 : +20 points",
            "read": False,
        }


async def test_a_live_message_shows_only_the_customers_own_notification(
    server: str, gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    """The worker publishes a notification's id; the API reads it, scoped to the listening customer, and
    renders it in their locale."""
    alice, bob = await f.customer(gql, locale="fr"), await f.customer(gql, locale="en")
    async with graphql_ws(server) as ws:
        await subscribed(ws, alice, "id title body", redis)
        await notify(bob, "bobs-1", points=5)
        bobs = await Notification.get(key="bobs-1")
        # Bob's id on Alice's channel (a bug, a stray publish): nothing of Bob's reaches her.
        await redis.publish(channel(UUID(alice.id)), json.dumps({"id": bobs.id}))
        await notify(alice, "live-2", points=20)
        ctx = {"settings": settings, "redis": redis, "job_try": 1}
        assert await deliver_notification(ctx, "live-2") == "inbox_only"

        node = (await receive(ws))["payload"]["data"]["notificationReceived"]
        alices = await Notification.get(key="live-2")
        assert node == {"id": str(alices.id), "title": "Défi réussi", "body": "Challenge live-2 : +20 points"}


async def test_an_unknown_campaign_is_named_as_such(gql: GraphQL) -> None:
    marketer = await f.marketer_token(gql)
    for campaign_id in ("999999", "x"):
        found = await gql.reason(
            "query($id: ID!) { campaign(id: $id) { id } }", {"id": campaign_id}, token=marketer
        )
        assert found == ("NOT_FOUND", "UNKNOWN_CAMPAIGN")
