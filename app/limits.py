"""The request body limit, counted on the bytes actually received.

A Content-Length header is only a claim, and a chunked body has none: the limit wraps `receive` and stops
the request as soon as more bytes than allowed have arrived, so at most one transport chunk beyond the limit
is ever held in memory. The connection stays open: the server reads and drops the rest of the body (until
its keep-alive timeout) so that a client still sending gets to read the 413 rather than a reset.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(Exception):
    pass


def too_large(max_bytes: int) -> JSONResponse:
    message = f"the request body exceeds {max_bytes} bytes"
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]},
        status_code=413,
    )


class BodyLimit:
    """Pure ASGI middleware: 413 PAYLOAD_TOO_LARGE once an HTTP request body passes `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._declared_too_large(scope):
            await too_large(self.max_bytes)(scope, receive, send)
            return
        received = 0
        responding = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal responding
            responding = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            if responding:  # the app answered before reading it all; nothing more can be said
                return
            await too_large(self.max_bytes)(scope, receive, send)

    def _declared_too_large(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"content-length":
                return value.isdigit() and (len(value) > 18 or int(value) > self.max_bytes)
        return False
