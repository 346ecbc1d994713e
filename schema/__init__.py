"""The GraphQL layer: translates and authorises, then calls game/."""

from __future__ import annotations

from datetime import datetime

import strawberry
from graphql import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from schema.awards.resolvers import AwardMutations, AwardQueries
from schema.badges.mutations import BadgeMutations
from schema.badges.queries import BadgeQueries
from schema.badges.subscriptions import BadgeSubscriptions
from schema.challenges.mutations import ChallengeMutations
from schema.challenges.queries import ChallengeQueries
from schema.challenges.subscriptions import ChallengeSubscriptions
from schema.customers.mutations import CustomerMutations, CustomerTagMutations
from schema.customers.queries import CustomerQueries
from schema.earn.mutations import EarnMutations
from schema.earn.queries import EarnQueries
from schema.eco.resolvers import EcoMutations, EcoQueries
from schema.events.mutations import EventMutations
from schema.execution import LeanExecutionContext
from schema.input_guard import BOUNDED_DATETIME
from schema.inputs import build_inputs_in_one_pass
from schema.leaderboards.mutations import LeaderboardMutations
from schema.leaderboards.queries import LeaderboardQueries
from schema.leaderboards.subscriptions import LeaderboardSubscriptions
from schema.ledger.subscriptions import LedgerSubscriptions
from schema.notifications.mutations import NotificationMutations
from schema.notifications.queries import NotificationQueries
from schema.notifications.subscriptions import NotificationSubscriptions
from schema.purchases.mutations import PurchaseMutations
from schema.referrals.mutations import ReferralMutations
from schema.referrals.queries import ReferralQueries
from schema.request_rules import Limits, RequestRules, TesseraSchema
from schema.resolvers import call_resolvers_directly
from schema.rewards.resolvers import RewardMutations, RewardQueries
from schema.settings import SchemaSettings
from schema.streaks.mutations import StreakMutations
from schema.streaks.queries import StreakQueries


@strawberry.type(
    description="Reads. Each field says who may call it: the signed-in customer (Authorization: Bearer "
    "<token> from login), a marketer (token from marketerLogin), or anyone."
)
class Query(
    CustomerQueries,
    EarnQueries,
    ChallengeQueries,
    BadgeQueries,
    EcoQueries,
    StreakQueries,
    AwardQueries,
    LeaderboardQueries,
    ReferralQueries,
    NotificationQueries,
    RewardQueries,
):
    pass


@strawberry.type(
    description="Writes. Each field says who may call it: anyone, the signed-in customer, a marketer, or an "
    "API key (X-API-Key header) with the scope it names. Failures come as errors with an extensions.code "
    "such as BAD_USER_INPUT (with extensions.field), UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, CONFLICT, "
    "RATE_LIMITED or SERVICE_UNAVAILABLE."
)
class Mutation(
    CustomerMutations,
    CustomerTagMutations,
    PurchaseMutations,
    EventMutations,
    EarnMutations,
    ChallengeMutations,
    BadgeMutations,
    EcoMutations,
    StreakMutations,
    AwardMutations,
    LeaderboardMutations,
    ReferralMutations,
    NotificationMutations,
    RewardMutations,
):
    pass


@strawberry.type(
    description="Live updates for the signed-in customer, over WebSocket (graphql-transport-ws), the token "
    'in the connection_init payload as {"authorization": "Bearer <token>"}.'
)
class Subscription(
    LedgerSubscriptions,
    ChallengeSubscriptions,
    BadgeSubscriptions,
    LeaderboardSubscriptions,
    NotificationSubscriptions,
):
    pass


def build_schema(settings: SchemaSettings) -> TesseraSchema:
    rules: list[type[ASTValidationRule]] = [
        depth_validator(settings.max_query_depth, should_ignore=None),
        alias_validator(settings.max_aliases),
    ]
    if not settings.introspection_enabled:
        rules.append(NoSchemaIntrospectionCustomRule)
    limits = Limits(settings.max_tokens, tuple(rules), hide_suggestions=settings.env == "production")
    schema = TesseraSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        # A factory: strawberry builds extensions per request, since they hold the request's context.
        extensions=[lambda: RequestRules(limits)],
        scalar_overrides={datetime: BOUNDED_DATETIME},
        execution_context_class=LeanExecutionContext,
    )
    schema.limits = limits
    build_inputs_in_one_pass(schema)
    call_resolvers_directly(schema)
    return schema
