"""The SQL that numbers a grant as it records it says what `keys.again` says."""

from __future__ import annotations

import sqlite3
from uuid import UUID

import pytest

from game.awards import keys


@pytest.mark.parametrize("earlier", [0, 1, 2, 9, 10])
def test_again_in_sql_is_again(earlier: int) -> None:
    key = keys.challenge(7, UUID(int=1), "2026-W48", 1)
    db = sqlite3.connect(":memory:")
    (numbered,) = db.execute(f"SELECT {keys.again_sql('?', '?')}", (key, earlier, earlier)).fetchone()
    assert numbered == keys.again(key, earlier + 1)
