"""The `tessera` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from app.settings import Settings, load_settings

SCHEMA_FILE = Path("schema.graphql")
T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    # arq reports each job at INFO; uvicorn configures its own loggers.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings()
    result = args.run(settings, args)
    return int(asyncio.run(result) if asyncio.iscoroutine(result) else result or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tessera", description="Tessera loyalty backend")
    sub = parser.add_subparsers(title="commands")

    def command(
        name: str, run: Callable[[Settings, argparse.Namespace], object], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(run=run)
        return p

    command("dev", _dev, "migrate, seed the demo, run API + worker (+ embedded Redis) together")
    command("serve", _serve, "run the GraphQL API")
    command("worker", _worker, "run the arq worker")
    command("migrate", _migrate, "apply database migrations")
    command("demo", _demo, "seed the demo coffee-shop programme (idempotent)")
    p = command(
        "create-api-key", _create_api_key, "create an API key for a till, e-shop or CRM; prints it once"
    )
    p.add_argument("name")
    p.add_argument(
        "--scope", action="append", dest="scopes", help="purchases (default), eco, rewards; repeatable"
    )
    p = command("revoke-api-key", _revoke_api_key, "revoke every key with this name or prefix")
    p.add_argument("name")
    p = command("create-marketer", _create_marketer, "create a marketer account")
    p.add_argument("email")
    p.add_argument("--password", help="read from a prompt when absent")
    p.add_argument("--display-name", default="")
    p = command("export-schema", _export_schema, "write the GraphQL SDL")
    p.add_argument("--output", "-o", default=str(SCHEMA_FILE), help="file to write, '-' for stdout")
    command("check-ledger", _check_ledger, "verify every cached balance equals the sum of its ledger entries")
    command(
        "requeue",
        _requeue,
        "enqueue the job of every unprocessed event, unsent notification and unfinished backfill "
        "(after Redis was wiped or restored, without waiting for the worker's cron)",
    )
    return parser


async def _with_db(settings: Settings, body: Callable[[], Awaitable[T]]) -> T:
    from app.db import database

    async with database(settings):
        return await body()


def _export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema import build_schema

    sdl = build_schema(settings).as_str() + "\n"
    if args.output == "-":
        sys.stdout.write(sdl)
    else:
        Path(args.output).write_text(sdl)
        print(f"wrote {args.output}")
    return 0


async def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.db import migrate

    await migrate(settings)
    return 0


async def _create_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from game.access.service import create_api_key

    key, secret = await _with_db(settings, lambda: create_api_key(args.name, args.scopes))
    print(f"API key {key.name!r} (scopes: {', '.join(key.scopes)}). Shown once, store it now:")
    print(secret)
    return 0


async def _revoke_api_key(settings: Settings, args: argparse.Namespace) -> int:
    from game.access.service import revoke_api_keys

    count = await _with_db(settings, lambda: revoke_api_keys(args.name))
    print(f"revoked {count} key(s)")
    return 0 if count else 1


async def _create_marketer(settings: Settings, args: argparse.Namespace) -> int:
    from game.access.service import create_marketer

    password = args.password
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Again: "):
            print("passwords differ", file=sys.stderr)
            return 1
    marketer = await _with_db(settings, lambda: create_marketer(args.email, password, args.display_name))
    print(f"marketer {marketer.email} created")
    return 0


async def _check_ledger(settings: Settings, _args: argparse.Namespace) -> int:
    from game.ledger.service import find_drift
    from game.points.service import find_lifecycle_problems
    from game.rewards.service import find_stock_problems

    async def check() -> tuple[list[Any], list[str]]:
        problems = await find_lifecycle_problems(settings.points_expiry_months)
        return await find_drift(), problems + await find_stock_problems()

    drift, problems = await _with_db(settings, check)
    for d in drift:
        print(f"customer {d.customer_id}: cached {d.cached}, ledger {d.ledger}")
    for problem in problems:
        print(problem)
    summary = [f"{len(drift)} balance(s) drifted"] if drift else []
    summary += [f"{len(problems)} pending, expiry or stock problem(s)"] if problems else []
    print("; ".join(summary) or "ledger consistent")
    return 1 if drift or problems else 0


async def _requeue(settings: Settings, _args: argparse.Namespace) -> int:
    from datetime import timedelta

    from app.db import database
    from app.redis import arq_pool, resolved_redis_url
    from game.requeue import requeue_lost

    with resolved_redis_url(settings) as resolved:
        async with database(resolved), arq_pool(resolved.redis_url) as arq:
            done = await requeue_lost(arq, older_than=timedelta(0))
    print(
        f"enqueued {done.events} event(s), {done.notifications} notification(s), {done.backfills} backfill(s)"
        " (a job still queued is not doubled)"
    )
    return 0


async def _demo(settings: Settings, _args: argparse.Namespace) -> int:
    from app.db import database
    from app.redis import arq_pool, resolved_redis_url
    from game.demo import seed_demo

    with resolved_redis_url(settings) as resolved:
        async with database(resolved), arq_pool(resolved.redis_url) as arq:
            demo = await seed_demo(arq)
    _print_demo(settings, demo.customer_id, demo.api_key)
    return 0


def _print_demo(settings: Settings, customer_id: str, api_key: str) -> None:
    from game.demo import CUSTOMER_EMAIL, DEMO_PASSWORD, MARKETER_EMAIL

    print(
        f"\n  Demo programme ready.\n"
        f"    customer  {CUSTOMER_EMAIL} / {DEMO_PASSWORD}   (id {customer_id})\n"
        f"    marketer  {MARKETER_EMAIL} / {DEMO_PASSWORD}\n"
        f"    till key  {api_key}\n"
    )


async def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    from app.factory import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=settings.host, port=settings.port))
    await server.serve()
    return 0


async def _worker(settings: Settings, _args: argparse.Namespace) -> int:
    from app.db import database
    from app.redis import arq_pool, resolved_redis_url
    from workers.settings import build_worker

    with resolved_redis_url(settings) as resolved:
        async with database(resolved), arq_pool(resolved.redis_url) as pool:
            worker = build_worker(resolved, pool)
            try:
                await worker.async_run()
            except asyncio.CancelledError:
                pass  # SIGTERM/SIGINT: arq cancelled its main task; close() below finishes the shutdown
            finally:
                await worker.close()
    return 0


async def _dev(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    from app.db import database, migrate
    from app.factory import create_app
    from app.redis import arq_pool, resolved_redis_url
    from game.demo import seed_demo
    from workers.settings import build_worker

    with resolved_redis_url(settings) as resolved:
        await migrate(resolved)
        async with (
            database(resolved),
            arq_pool(resolved.redis_url) as arq,
            arq_pool(resolved.redis_url) as wpool,
        ):
            demo = await seed_demo(arq)
            _print_demo(resolved, demo.customer_id, demo.api_key)
            server = uvicorn.Server(
                uvicorn.Config(create_app(resolved), host=resolved.host, port=resolved.port, log_level="info")
            )
            worker = build_worker(resolved, wpool, handle_signals=False)
            worker_task = asyncio.create_task(worker.async_run())
            print(f"  GraphiQL: http://{resolved.host}:{resolved.port}/graphql\n", flush=True)
            try:
                await server.serve()
            finally:
                worker_task.cancel()
                await worker.close()
    return 0
