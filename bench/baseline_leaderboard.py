"""The baseline of bench/leaderboard.py: the Redis calls of leaderboard(first: 10) + aroundMe + myRank, in a
bare Starlette endpoint: the same three read scripts (EVALSHA) Tessera runs, their replies turned into the
answer's JSON by plain Python. No authentication, database, validation or GraphQL: the customer id comes in
the body, the board key in the environment (LEADERBOARD_KEY, its Redis sorted set)."""

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

from app.redis import pack_with_hiredis
from game.leaderboards.store import NAMES, READ_AROUND, READ_MINE, READ_PAGE

TIE_SPAN = 1 << 28


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # Connected as Tessera connects (app/redis.py), so that the ratio measures the rest.
    app.state.redis = await pack_with_hiredis(Redis.from_url(os.environ["REDIS_URL"]))
    for script in (READ_PAGE, READ_AROUND, READ_MINE):
        await app.state.redis.script_load(script.text)
    try:
        yield
    finally:
        await app.state.redis.aclose()


def _entries(values: list[Any], offset: int, me: str) -> list[dict[str, Any]]:
    """The (id, packed score, name) triples after a reply's two leading numbers, ranked from values[1]."""
    triples = values[2:]
    out: list[dict[str, Any]] = []
    previous = None
    for i in range(0, len(triples), 3):
        cid, score = triples[i].decode(), int(float(triples[i + 1])) // TIE_SPAN
        if not out:
            rank = int(values[1]) + 1
        else:
            rank = out[-1]["rank"] if score == previous else offset + i // 3 + 1
        previous = score
        out.append({"rank": rank, "score": score, "displayName": triples[i + 2].decode(), "isMe": cid == me})
    return out


async def boards(request: Request) -> JSONResponse:
    redis: Redis = request.app.state.redis
    me = (await request.json())["customerId"]
    key = os.environ["LEADERBOARD_KEY"]
    page = await redis.evalsha(READ_PAGE.sha, 2, key, NAMES, "0", "10")  # type: ignore[misc]
    around = await redis.evalsha(READ_AROUND.sha, 2, key, NAMES, me, "2")  # type: ignore[misc]
    mine = await redis.evalsha(READ_MINE.sha, 2, key, NAMES, me)  # type: ignore[misc]
    rank = None
    if mine:
        score = int(float(mine[0])) // TIE_SPAN
        rank = {"rank": int(mine[1]) + 1, "score": score, "displayName": mine[2].decode(), "isMe": True}
    data = {
        "leaderboard": {"entries": _entries(page, 0, me), "total": int(page[0])},
        "aroundMe": _entries(around, int(around[0]), me) if around else [],
        "myRank": rank,
    }
    return JSONResponse({"data": data})


async def health(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(
    routes=[Route("/boards", boards, methods=["POST"]), Route("/health", health)], lifespan=lifespan
)
