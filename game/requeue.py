"""Handing lost jobs back to the workers, from the database.

The queue in Redis is derived state: every job stands for a row that says it is still to do (an unprocessed
event, an unsent notification, an unfinished backfill). A job lost between commit and enqueue, given up after
its last try, or wiped with Redis is enqueued again from those rows, under the same deterministic job id, so
a job still queued is not doubled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from arq.connections import ArqRedis

from game.challenges import backfill
from game.events.processing import unprocessed_event_ids
from game.events.queue import enqueue_processing
from game.notifications import campaigns
from game.notifications import service as notifications


@dataclass(frozen=True, slots=True)
class Requeued:
    events: int
    notifications: int
    backfills: int
    campaigns: int = 0
    pushes: int = 0

    @property
    def total(self) -> int:
        return self.events + self.notifications + self.backfills + self.campaigns + self.pushes


PAGE = 1000
PUSHES_WITHIN = timedelta(days=1)


async def requeue_lost(arq: ArqRedis, older_than: timedelta) -> Requeued:
    """Enqueues the job of every row older than `older_than` that is still to do, a page of rows at a time."""
    events = after = 0
    while ids := await unprocessed_event_ids(older_than, PAGE, after):
        for event_id in ids:
            await enqueue_processing(arq, event_id)
        events, after = events + len(ids), ids[-1]
    sent = after = 0
    while unsent := await notifications.unsent(older_than, PAGE, after):
        await notifications.enqueue_delivery(arq, [key for _, key in unsent])
        sent, after = sent + len(unsent), unsent[-1][0]
    # A push nobody delivered within a day is not worth sending any more (the longest TTL is a week, but
    # "you earned a badge" two days late reads as noise).
    pushes = await notifications.requeue_pushes(arq, older_than, within=PUSHES_WITHIN)
    lost_campaigns = await campaigns.unfinished_campaigns(older_than)
    for campaign in lost_campaigns:
        await campaigns.enqueue_campaign(arq, campaign)
    unfinished = await backfill.unfinished_backfills(older_than=older_than)
    for challenge_id, after_event_id in unfinished:
        await backfill.enqueue_backfill(arq, challenge_id, after_event_id)
    return Requeued(events, sent, len(unfinished), len(lost_campaigns), pushes)
