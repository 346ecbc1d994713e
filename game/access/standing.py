"""Whether an account still honours its tokens (its token version, a marketer disabled), remembered briefly.

Every request that carries a token checks its account (tokens.py): one indexed read, which was a quarter of
a leaderboard request's CPU. An API process remembers the answer for REMEMBER_S seconds, but only while it
listens to the channel on which every change of an account's standing is announced after its commit (sign
out everywhere, a marketer disabled: game/access/sessions.py), so that:

- a change made through Tessera, by any process, reaches every API process as soon as the message does,
  and the process that made it forgets at once, before it answers;
- a change nobody announced (a row deleted by hand, an announcement lost with Redis) is seen within
  REMEMBER_S seconds;
- while a process does not listen (Redis down, the connection lost and not yet back, or a process that
  never listens: the worker, the CLI), it remembers nothing and every request reads the database, as
  before. Each (re)subscription starts from an empty memory, since what was announced meanwhile is lost.

An answer read while a change was being announced is not kept: the read may predate the change.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from uuid import UUID

from redis.asyncio import Redis

from game.access.viewer import Role
from game.after_commit import REDIS_DOWN
from game.sql import fetch_one

log = logging.getLogger("tessera.access")

CHANNEL = "access:standing"
REMEMBER_S = 5.0
_MAX_REMEMBERED = 50_000
# After the connection is lost: how long until listening again is tried, doubling up to the last.
_RETRY_S = (0.1, 0.5, 1.0, 2.0, 5.0)


@dataclass(frozen=True, slots=True)
class Standing:
    """An existing account's: the token version its tokens must carry, and whether it is disabled."""

    token_version: int
    disabled: bool = False


Account = tuple[Role, UUID]
Reader = Callable[[Role, UUID], Awaitable[Standing | None]]


async def read(role: Role, account_id: UUID) -> Standing | None:
    """The account's standing in the database; None when it no longer exists."""
    if role is Role.CUSTOMER:
        row = await fetch_one("SELECT token_version FROM customer WHERE id = $1", account_id)
        return None if row is None else Standing(int(row["token_version"]))
    row = await fetch_one("SELECT token_version, disabled_at FROM marketer WHERE id = $1", account_id)
    return None if row is None else Standing(int(row["token_version"]), row["disabled_at"] is not None)


@dataclass
class Standings:
    """One process's memory of standings; it remembers only while a `listen` of the process is subscribed."""

    reader: Reader = read
    clock: Callable[[], float] = time.monotonic
    subscribed: int = 0  # the process's `listen` tasks now subscribed (one per API app it serves)
    # Bumped by every change heard or made here: a read that started before one is not remembered.
    generation: int = 0
    known: dict[Account, tuple[float, Standing]] = field(default_factory=dict)

    @property
    def listening(self) -> bool:
        return self.subscribed > 0

    async def of(self, role: Role, account_id: UUID, fresh: bool = False) -> Standing | None:
        """The account's standing; `fresh`: read now (what is remembered is known to be behind)."""
        account = (role, account_id)
        if self.listening and not fresh:
            known = self.known.get(account)
            if known is not None and known[0] > self.clock():
                return known[1]
        generation = self.generation
        standing = await self.reader(role, account_id)
        # Gone accounts are not remembered: a token of one is refused by a read, as before.
        if standing is not None and self.listening and generation == self.generation:
            if len(self.known) >= _MAX_REMEMBERED:
                self.known.clear()
            self.known[account] = (self.clock() + REMEMBER_S, standing)
        return standing

    def forget(self, role: Role, account_id: UUID) -> None:
        self.generation += 1
        self.known.pop((role, account_id), None)

    def forget_all(self) -> None:
        self.generation += 1
        self.known.clear()

    def heard(self, data: bytes | str) -> None:
        """A message of CHANNEL: `<role>:<account id>`; anything else forgets everything, to be safe."""
        text = data.decode() if isinstance(data, bytes) else data
        role, _, account_id = text.partition(":")
        try:
            self.forget(Role(role), UUID(account_id))
        except ValueError:
            self.forget_all()


# This process's memory: what tokens.py consults.
standings = Standings()


async def announce(redis: Redis, role: Role, account_id: UUID) -> None:
    """After the commit that changed the account's standing: forgotten here at once, and by every listening
    process when the message reaches it. With Redis down they see it within REMEMBER_S seconds, which they
    do anyway, since they stop listening."""
    standings.forget(role, account_id)
    try:
        await redis.publish(CHANNEL, f"{role.value}:{account_id}")
    except REDIS_DOWN as exc:
        log.warning(
            "standing of %s %s not announced (%s); seen within %ss", role, account_id, exc, REMEMBER_S
        )


async def listen(redis: Redis, memory: Standings | None = None) -> None:
    """Runs for the life of an API process: subscribed to CHANNEL, it forgets what is announced, and lets the
    process remember only while subscribed. Returns only when cancelled."""
    memory = memory or standings
    failures = 0
    while True:
        pubsub = redis.pubsub()
        counted = False
        try:
            await pubsub.subscribe(CHANNEL)
            async for message in pubsub.listen():
                if message["type"] == "subscribe":
                    # Subscribed, or subscribed again by the client after a reconnect: what was announced
                    # in between is lost, so nothing from before is trusted.
                    memory.forget_all()
                    if not counted:
                        memory.subscribed += 1
                        counted = True
                    failures = 0
                elif message["type"] == "message":
                    memory.heard(message["data"])
        except REDIS_DOWN as exc:
            if not failures:
                log.warning("not listening to account changes (%s): every request reads the database", exc)
        finally:
            if counted:
                memory.subscribed -= 1
            memory.forget_all()
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except REDIS_DOWN:
                pass
        await asyncio.sleep(_RETRY_S[min(failures, len(_RETRY_S) - 1)])
        failures += 1
