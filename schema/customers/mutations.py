from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry

from game.access.service import authenticate_marketer
from game.access.sessions import Lifetimes, close_all, open_session, refresh
from game.access.sessions import close as close_session
from game.access.throttle import LoginLimits, guarded_login, guarded_register
from game.access.viewer import Role
from game.customers.models import Customer as CustomerModel
from game.customers.service import authenticate, email_key, existing_customer_id, register
from game.customers.tags import set_tags
from game.limits import Limit
from game.referrals.service import join, referrer_of_code, validate_device_id
from schema.context import Info
from schema.customers.types import (
    AuthPayload,
    Customer,
    Marketer,
    MarketerAuthPayload,
    RegisterInput,
    SessionTokens,
)
from schema.permissions import IsMarketer, IsSignedIn

T = TypeVar("T")


def _lifetimes(info: Info) -> Lifetimes:
    settings = info.context.settings
    return Lifetimes(settings.jwt_secret, settings.jwt_ttl_s, settings.refresh_ttl_s)


def _limits(info: Info) -> LoginLimits:
    s = info.context.settings
    return LoginLimits(
        ip=Limit(s.login_ip_limit, s.login_ip_window_s),
        account_failures=Limit(s.login_failures_limit, s.login_failures_window_s),
        lockout_s=s.login_lockout_s,
        register_ip=Limit(s.register_ip_limit, s.register_ip_window_s),
    )


def _client_ip(info: Info) -> str:
    # The peer's address, or the proxy's forwarded one when uvicorn runs with --proxy-headers.
    client = info.context.request.client
    return client.host if client else "unknown"


async def _throttled(info: Info, kind: str, email: str, attempt: Callable[[], Awaitable[T]]) -> T:
    limits, ip = _limits(info), _client_ip(info)
    return await guarded_login(info.context.arq, kind, email_key(email), ip, limits, attempt)


async def _customer_session(info: Info, customer: CustomerModel) -> AuthPayload:
    tokens = await open_session(customer.id, Role.CUSTOMER, _lifetimes(info))
    return AuthPayload(
        token=tokens.access,
        refresh_token=tokens.refresh,
        expires_at=tokens.expires_at,
        customer=Customer.from_model(customer),
    )


@strawberry.type
class CustomerMutations:
    @strawberry.mutation(
        name="register",
        description="Create a customer account and sign in (anyone). The password needs at least 8 "
        "characters and must not be easy to guess (BAD_USER_INPUT, reason WEAK_PASSWORD, says why). Sign-ups "
        "are limited per client IP (10 an hour by default): beyond, RATE_LIMITED with retryAfter.",
    )
    async def register_customer(
        self, info: Info, input: Annotated[RegisterInput, strawberry.argument(description="The new account.")]
    ) -> AuthPayload:
        await guarded_register(info.context.arq, _client_ip(info), _limits(info))
        validate_device_id(input.device_id)
        if input.referral_code is not None:  # checked before the account exists: a refusal creates nothing
            await referrer_of_code(input.referral_code)
        customer = await register(
            input.email, input.password, input.display_name, input.locale, input.timezone
        )
        await join(customer.id, input.referral_code, input.device_id)
        return await _customer_session(info, customer)

    @strawberry.mutation(
        description="Sign in as a customer (anyone); UNAUTHENTICATED if either is wrong. Attempts are "
        "limited per client IP, and 5 failures within 15 minutes lock the account for a minute, doubling "
        "with each repeat: RATE_LIMITED with retryAfter (reason TOO_MANY_ATTEMPTS or ACCOUNT_LOCKED)."
    )
    async def login(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="As registered; case does not matter.")],
        password: Annotated[str, strawberry.argument(description="The account's password.")],
    ) -> AuthPayload:
        customer = await _throttled(info, "customer", email, lambda: authenticate(email, password))
        return await _customer_session(info, customer)

    @strawberry.mutation(
        description="Sign in as a marketer (anyone); UNAUTHENTICATED if either is wrong, or the account "
        "is disabled. Throttled like login."
    )
    async def marketer_login(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The marketer's email; case does not matter.")],
        password: Annotated[str, strawberry.argument(description="The marketer's password.")],
    ) -> MarketerAuthPayload:
        marketer = await _throttled(info, "marketer", email, lambda: authenticate_marketer(email, password))
        tokens = await open_session(marketer.id, Role.MARKETER, _lifetimes(info))
        return MarketerAuthPayload(
            token=tokens.access,
            refresh_token=tokens.refresh,
            expires_at=tokens.expires_at,
            marketer=Marketer(
                id=strawberry.ID(str(marketer.id)), email=marketer.email, display_name=marketer.display_name
            ),
        )

    @strawberry.mutation(
        description="Trade a refresh token for a new access token and the next refresh token (anyone "
        "holding one). UNAUTHENTICATED when the session has ended (reason REFRESH_TOKEN_INVALID), when this "
        "token was already used (REFRESH_TOKEN_REUSED: the whole session is closed, since only a copy can "
        "explain it), or when the account is gone or disabled: then log in again."
    )
    async def refresh_session(
        self,
        info: Info,
        refresh_token: Annotated[
            str, strawberry.argument(description="The refreshToken of the last login or refresh.")
        ],
    ) -> SessionTokens:
        tokens = await refresh(refresh_token, _lifetimes(info))
        return SessionTokens(token=tokens.access, refresh_token=tokens.refresh, expires_at=tokens.expires_at)

    @strawberry.mutation(
        description="Sign this session out (anyone holding its refresh token): its refresh tokens stop "
        "working; its access token lasts until it expires. False when it was already closed."
    )
    async def logout(
        self,
        refresh_token: Annotated[str, strawberry.argument(description="The session's latest refresh token.")],
    ) -> bool:
        return await close_session(refresh_token)

    @strawberry.mutation(
        description="Sign the signed-in customer or marketer out on every device, at once: every refresh "
        "token and every access token issued so far stop working (TOKEN_REVOKED).",
        permission_classes=[IsSignedIn],
    )
    async def logout_everywhere(self, info: Info) -> bool:
        viewer = info.context.viewer
        assert viewer.id is not None  # IsSignedIn
        await close_all(info.context.arq, viewer.id, viewer.role)
        return True


@strawberry.type(description="A customer's tags, as now stored.")
class CustomerTags:
    customer_id: strawberry.ID = strawberry.field(description="The customer's UUID.")
    tags: list[str] = strawberry.field(description="Sorted, without duplicates.")


@strawberry.type
class CustomerTagMutations:
    @strawberry.mutation(
        description="Replace a customer's tags, which challenge audiences target (marketer).",
        permission_classes=[IsMarketer],
    )
    async def set_customer_tags(
        self,
        customer_id: Annotated[
            strawberry.ID, strawberry.argument(description="The customer's UUID; NOT_FOUND if none has it.")
        ],
        tags: Annotated[
            list[str],
            strawberry.argument(
                description="The whole new set, at most 50, each 1 to 40 of a-z, 0-9, '_', ':', '-' "
                "starting with a letter or digit; empty clears them."
            ),
        ],
    ) -> CustomerTags:
        uid = await existing_customer_id(str(customer_id))
        return CustomerTags(customer_id=customer_id, tags=await set_tags(uid, tags))
