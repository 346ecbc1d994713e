"""Web Push delivery against a real receiver on localhost (tests/push_receiver.py), which checks the VAPID
JWT against vapidPublicKey and decrypts what it receives with the device's private key.

Notifications are queued as the engine queues them (game.notifications.service.queue_notification in a
transaction); delivery runs in a real arq worker in this process (burst mode: it stops when the queue,
deferred retries included, is empty) or as the worker's tasks called with a ctx.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import aiohttp
import pytest_asyncio
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix, retry_key_prefix
from arq.jobs import Job
from redis.asyncio import Redis
from tortoise.transactions import in_transaction

from app.settings import Settings
from game.customers.tags import set_tags
from game.notifications.models import Notification, NotificationKind, PushAttempt, PushSubscription
from game.notifications.push import Sender
from game.notifications.service import Pushed, PushJob, enqueue_delivery, push_many, queue_notification
from game.notifications.vapid import b64url_decode
from tests import factories as f
from tests.challenge_helpers import process_all
from tests.graphql import GraphQL
from tests.push_receiver import Device, Receiver, receiving
from tests.workers.test_challenge_evaluation import challenge, count_step, rule, setup
from workers.settings import build_worker
from workers.tasks import deliver_notification, push_notification, requeue_unprocessed

REGISTER = """
mutation($input: PushSubscriptionInput!) { registerPushSubscription(input: $input) { id endpoint userAgent } }
"""
DEVICES = "{ pushSubscriptions { id endpoint } }"
INBOX = """
query($unread: Boolean) {
  notifications(first: 10, unreadOnly: $unread) { edges { node { id kind category title body read link } } }
  unreadNotificationCount
}
"""
PREFERENCES = """
mutation($input: NotificationPreferencesInput!) {
  setNotificationPreferences(input: $input) { optedOut marketing quietHours { start end } dailyCap }
}
"""
REGULAR = {"fr": "Habitué", "en": "Regular"}


@pytest_asyncio.fixture
async def receiver(settings: Settings) -> AsyncIterator[Receiver]:
    async with receiving(settings.vapid_public_key) as receiver:
        yield receiver


async def run_worker(settings: Settings) -> None:
    """A real arq worker (its startup opens the one aiohttp session) until the queue is empty, deferred jobs
    included."""
    pool = ArqRedis.from_url(settings.redis_url)
    worker = build_worker(settings, pool, handle_signals=False)
    worker.burst = True
    try:
        await worker.main()
    finally:
        # Worker.close() would call redis' deprecated close(): its shutdown hook, then the pool, by hand.
        assert worker.on_shutdown is not None
        await worker.on_shutdown(worker.ctx)
        await pool.aclose()


@pytest_asyncio.fixture
async def task_ctx(settings: Settings, redis: Redis) -> AsyncIterator[dict[str, Any]]:
    """What the worker's startup puts in ctx, for calling its tasks by hand."""
    async with aiohttp.ClientSession() as session:
        sender = Sender(session, settings.vapid_private_key, settings.vapid_subject, settings.push_timeout_s)
        yield {"settings": settings, "redis": redis, "job_try": 1, "push_sender": sender}


async def register(gql: GraphQL, customer: f.Customer, device: Device) -> str:
    result = await gql(REGISTER, {"input": device.subscription_input()}, token=customer.token)
    return str(result["registerPushSubscription"]["id"])


async def notify(
    arq: ArqRedis,
    customer: f.Customer,
    key: str = "challenge:1:1",
    kind: NotificationKind = NotificationKind.CHALLENGE_COMPLETED,
    **payload: Any,
) -> str:
    """Queues a notification as an award does, inside a transaction, and plans its pushes after commit."""
    payload = payload or {"challenge_id": 1, "title": REGULAR, "points": 50}
    async with in_transaction() as conn:
        await queue_notification(conn, UUID(customer.id), key, kind, payload)
    await enqueue_delivery(arq, [key])
    return key


async def inbox(gql: GraphQL, customer: f.Customer, unread: bool = False) -> dict[str, Any]:
    return dict(await gql(INBOX, {"unread": unread}, token=customer.token))


async def queued(arq: ArqRedis, function: str) -> list[Any]:
    return [job for job in await arq.queued_jobs() if job.function == function]


async def push_status(key: str) -> str | None:
    status = (await Notification.get(key=key)).push_status
    return None if status is None else str(status)


async def attempts() -> list[tuple[int | None, str]]:
    rows = await PushAttempt.all().order_by("id").values_list("status", "outcome")
    return [(status, str(outcome)) for status, outcome in rows]


async def test_a_reward_is_pushed_encrypted_in_the_customers_language_and_lands_in_the_inbox(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis
) -> None:
    alice = await f.customer(gql, locale="fr")
    phone, laptop = receiver.device(), receiver.device()
    await register(gql, alice, phone)
    await register(gql, alice, laptop)
    await notify(arq, alice, "challenge:7:alice:1")

    await run_worker(settings)

    expected = {"kind": "challenge_completed", "title": "Défi réussi", "body": "Habitué : +50 points"}
    for device in (phone, laptop):
        [payload] = receiver.payloads(device)
        assert {k: payload[k] for k in expected} == expected
        assert payload["language"] == "fr"
    [first, _] = receiver.received
    assert first.claims["aud"] == receiver.url
    assert first.headers["ttl"] == "86400"
    assert first.headers["urgency"] == "normal"
    assert receiver.rejected == []
    assert await attempts() == [(201, "delivered"), (201, "delivered")]

    box = await inbox(gql, alice)
    [edge] = box["notifications"]["edges"]
    assert edge["node"]["title"] == "Défi réussi"
    assert edge["node"]["category"] == "REWARDS"
    assert edge["node"]["read"] is False
    assert box["unreadNotificationCount"] == 1
    marked = await gql("mutation { markNotificationsRead }", token=alice.token)
    assert marked == {"markNotificationsRead": 1}
    assert (await inbox(gql, alice, unread=True))["notifications"]["edges"] == []
    assert (await inbox(gql, alice))["unreadNotificationCount"] == 0


async def test_one_vapid_token_per_push_service_is_reused_for_an_hour_then_signed_again(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis
) -> None:
    alice, bob = await f.customer(gql), await f.customer(gql)
    async with receiving(settings.vapid_public_key) as other_service:
        alice_phone, bob_phone, alice_tablet = receiver.device(), receiver.device(), other_service.device()
        await register(gql, alice, alice_phone)
        await register(gql, bob, bob_phone)
        await register(gql, alice, alice_tablet)
        await notify(arq, alice, "challenge:1:alice")
        await notify(arq, bob, "challenge:1:bob")

        await run_worker(settings)

        assert other_service.rejected == []
        [tablet] = other_service.received
    assert receiver.rejected == []
    first, second = receiver.received
    # Every token checked by the receivers (signature, aud, exp); one per push service, each its own aud.
    assert first.claims == second.claims
    assert first.headers["authorization"] == second.headers["authorization"]
    assert tablet.claims["aud"] == other_service.url != first.claims["aud"]
    assert tablet.headers["authorization"] != first.headers["authorization"]

    async with aiohttp.ClientSession() as session:
        sender = Sender(session, settings.vapid_private_key, settings.vapid_subject, settings.push_timeout_s)
        now = time.time()
        token = sender.authorization(alice_phone.endpoint, now)
        assert sender.authorization(bob_phone.endpoint, now + 3599) == token
        later = sender.authorization(alice_phone.endpoint, now + 3600)
    assert later != token
    assert _claims(later)["exp"] - _claims(token)["exp"] == 3600


def _claims(authorization: str) -> dict[str, Any]:
    """The claims of a `vapid t=<JWT>,k=<key>` header, unchecked (the receiver checks the real ones)."""
    jwt = authorization.removeprefix("vapid t=").split(",")[0]
    return dict(json.loads(b64url_decode(jwt.split(".")[1])))


async def test_a_challenge_the_engine_completes_is_pushed(
    gql: GraphQL, settings: Settings, receiver: Receiver, redis: Redis
) -> None:
    marketer, alice, till = await setup(gql)
    device = receiver.device()
    await register(gql, alice, device)
    await challenge(gql, marketer, rule(count_step("purchase", 1)))
    await till.buy()

    await process_all(settings, redis)  # the engine: reward, inbox row, delivery job
    await run_worker(settings)

    [payload] = receiver.payloads(device)
    assert (payload["kind"], payload["title"], payload["body"]) == (
        "challenge_completed",
        "Défi réussi",
        "Habitué : +50 points",
    )


async def test_a_gone_subscription_is_deleted_and_the_attempt_recorded(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis
) -> None:
    alice = await f.customer(gql)
    device = receiver.device()
    await register(gql, alice, device)
    receiver.answer(device, (410, {}))
    await notify(arq, alice)

    await run_worker(settings)

    assert receiver.payloads(device) == []
    assert await gql(DEVICES, token=alice.token) == {"pushSubscriptions": []}
    assert await attempts() == [(410, "gone")]
    # The inbox still has it.
    assert (await inbox(gql, alice))["unreadNotificationCount"] == 1


async def test_a_429_is_retried_after_retry_after_and_then_delivered(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis
) -> None:
    alice = await f.customer(gql)
    device = receiver.device()
    await register(gql, alice, device)
    receiver.answer(device, (429, {"Retry-After": "1"}), (503, {}))
    await notify(arq, alice)

    started = datetime.now(UTC)
    await run_worker(settings)

    assert len(receiver.payloads(device)) == 1
    assert await attempts() == [(429, "retry"), (503, "retry"), (201, "delivered")]
    # Retry-After: 1, then a back-off of 2 s for the second try.
    assert datetime.now(UTC) - started >= timedelta(seconds=3)


async def test_retries_are_bounded_and_the_last_failure_recorded(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis
) -> None:
    alice = await f.customer(gql)
    device = receiver.device()
    await register(gql, alice, device)
    receiver.answer(device, *[(500, {"Retry-After": "0"})] * 5)
    await notify(arq, alice)

    await run_worker(settings)

    assert receiver.payloads(device) == []
    # push_max_tries is 3 in the tests.
    assert await attempts() == [(500, "retry"), (500, "retry"), (500, "failed")]


async def test_quiet_hours_defer_the_push_to_their_end_in_the_customers_timezone(
    gql: GraphQL, settings: Settings, receiver: Receiver, task_ctx: dict[str, Any], arq: ArqRedis
) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    alice = await f.customer(gql, timezone="Asia/Tokyo")
    device = receiver.device()
    await register(gql, alice, device)
    now = datetime.now(tokyo)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    quiet = {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
    await gql(PREFERENCES, {"input": {"quietHours": quiet}}, token=alice.token)
    key = await notify(arq, alice)

    assert await push_status(key) == "queued"
    [job] = await queued(arq, "push_notification")
    assert job.function == "push_notification"
    expected = end.replace(second=0, microsecond=0).astimezone(UTC)
    assert abs(job.score - expected.timestamp() * 1000) < 1000
    # Not pushed yet, but in the inbox at once.
    assert receiver.received == []
    assert (await inbox(gql, alice))["unreadNotificationCount"] == 1


async def test_outside_quiet_hours_the_push_is_not_deferred(
    gql: GraphQL, receiver: Receiver, task_ctx: dict[str, Any], arq: ArqRedis
) -> None:
    alice = await f.customer(gql, timezone="Asia/Tokyo")
    await register(gql, alice, receiver.device())
    now = datetime.now(ZoneInfo("Asia/Tokyo"))
    quiet = {
        "start": (now + timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=3)).strftime("%H:%M"),
    }
    await gql(PREFERENCES, {"input": {"quietHours": quiet}}, token=alice.token)

    await notify(arq, alice)

    [job] = await queued(arq, "push_notification")
    assert job.score <= datetime.now(UTC).timestamp() * 1000


async def test_an_opted_out_category_is_not_pushed_but_lands_in_the_inbox(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis
) -> None:
    alice = await f.customer(gql)
    device = receiver.device()
    await register(gql, alice, device)
    chosen = await gql(PREFERENCES, {"input": {"optedOut": ["REWARDS"]}}, token=alice.token)
    assert chosen["setNotificationPreferences"]["optedOut"] == ["REWARDS"]
    await notify(arq, alice, "badge:1")
    await notify(arq, alice, "withdrawn:1", NotificationKind.REWARD_WITHDRAWN, points=-50)

    await run_worker(settings)

    # The account notice still goes; the reward does not.
    assert [p["kind"] for p in receiver.payloads(device)] == ["reward_withdrawn"]
    assert (await inbox(gql, alice))["unreadNotificationCount"] == 2


async def test_the_daily_cap_stops_pushes_but_not_the_inbox(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis
) -> None:
    alice = await f.customer(gql)
    device = receiver.device()
    await register(gql, alice, device)
    await gql(PREFERENCES, {"input": {"dailyCap": 1}}, token=alice.token)
    await notify(arq, alice, "challenge:1:a")
    await run_worker(settings)
    await notify(arq, alice, "challenge:1:b")
    await run_worker(settings)

    assert len(receiver.payloads(device)) == 1
    assert await attempts() == [(201, "delivered"), (None, "capped")]
    assert (await inbox(gql, alice))["unreadNotificationCount"] == 2


async def test_a_replayed_job_pushes_once(
    gql: GraphQL, receiver: Receiver, task_ctx: dict[str, Any], arq: ArqRedis
) -> None:
    alice = await f.customer(gql)
    device = receiver.device()
    subscription_id = int(await register(gql, alice, device))
    key = await notify(arq, alice)
    assert await push_status(key) == "queued"
    # Planning again (a replayed job of an older version, the sweeper racing it) finds it planned.
    assert await deliver_notification(task_ctx, key) == "already planned"
    [job] = await queued(arq, "push_notification")
    notification_id, queued_subscription = job.args
    assert queued_subscription == subscription_id

    assert await push_notification(task_ctx, notification_id, subscription_id) == "delivered"
    assert await push_notification(task_ctx, notification_id, subscription_id) == "already"

    assert len(receiver.payloads(device)) == 1
    assert receiver.requests == 1


async def test_a_pending_push_never_reaches_the_device_once_it_moved_to_another_customer(
    gql: GraphQL, receiver: Receiver, task_ctx: dict[str, Any], arq: ArqRedis
) -> None:
    # A browser profile signed in as Alice, then as Bob: the endpoint moves to Bob, and a push of Alice's
    # still queued (deferred, retrying) must not reach it.
    alice, bob = await f.customer(gql), await f.customer(gql)
    device = receiver.device()
    subscription_id = int(await register(gql, alice, device))
    await notify(arq, alice)
    [job] = await queued(arq, "push_notification")
    notification_id, _ = job.args
    assert int(await register(gql, bob, device)) == subscription_id  # the same device, now Bob's

    assert await push_notification(task_ctx, notification_id, subscription_id) == "no_device"

    assert receiver.requests == 0
    bobs = await notify(arq, bob, key="challenge:1:2")
    [job] = [j for j in await queued(arq, "push_notification") if j.args[0] != notification_id]
    assert await push_notification(task_ctx, job.args[0], subscription_id) == "delivered"
    assert len(receiver.payloads(device)) == 1
    assert await push_status(bobs) is not None


async def test_a_push_job_lost_with_redis_is_enqueued_again_by_the_sweeper_and_pushes_once(
    gql: GraphQL,
    settings: Settings,
    receiver: Receiver,
    task_ctx: dict[str, Any],
    arq: ArqRedis,
    redis: Redis,
) -> None:
    alice = await f.customer(gql)
    device = receiver.device()
    await register(gql, alice, device)
    key = await notify(arq, alice)
    assert await push_status(key) == "queued"
    await redis.flushdb()  # Redis lost the push job
    assert await requeue_unprocessed(task_ctx) == 0  # planned just now: its job may still be on its way

    old = datetime.now(UTC) - timedelta(seconds=settings.requeue_after_s + 1)
    await Notification.filter(key=key).update(sent_at=old)
    await PushSubscription.filter(customer_id=alice.id).update(created_at=old - timedelta(seconds=1))
    assert await requeue_unprocessed(task_ctx) == 1
    assert await requeue_unprocessed(task_ctx) == 1  # the same job id: still one job
    assert len(await queued(arq, "push_notification")) == 1
    await run_worker(settings)

    assert len(receiver.payloads(device)) == 1
    assert await requeue_unprocessed(task_ctx) == 0  # delivered: nothing left to do


async def test_the_english_text_is_the_fallback_of_an_unknown_locale(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis
) -> None:
    hans = await f.customer(gql, locale="de")
    device = receiver.device()
    await register(gql, hans, device)
    await notify(arq, hans)

    await run_worker(settings)

    [payload] = receiver.payloads(device)
    assert (payload["title"], payload["body"], payload["language"]) == (
        "Challenge completed",
        "Regular: +50 points",
        "en",
    )


BAD_ENDPOINTS = [
    "https://evil.example.com/push/1",  # not a push service
    "http://fcm.googleapis.com/fcm/send/1",  # not https
    "https://fcm.googleapis.com:8443/fcm/send/1",  # not the standard port
    "http://localhost:8080/push/1",  # loopback, but not listed
    "http://169.254.169.254/latest/meta-data",  # cloud metadata
    "https://fcm.googleapis.com.evil.example/x",  # a suffix is not the host
    "https://user:pw@fcm.googleapis.com/x",  # credentials
    "ftp://127.0.0.1/x",
    "not a url",
]


async def test_an_endpoint_outside_the_allowed_push_services_is_refused(
    gql: GraphQL, receiver: Receiver
) -> None:
    alice = await f.customer(gql)
    device = receiver.device()
    for endpoint in BAD_ENDPOINTS:
        subscription = device.subscription_input() | {"endpoint": endpoint}
        error = await gql.error(REGISTER, {"input": subscription}, token=alice.token)
        assert error["extensions"]["code"] == "BAD_USER_INPUT", endpoint
        assert error["extensions"]["field"] == "endpoint", endpoint
        assert error["extensions"]["reason"] == "ENDPOINT_NOT_ALLOWED", endpoint
    assert await gql(DEVICES, token=alice.token) == {"pushSubscriptions": []}
    # An allowed https push service and the listed loopback receiver are accepted.
    fcm = device.subscription_input() | {"endpoint": "https://fcm.googleapis.com/fcm/send/abc"}
    await gql(REGISTER, {"input": fcm}, token=alice.token)
    await register(gql, alice, device)
    assert len((await gql(DEVICES, token=alice.token))["pushSubscriptions"]) == 2


async def test_bad_keys_are_refused(gql: GraphQL, receiver: Receiver) -> None:
    alice = await f.customer(gql)
    subscription = receiver.device().subscription_input()
    subscription["keys"]["auth"] = "c2hvcnQ"
    error = await gql.error(REGISTER, {"input": subscription}, token=alice.token)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "keys.auth")


CAMPAIGN = """
mutation($input: CampaignInput!) { sendCampaign(input: $input) { id status } }
"""
REPORT = """
query($id: ID!) {
  campaign(id: $id) { status report { targeted pushed inboxOnly skippedByPreference failed pending done } }
}
"""


async def test_a_campaign_reaches_opted_in_customers_and_its_report_adds_up(
    gql: GraphQL, settings: Settings, receiver: Receiver
) -> None:
    marketer = await f.marketer_token(gql)
    pushed, gone, no_device, not_opted_in, outside = [await f.customer(gql) for _ in range(5)]
    for customer in (pushed, gone, no_device, not_opted_in):
        await set_tags(UUID(customer.id), ["vip"])
    for customer in (pushed, gone, no_device, outside):
        await gql(PREFERENCES, {"input": {"marketing": True}}, token=customer.token)
    devices = {}
    for customer in (pushed, gone, not_opted_in, outside):
        devices[customer.id] = receiver.device()
        await register(gql, customer, devices[customer.id])
    receiver.answer(devices[gone.id], (410, {}))

    sent = await gql(
        CAMPAIGN,
        {
            "input": {
                "title": {"fr": "Soldes", "en": "Sale"},
                "body": {"en": "Double points this weekend"},
                "link": "/offers/weekend",
                "audienceTags": ["vip"],
            }
        },
        token=marketer,
    )
    campaign_id = sent["sendCampaign"]["id"]
    assert sent["sendCampaign"]["status"] == "SENDING"

    # Two customers per batch: the fan-out hands over batch after batch.
    await run_worker(settings.model_copy(update={"campaign_batch": 2}))

    [payload] = receiver.payloads(devices[pushed.id])
    # French customers: the French title, and the English body as the only one written.
    assert (payload["title"], payload["body"], payload["link"]) == (
        "Soldes",
        "Double points this weekend",
        "/offers/weekend",
    )
    assert receiver.payloads(devices[not_opted_in.id]) == receiver.payloads(devices[outside.id]) == []
    report = await gql(REPORT, {"id": campaign_id}, token=marketer)
    assert report["campaign"] == {
        "status": "SENT",
        "report": {
            "targeted": 4,
            "pushed": 1,
            "inboxOnly": 1,
            "skippedByPreference": 1,
            "failed": 1,
            "pending": 0,
            "done": True,
        },
    }
    assert (await inbox(gql, no_device))["unreadNotificationCount"] == 1
    assert (await inbox(gql, not_opted_in))["unreadNotificationCount"] == 0


async def test_a_scheduled_campaign_waits_for_its_time(gql: GraphQL, arq: ArqRedis) -> None:
    marketer = await f.marketer_token(gql)
    at = datetime.now(UTC) + timedelta(hours=3)
    sent = await gql(
        CAMPAIGN,
        {"input": {"title": {"en": "Later"}, "body": {"en": "Soon"}, "sendAt": at.isoformat()}},
        token=marketer,
    )
    assert sent["sendCampaign"]["status"] == "SCHEDULED"
    [job] = await queued(arq, "send_campaign")
    assert abs(job.score - at.timestamp() * 1000) < 1000


# ------------------------------------------------------------------------- push jobs run as one batch
# The worker runs the push jobs a poll claims together (workers/claim.py, push_many): one read, concurrent
# sends, one statement recording every attempt, one Redis pipeline finishing the jobs. Each job keeps its own
# outcome, try count and back-off.


async def push_job_ids(arq: ArqRedis) -> list[str]:
    return sorted(job.job_id for job in await queued(arq, "push_notification") if job.job_id)


async def test_one_batch_delivers_retries_and_drops_each_job_on_its_own_answer(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis, redis: Redis
) -> None:
    alice = await f.customer(gql)
    devices = [receiver.device() for _ in range(4)]
    subscriptions = [await register(gql, alice, device) for device in devices]
    fine, gone, busy, also_fine = devices
    receiver.answer(gone, (410, {}))
    receiver.answer(busy, (429, {"Retry-After": "120"}))
    await notify(arq, alice)
    ids = await push_job_ids(arq)
    assert len(ids) == 4

    pool = ArqRedis.from_url(settings.redis_url)
    worker = build_worker(settings, pool, handle_signals=False)
    try:
        worker.ctx.update(redis=pool, settings=settings)
        assert worker.on_startup is not None
        await worker.on_startup(worker.ctx)
        await worker.start_jobs([job_id.encode() for job_id in ids])
        # Claimed together, run as one task.
        assert sorted(worker.tasks) == ids
        [batch] = set(worker.tasks.values())
        await batch
        assert worker.on_shutdown is not None
        await worker.on_shutdown(worker.ctx)
    finally:
        await pool.aclose()

    for device in (fine, also_fine):
        assert len(receiver.payloads(device)) == 1
    assert receiver.payloads(gone) == receiver.payloads(busy) == []
    assert sorted(await attempts()) == [(201, "delivered"), (201, "delivered"), (410, "gone"), (429, "retry")]
    assert len((await gql(DEVICES, token=alice.token))["pushSubscriptions"]) == 3
    assert (worker.jobs_complete, worker.jobs_retried, worker.jobs_failed) == (3, 1, 0)
    # Only the 429's job is left, its try counted, due after its Retry-After, no longer in progress.
    [left] = await queued(arq, "push_notification")
    assert left.job_id is not None
    assert left.job_id.endswith(f":{subscriptions[2]}")
    assert left.score >= (datetime.now(UTC) + timedelta(seconds=110)).timestamp() * 1000
    assert await redis.get(retry_key_prefix + left.job_id) == b"1"
    assert await redis.exists(*(in_progress_key_prefix + job_id for job_id in ids)) == 0
    assert await redis.exists(*(job_key_prefix + job_id for job_id in ids if job_id != left.job_id)) == 0


async def test_a_batch_that_died_after_recording_its_pushes_is_run_again_without_pushing_twice(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis, redis: Redis
) -> None:
    alice = await f.customer(gql)
    devices = [receiver.device() for _ in range(3)]
    for device in devices:
        await register(gql, alice, device)
    await notify(arq, alice)
    jobs = await queued(arq, "push_notification")
    assert len(jobs) == 3
    # A worker claimed the jobs (in progress, a try counted), sent two of them and recorded those sends,
    # then died before telling Redis: the jobs are still queued, and run again once their claim expires.
    async with aiohttp.ClientSession() as session:
        sender = Sender(session, settings.vapid_private_key, settings.vapid_subject, settings.push_timeout_s)
        pushed = [PushJob(*job.args, job_try=1) for job in jobs[:2]]
        results = await push_many(sender, pushed, settings.push_max_tries)
    assert [r.outcome for r in results] == [Pushed.DELIVERED, Pushed.DELIVERED]
    for job in jobs:
        assert job.job_id is not None
        await redis.incr(retry_key_prefix + job.job_id)

    await run_worker(settings)

    for device in devices:
        assert len(receiver.payloads(device)) == 1
    assert receiver.requests == 3
    assert await attempts() == [(201, "delivered")] * 3
    assert await queued(arq, "push_notification") == []


async def test_a_push_job_past_its_tries_is_failed_by_arq_not_run(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis, redis: Redis
) -> None:
    alice = await f.customer(gql)
    device = receiver.device()
    await register(gql, alice, device)
    await notify(arq, alice)
    [job] = await queued(arq, "push_notification")
    assert job.job_id is not None
    # Tried as often as allowed (the last spare try included), by workers that died each time.
    await redis.set(retry_key_prefix + job.job_id, settings.push_max_tries + 1)

    await run_worker(settings)

    assert receiver.requests == 0
    assert await attempts() == []
    info = await Job(job.job_id, arq).result_info()
    assert info is not None
    assert info.success is False
    assert "max 4 retries exceeded" in str(info.result)


async def test_concurrent_plans_are_planned_together_each_once(
    gql: GraphQL, receiver: Receiver, arq: ArqRedis
) -> None:
    customers = [await f.customer(gql) for _ in range(6)]
    keys = []
    for n, customer in enumerate(customers):
        await register(gql, customer, receiver.device())
        async with in_transaction() as conn:
            payload = {"challenge_id": 1, "title": REGULAR, "points": 50}
            key = f"challenge:1:{n}"
            await queue_notification(
                conn, UUID(customer.id), key, NotificationKind.CHALLENGE_COMPLETED, payload
            )
        keys.append(key)

    # As jobs committing at once plan their notifications; a key planned twice is planned once.
    await asyncio.gather(*(enqueue_delivery(arq, [key]) for key in [*keys, keys[0]]))

    assert [await push_status(key) for key in keys] == ["queued"] * 6
    assert len(await push_job_ids(arq)) == 6


async def test_the_daily_cap_counts_notifications_not_devices(
    gql: GraphQL, settings: Settings, receiver: Receiver, arq: ArqRedis
) -> None:
    alice = await f.customer(gql)
    phone, laptop = receiver.device(), receiver.device()
    await register(gql, alice, phone)
    await register(gql, alice, laptop)
    await gql(PREFERENCES, {"input": {"dailyCap": 1}}, token=alice.token)
    await notify(arq, alice, "challenge:1:a")
    await run_worker(settings)
    await notify(arq, alice, "challenge:1:b")
    await run_worker(settings)

    # The first notification reaches both devices; the second is one too many, on either.
    assert len(receiver.payloads(phone)) == len(receiver.payloads(laptop)) == 1
    tried = sorted((outcome, status or 0) for status, outcome in await attempts())
    assert tried == [("capped", 0), ("capped", 0), ("delivered", 201), ("delivered", 201)]
