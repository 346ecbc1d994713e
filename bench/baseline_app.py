"""The baseline: the SQL and Redis work of `recordPurchase`, in a bare Starlette + asyncpg endpoint.

Run by bench/earn.py with uvicorn; reads DATABASE_URL and REDIS_URL. No validation, ORM or GraphQL:
what is left is the floor any implementation of the mutation pays on this machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import jwt
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.redis import pack_with_hiredis
from game.jobs import ENQUEUE_SCRIPT
from game.ledger.service import POST_SQL

POOL_SIZE = 5  # tortoise's default asyncpg pool (minsize 1, maxsize 5)
JOB_EXPIRES_MS = 86_400_000  # arq's default expiry

API_KEY = "SELECT * FROM api_key WHERE key_hash = $1 AND revoked_at IS NULL LIMIT 2"
CUSTOMER = "SELECT * FROM customer WHERE id = $1 LIMIT 2"
EARN_RULE = "SELECT * FROM earn_rule WHERE currency = $1 AND active LIMIT 2"
INSERT_EVENT = """
INSERT INTO event (customer_id, type, source, idempotency_key, payload, payload_hash, occurred_at,
                   recorded_at, processed_at)
VALUES ($1, 'purchase', $2, $3, $4, $5, $6, $6, NULL) RETURNING id"""
INSERT_PURCHASE = """
INSERT INTO purchase (event_id, customer_id, source, order_id, amount_cents, currency, points_awarded,
                      refunded_cents, points_reversed, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8) RETURNING id"""
# game/ledger/service.py's one statement: the balance moved and the entry appended.
POST_ENTRY = POST_SQL


async def _keep_session(connection: asyncpg.Connection) -> None:
    """As Tessera's pool (app/db.py): a connection comes back without asyncpg's reset statement, which
    would cost the baseline one more round trip each time it gives one back (four per purchase)."""


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(
        os.environ["DATABASE_URL"], min_size=1, max_size=POOL_SIZE, reset=_keep_session
    )
    # Connected as Tessera connects (app/redis.py), so that the ratio measures the rest.
    redis = await pack_with_hiredis(Redis.from_url(os.environ["REDIS_URL"]))
    app.state.pool, app.state.redis = pool, redis
    try:
        yield
    finally:
        await redis.aclose()
        await pool.close()


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def earn(request: Request) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.pool
    redis: Redis = request.app.state.redis
    body = await request.json()
    key_hash = hashlib.sha256(request.headers.get("x-api-key", "").encode()).hexdigest()
    key = await pool.fetchrow(API_KEY, key_hash)
    if key is None or "purchases" not in json.loads(key["scopes"]):
        return _error("unknown API key", 401)
    customer = await pool.fetchrow(CUSTOMER, UUID(body["customerId"]))
    rule = await pool.fetchrow(EARN_RULE, body["currency"])
    if customer is None or rule is None:
        return _error("no such customer or earn rule", 404)
    source, order_id, amount = key["source"], body["orderId"], int(body["amountCents"])
    points = amount * rule["points_per_unit"] // 100
    payload = json.dumps({"order_id": order_id, "amount_cents": amount, "currency": body["currency"]})
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        event_id = await conn.fetchval(
            INSERT_EVENT,
            customer["id"],
            source,
            f"purchase:{order_id}",
            payload,
            hashlib.sha256(payload.encode()).hexdigest(),
            now,
        )
        await conn.fetchval(
            INSERT_PURCHASE, event_id, customer["id"], source, order_id, amount, body["currency"], points, now
        )
        award_key = f"purchase:{source}:{order_id}"
        posted = await conn.fetchrow(
            POST_ENTRY, customer["id"], points, "earn", f"Purchase {order_id}", award_key, event_id, now
        )
        balance = posted["balance_after"]
    change = json.dumps({"balance": balance, "delta": points, "reason": "earn"})
    await _after_commit(redis, event_id, f"tessera:points:{customer['id']}", change)
    return JSONResponse({"pointsAwarded": points, "balance": balance, "duplicate": False})


async def _after_commit(redis: Redis, event_id: int, channel: str, message: str) -> None:
    """One round trip, as Tessera's (game/events/queue.py): the job enqueued by the same script, stored as
    arq stores it (under keys of our own), and the live message."""
    job_id = f"event:{event_id}"
    now_ms = int(time.time() * 1000)
    job = pickle.dumps({"t": 1, "f": "process_event", "a": (event_id,), "k": {}, "et": now_ms})
    keys = [f"bench:job:{job_id}", f"bench:result:{job_id}", "bench:queue"]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.eval(ENQUEUE_SCRIPT, 3, *keys, str(JOB_EXPIRES_MS), job, job_id, str(now_ms))  # type: ignore[arg-type]
        pipe.publish(channel, message)
        await pipe.execute()


# No token_version read: a Tessera API process remembers each account's standing for seconds while it
# listens to their announcements (game/access/standing.py), so its requests do not read it either.
HOME_SQL = {
    "customer": "SELECT * FROM customer WHERE id = $1 LIMIT 2",
    "balance": "SELECT customer_id, points FROM balance WHERE customer_id = ANY($1::uuid[])",
    "ledger": "SELECT * FROM ledger_entry WHERE customer_id = $1 ORDER BY id DESC LIMIT 21",
    "challenges": "SELECT * FROM challenge WHERE status = 'active' ORDER BY starts_at, id",
    "progress": "SELECT * FROM challenge_progress WHERE customer_id = $1 AND challenge_id = ANY($2::int[])",
    "badges": "SELECT * FROM badge WHERE id = ANY($1::int[])",
}


async def home(request: Request) -> JSONResponse:
    """The home screen's reads (bench/read.py): the signed-in customer, balance, last 20 ledger entries, the
    live challenges with this customer's progress and the badges they grant; the same statements as Tessera
    runs, their rows turned into the answer's JSON by plain Python."""
    authorization = request.headers.get("authorization", "")
    claims = jwt.decode(authorization.removeprefix("Bearer "), os.environ["JWT_SECRET"], algorithms=["HS256"])
    customer_id = UUID(claims["sub"])
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire() as conn:
        customer = await conn.fetchrow(HOME_SQL["customer"], customer_id)
        balance = await conn.fetch(HOME_SQL["balance"], [customer_id])
        entries = await conn.fetch(HOME_SQL["ledger"], customer_id)
        tags = set(json.loads(customer["tags"]))
        live = [
            c
            for c in await conn.fetch(HOME_SQL["challenges"])
            if not json.loads(c["audience_tags"]) or tags & set(json.loads(c["audience_tags"]))
        ]
        progress = await conn.fetch(HOME_SQL["progress"], customer_id, [c["id"] for c in live])
        badge_ids = sorted({c["reward_badge_id"] for c in live if c["reward_badge_id"]})
        badges = {b["id"]: b for b in await conn.fetch(HOME_SQL["badges"], badge_ids)}
    steps_of = {p["challenge_id"]: json.loads(p["steps"]) for p in progress}
    challenges = []
    for c in live:
        rule = json.loads(c["rule"])
        values = steps_of.get(c["id"]) or [{"value": 0} for _ in rule["steps"]]
        badge = badges.get(c["reward_badge_id"])
        challenges.append(
            {
                "id": str(c["id"]),
                "title": json.loads(c["title"]).get("en", ""),
                "rewardPoints": c["reward_points"],
                "steps": [
                    {
                        "event": s["event"],
                        "aggregate": s["aggregate"],
                        "target": s["target"],
                        "value": v["value"],
                    }
                    for s, v in zip(rule["steps"], values, strict=True)
                ],
                "rewardBadge": {"id": str(badge["id"]), "name": json.loads(badge["name"]).get("en", "")}
                if badge
                else None,
            }
        )
    ledger = [
        {
            "id": str(e["id"]),
            "delta": e["delta"],
            "balanceAfter": e["balance_after"],
            "kind": e["kind"].upper(),
            "reason": e["reason"],
            "createdAt": e["created_at"].isoformat(),
        }
        for e in entries[:20]
    ]
    me = {
        "id": str(customer["id"]),
        "displayName": customer["display_name"],
        "points": {"balance": balance[0]["points"] if balance else 0},
        "ledger": {"edges": [{"node": n} for n in ledger], "pageInfo": {"hasNextPage": len(entries) > 20}},
    }
    return JSONResponse({"data": {"me": me, "challenges": challenges}})


async def health(request: Request) -> JSONResponse:
    await request.app.state.pool.fetchval("SELECT 1")
    await request.app.state.redis.ping()
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/earn", earn, methods=["POST"]),
        Route("/home", home, methods=["GET", "POST"]),
        Route("/health", health),
    ],
    lifespan=lifespan,
)
