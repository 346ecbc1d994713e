from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum

import strawberry

from game.errors import bad_input
from game.notifications import templates
from game.notifications.campaigns import Report, get_campaign, report
from game.notifications.models import Campaign as CampaignModel
from game.notifications.models import CampaignStatus as Status
from game.notifications.models import Notification as NotificationModel
from game.notifications.models import NotificationKind as Kind
from game.notifications.models import PushSubscription as SubscriptionModel
from game.notifications.service import Page, Preferences
from game.notifications.templates import Category
from schema.texts import LocalizedText, LocalizedTextInput


@strawberry.enum(description="What a notification is about.")
class NotificationKind(Enum):
    CHALLENGE_COMPLETED = strawberry.enum_value(
        Kind.CHALLENGE_COMPLETED.value, description="A challenge won."
    )
    BADGE_EARNED = strawberry.enum_value(Kind.BADGE_EARNED.value, description="A badge level earned.")
    STREAK_MILESTONE = strawberry.enum_value(Kind.STREAK_MILESTONE.value, description="A streak milestone.")
    REWARD_WITHDRAWN = strawberry.enum_value(
        Kind.REWARD_WITHDRAWN.value, description="A reward taken back after a refund."
    )
    POINTS_EXPIRING = strawberry.enum_value(Kind.POINTS_EXPIRING.value, description="Points about to expire.")
    TIER_CHANGED = strawberry.enum_value(Kind.TIER_CHANGED.value, description="A new loyalty tier.")
    REFERRAL_QUALIFIED = strawberry.enum_value(
        Kind.REFERRAL_QUALIFIED.value, description="A referred friend qualified."
    )
    LEADERBOARD_PRIZE = strawberry.enum_value(
        Kind.LEADERBOARD_PRIZE.value, description="A leaderboard prize."
    )
    NEW_CHALLENGE = strawberry.enum_value(Kind.NEW_CHALLENGE.value, description="A new challenge to take.")
    CAMPAIGN = strawberry.enum_value(Kind.CAMPAIGN.value, description="A message from the programme.")


@strawberry.enum(description="Kinds of notification a customer turns on or off as a group.")
class NotificationCategory(Enum):
    REWARDS = strawberry.enum_value(Category.REWARDS.value, description="Rewards earned (on by default).")
    ACCOUNT = strawberry.enum_value(
        Category.ACCOUNT.value, description="Balance, expiry and tier news (on by default)."
    )
    CHALLENGES = strawberry.enum_value(
        Category.CHALLENGES.value, description="New challenges (on by default)."
    )
    MARKETING = strawberry.enum_value(
        Category.MARKETING.value, description="Campaigns: off unless the customer opts in (`marketing`)."
    )


@strawberry.type(description="One message in the signed-in customer's inbox, in the customer's language.")
class Notification:
    id: strawberry.ID = strawberry.field(description="Pass to markNotificationsRead.")
    kind: NotificationKind = strawberry.field(description="What it is about.")
    category: NotificationCategory = strawberry.field(description="The preference group it belongs to.")
    title: str = strawberry.field(description="Its title, in the customer's locale (else English).")
    body: str = strawberry.field(description="Its text, in the customer's locale (else English).")
    link: str | None = strawberry.field(
        description="Where the app should go when it is tapped; null: nowhere."
    )
    read: bool = strawberry.field(description="Whether the customer has marked it read.")
    created_at: datetime = strawberry.field(description="When it arrived.")

    @classmethod
    def from_model(cls, n: NotificationModel, locale: str) -> Notification:
        text = templates.render(n.kind, n.payload, locale)
        link = n.payload.get("link")
        return cls(
            id=strawberry.ID(str(n.id)),
            kind=NotificationKind(n.kind.value),
            category=NotificationCategory(templates.KINDS[n.kind].category.value),
            title=text.title,
            body=text.body,
            link=str(link) if link else None,
            read=n.read_at is not None,
            created_at=n.created_at,
        )


@strawberry.type(description="One notification and where the next page starts.")
class NotificationEdge:
    node: Notification = strawberry.field(description="The notification.")
    cursor: str = strawberry.field(description="Pass as `after` to continue after this notification.")


@strawberry.type(description="Whether more notifications follow.")
class NotificationPageInfo:
    has_next_page: bool = strawberry.field(description="True when an older notification follows.")
    end_cursor: str | None = strawberry.field(description="The last edge's cursor; null on an empty page.")


@strawberry.type(description="A page of the inbox, newest first.")
class NotificationConnection:
    edges: list[NotificationEdge] = strawberry.field(description="The notifications of this page.")
    page_info: NotificationPageInfo = strawberry.field(description="Whether and where the next page starts.")

    @classmethod
    def from_page(cls, page: Page, locale: str) -> NotificationConnection:
        edges = [
            NotificationEdge(node=Notification.from_model(n, locale), cursor=encode_cursor(n.id))
            for n in page.notifications
        ]
        end = edges[-1].cursor if edges else None
        return cls(edges=edges, page_info=NotificationPageInfo(has_next_page=page.has_next, end_cursor=end))


_PREFIX = "notification:"


def encode_cursor(notification_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{notification_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(_PREFIX):
            raise ValueError(text)
        return int(text.removeprefix(_PREFIX))
    except ValueError:
        raise bad_input("after is not a cursor returned by this API", "after") from None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_hhmm(text: str, field: str) -> int:
    hours, _, minutes = text.partition(":")
    if not (
        hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and int(hours) < 24 and int(minutes) < 60
    ):
        raise bad_input(f"{field} must be a time of day as HH:MM", field)
    return int(hours) * 60 + int(minutes)


@strawberry.type(description="Quiet hours, in the customer's own timezone: pushes wait for their end.")
class QuietHours:
    start: str = strawberry.field(description="HH:MM, local time.")
    end: str = strawberry.field(description="HH:MM, local time; before start means overnight.")


@strawberry.input(description="Quiet hours, in the customer's own timezone; overnight when end < start.")
class QuietHoursInput:
    start: str = strawberry.field(description="HH:MM, local time, e.g. '22:00'.")
    end: str = strawberry.field(description="HH:MM, local time, e.g. '07:30'.")


@strawberry.type(description="What the signed-in customer wants pushed. The inbox gets everything anyway.")
class NotificationPreferences:
    opted_out: list[NotificationCategory] = strawberry.field(description="Categories not pushed.")
    marketing: bool = strawberry.field(description="Whether campaigns are sent (off until opted in).")
    quiet_hours: QuietHours | None = strawberry.field(description="Null: pushes come at any hour.")
    daily_cap: int | None = strawberry.field(
        description="At most this many pushes a local day; null: no cap."
    )

    @classmethod
    def of(cls, p: Preferences) -> NotificationPreferences:
        quiet = None
        if p.quiet_start_min is not None and p.quiet_end_min is not None:
            quiet = QuietHours(start=_hhmm(p.quiet_start_min), end=_hhmm(p.quiet_end_min))
        return cls(
            opted_out=[NotificationCategory(c.value) for c in p.opted_out],
            marketing=p.marketing,
            quiet_hours=quiet,
            daily_cap=p.daily_cap,
        )


@strawberry.input(description="Every preference, anew.")
class NotificationPreferencesInput:
    opted_out: list[NotificationCategory] = strawberry.field(
        default_factory=list, description="Categories not to push (not MARKETING: use `marketing`)."
    )
    marketing: bool = strawberry.field(default=False, description="Opt in to campaigns.")
    quiet_hours: QuietHoursInput | None = strawberry.field(default=None, description="Null: none.")
    daily_cap: int | None = strawberry.field(default=None, description="0 to 100 pushes a day; null: no cap.")

    def to_preferences(self) -> Preferences:
        start = end = None
        if self.quiet_hours is not None:
            start = parse_hhmm(self.quiet_hours.start, "quietHours.start")
            end = parse_hhmm(self.quiet_hours.end, "quietHours.end")
        return Preferences(
            tuple(Category[c.name] for c in self.opted_out), self.marketing, start, end, self.daily_cap
        )


@strawberry.input(description="The subscription keys of PushSubscription.toJSON().")
class PushSubscriptionKeysInput:
    p256dh: str = strawberry.field(description="The browser's P-256 public key, base64url.")
    auth: str = strawberry.field(description="The 16-byte auth secret, base64url.")


@strawberry.input(description="A browser's PushSubscription.toJSON(), plus its user agent.")
class PushSubscriptionInput:
    endpoint: str = strawberry.field(
        description="The push service URL; BAD_USER_INPUT unless https to an allowed push service."
    )
    keys: PushSubscriptionKeysInput = strawberry.field(description="The encryption keys.")
    user_agent: str = strawberry.field(default="", description="navigator.userAgent, to name the device.")


@strawberry.type(description="A device the signed-in customer receives pushes on.")
class PushSubscription:
    id: strawberry.ID = strawberry.field(description="Its id.")
    endpoint: str = strawberry.field(description="The push service URL.")
    user_agent: str = strawberry.field(description="The device's user agent, as registered.")
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def from_model(cls, s: SubscriptionModel) -> PushSubscription:
        return cls(
            id=strawberry.ID(str(s.id)), endpoint=s.endpoint, user_agent=s.user_agent, created_at=s.created_at
        )


@strawberry.enum(description="Where a campaign stands.")
class CampaignStatus(Enum):
    SCHEDULED = strawberry.enum_value(Status.SCHEDULED.value, description="Waiting for its sendAt.")
    SENDING = strawberry.enum_value(Status.SENDING.value, description="Being fanned out.")
    SENT = strawberry.enum_value(Status.SENT.value, description="Every targeted customer handled.")


@strawberry.input(description="A campaign: a localised message to an audience, now or later.")
class CampaignInput:
    title: LocalizedTextInput = strawberry.field(description="1 to 80 characters in each language given.")
    body: LocalizedTextInput = strawberry.field(description="1 to 300 characters in each language given.")
    link: str | None = strawberry.field(default=None, description="https URL or app path ('/...'); optional.")
    audience_tags: list[str] = strawberry.field(
        default_factory=list, description="Customers with any of these tags; empty: everyone."
    )
    send_at: datetime | None = strawberry.field(default=None, description="When to send; null: now.")


@strawberry.type(
    description="How a campaign went: targeted = pushed + inboxOnly + skippedByPreference + failed + pending."
)
class CampaignReport:
    targeted: int = strawberry.field(description="Customers of the audience handled so far.")
    pushed: int = strawberry.field(description="Pushed to at least one device.")
    inbox_only: int = strawberry.field(description="In the inbox only: the customer has no device.")
    skipped_by_preference: int = strawberry.field(
        description="Not sent: not opted in to marketing, or over the daily cap."
    )
    failed: int = strawberry.field(description="In the inbox, but no device accepted the push.")
    pending: int = strawberry.field(description="Pushes still on their way (retrying, or after quiet hours).")
    done: bool = strawberry.field(description="Fanned out and nothing pending.")

    @classmethod
    def of(cls, r: Report) -> CampaignReport:
        return cls(
            targeted=r.targeted,
            pushed=r.pushed,
            inbox_only=r.inbox_only,
            skipped_by_preference=r.skipped_by_preference,
            failed=r.failed,
            pending=r.pending,
            done=r.done,
        )


@strawberry.type(description="A marketer's campaign.")
class Campaign:
    id: strawberry.ID = strawberry.field(description="Its id.")
    title: LocalizedText = strawberry.field(description="Its title in each language written.")
    body: LocalizedText = strawberry.field(description="Its text in each language written.")
    link: str | None = strawberry.field(description="Where a tap leads; null: the app's inbox.")
    audience_tags: list[str] = strawberry.field(description="Customer tags targeted; empty: everyone.")
    send_at: datetime = strawberry.field(description="When it is (or was) sent.")
    status: CampaignStatus = strawberry.field(description="Where it stands.")
    model: strawberry.Private[CampaignModel]

    @strawberry.field(description="Progress and outcome, counted from the deliveries now.")
    async def report(self) -> CampaignReport:
        # Read anew: the fan-out moves the counters after this object was loaded.
        return CampaignReport.of(await report(await get_campaign(self.model.id)))

    @classmethod
    def from_model(cls, c: CampaignModel) -> Campaign:
        return cls(
            id=strawberry.ID(str(c.id)),
            title=LocalizedText.of(c.title),
            body=LocalizedText.of(c.body),
            link=c.link,
            audience_tags=list(c.audience_tags),
            send_at=c.send_at,
            status=CampaignStatus(c.status.value),
            model=c,
        )
