"""The `tessera` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import uvloop

from app.settings import Settings, load_settings

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

SCHEMA_FILE = Path("schema.graphql")
T = TypeVar("T")
log = logging.getLogger("tessera.cli")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    # uvicorn configures its own loggers. arq reports each job at INFO: a line per job is a cost on the
    # worker's hot path, so it is kept for TESSERA_LOG_JOBS=1 (debugging); start-up and failures still show.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.run is _vapid_generate:  # a production host without keys yet must be able to make them
        return int(_vapid_generate(None, args))
    settings = load_settings()
    result = args.run(settings, args)
    try:
        # uvloop: the API and the worker spend much of their time in the event loop's own code.
        return int(uvloop.run(result) if asyncio.iscoroutine(result) else result or 0)
    except KeyboardInterrupt:  # Ctrl-C outside `dev` and `worker`, which stop in order themselves
        return 130


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
    p = command(
        "disable-marketer",
        _disable_marketer,
        "refuse a marketer from now on: every token they hold stops working, and they cannot sign in",
    )
    p.add_argument("email")
    p = command("export-schema", _export_schema, "write the GraphQL SDL")
    p.add_argument("--output", "-o", default=str(SCHEMA_FILE), help="file to write, '-' for stdout")
    command("check-ledger", _check_ledger, "verify every cached balance equals the sum of its ledger entries")
    command(
        "requeue",
        _requeue,
        "enqueue the job of every unprocessed event, unsent notification and unfinished backfill "
        "(after Redis was wiped or restored, without waiting for the worker's cron)",
    )
    p = command("leaderboards", _leaderboards_help, "leaderboard maintenance")
    boards = p.add_subparsers(title="leaderboard commands")
    p = boards.add_parser(
        "rebuild",
        help="rebuild the live season of every board (or one) from the database into Redis",
        description="rebuild the live season of every board (or one) from the database into Redis: each into "
        "a temporary key swapped in atomically, while the API keeps serving",
    )
    p.add_argument("--key", help="only this board")
    p.add_argument(
        "--names", action="store_true", help="write every member's name again (after editing names by hand)"
    )
    p.set_defaults(run=_rebuild_leaderboards)
    vapid = sub.add_parser("vapid", help="VAPID keys for Web Push", description="VAPID keys for Web Push")
    vapid_sub = vapid.add_subparsers(title="vapid commands")
    p = vapid_sub.add_parser(
        "generate",
        help="print a new key pair: the private key for TESSERA_VAPID_PRIVATE_KEY and its public key",
    )
    p.set_defaults(run=_vapid_generate)
    return parser


def _leaderboards_help(_settings: Settings, _args: argparse.Namespace) -> int:
    print("usage: tessera leaderboards rebuild [--key K] [--names]", file=sys.stderr)
    return 2


def _progress_bar(key: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        width = 30
        filled = width if total == 0 else width * done // total
        percent = 100 if total == 0 else 100 * done // total
        end = "\n" if done >= total else ""
        sys.stderr.write(
            f"\r{key:<24} [{'#' * filled}{'.' * (width - filled)}] {percent:3d}% {done}/{total}{end}"
        )
        sys.stderr.flush()

    return show


async def _rebuild_leaderboards(settings: Settings, args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from app.db import database
    from app.redis import arq_pool, resolved_redis_url
    from game.errors import DomainError
    from game.leaderboards.rebuild import rebuild

    tz = ZoneInfo(settings.programme_timezone)
    with resolved_redis_url(settings) as resolved:
        async with database(resolved), arq_pool(resolved.redis_url) as redis:
            try:
                progress = lambda board: _progress_bar(board.key)  # noqa: E731
                counts = await rebuild(redis, tz, args.key, progress, names=args.names)
            except DomainError as error:
                print(f"tessera: {error.message}", file=sys.stderr)
                return 1
    for key, rebuilt in counts.items():
        print(f"rebuilt {key}: {rebuilt.members} member(s), {rebuilt.repaired} score(s) repaired")
    return 0


def _vapid_generate(_settings: Settings | None, _args: argparse.Namespace) -> int:
    from game.notifications import vapid

    private, public = vapid.generate()
    print(f"TESSERA_VAPID_PRIVATE_KEY={private}")
    print(f"# public key (vapidPublicKey, applicationServerKey): {public}")
    return 0


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


async def _disable_marketer(settings: Settings, args: argparse.Namespace) -> int:
    from redis.asyncio import Redis

    from app.db import database
    from app.redis import resolved_redis_url
    from game.access.sessions import disable_marketer

    # Redis only carries the announcement to running API processes: with it down, they see the change
    # within a few seconds all the same (game/access/standing.py).
    with resolved_redis_url(settings) as resolved:
        redis = Redis.from_url(resolved.redis_url)
        try:
            async with database(resolved):
                disabled = await disable_marketer(redis, args.email)
        finally:
            await redis.aclose()
    if not disabled:
        print(f"no marketer {args.email}", file=sys.stderr)
        return 1
    print(f"marketer {args.email} disabled")
    return 0


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
        f"enqueued {done.events} event(s), {done.notifications} notification(s), "
        f"{done.backfills} backfill(s), {done.campaigns} campaign(s), {done.pushes} push(es)"
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
            await _print_demo(resolved, demo.customer_id, demo.api_key)
    return 0


async def _print_demo(settings: Settings, customer_id: str, api_key: str) -> None:
    """Prints the demo's accounts, and writes them with day-long tokens to var/dev.env, so that the README's
    examples can be pasted after `set -a; . var/dev.env; set +a`."""
    from uuid import UUID

    from game.access.models import Marketer
    from game.access.sessions import token_version
    from game.access.tokens import issue_token
    from game.access.viewer import Role
    from game.demo import CUSTOMER_EMAIL, DEMO_PASSWORD, MARKETER_EMAIL

    day = 24 * 3600
    customer = UUID(customer_id)
    marketer = (await Marketer.get(email=MARKETER_EMAIL)).id
    tokens = {
        "CUSTOMER_TOKEN": issue_token(
            settings.jwt_secret, day, customer, Role.CUSTOMER, await token_version(Role.CUSTOMER, customer)
        ),
        "MARKETER_TOKEN": issue_token(
            settings.jwt_secret, day, marketer, Role.MARKETER, await token_version(Role.MARKETER, marketer)
        ),
    }
    env = {"TILL_KEY": api_key, "CUSTOMER_ID": customer_id, **tokens}
    path = settings.var_dir / "dev.env"
    path.write_text("".join(f"{name}={value}\n" for name, value in env.items()))
    print(
        f"\n  Demo programme ready.\n"
        f"    customer  {CUSTOMER_EMAIL} / {DEMO_PASSWORD}   (id {customer_id})\n"
        f"    marketer  {MARKETER_EMAIL} / {DEMO_PASSWORD}\n"
        f"    till key  {api_key}\n"
        f"    {path}: TILL_KEY, CUSTOMER_ID, CUSTOMER_TOKEN, MARKETER_TOKEN (valid a day), for the\n"
        "    README's examples:\n"
        f"      set -a; . {path}; set +a\n"
    )


async def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    import uvicorn

    from app.factory import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=settings.host, port=settings.port))
    await server.serve()
    return 0


async def _worker(settings: Settings, _args: argparse.Namespace) -> int:
    from app.db import database
    from app.redis import resolved_redis_url

    _quiet_jobs(settings)
    with resolved_redis_url(settings) as resolved:
        async with database(resolved):
            await _supervised_worker(resolved)
    return 0


def _quiet_jobs(settings: Settings) -> None:
    if not settings.log_jobs:
        logging.getLogger("arq.worker").setLevel(logging.WARNING)


async def _supervised_worker(settings: Settings) -> None:
    """Runs the arq worker until it is stopped, and again after Redis fails under it.

    arq's worker ends when its Redis connection fails; this loop starts a new one with back-off (1 s
    doubling to 30 s), so a Redis restart or a network blip never leaves events piling up. Jobs in flight
    are safe: each is idempotent and the sweeper re-enqueues what a lost job left undone. PostgreSQL
    outages only fail jobs, which arq retries. A process supervisor (systemd, Kubernetes) remains the
    answer to a crash of the process itself.
    """
    from arq.worker import Worker

    from app.redis import arq_pool
    from game.after_commit import REDIS_DOWN
    from workers.settings import build_worker

    # Signals are ours, not arq's: arq's handlers would outlive the worker that installed them, and a SIGTERM
    # during a back-off would be swallowed. A signal stops the running worker (arq finishes or cancels its
    # jobs; each commits or rolls back) or ends the back-off.
    stop = asyncio.Event()
    running: list[Worker] = []

    def on_signal(signum: signal.Signals) -> None:
        stop.set()
        for worker in running:
            worker.handle_sig(signum)

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    delay_s = 1.0
    while not stop.is_set():
        started = time.monotonic()
        try:
            async with arq_pool(settings.redis_url) as pool:
                worker = build_worker(settings, pool, handle_signals=False)
                running.append(worker)
                try:
                    await worker.async_run()
                    return  # a burst run that drained its queue
                finally:
                    running.remove(worker)
                    try:
                        await worker.close()
                    except REDIS_DOWN:
                        # arq's close talks to Redis before it runs on_shutdown: with Redis gone, run it
                        # here, or each outage would leak the worker's resources (its push session).
                        if worker.on_shutdown is not None:
                            await worker.on_shutdown(worker.ctx)
        except asyncio.CancelledError:
            return  # a signal: the worker cancelled its main task and closed above
        except REDIS_DOWN as exc:
            if time.monotonic() - started > 60:
                delay_s = 1.0  # it ran a while: a new outage, not the same one
            log.warning("worker: Redis unavailable (%s); starting again in %.0f s", exc, delay_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay_s)
            delay_s = min(delay_s * 2, 30.0)


async def _dev(settings: Settings, _args: argparse.Namespace) -> int:
    from app.db import database, migrate
    from app.factory import create_app
    from app.redis import arq_pool, resolved_redis_url
    from game.demo import seed_demo
    from workers.settings import build_worker

    if problem := _port_taken(settings.host, settings.port):
        print(problem, file=sys.stderr)
        return 1
    with resolved_redis_url(settings) as resolved:
        await migrate(resolved)
        async with (
            database(resolved),
            arq_pool(resolved.redis_url) as arq,
            arq_pool(resolved.redis_url) as wpool,
        ):
            demo = await seed_demo(arq)
            await _print_demo(resolved, demo.customer_id, demo.api_key)
            server = _dev_server(create_app(resolved), resolved)
            worker = build_worker(resolved, wpool, handle_signals=False)
            worker_task = asyncio.create_task(worker.async_run())
            print(f"  GraphiQL: http://{resolved.host}:{resolved.port}/graphql\n", flush=True)
            # Ctrl-C or SIGTERM stops the API, then the worker, then (leaving the blocks) Redis and the
            # database: each in order, none of them from under the others.
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, server.handle_exit, signum, None)
            try:
                await server.serve()
            finally:
                worker_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
                await worker.close()
    print("  stopped", flush=True)
    return 0


def _dev_server(app: Starlette, settings: Settings) -> uvicorn.Server:
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # uvicorn would re-raise Ctrl-C once it has stopped, cancelling the shutdown of the rest.
            yield

    return Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info"))


def _port_taken(host: str, port: int) -> str | None:
    """One line for a port another process holds, rather than uvicorn's chain of exceptions."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return (
                f"tessera: {host}:{port} is not available ({exc.strerror}); "
                f"set TESSERA_PORT to another port, e.g. TESSERA_PORT={port + 1} make dev"
            )
    return None
