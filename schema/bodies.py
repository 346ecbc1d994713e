"""Request bodies: one JSON object, parsed without recursion trouble, with variables of bounded depth.

Anything else is a 400 `BAD_REQUEST` before a resolver runs. Batches stay off.
"""

from __future__ import annotations

import json
import math
import re
from functools import cached_property
from itertools import accumulate
from typing import Any

import orjson
from cross_web import HTTPException
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.typevars import Context, RootValue

MAX_VARIABLES_DEPTH = 32
_compact = json.JSONEncoder(separators=(",", ":")).encode
# What the parser is ever handed: the body object, `variables`, and the variables' own levels, with room.
MAX_BODY_DEPTH = 2 * MAX_VARIABLES_DEPTH

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _nesting(data: bytes) -> int:
    """The deepest bracket nesting outside strings, in linear time: json.loads recurses once per level and a
    body of 100,000 `[` would exhaust the interpreter's stack."""
    brackets = _STRING.sub(b"", data).translate(None, delete=_NOT_BRACKETS)
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_decoder = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)


def decode_object(data: str | bytes) -> dict[str, Any]:
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    # A body cannot nest deeper than it has opening brackets: most have too few to be scanned at all.
    if raw.count(b"[") + raw.count(b"{") > MAX_BODY_DEPTH and _nesting(raw) > MAX_BODY_DEPTH:
        raise HTTPException(400, f"the request body nests deeper than {MAX_BODY_DEPTH} levels")
    try:
        # What json.loads does, with one decoder made once (json.loads makes one per call when given options).
        text = data if isinstance(data, str) else data.decode(json.detect_encoding(data), "surrogatepass")
        value = _decoder.decode(text)
    except ValueError:  # JSONDecodeError, bad UTF-8, numbers Python refuses to convert, NaN and Infinity
        raise HTTPException(400, "the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise HTTPException(400, "the request body must be a JSON object (batches are not accepted)")
    return value


def encode_answer(data: object) -> bytes:
    """An answer's JSON, compact: orjson's (UTF-8, several times faster than the standard encoder), or the
    standard encoder's for what orjson refuses to write (an int beyond 64 bits, a lone surrogate, a key that
    is not a string), as before. The one difference: a NaN or an infinity, which only a JSON scalar's value
    can carry, is written null (valid JSON) instead of NaN (which no JSON parser reads)."""
    try:
        return orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError is one
        return _compact(data).encode()


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _request_data(data: object) -> GraphQLRequestData:
    """A JSON body's operation, checked as strawberry checks it (its messages)."""
    assert isinstance(data, dict)  # decode_object refuses anything else
    query, variables, extensions = data.get("query"), data.get("variables"), data.get("extensions")
    for name, value, kind in (
        ("query", query, "a string"),
        ("variables", variables, "an object"),
        ("extensions", extensions, "an object"),
    ):
        if value is not None and not isinstance(value, str if name == "query" else dict):
            raise HTTPException(400, f"The GraphQL operation's `{name}` must be {kind} or null, if provided.")
    return GraphQLRequestData(
        query=query,
        variables=variables,
        operation_name=data.get("operationName"),
        extensions=extensions,
        protocol="http",
    )


class GuardedGraphQL(GraphQL[Context, RootValue]):
    """strawberry's ASGI view, with the body rules above."""

    @cached_property
    def streams(self) -> bool:
        """Whether an HTTP streaming transport (multipart, SSE) is enabled: none is, subscriptions go over
        graphql-transport-ws."""
        return bool(self._stream_transport_map)

    def decode_json(self, data: str | bytes) -> object:
        return decode_object(data)

    def encode_json(self, data: object) -> str:
        # Text: strawberry sends a WebSocket message as a binary frame when it gets bytes.
        return encode_answer(data).decode()

    def takes_json_post(self, method: str, content_type: str | None) -> bool:
        """What nearly every request is: strawberry's general path would parse the Content-Type through
        email.message and look for a streaming transport in Accept (none is enabled here)."""
        return method == "POST" and _mime(content_type) == "application/json" and not self.streams

    def json_post_data(self, body: bytes) -> GraphQLRequestData:
        data = _request_data(self.parse_json(body))
        _check_variables(data)
        return data

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        if self.takes_json_post(request.method, request.content_type):
            return self.json_post_data(await request.get_body())
        parsed = await super().parse_http_body(request)
        for data in parsed if isinstance(parsed, list) else [parsed]:
            _check_variables(data)
        return parsed


def _check_variables(data: GraphQLRequestData) -> None:
    variables = data.variables or {}
    if max(map(_depth, variables.values()), default=0) > MAX_VARIABLES_DEPTH:
        raise HTTPException(400, f"variables nest deeper than {MAX_VARIABLES_DEPTH} levels")
