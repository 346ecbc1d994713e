"""The ASGI GraphQL endpoint (HTTP and graphql-transport-ws): builds each request's Context."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from game.access.errors import AccessReason
from game.access.tokens import authenticate
from game.access.viewer import Role
from game.errors import DomainError, ErrorCode
from schema.bodies import GuardedGraphQL, encode_answer
from schema.context import Context
from schema.settings import SchemaSettings

_STATUS = {ErrorCode.SERVICE_UNAVAILABLE: 503}
# strawberry lets a subscription in by POST too: schema/input_guard.py turns it away (a 400 BAD_REQUEST).
_POST_OPERATIONS = frozenset(OperationType.from_http("POST"))


def request_error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


# WebSocket close codes an app can branch on (graphql-transport-ws keeps 4400-4499 for the protocol's own):
# 4401: the access token expired (at connection_init, or later while connected): refresh it and reconnect.
# 4403: the credentials were refused (invalid token, account gone or disabled, signed out): log in again.
# 4503: the credentials could not be checked (the database is down): retry later.
CLOSE_TOKEN_EXPIRED = 4401
CLOSE_UNAVAILABLE = 4503

# The expiry timers of open connections, held so that the event loop does not drop them.
_expiry_tasks: set[asyncio.Task[None]] = set()


def _close_when_expired(websocket: WebSocket, expires_at: datetime) -> None:
    async def close_at_expiry() -> None:
        await asyncio.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()))
        if websocket.client_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, OSError):  # closed meanwhile
                await websocket.close(code=CLOSE_TOKEN_EXPIRED, reason="token expired")

    task = asyncio.create_task(close_at_expiry())
    _expiry_tasks.add(task)
    task.add_done_callback(_expiry_tasks.discard)


class _RejectingSocket:
    """strawberry closes every refused connection_init with 4403: this passes the view's own code instead."""

    def __init__(self, inner: AsyncWebSocketAdapter, context: Context) -> None:
        self._inner, self._context = inner, context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def close(self, code: int, reason: str) -> None:
        rejection = self._context.ws_rejection
        if code == 4403 and rejection is not None:
            code, reason = rejection
        await self._inner.close(code, reason)


class SessionWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.websocket = _RejectingSocket(self.websocket, self.context)  # type: ignore[assignment]


class TesseraGraphQL(GuardedGraphQL[Context, None]):
    graphql_transport_ws_handler_class = SessionWSHandler

    def __init__(self, schema: Any, settings: SchemaSettings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        request = Request(scope=scope, receive=receive)
        # strawberry answers a malformed body in plain text; a mobile app parses one error shape only.
        # (The body size limit is app/limits.py's, around the whole app.)
        try:
            if self.takes_json_post(request.method, request.headers.get("content-type")):
                response = await self._json_post(request)
            else:
                response = await self.run(request)
        except HTTPException as e:
            response = request_error(e.status_code, e.reason, "BAD_REQUEST")
        except DomainError as e:  # from get_context: the credentials could not be checked
            response = request_error(_STATUS.get(e.code, 400), e.message, e.code.value)
        await response(scope, receive, send)

    async def _json_post(self, request: Request) -> Response:
        """What strawberry's `run` does with a JSON POST (in its order: context, body, execution, result),
        without what other requests need: the request adapter, the IDE, batches, streaming transports, and a
        check of the result against a runtime Protocol that alone cost 2% of a `recordPurchase` request."""
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        data = self.json_post_data(await request.body())
        try:
            result = await self.schema.execute(
                data.query,
                variable_values=data.variables,
                context_value=context,
                operation_name=data.operation_name,
                allowed_operation_types=_POST_OPERATIONS,
                operation_extensions=data.extensions,
            )
        except CannotGetOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason("POST")) from e
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e
        answer = Response(
            encode_answer(await self.process_result(request, result)), media_type="application/json"
        )
        # What strawberry's create_response takes from the sub-response a resolver may have touched.
        answer.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            answer.background = sub_response.background
        if sub_response.status_code:
            answer.status_code = sub_response.status_code
        return answer

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        auth = await authenticate(self.settings.jwt_secret, request.headers)
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            arq=request.app.state.arq,
            viewer=auth.viewer,
            auth_error=auth.error,
            auth_reason=auth.reason,
            auth_expires_at=auth.expires_at,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # Browsers cannot set headers on a WebSocket: the app sends its token in connection_init instead.
        params = context.connection_params or {}
        credentials = {
            key.lower(): str(value)
            for key, value in params.items()
            if key.lower() in ("authorization", "x-api-key") and isinstance(value, str)
        }
        if credentials:
            try:
                auth = await authenticate(self.settings.jwt_secret, credentials)
            except DomainError as e:
                context.ws_rejection = (CLOSE_UNAVAILABLE, e.message[:120])
                raise ConnectionRejectionError({"code": e.code.value, "message": e.message}) from None
            if auth.viewer.role is Role.ANONYMOUS:
                expired = auth.reason is AccessReason.TOKEN_EXPIRED
                context.ws_rejection = (CLOSE_TOKEN_EXPIRED, "token expired") if expired else None
                raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": auth.error or ""})
            context.viewer, context.auth_error, context.auth_reason = auth.viewer, None, None
            context.auth_expires_at = auth.expires_at
        elif context.auth_reason is AccessReason.TOKEN_EXPIRED:  # a token sent as a header, expired
            context.ws_rejection = (CLOSE_TOKEN_EXPIRED, "token expired")
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": context.auth_error or ""})
        if context.auth_expires_at is not None and isinstance(context.request, WebSocket):
            _close_when_expired(context.request, context.auth_expires_at)
        return await super().on_ws_connect(context)
