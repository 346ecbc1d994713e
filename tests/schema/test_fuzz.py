"""Generated inputs for every operation of the schema, as each kind of caller: never an internal error.

Operations and their variables come from introspection, so a new query or mutation is fuzzed without touching
this file. Hypothesis runs derandomized (the same inputs on every run, so CI is repeatable) in a thread, with
a synchronous client, while the API server keeps serving on the test's event loop. TESSERA_FUZZ_EXAMPLES
raises the number of inputs per operation and caller for a longer local hunt.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories as f
from tests.graphql import GraphQL

EXAMPLES = int(os.environ.get("TESSERA_FUZZ_EXAMPLES", "5"))

_TYPE_REF = "kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }"
INTROSPECTION = f"""
{{ __schema {{
    queryType {{ name }} mutationType {{ name }} subscriptionType {{ name }}
    types {{ kind name
      fields {{ name args {{ name type {{ {_TYPE_REF} }} }} type {{ {_TYPE_REF} }} }}
      inputFields {{ name type {{ {_TYPE_REF} }} }}
      enumValues {{ name }} }} }} }}
"""

Type = dict[str, Any]
Strategy = st.SearchStrategy[Any]


@dataclass(frozen=True)
class Operation:
    field: str
    document: str
    variables: tuple[tuple[str, Type], ...]


def _named(ref: Type) -> Type:
    while ref["ofType"] is not None:
        ref = ref["ofType"]
    return ref


def _rendered(ref: Type) -> str:
    if ref["kind"] == "NON_NULL":
        return _rendered(ref["ofType"]) + "!"
    if ref["kind"] == "LIST":
        return f"[{_rendered(ref['ofType'])}]"
    return str(ref["name"])


class _Builder:
    """One document per root field: every argument a variable, and below it every field that takes arguments
    (the ledger's cursor, say), two levels deep."""

    def __init__(self, types: dict[str, Type]) -> None:
        self.types = types
        self.variables: list[tuple[str, Type]] = []

    def call(self, field: Type, depth: int) -> str:
        args = []
        for arg in field["args"]:
            name = f"v{len(self.variables)}"
            self.variables.append((name, arg["type"]))
            args.append(f"{arg['name']}: ${name}")
        called = f"{field['name']}({', '.join(args)})" if args else field["name"]
        return called + self.selection(_named(field["type"]), depth)

    def selection(self, named: Type, depth: int) -> str:
        kind = self.types[named["name"]]["kind"]
        if kind in ("SCALAR", "ENUM"):
            return ""
        nested = []
        if kind == "OBJECT" and depth < 2:
            fields = self.types[named["name"]]["fields"]
            nested = [self.call(field, depth + 1) for field in fields if field["args"]]
        return " { " + " ".join(["__typename", *nested]) + " }"


def operations(schema: dict[str, Any]) -> list[Operation]:
    types = {t["name"]: t for t in schema["types"]}
    found = []
    for keyword, root in (
        ("query", "queryType"),
        ("mutation", "mutationType"),
        ("subscription", "subscriptionType"),
    ):
        if schema[root] is None:
            continue
        for field in types[schema[root]["name"]]["fields"]:
            builder = _Builder(types)
            body = builder.call(field, 0)
            declared = ", ".join(f"${name}: {_rendered(ref)}" for name, ref in builder.variables)
            header = f"{keyword}({declared})" if declared else keyword
            found.append(Operation(field["name"], f"{header} {{ {body} }}", tuple(builder.variables)))
    return found


NASTY_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\x07",
    "\x1b[2J",
    "\x7f",
    "\u0085",
    "line\nbreak\ttab\r",
    "\u200b",
    "\u202e",
    "\ufeff",
    "²",
    "\u0661",
    "\uff41\uff4c\uff49\uff43\uff45@example.com",
    "alice@example.com",
    "ali\u200bce@example.com",
    "x" * 5000,
    "' OR 1=1 --",
    "null",
    "-1",
    "0",
    "9" * 30,
    "9" * 5000,
    "🙂",
    "purchase",
    "check_in",
    "count",
    "EUR",
    "fr",
    "Europe/Paris",
]
_ALPHABET = st.characters(categories=["Cc", "Cs", "Cf", "Zs", "Lu", "Ll", "Nd", "No", "So", "Mn"])
TEXT = st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=30), st.text(_ALPHABET, max_size=12))
INTS = st.one_of(
    st.integers(-5, 100),
    st.integers(-(2**31), 2**31 - 1),
    st.sampled_from([2**31, -(2**31) - 1, 2**63, 10**30, 10**400]),
)
FLOATS = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e308, -0.0, 0.5]))
_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
DATETIMES = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00+14:00",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00",
            "last tuesday",
            (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        ]
    ),
    st.datetimes(timezones=_OFFSETS).map(datetime.isoformat),
    TEXT,
)
_JSON_LEAVES = st.one_of(st.none(), st.booleans(), INTS, FLOATS, TEXT)
JSON_VALUES = st.recursive(
    _JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
# The rule language gets rule-shaped input as well, so fuzzing reaches past "not an object".
RULES = st.fixed_dictionaries(
    {
        "steps": st.lists(
            st.fixed_dictionaries(
                {
                    "event": st.sampled_from(["purchase", "check_in", "eco_action"]) | TEXT,
                    "aggregate": st.sampled_from(
                        ["count", "sum", "distinct_days", "consecutive_days", "consecutive_weeks"]
                    )
                    | TEXT,
                    "target": INTS | TEXT,
                },
                optional={
                    "field": st.sampled_from(["amount_cents", "quantity", "category"]) | TEXT,
                    "within_days": INTS,
                    "filters": st.lists(
                        st.fixed_dictionaries(
                            {
                                "field": TEXT,
                                "op": st.sampled_from(["eq", "in", "gte", "lte", "contains"]) | TEXT,
                                "value": JSON_VALUES,
                            }
                        ),
                        max_size=2,
                    ),
                },
            ),
            max_size=3,
        )
    },
    optional={"ordered": st.booleans() | TEXT},
)


class Inputs:
    """Values for each GraphQL type, mixing the plausible (real ids, valid dates) with the hostile."""

    def __init__(self, types: dict[str, Type], ids: list[str]) -> None:
        self.types = types
        ids_strategy = st.one_of(
            st.sampled_from(ids),
            st.sampled_from(["²", "\uff11", "0", "-1", "2147483648", "9" * 5000, " 1", "1.0", "0x1"]),
            INTS.map(str),
            TEXT,
        )
        self.scalars: dict[str, Strategy] = {
            "String": TEXT,
            "ID": ids_strategy,
            "Int": INTS,
            "Float": FLOATS,
            "Boolean": st.booleans(),
            "DateTime": DATETIMES,
            "Date": DATETIMES.map(lambda text: text[:10]),
            "JSON": st.one_of(JSON_VALUES, RULES),
        }

    def of(self, ref: Type) -> Strategy:
        if ref["kind"] == "NON_NULL":
            # Mostly a value; now and then the null that coercion must refuse.
            return st.one_of(self._value(ref["ofType"]), self._value(ref["ofType"]), st.none())
        return st.one_of(st.none(), self._value(ref))

    def _value(self, ref: Type) -> Strategy:
        if ref["kind"] == "LIST":
            return st.lists(self.of(ref["ofType"]), max_size=4)
        definition = self.types[ref["name"]]
        if definition["kind"] == "ENUM":
            return st.sampled_from([v["name"] for v in definition["enumValues"]]) | TEXT
        if definition["kind"] == "INPUT_OBJECT":
            fields = {
                field["name"]: st.deferred(self._field(field["type"])) for field in definition["inputFields"]
            }
            required = {k: v for k, v in fields.items() if _is_required(definition, k)}
            optional = {k: v for k, v in fields.items() if k not in required}
            return st.fixed_dictionaries(required, optional=optional)
        return self.scalars.get(ref["name"], TEXT)

    def _field(self, ref: Type) -> Callable[[], Strategy]:
        return lambda: self.of(ref)


def _is_required(definition: Type, name: str) -> bool:
    [field] = [field for field in definition["inputFields"] if field["name"] == name]
    return bool(field["type"]["kind"] == "NON_NULL")


def _assert_coded(response: httpx.Response, sent: dict[str, Any], who: str) -> None:
    context = f"as {who}: {json.dumps(sent)[:2000]} -> {response.status_code} {response.text[:2000]}"
    assert response.status_code < 500, context
    assert response.headers.get("content-type", "").startswith("application/json"), context
    for error in response.json().get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, context
        assert code != "INTERNAL_SERVER_ERROR", context


def _check(
    client: httpx.Client, op: Operation, strategy: Strategy, who: str, headers: dict[str, str]
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(variables=strategy)
    def check(variables: dict[str, Any]) -> None:
        sent = {"query": op.document, "variables": variables}
        # json.dumps escapes lone surrogates (\ud800) as a hostile client would send them.
        body = json.dumps(sent).encode()
        response = client.post(
            "/graphql", content=body, headers={"content-type": "application/json", **headers}
        )
        _assert_coded(response, sent, who)

    check()


def _fuzz(base_url: str, ops: list[Operation], inputs: Inputs, callers: dict[str, dict[str, str]]) -> None:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for op in ops:
            strategy = st.fixed_dictionaries({name: inputs.of(ref) for name, ref in op.variables})
            for who, headers in callers.items():
                _check(client, op, strategy, who, headers)


async def _seeded_ids(gql: GraphQL, token: str, key: str, customer_id: str) -> list[str]:
    """Real rows for the generated ids to hit now and then."""
    await f.earn_rule()
    await gql(f.RECORD_PURCHASE, {"input": f.purchase(customer_id, "SEED-1")}, api_key=key)
    challenge = {
        "title": {"en": "Seed"},
        "startsAt": "2026-01-01T00:00:00Z",
        "rule": {"steps": [{"event": "purchase", "aggregate": "count", "target": 3}]},
    }
    created = await gql(
        "mutation($i: ChallengeInput!) { createChallenge(input: $i) { id } }", {"i": challenge}, token=token
    )
    badge = {
        "key": "seed",
        "name": {"en": "Seed"},
        "levels": [{"name": {"en": "One"}, "target": 1}],
    }
    made = await gql("mutation($i: BadgeInput!) { createBadge(input: $i) { id } }", {"i": badge}, token=token)
    return [customer_id, created["createChallenge"]["id"], made["createBadge"]["id"], "1", "2"]


async def test_generated_inputs_never_cause_an_internal_error(gql: GraphQL, server: str) -> None:
    alice = await f.customer(gql)
    marketer = await f.marketer_token(gql)
    key = await f.api_key("fuzz-till", ["purchases", "eco"])
    ids = await _seeded_ids(gql, marketer, key, alice.id)
    schema = (await gql(INTROSPECTION))["__schema"]
    ops = operations(schema)
    callers = {
        "a customer": {"Authorization": f"Bearer {alice.token}"},
        "a marketer": {"Authorization": f"Bearer {marketer}"},
        "an API key": {"X-API-Key": key},
        "nobody": {},
    }
    names = {op.field for op in ops}
    assert {"register", "login", "recordPurchase", "trackEvent", "createChallenge", "me"} <= names
    assert any("ledger(first: $" in op.document for op in ops)

    inputs = Inputs({t["name"]: t for t in schema["types"]}, ids)
    await asyncio.to_thread(_fuzz, server, ops, inputs, callers)
