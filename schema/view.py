"""The ASGI GraphQL endpoint (HTTP and graphql-transport-ws): builds each request's Context."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from game.access.tokens import authenticate
from game.access.viewer import Role
from game.errors import DomainError, ErrorCode
from schema.bodies import GuardedGraphQL
from schema.context import Context
from schema.errors import coded
from schema.settings import SchemaSettings

_STATUS = {ErrorCode.SERVICE_UNAVAILABLE: 503}


def request_error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status
    )


class TesseraGraphQL(GuardedGraphQL[Context, None]):
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
            response = await self.run(request)
        except HTTPException as e:
            response = request_error(e.status_code, e.reason, "BAD_REQUEST")
        except DomainError as e:  # from get_context: the credentials could not be checked
            response = request_error(_STATUS.get(e.code, 400), e.message, e.code.value)
        await response(scope, receive, send)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        # Syntax errors leave the schema before the ErrorCodes extension sees them; code them here.
        if result.errors:
            result.errors = [coded(error) for error in result.errors]
        return await super().process_result(request, result)

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
                raise ConnectionRejectionError({"code": e.code.value, "message": e.message}) from None
            if auth.viewer.role is Role.ANONYMOUS:
                raise ConnectionRejectionError({"code": "UNAUTHENTICATED", "message": auth.error or ""})
            context.viewer, context.auth_error, context.auth_reason = auth.viewer, None, None
        return await super().on_ws_connect(context)
