"""The GraphQL layer: translates and authorises, then calls game/."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from app.settings import Settings
from schema.customers.mutations import CustomerMutations
from schema.customers.queries import CustomerQueries
from schema.earn.mutations import EarnMutations
from schema.earn.queries import EarnQueries
from schema.errors import ErrorCodes, TesseraSchema
from schema.events.mutations import EventMutations
from schema.ledger.subscriptions import LedgerSubscriptions
from schema.purchases.mutations import PurchaseMutations


@strawberry.type
class Query(CustomerQueries, EarnQueries):
    pass


@strawberry.type
class Mutation(CustomerMutations, PurchaseMutations, EventMutations, EarnMutations):
    pass


@strawberry.type
class Subscription(LedgerSubscriptions):
    pass


def build_schema(settings: Settings) -> TesseraSchema:
    # Factories, not instances: strawberry builds fresh extensions per request (their caches are global).
    extensions: list[Callable[[], SchemaExtension] | type[SchemaExtension]] = [
        ErrorCodes,
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=1024),
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: ValidationCache(maxsize=1024),
    ]
    if not settings.introspection_enabled:
        extensions.append(DisableIntrospection)
    return TesseraSchema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions)
