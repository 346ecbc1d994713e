"""Sessions over GraphQL and WebSocket: short access tokens, rotating refresh tokens, signing out (here and
everywhere), disabled and deleted accounts, sign-in throttling, the password policy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import jwt
import pytest
from redis.asyncio import Redis
from tortoise.expressions import F
from websockets.exceptions import ConnectionClosed

from app.settings import Settings
from game.access.models import Marketer
from game.access.standing import CHANNEL, REMEMBER_S, standings
from game.access.viewer import Role
from game.customers.models import Customer
from game.ledger.models import Balance
from schema import build_schema
from tests import factories as f
from tests.app.test_redis_outage import answers, free_port, tessera
from tests.graphql import GraphQL
from tests.processes import run_tessera
from tests.schema.test_subscriptions import bearer, graphql_ws, init, receive, send

LOGIN = """
mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token refreshToken expiresAt } }
"""
MARKETER_LOGIN = """
mutation($e: String!, $p: String!) { marketerLogin(email: $e, password: $p) { token refreshToken expiresAt } }
"""
REFRESH = "mutation($r: String!) { refreshSession(refreshToken: $r) { token refreshToken expiresAt } }"
LOGOUT = "mutation($r: String!) { logout(refreshToken: $r) }"
LOGOUT_EVERYWHERE = "mutation { logoutEverywhere }"
ME = "{ me { id } }"
MARKETER_ONLY = "{ earnRules { currency } }"


async def why(gql: GraphQL, query: str, variables: dict[str, Any] | None = None, **auth: str) -> str:
    """The reason of the request's error; it must have one."""
    return (await gql.reason(query, variables, **auth))[1]


async def soon(ask: Callable[[], Awaitable[str]], within_s: float = REMEMBER_S / 2) -> str:
    """The reason `ask` gives once it gives one, asked until `within_s` (less than the memory's REMEMBER_S,
    so that only an announcement can explain a refusal of a token the server remembered as good)."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            return await ask()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def signed_in(gql: GraphQL) -> tuple[f.Customer, dict[str, Any]]:
    alice = await f.customer(gql)
    return alice, (await gql(LOGIN, {"e": alice.email, "p": f.PASSWORD}))["login"]


async def test_login_gives_a_short_access_token_and_a_refresh_token(gql: GraphQL, settings: Settings) -> None:
    _, session = await signed_in(gql)
    expires_at = datetime.fromisoformat(session["expiresAt"])
    left = (expires_at - datetime.now(UTC)).total_seconds()
    assert settings.jwt_ttl_s - 60 < left <= settings.jwt_ttl_s
    assert jwt.decode(session["token"], options={"verify_signature": False})["exp"] == int(
        expires_at.timestamp()
    )
    assert len(session["refreshToken"]) >= 40


async def test_a_refresh_token_works_once_and_a_reused_one_closes_the_session(gql: GraphQL) -> None:
    _, session = await signed_in(gql)
    first = (await gql(REFRESH, {"r": session["refreshToken"]}))["refreshSession"]
    assert first["refreshToken"] != session["refreshToken"]
    assert (await gql(ME, token=first["token"]))["me"]["id"]

    # The old refresh token again: only a copy can explain it, so the session ends, the new token too.
    assert await why(gql, REFRESH, {"r": session["refreshToken"]}) == "REFRESH_TOKEN_REUSED"
    assert await why(gql, REFRESH, {"r": first["refreshToken"]}) == "REFRESH_TOKEN_INVALID"
    assert await why(gql, REFRESH, {"r": "made-up"}) == "REFRESH_TOKEN_INVALID"


async def test_logout_ends_the_session_and_keeps_the_others(gql: GraphQL) -> None:
    alice, phone = await signed_in(gql)
    laptop = (await gql(LOGIN, {"e": alice.email, "p": f.PASSWORD}))["login"]

    assert (await gql(LOGOUT, {"r": phone["refreshToken"]}))["logout"] is True
    assert (await gql(LOGOUT, {"r": phone["refreshToken"]}))["logout"] is False
    assert await why(gql, REFRESH, {"r": phone["refreshToken"]}) == "REFRESH_TOKEN_INVALID"
    assert (await gql(REFRESH, {"r": laptop["refreshToken"]}))["refreshSession"]["token"]


async def test_logout_everywhere_revokes_every_token_at_once(gql: GraphQL) -> None:
    alice, phone = await signed_in(gql)
    laptop = (await gql(LOGIN, {"e": alice.email, "p": f.PASSWORD}))["login"]

    assert (await gql(LOGOUT_EVERYWHERE, token=phone["token"]))["logoutEverywhere"] is True

    for session in (phone, laptop):
        assert await why(gql, ME, token=session["token"]) == "TOKEN_REVOKED"
        assert await why(gql, REFRESH, {"r": session["refreshToken"]}) == "REFRESH_TOKEN_INVALID"
    fresh = (await gql(LOGIN, {"e": alice.email, "p": f.PASSWORD}))["login"]
    assert (await gql(ME, token=fresh["token"]))["me"]["id"] == alice.id


async def test_a_token_newer_than_what_the_server_remembers_is_not_taken_for_a_revoked_one(
    gql: GraphQL,
) -> None:
    alice, session = await signed_in(gql)
    assert (await gql(ME, token=session["token"]))["me"]["id"] == alice.id  # version 0, remembered
    # Signed out everywhere by a process whose announcement this server missed, then signed in again.
    await Customer.filter(id=alice.id).update(token_version=F("token_version") + 1)
    fresh = (await gql(LOGIN, {"e": alice.email, "p": f.PASSWORD}))["login"]

    assert (await gql(ME, token=fresh["token"]))["me"]["id"] == alice.id
    assert await why(gql, ME, token=session["token"]) == "TOKEN_REVOKED"


async def test_a_disabled_marketer_is_refused_on_http_and_websocket(
    gql: GraphQL, server: str, settings: Settings
) -> None:
    token = await f.marketer_token(gql)
    marketer_id = jwt.decode(token, options={"verify_signature": False})["sub"]
    assert (await gql(MARKETER_ONLY, token=token))["earnRules"] == []
    marketer_email = (await Marketer.get(id=marketer_id)).email

    # The server (this process) remembers that the marketer's tokens are good...
    assert standings.listening
    assert (Role.MARKETER, UUID(marketer_id)) in standings.known

    run = await run_tessera(settings, "disable-marketer", marketer_email)
    assert run.returncode == 0, run.stderr

    # ...and another process's change reaches it by its announcement, well before it would forget.
    assert await soon(lambda: why(gql, MARKETER_ONLY, token=token)) == "ACCOUNT_DISABLED"
    assert await why(gql, MARKETER_LOGIN, {"e": marketer_email, "p": f.PASSWORD}) == "ACCOUNT_DISABLED"
    async with graphql_ws(server) as ws:
        await send(ws, {"type": "connection_init", "payload": bearer(token)})
        with pytest.raises(ConnectionClosed):
            await receive(ws)
        assert ws.close_code == 4403
    assert (await run_tessera(settings, "disable-marketer", "nobody@example.com")).returncode == 1


async def test_a_deleted_customers_token_is_refused_on_http_and_websocket(
    gql: GraphQL, server: str, redis: Redis
) -> None:
    alice = await f.customer(gql)
    bob = await f.customer(gql)  # keeps the tables' other rows company
    assert (await gql(ME, token=alice.token))["me"]["id"] == alice.id  # remembered as good
    await Balance.filter(customer_id=alice.id).delete()  # what registering made
    await Customer.filter(id=alice.id).delete()
    # Erased by hand, then announced as any tool that changes an account must (or seen within REMEMBER_S).
    await redis.publish(CHANNEL, f"customer:{alice.id}")

    assert await soon(lambda: why(gql, ME, token=alice.token)) == "ACCOUNT_GONE"
    assert (await gql(ME, token=bob.token))["me"]["id"] == bob.id
    async with graphql_ws(server) as ws:
        await send(ws, {"type": "connection_init", "payload": bearer(alice.token)})
        with pytest.raises(ConnectionClosed):
            await receive(ws)
        assert ws.close_code == 4403


async def test_the_socket_closes_when_its_token_expires(
    gql: GraphQL, server: str, settings: Settings
) -> None:
    alice = await f.customer(gql)
    claims = jwt.decode(alice.token, options={"verify_signature": False})
    soon = jwt.encode({**claims, "exp": int(time.time()) + 2}, settings.jwt_secret, "HS256")

    async with graphql_ws(server) as ws:
        await init(ws, bearer(soon))  # accepted while valid
        with pytest.raises(ConnectionClosed):
            await receive(ws, timeout=10)
        assert (ws.close_code, ws.close_reason) == (4401, "token expired")


async def test_failed_logins_lock_the_account_even_for_the_right_password(
    gql: GraphQL, settings: Settings
) -> None:
    alice = await f.customer(gql)
    for n in range(settings.login_failures_limit):
        assert await why(gql, LOGIN, {"e": alice.email, "p": f"wrong password {n}"}) == "INVALID_CREDENTIALS"

    locked = await gql.error(LOGIN, {"e": alice.email, "p": f.PASSWORD})
    assert locked["extensions"]["code"] == "RATE_LIMITED"
    assert locked["extensions"]["reason"] == "ACCOUNT_LOCKED"
    assert 1 <= locked["extensions"]["retryAfter"] <= settings.login_lockout_s
    # Another account, from the same client, is not locked.
    bob = await f.customer(gql)
    assert (await gql(LOGIN, {"e": bob.email, "p": f.PASSWORD}))["login"]["token"]


async def test_a_common_password_is_refused(gql: GraphQL) -> None:
    data = {"email": "weak@example.com", "password": "12345678", "displayName": "Weak"}
    error = await gql.error(f.REGISTER, {"input": data})
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "password", "reason": "WEAK_PASSWORD"}
    own_email = {"email": "jean.dupont@example.com", "password": "jean.dupont", "displayName": "Jean"}
    assert (await gql.error(f.REGISTER, {"input": own_email}))["extensions"]["reason"] == "WEAK_PASSWORD"


def test_production_suggests_no_field_names(settings: Settings) -> None:
    query = "{ mee { id } }"
    dev = build_schema(settings).execute_sync(query)
    production = build_schema(settings.model_copy(update={"env": "production"})).execute_sync(query)

    assert dev.errors is not None
    assert "Did you mean" in dev.errors[0].message
    assert production.errors is not None
    assert production.errors[0].message == "Cannot query field 'mee' on type 'Query'."


@pytest.mark.slow
async def test_sign_ins_and_sign_ups_are_limited_per_client_ip(
    gql: GraphQL, settings: Settings, redis: Redis
) -> None:
    alice = await f.customer(gql)
    await redis.flushdb()  # the shared server's own sign-up counted against 127.0.0.1 too
    port = free_port()
    limits = {"TESSERA_LOGIN_IP_LIMIT": "3", "TESSERA_REGISTER_IP_LIMIT": "2", "TESSERA_PORT": str(port)}
    async with (
        tessera(settings, "serve", **limits),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        await answers(f"http://127.0.0.1:{port}/health")
        own = GraphQL(client)
        for _ in range(3):
            assert (await own(LOGIN, {"e": alice.email, "p": f.PASSWORD}))["login"]["token"]
        refused = await own.error(LOGIN, {"e": alice.email, "p": f.PASSWORD})
        assert refused["extensions"]["reason"] == "TOO_MANY_ATTEMPTS"
        assert refused["extensions"]["retryAfter"] >= 1

        sign_up = {"password": f.PASSWORD, "displayName": "New"}
        for n in range(2):
            await own(f.REGISTER, {"input": {**sign_up, "email": f"ip-{n}@example.com"}})
        over = await own.error(f.REGISTER, {"input": {**sign_up, "email": "ip-2@example.com"}})
        assert over["extensions"]["code"] == "RATE_LIMITED"
