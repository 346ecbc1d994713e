"""Database lifecycle: tortoise config, migrations, and one TortoiseContext per process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext, get_current_context
from tortoise.migrations.api.migrate import migrate as migrate_api

from app.settings import Settings, load_settings
from game.models import MODEL_MODULES


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(database_url: str) -> str | dict[str, Any]:
    if database_url.startswith("sqlite://"):
        # tortoise already turns on WAL and foreign keys; the busy timeout makes the API and the worker
        # (two processes on one file) wait for each other's write lock instead of failing.
        return {
            "engine": "tortoise.backends.sqlite",
            "credentials": {"file_path": database_url.removeprefix("sqlite://"), "busy_timeout": 10000},
        }
    config = expand_db_url(database_url)
    config["credentials"]["reset"] = _keep_session
    return config


async def _keep_session(connection: Any) -> None:
    """What asyncpg's pool runs when a connection comes back, after rolling back any open transaction.

    Its default sends one more statement (unlock advisory locks, close cursors, UNLISTEN, RESET ALL) each
    time, and tortoise takes a connection from the pool for every statement outside a transaction: a
    request that reads six things paid six of them. Nothing here leaves session state behind: advisory locks
    are transaction-scoped (pg_advisory_xact_lock), cursors live inside transactions, nothing LISTENs on a
    pooled connection (live updates go through Redis) and nothing SETs a session variable.
    """


def __getattr__(name: str) -> Any:
    # `tortoise makemigrations` reads app.db.TORTOISE_ORM; computed on access so importing this module
    # does not read the environment.
    if name == "TORTOISE_ORM":
        return tortoise_config(load_settings().database_url)
    raise AttributeError(name)


async def migrate(settings: Settings) -> None:
    _ensure_sqlite_dir(settings)
    config = tortoise_config(settings.database_url)
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        await migrate_api(config=config)


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[TortoiseContext]:
    """Opens the connections for this process; requests and jobs in any task of the process share them.

    When the process already has them open (`tessera dev` runs the API and the worker together, tests run
    several apps), the caller shares them and leaves closing to their owner.
    """
    existing = get_current_context()
    if existing is not None and existing.inited:
        yield existing
        return
    _ensure_sqlite_dir(settings)
    # The global fallback makes the connections visible to tasks not spawned from this one (uvicorn's
    # request tasks are not children of the lifespan task).
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(settings.database_url), _enable_global_fallback=True)
        yield ctx


def _ensure_sqlite_dir(settings: Settings) -> None:
    if settings.database_url.startswith("sqlite://"):
        from pathlib import Path

        Path(settings.database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
