"""The per-request context: who is calling, the shared connections, and this request's DataLoaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from arq.connections import ArqRedis
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from game.access.errors import AccessReason
from game.access.viewer import Viewer
from game.badges.models import Badge
from game.badges.service import badges_by_id, holders
from game.customers.models import Customer as CustomerModel
from game.customers.service import signed_in_customer
from game.ledger.service import balances_of
from schema.settings import SchemaSettings


async def _load_balances(customer_ids: list[UUID]) -> list[int]:
    found = await balances_of(customer_ids)
    return [found.get(cid, 0) for cid in customer_ids]


async def _load_badges(badge_ids: list[int]) -> list[Badge | None]:
    found = await badges_by_id(badge_ids)
    return [found.get(bid) for bid in badge_ids]


async def _load_badge_holders(badge_ids: list[int]) -> list[dict[int, int]]:
    found = await holders(badge_ids)
    return [found.get(bid, {}) for bid in badge_ids]


@dataclass
class Loaders:
    """Built anew for every request: a loader's cache must never outlive the request that filled it."""

    balance: DataLoader[UUID, int] = field(default_factory=lambda: DataLoader(load_fn=_load_balances))
    badge: DataLoader[int, Badge | None] = field(default_factory=lambda: DataLoader(load_fn=_load_badges))
    badge_holders: DataLoader[int, dict[int, int]] = field(
        default_factory=lambda: DataLoader(load_fn=_load_badge_holders)
    )


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: SchemaSettings
    arq: ArqRedis
    viewer: Viewer
    auth_error: str | None = None
    auth_reason: AccessReason | None = None
    # When the access token the request (or the WebSocket) was authenticated with expires.
    auth_expires_at: datetime | None = None
    _loaders: Loaders | None = field(default=None, repr=False)
    connection_params: dict[str, Any] | None = None
    # A WebSocket refused at connection_init: the close code and reason to send (see schema/view.py).
    ws_rejection: tuple[int, str] | None = None
    _customer: asyncio.Future[CustomerModel] | None = field(default=None, repr=False)

    @property
    def loaders(self) -> Loaders:
        """This request's DataLoaders, made when a field first asks (most requests need none)."""
        if self._loaders is None:
            self._loaders = Loaders()
        return self._loaders

    async def signed_in_customer(self) -> CustomerModel:
        """The signed-in customer, read once per request however many fields ask (they may run at once)."""
        if self._customer is None:
            self._customer = asyncio.ensure_future(signed_in_customer(self.viewer))
        return await self._customer


Info = strawberry.Info[Context, None]
