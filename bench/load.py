"""A closed-loop HTTP load generator: N connections, each sending its next request as soon as one returns."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import aiohttp

Body = Callable[[], dict[str, Any]]
Check = Callable[[Any], bool]


@dataclass
class Run:
    target: str
    seconds: float = 0.0
    ok: int = 0
    errors: int = 0
    first_error: str | None = None
    latencies: list[float] = field(default_factory=list)
    server_cpu_s: float = 0.0  # CPU time the server process used during the run, filled by the caller

    @property
    def requests(self) -> int:
        return self.ok + self.errors

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request: steadier than req/s on a shared machine."""
        return self.server_cpu_s / self.requests * 1000 if self.requests else 0.0

    def percentile_ms(self, q: float) -> float:
        if len(self.latencies) < 2:
            return 0.0
        return statistics.quantiles(self.latencies, n=1000, method="inclusive")[round(q * 1000) - 1] * 1000


async def load(
    target: str,
    url: str,
    headers: dict[str, str],
    body: Body,
    check: Check,
    *,
    connections: int,
    seconds: float,
) -> Run:
    """Sends requests for `seconds` (requests in flight at the deadline are let finish)."""
    run = Run(target)
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:

        async def client(deadline: float) -> None:
            while perf_counter() < deadline:
                started = perf_counter()
                try:
                    async with session.post(url, json=body()) as response:
                        data = await response.json(content_type=None)
                        error = (
                            None if response.status == 200 and check(data) else f"{response.status} {data}"
                        )
                except (aiohttp.ClientError, TimeoutError, ValueError) as e:
                    error = repr(e)
                run.latencies.append(perf_counter() - started)
                if error is None:
                    run.ok += 1
                else:
                    run.errors += 1
                    run.first_error = run.first_error or error[:300]

        started = perf_counter()
        await asyncio.gather(*(client(started + seconds) for _ in range(connections)))
        run.seconds = perf_counter() - started
    return run
