"""The baseline of bench/leaderboard.py: the Redis calls of leaderboard(first: 10) + aroundMe + myRank, in a
bare Starlette endpoint. No authentication, database, validation or GraphQL: the customer id comes in the
body, the board key in the environment (LEADERBOARD_KEY, its Redis sorted set)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

TIE_SPAN = 1 << 28
NAMES = "lb:names"


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.redis = Redis.from_url(os.environ["REDIS_URL"])
    try:
        yield
    finally:
        await app.state.redis.aclose()


async def _entries(
    redis: Redis, key: str, rows: list[tuple[bytes, float]], offset: int, me: str
) -> list[dict[str, Any]]:
    if not rows:
        return []
    scores = [int(packed) // TIE_SPAN for _, packed in rows]
    ids = [member.decode() for member, _ in rows]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcount(key, float((scores[0] + 1) * TIE_SPAN), "+inf")
        pipe.hmget(NAMES, ids)
        above, names = await pipe.execute()
    out: list[dict[str, Any]] = []
    for i, (cid, name, score) in enumerate(zip(ids, names, scores, strict=True)):
        rank = int(above) + 1 if i == 0 else (out[-1]["rank"] if score == scores[i - 1] else offset + i + 1)
        out.append({"rank": rank, "score": score, "displayName": (name or b"").decode(), "isMe": cid == me})
    return out


async def boards(request: Request) -> JSONResponse:
    redis: Redis = request.app.state.redis
    me = (await request.json())["customerId"]
    key = os.environ["LEADERBOARD_KEY"]
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrevrange(key, 0, 9, withscores=True)
        pipe.zcard(key)
        rows, total = await pipe.execute()
    page = await _entries(redis, key, rows, 0, me)
    index = await redis.zrevrank(key, me)
    around: list[dict[str, Any]] = []
    if index is not None:
        start = max(index - 2, 0)
        rows = await redis.zrevrange(key, start, index + 2, withscores=True)
        around = await _entries(redis, key, rows, start, me)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zscore(key, me)
        pipe.hget(NAMES, me)
        packed, name = await pipe.execute()
    mine = None
    if packed is not None:
        score = int(packed) // TIE_SPAN
        above = await redis.zcount(key, float((score + 1) * TIE_SPAN), "+inf")
        mine = {"rank": int(above) + 1, "score": score, "displayName": (name or b"").decode(), "isMe": True}
    page_out = {"entries": page, "total": int(total)}
    return JSONResponse({"data": {"leaderboard": page_out, "aroundMe": around, "myRank": mine}})


async def health(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[Route("/boards", boards, methods=["POST"]), Route("/health", health)], lifespan=lifespan
)
