"""Notifications: an inbox row queued with the reward that caused it, then pushed to the customer's devices.

`plan` (right after the commit that queued them, by whoever committed) plans the pushes: the customer's
preferences decide whether the category is pushed at all, quiet hours defer the push jobs to their end (arq
`_defer_until`), and each device gets one job under a deterministic id. `push` (a job per notification and
device) sends it once: the `push_delivery` row is the delivered marker, so a replayed job finds it and does
nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from arq.connections import ArqRedis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.exceptions import DBConnectionError, OperationalError
from tortoise.transactions import in_transaction

from game.after_commit import REDIS_DOWN
from game.customers.models import Customer
from game.errors import bad_input
from game.jobs import Job, add_enqueue
from game.notifications import templates
from game.notifications.errors import NotificationReason
from game.notifications.models import (
    Notification,
    NotificationKind,
    NotificationPreference,
    PushOutcome,
    PushStatus,
    PushSubscription,
)
from game.notifications.push import Answer, Sender, check_endpoint, check_keys
from game.notifications.templates import KINDS, Category
from game.sql import UNAVAILABLE, compact_json, execute, fetch_all, placeholders

DELIVER_NOTIFICATION = "deliver_notification"
PUSH_NOTIFICATION = "push_notification"
MAX_DEVICES = 20
# Notifications planned per statement (a campaign batch hands over hundreds).
PLAN_BATCH = 200

log = logging.getLogger("tessera.notifications")
# What planning after commit meets when Redis or the database is unavailable.
_DB_DOWN: tuple[type[Exception], ...] = (*UNAVAILABLE, DBConnectionError, OperationalError)
_DOWN: tuple[type[Exception], ...] = (*REDIS_DOWN, *_DB_DOWN)


def channel(customer_id: UUID) -> str:
    return f"tessera:notifications:{customer_id}"


async def queue_notification(
    conn: BaseDBAsyncClient,
    customer_id: UUID,
    key: str,
    kind: NotificationKind,
    payload: dict[str, Any],
    campaign_id: int | None = None,
) -> None:
    """Inside the caller's transaction; a second call with the same key is a no-op."""
    await execute(
        conn,
        "INSERT INTO notification (key, customer_id, kind, payload, created_at, campaign_id, push_jobs) "
        "VALUES ($1, $2, $3, $4, $5, $6, 0) ON CONFLICT (key) DO NOTHING",
        key,
        customer_id,
        kind.value,
        payload,
        datetime.now(UTC),
        campaign_id,
    )


async def enqueue_delivery(arq: ArqRedis, keys: list[str]) -> None:
    """After the commit that queued these notifications: plans their pushes now (`plan`). What committed must
    not fail with it: with the database or Redis unavailable, the notifications stay unsent (or planned
    without their jobs) and the sweeper hands them over later.

    Like a group commit, the calls of one process share plan()'s statements: keys that arrive while plans
    run (fifty jobs of a worker committing at once, each with its notification) wait for one to end, then
    are planned together, PLAN_GROUP keys in one read, one write and one Redis round trip; a lone call is
    planned at once. PLAN_GROUPS groups run at once, so that one's statements go out while another waits."""
    if not keys:
        return
    loop = asyncio.get_running_loop()
    group = _groups.get(arq)
    if group is None or group.loop is not loop:  # a client used from another loop (tests) starts afresh
        group = _groups[arq] = _Group(loop)
    planned: asyncio.Future[None] = loop.create_future()
    group.waiting.append((keys, planned))
    if group.running < PLAN_GROUPS:
        group.running += 1
        task = asyncio.create_task(_plan_waiting(arq, group))
        group.tasks.add(task)  # the loop keeps only a weak reference
        task.add_done_callback(group.tasks.discard)
    await planned


PLAN_GROUP = 25
PLAN_GROUPS = 2


@dataclass(slots=True)
class _Group:
    """The calls waiting to be planned, and the tasks planning them, of one Redis client (one process)."""

    loop: asyncio.AbstractEventLoop
    waiting: list[tuple[list[str], asyncio.Future[None]]] = field(default_factory=list)
    running: int = 0
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


_groups: WeakKeyDictionary[ArqRedis, _Group] = WeakKeyDictionary()


async def _plan_waiting(arq: ArqRedis, group: _Group) -> None:
    """Plans what waits, a group at a time, until nothing does; each caller learns how its group went."""
    try:
        while group.waiting:
            taken = _take(group.waiting)
            try:
                await _plan_all(arq, [key for keys, _ in taken for key in keys])
            except BaseException as exc:
                _tell(taken, exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            _tell(taken, None)
    finally:
        group.running -= 1
        if not group.running:  # only when cancelled: nobody else plans these
            for _, planned in group.waiting:
                planned.cancel()
            group.waiting = []


def _tell(calls: list[tuple[list[str], asyncio.Future[None]]], failure: BaseException | None) -> None:
    """Ends the calls (still waiting) with their group's outcome: done, failed, or cancelled."""
    for _, planned in calls:
        if planned.done():
            continue  # the caller was cancelled
        if failure is None:
            planned.set_result(None)
        elif isinstance(failure, Exception):
            planned.set_exception(failure)
        else:
            planned.cancel()


def _take(
    waiting: list[tuple[list[str], asyncio.Future[None]]],
) -> list[tuple[list[str], asyncio.Future[None]]]:
    """The first calls waiting, up to PLAN_GROUP keys (one call at least), taken off the list."""
    count = keys = 0
    while count < len(waiting) and keys < PLAN_GROUP:
        keys += len(waiting[count][0])
        count += 1
    taken = waiting[:count]
    del waiting[:count]
    return taken


async def _plan_all(arq: ArqRedis, keys: list[str]) -> None:
    for start in range(0, len(keys), PLAN_BATCH):
        try:
            await plan(arq, keys[start : start + PLAN_BATCH])
        except _DOWN as exc:
            log.warning("planning %d notifications skipped (%s); the sweeper will catch up", len(keys), exc)
            return


async def unsent(older_than: timedelta, limit: int, after: int = 0) -> list[tuple[int, str]]:
    """(id, key) of unsent notifications queued longer ago than `older_than`, in id order from `after` on."""
    cutoff = datetime.now(UTC) - older_than
    rows = Notification.filter(sent_at=None, created_at__lt=cutoff, id__gt=after).order_by("id").limit(limit)
    return list(await rows.values_list("id", "key"))


# ------------------------------------------------------------------------------------------- preferences


@dataclass(frozen=True, slots=True)
class Preferences:
    opted_out: tuple[Category, ...] = ()
    marketing: bool = False
    quiet_start_min: int | None = None
    quiet_end_min: int | None = None
    daily_cap: int | None = None

    def allows(self, category: Category) -> bool:
        if category is Category.MARKETING:
            return self.marketing
        return category not in self.opted_out

    def quiet_until(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """The end of the quiet hours `now` falls in, in UTC; None outside them."""
        start, end = self.quiet_start_min, self.quiet_end_min
        if start is None or end is None or start == end:
            return None
        local = now.astimezone(tz)
        minute = local.hour * 60 + local.minute
        quiet = start <= minute < end if start < end else (minute >= start or minute < end)
        if not quiet:
            return None
        day = local.date() if minute < end else local.date() + timedelta(days=1)
        return datetime.combine(day, time(end // 60, end % 60), tzinfo=tz).astimezone(UTC)


def _preferences(row: NotificationPreference | None) -> Preferences:
    if row is None:
        return Preferences()
    return Preferences(
        tuple(Category(c) for c in row.opted_out),
        row.marketing,
        row.quiet_start_min,
        row.quiet_end_min,
        row.daily_cap,
    )


async def preferences(customer_id: UUID) -> Preferences:
    return _preferences(await NotificationPreference.get_or_none(customer_id=customer_id))


async def set_preferences(customer_id: UUID, wanted: Preferences) -> Preferences:
    if Category.MARKETING in wanted.opted_out:
        raise bad_input("marketing is chosen with `marketing`, not in optedOut", "optedOut")
    if (wanted.quiet_start_min is None) != (wanted.quiet_end_min is None):
        raise bad_input("quiet hours need both a start and an end, or neither", "quietHours")
    for name, value in (
        ("quietHours.start", wanted.quiet_start_min),
        ("quietHours.end", wanted.quiet_end_min),
    ):
        if value is not None and not 0 <= value < 24 * 60:
            raise bad_input(f"{name} must be a time of day", name)
    if wanted.daily_cap is not None and not 0 <= wanted.daily_cap <= 100:
        raise bad_input("dailyCap must be between 0 and 100", "dailyCap")
    values = {
        "opted_out": sorted({c.value for c in wanted.opted_out}),
        "marketing": wanted.marketing,
        "quiet_start_min": wanted.quiet_start_min,
        "quiet_end_min": wanted.quiet_end_min,
        "daily_cap": wanted.daily_cap,
    }
    await NotificationPreference.update_or_create(values, customer_id=customer_id)
    return await preferences(customer_id)


# ----------------------------------------------------------------------------------------- subscriptions


async def register_subscription(
    customer_id: UUID, endpoint: str, p256dh: str, auth: str, user_agent: str, allowed: tuple[str, ...]
) -> PushSubscription:
    """Registers (or refreshes) a device; an endpoint registered by another customer moves to this one,
    since a push service endpoint belongs to one browser profile, now signed in as this customer."""
    endpoint = check_endpoint(endpoint.strip(), allowed)
    p256dh, auth = check_keys(p256dh, auth)
    async with in_transaction() as conn:
        existing = await PushSubscription.filter(endpoint=endpoint).using_db(conn).select_for_update().first()
        if existing is None and await PushSubscription.filter(customer_id=customer_id).count() >= MAX_DEVICES:
            raise bad_input(
                f"at most {MAX_DEVICES} devices per customer: unregister one first",
                "endpoint",
                reason=NotificationReason.TOO_MANY_DEVICES,
            )
        values = {"customer_id": customer_id, "p256dh": p256dh, "auth": auth, "user_agent": user_agent[:300]}
        if existing is None:
            return await PushSubscription.create(endpoint=endpoint, using_db=conn, **values)
        await PushSubscription.filter(id=existing.id).using_db(conn).update(**values)
        return await PushSubscription.get(id=existing.id, using_db=conn)


async def unregister_subscription(customer_id: UUID, endpoint: str) -> bool:
    return bool(await PushSubscription.filter(customer_id=customer_id, endpoint=endpoint.strip()).delete())


async def subscriptions_of(customer_id: UUID) -> list[PushSubscription]:
    return list(await PushSubscription.filter(customer_id=customer_id).order_by("id"))


# ------------------------------------------------------------------------------------------------- inbox


@dataclass(frozen=True, slots=True)
class Page:
    notifications: list[Notification]
    has_next: bool


async def inbox(customer_id: UUID, first: int, before_id: int | None, unread_only: bool) -> Page:
    """Newest first, scoped to the customer in the query."""
    rows = Notification.filter(customer_id=customer_id)
    if unread_only:
        rows = rows.filter(read_at=None)
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    found = list(await rows.order_by("-id").limit(first + 1))
    return Page(found[:first], len(found) > first)


async def unread_count(customer_id: UUID) -> int:
    return await Notification.filter(customer_id=customer_id, read_at=None).count()


async def mark_read(customer_id: UUID, ids: list[int] | None) -> int:
    rows = Notification.filter(customer_id=customer_id, read_at=None)
    if ids is not None:
        rows = rows.filter(id__in=ids)
    return await rows.update(read_at=datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Received:
    notification: Notification
    locale: str


async def received(customer_id: UUID, notification_id: int) -> Received | None:
    """A notification the customer was just told of live (`plan` publishes its id), with their locale to
    render it in; None when it is not theirs (the channel is theirs alone) or no longer exists."""
    try:
        found = await Notification.get_or_none(id=notification_id, customer_id=customer_id)
        if found is None:
            return None
        locales = await Customer.filter(id=customer_id).values_list("locale", flat=True)
    except _DB_DOWN as exc:
        # A live message is a courtesy: the open app keeps its subscription, the inbox has the notification.
        log.warning("live notification %s not shown, the database is unavailable (%s)", notification_id, exc)
        return None
    return Received(found, str(locales[0]) if locales else templates.FALLBACK)


def message(
    notification_id: int, kind: NotificationKind, payload: dict[str, Any], created_at: datetime, locale: str
) -> dict[str, Any]:
    """What the app shows and the push carries: rendered in the customer's language."""
    text = templates.render(kind, payload, locale)
    return {
        "id": notification_id,
        "kind": kind.value,
        "title": text.title,
        "body": text.body,
        "language": text.language,
        "link": payload.get("link"),
        "createdAt": created_at.isoformat(),
    }


# ----------------------------------------------------------------------------------------------- delivery
# Planning runs once per notification, the push job once per notification and device: hand-written SQL,
# one statement per read and one per write.

_TO_PLAN = (
    "SELECT n.id, n.key, n.customer_id, n.kind, n.sent_at, c.timezone, "
    "p.opted_out, p.marketing, p.quiet_start_min, p.quiet_end_min, p.daily_cap, s.id AS subscription_id "
    "FROM notification n JOIN customer c ON c.id = n.customer_id "
    "LEFT JOIN notification_preference p ON p.customer_id = n.customer_id "
    "LEFT JOIN push_subscription s ON s.customer_id = n.customer_id "
    "WHERE n.key IN ({keys}) ORDER BY n.id, s.id"
)
# The delivered marker by a join on its unique index: an EXISTS here is planned as a hashed subplan that
# reads every delivery (four times the statement's cost at a few thousand rows, growing with the table).
_TO_PUSH = (
    "WITH j (notification_id, subscription_id) AS (VALUES {jobs}) "
    "SELECT j.notification_id, j.subscription_id, s.endpoint, s.p256dh, s.auth, n.customer_id, n.kind, "
    "n.payload, n.created_at, c.locale, c.timezone, p.daily_cap, d.id IS NOT NULL AS delivered "
    "FROM j JOIN push_subscription s ON s.id = j.subscription_id JOIN notification n "
    # The device must still be the notification's customer's: an endpoint registered again by another
    # customer (the browser profile now signed in as them) moves to them, and a push of the first
    # customer's still queued (deferred, retrying) finds no device.
    "ON n.id = j.notification_id AND n.customer_id = s.customer_id JOIN customer c ON c.id = n.customer_id "
    "LEFT JOIN push_delivery d ON d.notification_id = j.notification_id "
    "AND d.subscription_id = j.subscription_id "
    "LEFT JOIN notification_preference p ON p.customer_id = n.customer_id"
)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _row_preferences(row: dict[str, Any]) -> Preferences:
    return Preferences(
        tuple(Category(c) for c in _json(row["opted_out"]) or ()),
        bool(row["marketing"]),
        row["quiet_start_min"],
        row["quiet_end_min"],
        row["daily_cap"],
    )


@dataclass(frozen=True, slots=True)
class Planned:
    """What `plan` decided for a notification; status None when it had been planned before."""

    status: PushStatus | None
    jobs: int
    deferred_until: datetime | None


ALREADY_PLANNED = Planned(None, 0, None)


async def plan(arq: ArqRedis, keys: list[str], now: datetime | None = None) -> dict[str, Planned]:
    """Plans the pushes of these notifications, by key: the customer's preferences decide whether the
    category is pushed at all, quiet hours defer the push jobs to their end, and each device gets one job
    under a deterministic id. One read and one write (which marks them planned) for them all, then one Redis
    round trip for every push job and live inbox message. Planning again finds them marked and does nothing;
    a run that dies between the write and the enqueue leaves notifications planned without their jobs, which
    the sweeper (`requeue_pushes`) enqueues again."""
    if not keys:
        return {}
    conn = get_connection("default")
    rows = await fetch_all(conn, _TO_PLAN.format(keys=placeholders(len(keys))), *keys)
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        if row["sent_at"] is None:
            found.setdefault(int(row["id"]), []).append(row)
    now = now or datetime.now(UTC)
    decided = {notification_id: _decide(its_rows, now) for notification_id, its_rows in found.items()}
    planned = {key: ALREADY_PLANNED for key in keys}
    if not decided:
        return planned
    marked = await _mark_planned(conn, now, {i: p for i, (_, p, _) in decided.items()})
    if not marked:
        return planned  # a concurrent run planned them
    async with arq.pipeline(transaction=False) as pipe:
        jobs = []
        for notification_id in marked:
            row, decision, devices = decided[notification_id]
            planned[row["key"]] = decision
            jobs += [
                Job(
                    PUSH_NOTIFICATION,
                    (notification_id, d),
                    push_job_id(row["key"], d),
                    decision.deferred_until,
                )
                for d in devices
            ]
            # Only its id: the API process reads and renders it for an open app (`received`), so that a
            # notification nobody is watching live (most of them, every one of a campaign's) costs no render.
            pipe.publish(channel(UUID(str(row["customer_id"]))), f'{{"id":{int(notification_id)}}}')
        if jobs:
            add_enqueue(pipe, arq, jobs)
        await pipe.execute()
    return planned


def _decide(rows: list[dict[str, Any]], now: datetime) -> tuple[dict[str, Any], Planned, list[int]]:
    """From a notification's rows (one per device): its row, what to do, and the devices to push to."""
    row = rows[0]
    prefs = _row_preferences(row)
    devices = [int(r["subscription_id"]) for r in rows if r["subscription_id"] is not None]
    if not prefs.allows(KINDS[NotificationKind(row["kind"])].category):
        return row, Planned(PushStatus.SKIPPED, 0, None), []
    if not devices:
        return row, Planned(PushStatus.INBOX_ONLY, 0, None), []
    until = prefs.quiet_until(now, ZoneInfo(row["timezone"]))
    return row, Planned(PushStatus.QUEUED, len(devices), until), devices


async def _mark_planned(conn: BaseDBAsyncClient, now: datetime, decided: dict[int, Planned]) -> list[int]:
    """Marks the notifications planned as decided, those no concurrent run marked first; returns their ids."""
    # Placeholders numbered in the order they appear: SQLite's are positional.
    params: list[Any] = [now]

    def case(values: list[tuple[int, Any]], then: str) -> str:
        whens = []
        for notification_id, value in values:
            params.extend((notification_id, value))
            whens.append(f"WHEN ${len(params) - 1} THEN {then.format(f'${len(params)}')}")
        return f"CASE id {' '.join(whens)} END"

    statuses = case([(i, p.status.value if p.status else None) for i, p in decided.items()], "{}")
    jobs = case([(i, p.jobs) for i, p in decided.items()], "CAST({} AS INTEGER)")
    ids = ", ".join(f"${len(params) + n}" for n in range(1, len(decided) + 1))
    rows = await fetch_all(
        conn,
        f"UPDATE notification SET sent_at = $1, push_status = {statuses}, push_jobs = {jobs} "
        f"WHERE id IN ({ids}) AND sent_at IS NULL RETURNING id",
        *params,
        *decided,
    )
    return [int(row["id"]) for row in rows]


async def deliver(arq: ArqRedis, key: str, now: datetime | None = None) -> Planned:
    """`plan` for one notification."""
    return (await plan(arq, [key], now))[key]


_UNFINISHED = (
    "SELECT n.id, n.key, s.id AS subscription_id, c.timezone, p.quiet_start_min, p.quiet_end_min "
    "FROM notification n JOIN customer c ON c.id = n.customer_id "
    "JOIN push_subscription s ON s.customer_id = n.customer_id AND s.created_at <= n.sent_at "
    "LEFT JOIN notification_preference p ON p.customer_id = n.customer_id "
    "WHERE n.push_status = 'queued' AND n.sent_at < $1 AND n.sent_at > $2 "
    "AND NOT EXISTS (SELECT 1 FROM push_delivery d "
    "WHERE d.notification_id = n.id AND d.subscription_id = s.id) "
    "AND NOT EXISTS (SELECT 1 FROM push_attempt a WHERE a.notification_id = n.id "
    "AND a.subscription_id = s.id AND a.outcome <> 'retry') "
    "ORDER BY n.id, s.id LIMIT $3"
)


async def requeue_pushes(arq: ArqRedis, older_than: timedelta, within: timedelta, limit: int = 1000) -> int:
    """Enqueues again the push jobs of notifications planned between `within` and `older_than` ago that
    reached neither a delivery nor a final attempt on a device: their job was lost (a wiped Redis, a worker
    killed on its last try). A job still queued, retrying or deferred keeps its id, and arq does not double
    it; one that must wait for quiet hours waits for their end again."""
    now = datetime.now(UTC)
    rows = await fetch_all(get_connection("default"), _UNFINISHED, now - older_than, now - within, limit)
    for row in rows:
        quiet = Preferences(quiet_start_min=row["quiet_start_min"], quiet_end_min=row["quiet_end_min"])
        await arq.enqueue_job(
            PUSH_NOTIFICATION,
            int(row["id"]),
            int(row["subscription_id"]),
            _job_id=push_job_id(row["key"], int(row["subscription_id"])),
            _defer_until=quiet.quiet_until(now, ZoneInfo(row["timezone"])),
        )
    return len(rows)


PUSH_JOB_PREFIX = "push:"


def push_job_id(key: str, subscription_id: int) -> str:
    return f"{PUSH_JOB_PREFIX}{key}:{subscription_id}"


class Pushed(StrEnum):
    DELIVERED = "delivered"
    ALREADY = "already"  # a replay: the marker was there
    NO_DEVICE = "no_device"  # unsubscribed, or deleted after a 410
    GONE = "gone"
    CAPPED = "capped"
    RETRY = "retry"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PushResult:
    outcome: Pushed
    retry_after_s: float | None = None


@dataclass(frozen=True, slots=True)
class PushJob:
    """One push job: a notification to a device, on its `job_try`th try (1 the first)."""

    notification_id: int
    subscription_id: int
    job_try: int


async def push(
    sender: Sender, notification_id: int, subscription_id: int, job_try: int, max_tries: int
) -> PushResult:
    """Sends one notification to one device, once; every try is recorded in `push_attempt`."""
    [result] = await push_many(sender, [PushJob(notification_id, subscription_id, job_try)], max_tries)
    return result


@dataclass(frozen=True, slots=True)
class _Attempt:
    job: PushJob
    status: int | None
    outcome: PushOutcome
    reason: str
    customer_id: UUID | None = None  # with DELIVERED: the marker's


async def push_many(sender: Sender, jobs: Sequence[PushJob], max_tries: int) -> list[PushResult]:
    """Runs push jobs together, each as `push` runs it alone: one statement reads what they all need, their
    sends run concurrently over the sender's session, and one more records every attempt with the delivered
    markers and the deletion of gone subscriptions. A job whose marker is there (a replay) sends nothing.
    Results are in the order of `jobs`."""
    if not jobs:
        return []
    rows = await _to_push(jobs)
    results: list[PushResult | None] = [None] * len(jobs)
    attempts: list[_Attempt] = []
    sends: list[tuple[int, Awaitable[Answer]]] = []
    texts: dict[int, str] = {}  # a notification to several devices is rendered once
    capped = _DailyCaps(datetime.now(UTC))
    for i, job in enumerate(jobs):
        row = rows.get((job.notification_id, job.subscription_id))
        if row is None:
            results[i] = PushResult(Pushed.NO_DEVICE)  # unsubscribed, deleted after a 410, or no notification
            continue
        if row["delivered"]:
            results[i] = PushResult(Pushed.ALREADY)
            continue
        if row["daily_cap"] is not None and await capped.reached(row, job.notification_id):
            attempts.append(_Attempt(job, None, PushOutcome.CAPPED, "daily cap reached"))
            results[i] = PushResult(Pushed.CAPPED)
            continue
        kind = NotificationKind(row["kind"])
        data = texts.get(job.notification_id)
        if data is None:
            created = _moment(row["created_at"])
            said = message(job.notification_id, kind, _json(row["payload"]), created, row["locale"])
            data = texts[job.notification_id] = compact_json(said)  # a push service caps it at 4 KB
        about = KINDS[kind]
        send = sender.send(
            row["endpoint"], row["p256dh"], row["auth"], data, about.ttl_s, about.urgency.value, about.topic
        )
        sends.append((i, send))
    answers = await asyncio.gather(*(send for _, send in sends), return_exceptions=True)
    for (i, _), answer in zip(sends, answers, strict=True):
        job = jobs[i]
        if isinstance(answer, BaseException):
            if not isinstance(answer, Exception):
                raise answer  # cancelled: the jobs run again
            # Not an answer of the push service (a stored key that cannot be used, say): recorded as failed,
            # not tried again, as arq fails a job that raises.
            log.error("push %s to %s failed", job.notification_id, job.subscription_id, exc_info=answer)
            answer = Answer(None, f"{type(answer).__name__}: {answer}"[:300])
            results[i] = _judge(job, answer, 1, attempts, None)
            continue
        customer_id = UUID(str(rows[job.notification_id, job.subscription_id]["customer_id"]))
        results[i] = _judge(job, answer, max_tries, attempts, customer_id)
    await _record(attempts)
    return [result for result in results if result is not None]


def _judge(
    job: PushJob, answer: Answer, max_tries: int, attempts: list[_Attempt], customer_id: UUID | None
) -> PushResult:
    """What the push service's answer means for the job, and the attempt to record."""
    status = answer.status
    if status is not None and 200 <= status < 300:
        attempts.append(_Attempt(job, status, PushOutcome.DELIVERED, answer.reason, customer_id))
        return PushResult(Pushed.DELIVERED)
    if status in (404, 410):
        attempts.append(_Attempt(job, status, PushOutcome.GONE, answer.reason))
        return PushResult(Pushed.GONE)
    transient = status is None or status == 429 or status >= 500
    if transient and job.job_try < max_tries:
        attempts.append(_Attempt(job, status, PushOutcome.RETRY, answer.reason))
        backoff = min(2.0 ** (job.job_try - 1), 300.0)
        wait = answer.retry_after_s if answer.retry_after_s is not None else backoff
        return PushResult(Pushed.RETRY, min(wait, 3600.0))
    attempts.append(_Attempt(job, status, PushOutcome.FAILED, answer.reason))
    return PushResult(Pushed.FAILED)


async def _to_push(jobs: Sequence[PushJob]) -> dict[tuple[int, int], dict[str, Any]]:
    """What each job needs, by (notification, subscription); a job without its row has nothing to push."""
    pairs = ", ".join(
        f"(CAST(${2 * n + 1} AS BIGINT), CAST(${2 * n + 2} AS BIGINT))" for n in range(len(jobs))
    )
    params = [value for job in jobs for value in (job.notification_id, job.subscription_id)]
    rows = await fetch_all(get_connection("default"), _TO_PUSH.format(jobs=pairs), *params)
    return {(int(row["notification_id"]), int(row["subscription_id"])): row for row in rows}


class _DailyCaps:
    """The daily caps of the customers of one run of push jobs: what each pushed since their local midnight,
    read once, and what the run itself sends, so that pushes running together cannot overshoot a cap."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.pushed: dict[UUID, set[int]] = {}

    async def reached(self, row: dict[str, Any], notification_id: int) -> bool:
        """Whether the notification may not go out (a new one past the cap); else counts it as pushed."""
        customer_id = UUID(str(row["customer_id"]))
        pushed = self.pushed.get(customer_id)
        if pushed is None:
            pushed = await _pushed_today(customer_id, ZoneInfo(row["timezone"]), self.now)
            self.pushed[customer_id] = pushed
        if notification_id in pushed:
            return False  # another device of a notification already counted
        if len(pushed) >= row["daily_cap"]:
            return True
        pushed.add(notification_id)
        return False


async def _pushed_today(customer_id: UUID, tz: ZoneInfo, now: datetime) -> set[int]:
    """The notifications pushed to the customer since their local midnight."""
    midnight = datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz).astimezone(UTC)
    rows = await fetch_all(
        get_connection("default"),
        "SELECT DISTINCT notification_id FROM push_delivery WHERE customer_id = $1 AND delivered_at >= $2",
        customer_id,
        midnight,
    )
    return {int(row["notification_id"]) for row in rows}


_ATTEMPTS = (
    "INSERT INTO push_attempt (notification_id, subscription_id, status, outcome, reason, created_at) "
)
_DELIVERIES = (
    "INSERT INTO push_delivery (notification_id, subscription_id, customer_id, delivered_at) "
    "VALUES {rows} ON CONFLICT (notification_id, subscription_id) DO NOTHING"
)
_GONE = "DELETE FROM push_subscription WHERE id IN ({ids})"


async def _record(attempts: list[_Attempt]) -> None:
    """Records the attempts and, atomically with them, the delivered markers and the deletion of the gone
    subscriptions. On PostgreSQL that is one statement (data-modifying CTEs), so one round trip whatever the
    number of attempts; SQLite has no such CTE: a transaction of up to three."""
    if not attempts:
        return
    now = datetime.now(UTC)
    params: list[Any] = []

    def values(rows: list[tuple[Any, ...]]) -> str:
        """`(… ), (…)` with a numbered placeholder per value, the values added to `params` in order."""
        out = []
        for row in rows:
            start = len(params)
            params.extend(row)
            out.append("(" + ", ".join(f"${start + n}" for n in range(1, len(row) + 1)) + ")")
        return ", ".join(out)

    delivered = [
        (a.job.notification_id, a.job.subscription_id, a.customer_id, now)
        for a in attempts
        if a.outcome is PushOutcome.DELIVERED
    ]
    gone = [a.job.subscription_id for a in attempts if a.outcome is PushOutcome.GONE]
    statements = []
    if delivered:
        statements.append(_DELIVERIES.format(rows=values(delivered)))
    if gone:
        params.extend(gone)
        ids = placeholders(len(gone), first=len(params) - len(gone) + 1)
        statements.append(_GONE.format(ids=ids))
    tried = [
        (a.job.notification_id, a.job.subscription_id, a.status, a.outcome.value, a.reason[:300], now)
        for a in attempts
    ]
    statements.append(_ATTEMPTS + "VALUES " + values(tried))
    conn = get_connection("default")
    if conn.capabilities.dialect == "postgres":
        *first, last = statements
        ctes = ", ".join(f"s{n} AS ({sql})" for n, sql in enumerate(first))
        await execute(conn, f"WITH {ctes} {last}" if ctes else last, *params)
        return
    # SQLite's placeholders are positional: each statement takes its own parameters, in order.
    async with in_transaction() as tx:
        for sql in statements:
            numbers = [int(n) for n in re.findall(r"\$(\d+)", sql)]
            await execute(tx, sql, *(params[n - 1] for n in numbers))
