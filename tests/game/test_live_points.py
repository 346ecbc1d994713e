"""One commit, one pointsChanged per customer: the final balance, the total and each entry as a part."""

from __future__ import annotations

from uuid import uuid4

from game.awards.keys import Reason
from game.ledger.live import PointsChange, one_per_customer, points_update
from game.live import Update


def test_a_commits_balance_updates_merge_per_customer_in_place() -> None:
    alice, bob = uuid4(), uuid4()
    progress = Update(f"tessera:challenges:{alice}", {"challenge_id": 1})
    updates = [
        progress,
        points_update(alice, PointsChange(530, 500, Reason.CHALLENGE)),
        points_update(bob, PointsChange(40, 40, Reason.REFERRAL)),
        points_update(alice, PointsChange(550, 20, Reason.BADGE)),
    ]

    merged = one_per_customer(updates)

    channels = [progress.channel, f"tessera:points:{alice}", f"tessera:points:{bob}"]
    assert [u.channel for u in merged] == channels
    assert updates[1].message["balance"] == 530  # the caller's own updates are left as they were
    assert merged[1].message == {
        "balance": 550,
        "delta": 520,
        "reason": "challenge",
        "parts": [["challenge", 500], ["badge", 20]],
    }
    assert merged[2].message["parts"] == [["referral", 40]]
