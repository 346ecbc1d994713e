"""Handing recorded events to the workers."""

from __future__ import annotations

from arq.connections import ArqRedis

from game.after_commit import best_effort

PROCESS_EVENT = "process_event"
BACKFILL_CHALLENGE = "backfill_challenge"


def event_job_id(event_id: int) -> str:
    # Deterministic, so enqueueing the same event twice (a replay, the sweeper) queues one job.
    return f"event:{event_id}"


async def enqueue_processing(arq: ArqRedis, event_id: int) -> None:
    """After the event's commit; with Redis down the sweeper enqueues it later (game/after_commit.py)."""
    job = arq.enqueue_job(PROCESS_EVENT, event_id, _job_id=event_job_id(event_id))
    await best_effort(f"enqueueing event {event_id}", job)
