"""A query run from its plan (schema/plans.py) answers what graphql-core answers, errors included.

No `from __future__ import annotations` here: strawberry reads the annotations of the types below."""

import json
from typing import Any

import pytest
import strawberry
from graphql import OperationDefinitionNode, get_variable_values, parse
from strawberry.permission import BasePermission

from game.errors import bad_input
from schema import plans
from schema.execution import LeanExecutionContext
from schema.inputs import build_inputs_in_one_pass
from schema.request_rules import Limits, TesseraSchema
from schema.resolvers import call_resolvers_directly
from tests.schema.test_resolvers import Colour, Filter  # the same enum and input, in another schema

CALLS: list[str] = []


class Never(BasePermission):
    message = "never"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        raise bad_input("never, raised")


@strawberry.type
class Entry:
    rank: int
    name: str


@strawberry.type
class Page:
    entries: list[Entry]
    total: int


ENTRIES = [Entry(rank=1, name="ada"), Entry(rank=2, name="bob"), Entry(rank=2, name="cy")]


@strawberry.type
class Query:
    @strawberry.field
    async def board(self, key: str, first: int | None = 10, after: str | None = None) -> Page:
        CALLS.append("board")
        shown = ENTRIES[int(after or 0) : int(after or 0) + (first if first is not None else 99)]
        return Page(entries=[Entry(rank=e.rank, name=f"{key}:{e.name}") for e in shown], total=len(ENTRIES))

    @strawberry.field
    async def rank(self, key: str, info: strawberry.Info) -> Entry | None:
        CALLS.append("rank")
        return None if key == "nobody" else Entry(rank=3, name=f"{key}:{info.variable_values}")

    @strawberry.field
    def count(self, n: int) -> int:
        CALLS.append("count")
        return n * 2

    @strawberry.field
    def tag(self, id: strawberry.ID, flag: bool | None = None, score: float | None = None) -> str:
        CALLS.append("tag")
        return f"{id!r} {flag!r} {score!r}"

    @strawberry.field
    def paint(self, colour: Colour = Colour.RED, colours: list[Colour] | None = None) -> str:
        CALLS.append("paint")
        return f"{colour.value} {[c.value for c in colours or []]}"

    @strawberry.field
    def echo(self, f: Filter) -> str:
        CALLS.append("echo")
        return f"{f.colour.value} {f.counts}"

    @strawberry.field
    async def fails(self) -> int | None:
        CALLS.append("fails")
        raise bad_input("the resolver failed")

    @strawberry.field
    def promise(self) -> str:
        CALLS.append("promise")
        return None  # type: ignore[return-value]  # a broken promise: graphql-core's located error

    @strawberry.field(permission_classes=[Never])
    def guarded(self) -> str | None:
        CALLS.append("guarded")
        return "leaked"


@strawberry.type
class Mutation:
    @strawberry.mutation
    def bump(self, n: int) -> int:
        CALLS.append("bump")
        return n + 1


def _schema() -> TesseraSchema:
    schema = TesseraSchema(query=Query, mutation=Mutation, execution_context_class=LeanExecutionContext)
    schema.limits = Limits(max_tokens=10_000, rules=(), hide_suggestions=False)
    build_inputs_in_one_pass(schema)
    call_resolvers_directly(schema)
    return schema


SCHEMA = _schema()

# (query, variables, what the plan does with it: it answers, it gives up, or the operation has none)
ANSWERS, GIVES_UP, NO_PLAN = "answers", "gives up", "no plan"
REFUSED = "variables refused"  # by graphql-core: no plan is worked out, or the plan hands them to it
TAG = "query($id: ID!, $flag: Boolean, $score: Float) { tag(id: $id, flag: $flag, score: $score) }"
CASES: list[tuple[str, dict[str, Any] | None, str]] = [
    (
        "query($key: String!) { board(key: $key, first: 2) { entries { rank name } total } "
        "mine: rank(key: $key) { rank name } count(n: 3) }",
        {"key": "k"},
        ANSWERS,
    ),
    ('{ board(key: "a") { total entries { name } } }', None, ANSWERS),  # defaults: first 10, after null
    ('query($f: Int) { board(key: "a", first: $f) { total entries { name } } }', {}, ANSWERS),
    ('query($f: Int) { board(key: "a", first: $f) { total entries { name } } }', {"f": None}, ANSWERS),
    ('query($a: String) { board(key: "a", after: $a) { entries { name } } }', {"a": "1"}, ANSWERS),
    ('query($k: String! = "dflt") { rank(key: $k) { name } }', {}, ANSWERS),
    ('{ rank(key: "nobody") { name } }', None, ANSWERS),  # a null where null is allowed
    ("{ __typename count(n: 1) }", None, ANSWERS),
    ("{ a: count(n: 1) b: count(n: 2) a: count(n: 1) }", None, ANSWERS),
    ("{ ...F c: count(n: 7) } fragment F on Query { count(n: 5) }", None, ANSWERS),
    ("{ paint(colour: BLUE, colours: [RED, BLUE]) }", None, ANSWERS),
    ("query($c: [Colour!]) { paint(colours: $c) }", {"c": ["BLUE"]}, ANSWERS),
    ("{ echo(f: {colour: BLUE, counts: [1, 2]}) }", None, ANSWERS),
    ("query($n: Int!) { echo(f: {colour: RED, counts: [$n]}) }", {"n": 4}, ANSWERS),
    # Variables taken as they come, and those graphql-core converts, defaults or refuses.
    (TAG, {"id": "x1", "flag": True, "score": 1.5}, ANSWERS),
    (TAG, {"id": 7, "flag": None, "score": 2}, ANSWERS),  # an int ID becomes "7", an int Float 2.0
    (TAG, {"id": "x1"}, ANSWERS),
    (TAG, {"id": "x1", "flag": "yes"}, REFUSED),
    (TAG, {"id": None}, REFUSED),
    (TAG, {"id": True}, REFUSED),
    ('query($k: String! = "d", $n: Int! = 1) { rank(key: $k) { name } count(n: $n) }', {"n": 5}, ANSWERS),
    ("query($n: Int!) { count(n: $n) }", {"n": -(2**30)}, ANSWERS),  # Int's bound, once doubled
    ("query($n: Int!) { count(n: $n) }", {"n": 2**31}, REFUSED),
    ("query($n: Int!) { count(n: $n) }", {"n": 2.0}, ANSWERS),  # graphql-core takes a whole float
    ("query($n: Int!) { count(n: $n) }", {"n": True}, REFUSED),
    ('{ board(key: "a") { total } fails }', None, GIVES_UP),
    ("{ count(n: 1) promise }", None, GIVES_UP),
    ("{ guarded count(n: 1) }", None, GIVES_UP),
    ("{ count(n: 1) guarded }", None, GIVES_UP),
    ("query($n: Int!) { count(n: $n) }", {"n": "x"}, REFUSED),  # variables refused: graphql-core says so
    ("query($n: Int!) { count(n: $n) }", {"n": 2**40}, REFUSED),
    ("query($n: Int!) { count(n: $n) @include(if: true) }", {"n": 1}, NO_PLAN),
    ("{ __schema { queryType { name } } }", None, NO_PLAN),
    ("mutation { bump(n: 1) }", None, NO_PLAN),
]


async def _answer(query: str, variables: dict[str, Any] | None) -> str:
    result = await SCHEMA.execute(query, variable_values=variables)
    errors = sorted(json.dumps(e.formatted, sort_keys=True) for e in result.errors or [])
    return json.dumps({"data": result.data, "errors": errors})  # keys in the answer's order


@pytest.mark.parametrize(("query", "variables", "outcome"), CASES)
async def test_a_plan_answers_as_graphql_core_does(
    query: str, variables: dict[str, Any] | None, outcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as without_plans:
        without_plans.setattr(plans, "for_operation", lambda *_args: None)
        CALLS.clear()
        expected = await _answer(query, variables)
        expected_calls = list(CALLS)
    run = plans.Plan.run
    outcomes: list[bool] = []

    async def recorded(plan: plans.Plan, *args: Any) -> Any:
        data = await run(plan, *args)
        outcomes.append(data is not None)
        return data

    monkeypatch.setattr(plans.Plan, "run", recorded)
    for _ in range(2):  # the plan worked out, then found again
        CALLS.clear()
        assert await _answer(query, variables) == expected
        if outcome == ANSWERS:
            assert CALLS == expected_calls  # each resolver once: graphql-core did not run it again
        elif outcome == GIVES_UP:  # the plan's calls up to the one it gave up on, then graphql-core's
            assert CALLS[len(CALLS) - len(expected_calls) :] == expected_calls
    if outcome == REFUSED:  # refused before a resolver ran, either way
        assert True not in outcomes
        assert CALLS == expected_calls == []
    else:
        assert outcomes == {ANSWERS: [True, True], GIVES_UP: [False, False], NO_PLAN: []}[outcome]


async def test_the_cases_compared_include_errors() -> None:
    # The comparison above is only worth something if graphql-core's answers hold the hard cases.
    answers = [json.loads(await _answer(query, variables)) for query, variables, _ in CASES]
    errors = [json.loads(e) for answer in answers for e in answer["errors"]]
    messages = {e["message"] for e in errors}
    assert {"the resolver failed", "never, raised"} <= messages
    assert any("Int cannot represent non-integer value" in m for m in messages)
    assert any("Int cannot represent non 32-bit signed integer" in m for m in messages)
    assert {"data": {"board": {"total": 3}, "fails": None}} in [{"data": a["data"]} for a in answers]
    # A broken promise of a non-null root field: the whole answer's data null, the error on that field.
    assert any(a["data"] is None and '"path": ["promise"]' in a["errors"][0] for a in answers)


@pytest.mark.parametrize(
    ("query", "variables"), [(q, v) for q, v, _ in CASES if v is not None] + [(TAG, {"id": "a", "extra": 1})]
)
def test_variables_are_coerced_as_graphql_core_coerces_them(query: str, variables: dict[str, Any]) -> None:
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    schema = SCHEMA._schema
    plan = plans.Plan(operation, schema.query_type, {}, (), plans._variables(schema, operation))  # type: ignore[arg-type]

    def shown(values: Any) -> Any:
        if isinstance(values, list):
            return [e.message for e in values]
        sources = {k: (s.signature.name, str(s.signature.type), s.value) for k, s in values.sources.items()}
        return sources, values.coerced, [type(v) for v in values.coerced.values()]

    expected = get_variable_values(schema, operation.variable_definitions, variables)
    assert shown(plan.coerce(schema, variables)) == shown(expected)
