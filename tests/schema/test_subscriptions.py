from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import jwt
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.settings import Settings
from tests import factories as f
from tests.graphql import GraphQL

POINTS_CHANGED = "subscription { pointsChanged { balance delta reason } }"


def changed(balance: int, delta: int, reason: str) -> dict[str, object]:
    return {"balance": balance, "delta": delta, "reason": reason}


TIMEOUT_S = 5


@asynccontextmanager
async def graphql_ws(server: str) -> AsyncIterator[ClientConnection]:
    url = server.replace("http://", "ws://", 1) + "/graphql"
    async with connect(
        url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        proxy=None,
        open_timeout=TIMEOUT_S,
        close_timeout=2,
    ) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        yield ws


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def receive(ws: ClientConnection, timeout: float = TIMEOUT_S) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(ws.recv(), timeout)))


async def init(ws: ClientConnection, payload: dict[str, Any]) -> None:
    await send(ws, {"type": "connection_init", "payload": payload})
    assert await receive(ws) == {"type": "connection_ack"}


def _channel(customer_id: str) -> str:
    return f"tessera:points:{customer_id}"


async def listeners(redis: Redis, customer_id: str) -> int:
    [(_, count)] = await redis.pubsub_numsub(_channel(customer_id))
    return int(count)


async def until_listeners(redis: Redis, customer_id: str, wanted: int) -> None:
    """Polls Redis until the server's pub/sub subscriptions for this customer number `wanted`."""
    deadline = asyncio.get_running_loop().time() + TIMEOUT_S
    while asyncio.get_running_loop().time() < deadline:
        if await listeners(redis, customer_id) == wanted:
            return
        await asyncio.sleep(0.02)
    assert await listeners(redis, customer_id) == wanted


async def subscribe(
    ws: ClientConnection, redis: Redis, customer_id: str, op_id: str = "1", query: str = POINTS_CHANGED
) -> None:
    """Subscribes to pointsChanged and waits until the server listens on Redis: nothing published is lost."""
    await send(ws, {"id": op_id, "type": "subscribe", "payload": {"query": query}})
    await until_listeners(redis, customer_id, 1)


async def nothing_arrives(ws: ClientConnection, within_s: float = 0.5) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), within_s)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_purchase_and_refund_are_pushed_live(server: str, gql: GraphQL, redis: Redis) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)

    async with graphql_ws(server) as ws:
        await init(ws, bearer(alice.token))
        await subscribe(ws, redis, alice.id)

        await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "S-1", 1250)}, api_key=key)
        assert await receive(ws) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"pointsChanged": {"balance": 125, "delta": 125, "reason": "PURCHASE"}}},
        }

        refund = {"customerId": alice.id, "orderId": "S-1", "refundId": "SR-1", "amountCents": 500}
        await gql(f.REFUND_PURCHASE, {"input": refund}, api_key=key)
        assert await receive(ws) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"pointsChanged": {"balance": 75, "delta": -50, "reason": "REFUND"}}},
        }


async def test_a_purchase_and_its_eco_bonus_are_one_message_with_the_final_balance(
    server: str, gql: GraphQL, redis: Redis
) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10, eco_bonus_pct=50)
    items = [{"sku": "CUP-REFILL", "quantity": 1, "unitPriceCents": 400, "eco": True}]

    async with graphql_ws(server) as ws:
        await init(ws, bearer(alice.token))
        with_parts = "subscription { pointsChanged { balance delta reason parts { reason delta } } }"
        await subscribe(ws, redis, alice.id, query=with_parts)

        await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "S-1", 1000, items=items)}, api_key=key)

        message = await receive(ws)
        assert message["payload"]["data"]["pointsChanged"] == {
            "balance": 120,
            "delta": 120,
            "reason": "PURCHASE",
            "parts": [{"reason": "PURCHASE", "delta": 100}, {"reason": "ECO_BONUS", "delta": 20}],
        }
        await nothing_arrives(ws)  # no second message with an in-between balance


async def test_replays_push_nothing(server: str, gql: GraphQL, redis: Redis) -> None:
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "S-1", 1000)}, api_key=key)
    refund = {"customerId": alice.id, "orderId": "S-1", "refundId": "SR-1", "amountCents": 100}
    await gql(f.REFUND_PURCHASE, {"input": refund}, api_key=key)

    async with graphql_ws(server) as ws:
        await init(ws, bearer(alice.token))
        await subscribe(ws, redis, alice.id)

        replayed = await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "S-1", 1000)}, api_key=key)
        assert replayed["recordPurchase"]["duplicate"] is True
        replayed = await gql(f.REFUND_PURCHASE, {"input": refund}, api_key=key)
        assert replayed["refundPurchase"]["duplicate"] is True
        await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "S-2", 300)}, api_key=key)

        # Published in order: had a replay been pushed, it would come before this one.
        message = await receive(ws)
        assert message["payload"]["data"]["pointsChanged"] == {
            "balance": 120,
            "delta": 30,
            "reason": "PURCHASE",
        }


async def test_a_customer_hears_only_their_own_changes(server: str, gql: GraphQL, redis: Redis) -> None:
    alice, bob = await f.customer(gql), await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)

    async with graphql_ws(server) as a, graphql_ws(server) as b:
        await init(a, bearer(alice.token))
        await init(b, bearer(bob.token))
        await subscribe(a, redis, alice.id)
        await subscribe(b, redis, bob.id)

        await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, "A-1", 1000)}, api_key=key)

        message = await receive(a)
        assert message["payload"]["data"]["pointsChanged"] == {
            "balance": 100,
            "delta": 100,
            "reason": "PURCHASE",
        }
        await nothing_arrives(b)

        # Bob's subscription was alive all along: his own purchase reaches him (and only him).
        await gql(f.RECORD_PURCHASE, {"input": f.purchase(bob.id, "B-1", 200)}, api_key=key)
        message = await receive(b)
        assert message["payload"]["data"]["pointsChanged"] == {
            "balance": 20,
            "delta": 20,
            "reason": "PURCHASE",
        }
        await nothing_arrives(a)


async def test_subscribing_without_a_token_is_refused(server: str) -> None:
    async with graphql_ws(server) as ws:
        await init(ws, {})  # no credentials: the connection is accepted, as an anonymous viewer
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": POINTS_CHANGED}})

        message = await receive(ws)

        assert message["id"] == "1"
        assert message["type"] == "error"
        [error] = message["payload"]
        assert error["message"] == "this needs a signed-in customer"
        assert error["path"] == ["pointsChanged"]
        # The socket stays usable: a ping is still answered.
        await send(ws, {"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_subscription_error_carries_the_unauthenticated_code(server: str) -> None:
    async with graphql_ws(server) as ws:
        await init(ws, {})
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": POINTS_CHANGED}})

        message = await receive(ws)

        assert message["type"] == "error"
        [error] = message["payload"]
        assert error.get("extensions", {}).get("code") == "UNAUTHENTICATED"


async def test_an_api_key_cannot_subscribe_to_a_customers_points(server: str) -> None:
    key = await f.api_key()
    async with graphql_ws(server) as ws:
        await init(ws, {"x-api-key": key})
        await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": POINTS_CHANGED}})

        message = await receive(ws)

        assert message["type"] == "error"
        [error] = message["payload"]
        assert error["message"] == "this needs a signed-in customer"
        assert error.get("extensions", {}).get("code") == "FORBIDDEN"


@pytest.mark.parametrize(
    "payload",
    [
        {"authorization": "Bearer not-a-jwt"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-jwt"},
        {"x-api-key": "tsk_unknown"},
    ],
)
async def test_bad_credentials_in_connection_init_close_the_socket(
    server: str, payload: dict[str, str]
) -> None:
    async with graphql_ws(server) as ws:
        await send(ws, {"type": "connection_init", "payload": payload})

        with pytest.raises(ConnectionClosed):
            await receive(ws)

        assert ws.close_code == 4403
        assert ws.close_reason == "Forbidden"


async def test_a_token_signed_with_another_secret_closes_the_socket(server: str, gql: GraphQL) -> None:
    alice = await f.customer(gql)
    header, claims, _ = alice.token.split(".")
    forged = f"{header}.{claims}.{'A' * 43}"

    async with graphql_ws(server) as ws:
        await send(ws, {"type": "connection_init", "payload": bearer(forged)})

        with pytest.raises(ConnectionClosed):
            await receive(ws)

        assert ws.close_code == 4403


async def test_an_expired_token_closes_the_socket(server: str, gql: GraphQL, settings: Settings) -> None:
    alice = await f.customer(gql)
    claims = jwt.decode(alice.token, options={"verify_signature": False})
    expired = jwt.encode(
        {**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600}, settings.jwt_secret, "HS256"
    )

    async with graphql_ws(server) as ws:
        await send(ws, {"type": "connection_init", "payload": bearer(expired)})

        with pytest.raises(ConnectionClosed):
            await receive(ws)

        # Not 4403: the app refreshes its token and reconnects rather than asking to log in again.
        assert (ws.close_code, ws.close_reason) == (4401, "token expired")


async def test_leaving_releases_the_redis_subscription(server: str, gql: GraphQL, redis: Redis) -> None:
    alice = await f.customer(gql)

    async with graphql_ws(server) as ws:
        await init(ws, bearer(alice.token))
        await subscribe(ws, redis, alice.id, op_id="1")
        await send(ws, {"id": "1", "type": "complete"})
        await until_listeners(redis, alice.id, 0)

        await subscribe(ws, redis, alice.id, op_id="2")
    # Closing the socket ends its subscriptions too.
    await until_listeners(redis, alice.id, 0)
