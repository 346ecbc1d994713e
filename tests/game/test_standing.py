"""The rules of a process's memory of account standings (game/access/standing.py), with a clock and a
database of the test's own. The announcements over Redis are tested through the API in
tests/schema/test_sessions.py, and what happens with Redis down in tests/app/test_redis_outage.py."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID, uuid4

from game.access.standing import REMEMBER_S, Standing, Standings
from game.access.viewer import Role


class Accounts:
    """The database, as the memory reads it: standings by account, and how many reads it answered."""

    def __init__(self) -> None:
        self.rows: dict[UUID, Standing] = {}
        self.reads = 0
        self.during_read: list[Callable[[], None]] = []  # run while a read is in flight

    async def read(self, _role: Role, account_id: UUID) -> Standing | None:
        self.reads += 1
        for action in self.during_read:
            action()
        self.during_read = []
        return self.rows.get(account_id)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def memory(listening: bool = True) -> tuple[Standings, Accounts, Clock]:
    accounts, clock = Accounts(), Clock()
    standings = Standings(reader=accounts.read, clock=clock, subscribed=1 if listening else 0)
    return standings, accounts, clock


async def test_a_listening_process_reads_an_account_once_then_again_after_remember_s() -> None:
    standings, accounts, clock = memory()
    alice = uuid4()
    accounts.rows[alice] = Standing(3)

    assert await standings.of(Role.CUSTOMER, alice) == Standing(3)
    accounts.rows[alice] = Standing(4)  # changed by hand, not announced
    clock.now += REMEMBER_S - 0.1
    assert await standings.of(Role.CUSTOMER, alice) == Standing(3)
    assert accounts.reads == 1
    clock.now += 0.2
    assert await standings.of(Role.CUSTOMER, alice) == Standing(4)
    assert accounts.reads == 2


async def test_a_process_that_does_not_listen_reads_every_time() -> None:
    standings, accounts, _ = memory(listening=False)
    alice = uuid4()
    accounts.rows[alice] = Standing(0)

    for version in (0, 1, 2):
        accounts.rows[alice] = Standing(version)
        assert await standings.of(Role.CUSTOMER, alice) == Standing(version)
    assert accounts.reads == 3
    assert standings.known == {}


async def test_an_announced_change_is_read_at_once() -> None:
    standings, accounts, _ = memory()
    alice, bob = uuid4(), uuid4()
    accounts.rows |= {alice: Standing(0), bob: Standing(0)}
    await standings.of(Role.CUSTOMER, alice)
    await standings.of(Role.CUSTOMER, bob)

    accounts.rows[alice] = Standing(1)
    standings.heard(f"customer:{alice}".encode())

    assert await standings.of(Role.CUSTOMER, alice) == Standing(1)
    assert accounts.reads == 3
    assert await standings.of(Role.CUSTOMER, bob) == Standing(0)  # still remembered
    assert accounts.reads == 3


async def test_a_message_it_cannot_read_forgets_everything() -> None:
    standings, accounts, _ = memory()
    alice = uuid4()
    accounts.rows[alice] = Standing(0)
    await standings.of(Role.CUSTOMER, alice)

    standings.heard(b"nonsense")

    assert standings.known == {}


async def test_an_answer_read_while_a_change_is_heard_is_used_once_not_remembered() -> None:
    standings, accounts, _ = memory()
    alice = uuid4()
    accounts.rows[alice] = Standing(0)
    # The read saw version 0, and the announcement of version 1 arrived before it ended.
    accounts.during_read = [lambda: standings.heard(f"customer:{alice}")]

    assert await standings.of(Role.CUSTOMER, alice) == Standing(0)
    accounts.rows[alice] = Standing(1)
    assert await standings.of(Role.CUSTOMER, alice) == Standing(1)
    assert accounts.reads == 2


async def test_gone_accounts_are_not_remembered_and_roles_are_apart() -> None:
    standings, accounts, _ = memory()
    ghost = uuid4()

    assert await standings.of(Role.CUSTOMER, ghost) is None
    accounts.rows[ghost] = Standing(0, disabled=True)
    assert await standings.of(Role.MARKETER, ghost) == Standing(0, disabled=True)
    standings.heard(f"customer:{ghost}")
    assert await standings.of(Role.MARKETER, ghost) == Standing(0, disabled=True)
    assert accounts.reads == 2


async def test_a_fresh_read_bypasses_the_memory_and_is_remembered() -> None:
    standings, accounts, _ = memory()
    alice = uuid4()
    accounts.rows[alice] = Standing(0)
    await standings.of(Role.CUSTOMER, alice)
    accounts.rows[alice] = Standing(1)

    assert await standings.of(Role.CUSTOMER, alice) == Standing(0)
    assert await standings.of(Role.CUSTOMER, alice, fresh=True) == Standing(1)
    assert await standings.of(Role.CUSTOMER, alice) == Standing(1)
    assert accounts.reads == 2
