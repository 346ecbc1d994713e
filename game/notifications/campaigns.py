"""Marketer campaigns: a localised message to an audience, now or at a set time, fanned out in batches.

Each batch is one transaction: it writes the inbox rows of the opted-in customers of one page of customers
and moves the campaign's cursor and counters, so a job killed between batches goes on from the last one.
The report is read from the rows: what each notification's delivery decided and what its pushes did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from arq.connections import ArqRedis
from tortoise.transactions import in_transaction

from game.customers.models import Customer
from game.customers.tags import in_audience, validate_tags
from game.errors import bad_input, not_found
from game.notifications.errors import NotificationReason
from game.notifications.models import (
    Campaign,
    CampaignStatus,
    Notification,
    NotificationKind,
    NotificationPreference,
    PushAttempt,
    PushOutcome,
    PushStatus,
)
from game.notifications.service import queue_notification
from game.validation import localized

SEND_CAMPAIGN = "send_campaign"
MAX_AHEAD = timedelta(days=365)


def campaign_key(campaign_id: int, customer_id: UUID) -> str:
    return f"campaign:{campaign_id}:{customer_id}"


async def create_campaign(
    title: dict[str, str],
    body: dict[str, str],
    link: str | None,
    audience_tags: list[str],
    send_at: datetime | None,
    now: datetime | None = None,
) -> Campaign:
    now = now or datetime.now(UTC)
    title = localized(title, "title", 80, required=True)
    body = localized(body, "body", 300, required=True)
    if link is not None and (len(link) > 500 or not link.startswith(("https://", "/"))):
        raise bad_input("link must be an https URL or an app path starting with '/'", "link")
    tags = validate_tags(audience_tags, "audienceTags")
    if send_at is not None:
        if send_at.tzinfo is None:
            raise bad_input("sendAt needs a timezone", "sendAt")
        if send_at > now + MAX_AHEAD:
            raise bad_input("sendAt is more than a year ahead", "sendAt")
    when = max(send_at or now, now)
    status = CampaignStatus.SCHEDULED if when > now else CampaignStatus.SENDING
    return await Campaign.create(
        title=title, body=body, link=link, audience_tags=tags, send_at=when, status=status
    )


async def enqueue_campaign(arq: ArqRedis, campaign: Campaign) -> None:
    await arq.enqueue_job(
        SEND_CAMPAIGN,
        campaign.id,
        _job_id=f"campaign:{campaign.id}:{campaign.cursor}",
        _defer_until=campaign.send_at,
    )


@dataclass(frozen=True, slots=True)
class Batch:
    notifications: list[str]
    done: bool


async def fan_out_batch(campaign_id: int, size: int) -> Batch:
    async with in_transaction() as conn:
        campaign = await Campaign.select_for_update().using_db(conn).get_or_none(id=campaign_id)
        if campaign is None or campaign.fanned_out_at is not None:
            return Batch([], True)
        page = Customer.filter().using_db(conn).order_by("id").limit(size)
        if campaign.cursor:
            page = page.filter(id__gt=UUID(campaign.cursor))
        customers = list(await page.values_list("id", "tags"))
        audience = [UUID(str(cid)) for cid, tags in customers if in_audience(campaign.audience_tags, tags)]
        chosen = NotificationPreference.filter(customer_id__in=audience, marketing=True).using_db(conn)
        opted_in = {UUID(str(c)) for c in await chosen.values_list("customer_id", flat=True)}
        keys = []
        payload = {
            "campaign_id": campaign.id,
            "title": campaign.title,
            "body": campaign.body,
            "link": campaign.link,
        }
        for customer_id in audience:
            if customer_id in opted_in:
                key = campaign_key(campaign.id, customer_id)
                await queue_notification(
                    conn, customer_id, key, NotificationKind.CAMPAIGN, payload, campaign.id
                )
                keys.append(key)
        done = len(customers) < size
        await (
            Campaign.filter(id=campaign.id)
            .using_db(conn)
            .update(
                cursor=str(customers[-1][0]) if customers else campaign.cursor,
                targeted=campaign.targeted + len(audience),
                not_opted_in=campaign.not_opted_in + len(audience) - len(keys),
                status=CampaignStatus.SENT if done else CampaignStatus.SENDING,
                fanned_out_at=datetime.now(UTC) if done else None,
            )
        )
    return Batch(keys, done)


async def get_campaign(campaign_id: int) -> Campaign:
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise not_found("no campaign with this id", NotificationReason.UNKNOWN_CAMPAIGN)
    return campaign


async def list_campaigns(first: int) -> list[Campaign]:
    return list(await Campaign.all().order_by("-id").limit(first))


async def unfinished_campaigns(older_than: timedelta) -> list[Campaign]:
    """Campaigns due for longer than `older_than` whose fan-out has not finished: their job was lost."""
    cutoff = datetime.now(UTC) - older_than
    return list(await Campaign.filter(fanned_out_at=None, send_at__lt=cutoff))


@dataclass(frozen=True, slots=True)
class Report:
    """Every targeted customer is in exactly one of the other counts (pending until its pushes finish)."""

    targeted: int
    pushed: int
    inbox_only: int
    skipped_by_preference: int
    failed: int
    pending: int
    done: bool


async def report(campaign: Campaign) -> Report:
    rows = await Notification.filter(campaign_id=campaign.id).values_list(
        "id", "sent_at", "push_status", "push_jobs"
    )
    attempts = await PushAttempt.filter(
        notification_id__in=[r[0] for r in rows], outcome__not=PushOutcome.RETRY
    ).values_list("notification_id", "subscription_id", "outcome")
    final: dict[int, dict[int, PushOutcome]] = {}
    for notification_id, subscription_id, outcome in attempts:
        final.setdefault(notification_id, {})[subscription_id] = PushOutcome(outcome)
    pushed = inbox_only = skipped = failed = pending = 0
    for notification_id, sent_at, status, jobs in rows:
        outcomes = final.get(notification_id, {})
        if sent_at is None:
            pending += 1
        elif status == PushStatus.INBOX_ONLY:
            inbox_only += 1
        elif status == PushStatus.SKIPPED:
            skipped += 1
        elif PushOutcome.DELIVERED in outcomes.values():
            pushed += 1
        elif len(outcomes) < jobs:
            pending += 1
        elif all(o is PushOutcome.CAPPED for o in outcomes.values()):
            skipped += 1
        else:
            failed += 1
    skipped += campaign.not_opted_in
    done = campaign.fanned_out_at is not None and pending == 0
    return Report(campaign.targeted, pushed, inbox_only, skipped, failed, pending, done)
