"""The Starlette app factory."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from tortoise.context import get_current_context

from app.db import database
from app.limits import BodyLimit
from app.redis import arq_pool, resolved_redis_url
from app.settings import Settings, load_settings
from game.access.standing import listen
from schema import build_schema
from schema.view import TesseraGraphQL


async def health(request: Request) -> JSONResponse:
    context = get_current_context()
    assert context is not None
    await context.db().execute_query("SELECT 1")
    await request.app.state.arq.ping()
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    graphql = TesseraGraphQL(build_schema(settings), settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with resolved_redis_url(settings) as resolved:
            async with database(resolved), arq_pool(resolved.redis_url) as arq:
                app.state.arq = arq
                # Account standings (revocations) are remembered only while this listens: standing.py.
                listening = asyncio.create_task(listen(arq), name="account standings")
                # What start-up loaded (modules, the schema) lives as long as the process: frozen out of
                # the collector's way, a full collection no longer walks it on a request's time.
                gc.collect()
                gc.freeze()
                try:
                    yield
                finally:
                    listening.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await listening

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/health", health),
        ],
        middleware=[Middleware(BodyLimit, max_bytes=settings.max_body_bytes)],
        lifespan=lifespan,
    )
