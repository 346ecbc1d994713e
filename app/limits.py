"""The request body limit, counted on the bytes actually received.

A chunked body has no Content-Length: the limit wraps `receive` and stops the request as soon as more bytes
than allowed have arrived, so at most one transport chunk beyond the limit is ever held in memory. The
connection stays open: the server reads and drops the rest of the body (until its keep-alive timeout) so that
a client still sending gets to read the 413 rather than a reset. A Content-Length is more than a claim only
because the server frames the body by it: a length over the limit is refused at once, one within it lets the
request through uncounted (see `_declared`).
"""

from __future__ import annotations

from collections.abc import Awaitable

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

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine of its own: a request with nothing to count is the app's coroutine, with no frame
        # of ours resumed at every await of it (a leaderboard request awaits about ten times).
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        declared = self._declared(scope)
        if declared is _TOO_LARGE:
            return too_large(self.max_bytes)(scope, receive, send)
        if declared is _WITHIN:
            return self.app(scope, receive, send)
        return self._counted(scope, receive, send)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
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

    def _declared(self, scope: Scope) -> object:
        """_TOO_LARGE or _WITHIN by the Content-Length, or None: the body must be counted as it arrives.

        A length within the limit is all the body there can be: HTTP/1.1 frames a body by its Content-Length
        (uvicorn's parsers read that many bytes, and what follows is the next request), unless a
        Transfer-Encoding comes with it, which the parsers refuse or frame by its chunks instead."""
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or len(value) > 18 or int(value) > self.max_bytes:
                    return _TOO_LARGE if value.isdigit() else None
                length = value
            elif name == b"transfer-encoding":
                return None
        return None if length is None else _WITHIN


_TOO_LARGE, _WITHIN = object(), object()
