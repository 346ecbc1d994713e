"""The baseline of `redeemReward`: its SQL and Redis work in a bare Starlette + asyncpg endpoint.

Run by bench/redeem.py with uvicorn; reads DATABASE_URL, REDIS_URL and JWT_SECRET. It verifies the customer's
JWT and then does what Tessera's redemption does in the database, in one transaction, with no validation,
ORM or GraphQL: the floor any implementation of the mutation pays on this machine.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import jwt
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if not __package__:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.baseline_app import _after_commit, health, lifespan

INSERT_EVENT = """
INSERT INTO event (customer_id, type, source, idempotency_key, payload, payload_hash, occurred_at,
                   recorded_at, processed_at)
VALUES ($1, 'redemption', $2, $3, $4, $5, $6, $6, NULL) RETURNING id"""
LOCK_CUSTOMER = "SELECT tags FROM customer WHERE id = $1 FOR NO KEY UPDATE"
REWARD = (
    "SELECT id, kind, status, name, cost_points, per_customer_limit, starts_at, ends_at, coupon_valid_days, "
    "audience_tags FROM reward WHERE id = $1"
)
BALANCE = "SELECT points FROM balance WHERE customer_id = $1"
TAKE_STOCK = (
    "UPDATE reward SET redeemed = redeemed + 1 WHERE id = $1 AND status = 'live' "
    "AND (stock IS NULL OR redeemed < stock) RETURNING redeemed"
)
EVENT_FACTS = "UPDATE event SET payload = $1 WHERE id = $2"
ADD_TO_BALANCE = "UPDATE balance SET points = points + $1 WHERE customer_id = $2 RETURNING points"
INSERT_ENTRY = """
INSERT INTO ledger_entry (customer_id, delta, balance_after, kind, reason, event_id, award_key, created_at)
VALUES ($1, $2, $3, 'redemption', $4, $5, $6, $7) RETURNING id"""
INSERT_REDEMPTION = """
INSERT INTO redemption (reward_id, customer_id, award_key, points, status, code, snapshot, created_at)
VALUES ($1, $2, $3, $4, 'active', $5, $6, $7) RETURNING id"""
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def redeem(request: Request) -> JSONResponse:
    pool: asyncpg.Pool = request.app.state.pool
    redis: Redis = request.app.state.redis
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    try:
        claims = jwt.decode(token, os.environ["JWT_SECRET"], algorithms=["HS256"], issuer="tessera")
    except jwt.InvalidTokenError:
        return _error("not signed in", 401)
    customer_id = UUID(claims["sub"])
    body = await request.json()
    reward_id, key = int(body["rewardId"]), body["idempotencyKey"]
    payload = json.dumps({"reward_id": reward_id})
    now = datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        event_id = await conn.fetchval(
            INSERT_EVENT,
            customer_id,
            f"rewards:{customer_id}",
            key,
            payload,
            hashlib.sha256(payload.encode()).hexdigest(),
            now,
        )
        await conn.fetchrow(LOCK_CUSTOMER, customer_id)
        reward = await conn.fetchrow(REWARD, reward_id)
        cost = int(reward["cost_points"])
        if await conn.fetchval(BALANCE, customer_id) < cost:
            return _error("INSUFFICIENT_POINTS", 409)
        if await conn.fetchval(TAKE_STOCK, reward_id) is None:
            return _error("OUT_OF_STOCK", 409)
        facts = json.dumps({"reward_id": reward_id, "kind": reward["kind"], "cost_points": cost})
        await conn.execute(EVENT_FACTS, facts, event_id)
        balance = await conn.fetchval(ADD_TO_BALANCE, -cost, customer_id)
        award_key = f"redemption:{customer_id}:{key}"
        await conn.fetchval(INSERT_ENTRY, customer_id, -cost, balance, "Reward", event_id, award_key, now)
        code = "".join(secrets.choice(ALPHABET) for _ in range(12))
        snapshot = json.dumps({"name": json.loads(reward["name"]), "kind": reward["kind"]})
        redemption_id = await conn.fetchval(
            INSERT_REDEMPTION, reward_id, customer_id, award_key, cost, code, snapshot, now
        )
    change = json.dumps({"balance": balance, "delta": -cost, "reason": "redemption"})
    await _after_commit(redis, event_id, f"tessera:points:{customer_id}", change)
    return JSONResponse({"id": str(redemption_id), "points": cost, "couponCode": code})


app = Starlette(
    routes=[Route("/redeem", redeem, methods=["POST"]), Route("/health", health)], lifespan=lifespan
)
