"""Handing recorded events to the workers."""

from __future__ import annotations

import json
from collections.abc import Sequence

from arq.connections import ArqRedis

from game.after_commit import best_effort
from game.jobs import Job, add_enqueue
from game.live import Update

PROCESS_EVENT = "process_event"
BACKFILL_CHALLENGE = "backfill_challenge"


def event_job_id(event_id: int) -> str:
    # Deterministic, so enqueueing the same event twice (a replay, the sweeper) queues one job.
    return f"event:{event_id}"


async def enqueue_processing(arq: ArqRedis, event_id: int, updates: Sequence[Update] = ()) -> None:
    """After the event's commit, with the commit's live messages: one round trip for both. With Redis down
    the sweeper enqueues the event later (game/after_commit.py); live messages are not redone."""
    async with arq.pipeline(transaction=False) as pipe:
        add_enqueue(pipe, arq, [Job(PROCESS_EVENT, (event_id,), event_job_id(event_id))])
        for update in updates:
            pipe.publish(update.channel, json.dumps(update.message))
        await best_effort(f"enqueueing event {event_id}", pipe.execute())
