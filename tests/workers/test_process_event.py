"""process_event run by real `tessera worker` processes: crashes, signals, duplicates and lost jobs.

arq's bookkeeping, read straight from Redis here, is what decides whether a job runs again:
- `arq:job:<id>` (the job) and its entry in the `arq:queue` sorted set exist while it is to be run;
- `arq:in-progress:<id>` is set (with a TTL) by the worker that takes the job and deleted when it finishes
  or gives it back; a worker that dies without cleaning up leaves it to expire, and until then no worker
  takes the job;
- `arq:result:<id>` holds the outcome for `keep_result` (an hour here); enqueueing a job id refuses while
  either the job or its result exists.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.constants import (
    default_queue_name,
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from arq.jobs import Job, JobResult
from redis.asyncio import Redis

from game.events.models import Event
from game.events.queue import enqueue_processing, event_job_id
from game.ledger.models import LedgerEntry
from game.ledger.service import find_drift
from tests import factories as f
from tests.graphql import GraphQL
from tests.workers.conftest import JOB_TIMEOUT_S, Workers, wait_until

pytestmark = pytest.mark.slow

PROCESSED_WITHIN_S = 15
# Long enough for a worker to be killed while process_event sleeps, before it touches the database.
DELAY_S = "3"
# The TTL arq gives `arq:in-progress:<id>`: Worker.in_progress_timeout_s = the longest function timeout + 10.
EXPECTED_IN_PROGRESS_TTL_S = JOB_TIMEOUT_S + 10


async def _purchase(gql: GraphQL, order_id: str) -> tuple[f.Customer, Event]:
    """A customer with a recorded purchase of 125 points; returns the purchase's event."""
    alice = await f.customer(gql)
    key = await f.api_key()
    await f.earn_rule(points_per_unit=10)
    result = await gql(f.RECORD_PURCHASE, {"input": f.purchase(alice.id, order_id, 1250)}, api_key=key)
    assert result["recordPurchase"] == {"pointsAwarded": 125, "balance": 125, "duplicate": False}
    return alice, await Event.get(type="purchase", idempotency_key=f"purchase:{order_id}")


async def _processed(event: Event) -> bool:
    await event.refresh_from_db(fields=["processed_at"])
    return event.processed_at is not None


async def _wait_processed(event: Event, what: str = "", timeout_s: float = PROCESSED_WITHIN_S) -> None:
    await wait_until(lambda: _processed(event), timeout_s, f"event {event.id} to be processed {what}".strip())


async def _result(arq: ArqRedis, event: Event) -> JobResult:
    info = await Job(event_job_id(event.id), arq).result_info()
    assert info is not None, f"no arq result for job {event_job_id(event.id)}"
    return info


async def _in_progress(redis: Redis, event: Event) -> bool:
    return bool(await redis.exists(in_progress_key_prefix + event_job_id(event.id)))


async def _running(redis: Redis, event: Event) -> bool:
    """Claimed and counted as a try: arq sets the in-progress key first and counts the try a moment later,
    so a worker killed in between would leave the next run its first try."""
    job_id = event_job_id(event.id)
    return bool(await redis.exists(in_progress_key_prefix + job_id, retry_key_prefix + job_id) == 2)


async def _assert_awarded_once(gql: GraphQL, alice: f.Customer) -> None:
    """Processing an event must not touch what recording it awarded: one entry of 125, balance 125."""
    me = (await gql(f.ME, token=alice.token))["me"]
    assert me["points"]["balance"] == 125
    assert [e["node"]["delta"] for e in me["ledger"]["edges"]] == [125]
    assert await LedgerEntry.filter(customer_id=alice.id).count() == 1
    assert await find_drift() == []


def _summary(result: JobResult) -> dict[str, Any]:
    return {"success": result.success, "result": result.result, "job_try": result.job_try}


async def test_recorded_purchase_is_processed_by_the_worker(
    gql: GraphQL, workers: Workers, arq: ArqRedis, redis: Redis
) -> None:
    await workers.start()

    alice, event = await _purchase(gql, "W-1")

    await _wait_processed(event)
    assert _summary(await _result(arq, event)) == {"success": True, "result": "processed", "job_try": 1}
    # Finished: nothing of the job is left to run (the queue may hold the sweep's next cron run).
    assert not await _in_progress(redis, event)
    assert await redis.zscore(default_queue_name, event_job_id(event.id)) is None
    assert not await redis.exists(job_key_prefix + event_job_id(event.id))
    await _assert_awarded_once(gql, alice)


async def test_worker_killed_mid_job_leaves_event_processed_exactly_once(
    gql: GraphQL, workers: Workers, arq: ArqRedis, redis: Redis
) -> None:
    slow = await workers.start(TESSERA_PROCESS_EVENT_DELAY_S=DELAY_S)
    alice, event = await _purchase(gql, "K-1")
    await wait_until(lambda: _running(redis, event), 10, "the job to be running")

    await slow.kill()

    # The first run died inside its delay, before its transaction: nothing was committed, and the dead
    # worker's claim on the job is still there.
    assert not await _processed(event)
    assert await _in_progress(redis, event)
    assert await redis.zscore(default_queue_name, event_job_id(event.id)) is not None
    await workers.start()
    # arq only re-runs a job once its `arq:in-progress` key has expired (see the strict xfail below for how
    # long that takes today); this test is about exactly-once, not about that delay, so it lets the TTL
    # run out now instead of waiting for it.
    await redis.pexpire(in_progress_key_prefix + event_job_id(event.id), 50)

    await _wait_processed(event, "by the restarted worker")
    # The second try did the work: the killed one had not committed anything.
    assert _summary(await _result(arq, event)) == {"success": True, "result": "processed", "job_try": 2}
    await _assert_awarded_once(gql, alice)


async def test_worker_killed_mid_job_is_retried_within_job_timeout_plus_10_s(
    gql: GraphQL, workers: Workers, arq: ArqRedis, redis: Redis
) -> None:
    slow = await workers.start(TESSERA_PROCESS_EVENT_DELAY_S=DELAY_S)
    alice, event = await _purchase(gql, "K-2")
    await wait_until(lambda: _running(redis, event), 10, "the job to be running")
    in_progress_ttl_ms = await redis.pttl(in_progress_key_prefix + event_job_id(event.id))
    # Checked first so that the test fails at once rather than after its deadline.
    assert 0 < in_progress_ttl_ms <= EXPECTED_IN_PROGRESS_TTL_S * 1000

    await slow.kill()
    await workers.start()

    # arq's Worker.start_jobs skips a queued job while its `arq:in-progress` key exists; a SIGKILLed worker
    # never deletes it, so the job waits for its TTL, Worker.in_progress_timeout_s = the longest timeout of
    # the worker's functions, cron jobs included, + 10 s. With the job timeout as the longest, the restarted
    # worker takes the job at most JOB_TIMEOUT_S + 10 s after the killed one took it.
    await _wait_processed(event, "after the in-progress key expires", EXPECTED_IN_PROGRESS_TTL_S + 5)
    assert _summary(await _result(arq, event)) == {"success": True, "result": "processed", "job_try": 2}
    await _assert_awarded_once(gql, alice)


async def test_sigterm_mid_job_hands_the_job_back_and_it_is_processed_once(
    gql: GraphQL, workers: Workers, arq: ArqRedis, redis: Redis
) -> None:
    slow = await workers.start(TESSERA_PROCESS_EVENT_DELAY_S=DELAY_S)
    alice, event = await _purchase(gql, "T-1")
    await wait_until(lambda: _running(redis, event), 10, "the job to be running")

    await slow.signal(signal.SIGTERM)

    # A graceful stop: the worker cancels the job, gives it back (its in-progress claim is deleted, the job
    # stays queued) and exits without waiting for the job's delay or the in-progress TTL.
    await slow.wait(timeout_s=10)
    assert not await _processed(event)
    assert not await _in_progress(redis, event)
    assert await redis.zscore(default_queue_name, event_job_id(event.id)) is not None
    await workers.start()

    await _wait_processed(event, "by the restarted worker")
    assert _summary(await _result(arq, event)) == {"success": True, "result": "processed", "job_try": 2}
    await _assert_awarded_once(gql, alice)


async def test_sigterm_stops_the_worker_cleanly(gql: GraphQL, workers: Workers, redis: Redis) -> None:
    slow = await workers.start(TESSERA_PROCESS_EVENT_DELAY_S=DELAY_S)
    _, event = await _purchase(gql, "T-2")
    await wait_until(lambda: _running(redis, event), 10, "the job to be running")

    await slow.signal(signal.SIGTERM)

    returncode = await slow.wait(timeout_s=10)
    assert (returncode, "Traceback" in slow.output()) == (0, False), slow.output()


async def test_enqueueing_a_queued_event_again_queues_one_job(
    gql: GraphQL, workers: Workers, arq: ArqRedis, redis: Redis
) -> None:
    # No worker yet: the API's job waits in the queue.
    alice, event = await _purchase(gql, "D-1")
    job_key = job_key_prefix + event_job_id(event.id)
    queued_job = await redis.get(job_key)
    assert queued_job is not None

    await enqueue_processing(arq, event.id)

    # Refused by arq (the job id exists): still one job, the API's, untouched.
    assert await redis.zrange(default_queue_name, 0, -1) == [event_job_id(event.id).encode()]
    assert await redis.get(job_key) == queued_job
    await workers.start()
    await _wait_processed(event)
    assert _summary(await _result(arq, event)) == {"success": True, "result": "processed", "job_try": 1}
    await _assert_awarded_once(gql, alice)


async def test_enqueueing_a_processed_event_again_is_refused_then_a_no_op(
    gql: GraphQL, workers: Workers, arq: ArqRedis, redis: Redis
) -> None:
    await workers.start()
    alice, event = await _purchase(gql, "D-2")
    await _wait_processed(event)
    first = await _result(arq, event)
    processed_at = event.processed_at
    result_key = result_key_prefix + event_job_id(event.id)

    await enqueue_processing(arq, event.id)

    # While the first result is kept, arq refuses the job id: nothing queued, the result untouched.
    assert not await redis.exists(job_key_prefix + event_job_id(event.id))
    assert await redis.zscore(default_queue_name, event_job_id(event.id)) is None
    assert await _result(arq, event) == first

    # Once the result has gone (keep_result elapsed), the same event is queued and runs again: a no-op.
    await redis.delete(result_key)
    await enqueue_processing(arq, event.id)
    await wait_until(lambda: _has_key(redis, result_key), PROCESSED_WITHIN_S, "the second run's result")
    assert _summary(await _result(arq, event)) == {
        "success": True,
        "result": "already_processed",
        "job_try": 1,
    }
    await event.refresh_from_db()
    assert event.processed_at == processed_at
    await _assert_awarded_once(gql, alice)


async def _has_key(redis: Redis, key: str) -> bool:
    return bool(await redis.exists(key))


async def _sweep_finished(redis: Redis) -> bool:
    """Whether a requeue_unprocessed run has finished. arq keeps no result for cron jobs, but keeps a finished
    cron job's in-progress key (for keep_cronjob_progress) while deleting the job itself."""
    for key in await redis.keys(in_progress_key_prefix + "cron:requeue_unprocessed:*"):
        if not await redis.exists(job_key_prefix + key.decode().removeprefix(in_progress_key_prefix)):
            return True
    return False


async def test_lost_job_is_requeued_by_the_startup_sweep(
    gql: GraphQL, workers: Workers, arq: ArqRedis, redis: Redis
) -> None:
    alice, event = await _purchase(gql, "L-1")
    # The job is lost (Redis wiped between the API's commit and any worker).
    await redis.flushdb()

    await workers.start(TESSERA_REQUEUE_AFTER_S="0")

    await _wait_processed(event, "by a requeued job")
    assert _summary(await _result(arq, event)) == {"success": True, "result": "processed", "job_try": 1}
    await _assert_awarded_once(gql, alice)


async def test_startup_sweep_leaves_recent_events_to_their_own_job(
    gql: GraphQL, workers: Workers, redis: Redis
) -> None:
    _, event = await _purchase(gql, "L-2")
    await redis.flushdb()

    # Default TESSERA_REQUEUE_AFTER_S (30 s): a just-recorded event may still be on its way to the queue.
    await workers.start()

    await wait_until(lambda: _sweep_finished(redis), 10, "the startup sweep to finish")
    assert not await redis.exists(job_key_prefix + event_job_id(event.id))
    assert not await _processed(event)
