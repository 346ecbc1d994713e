"""How answers are written (schema/bodies.py `encode_answer`): orjson, or the standard encoder for what
orjson refuses, so that every answer the API wrote before is still written, and read back the same."""

from __future__ import annotations

import json
import math

import pytest

from schema.bodies import encode_answer

PLAIN = {"data": {"b": [1, -(2**63), 2**64 - 1, 0.1, 1e300, True, None], "a": 'é 😀 \u0000 "q" \\'}}


def test_a_plain_answer_reads_back_as_it_was_in_its_order() -> None:
    written = encode_answer(PLAIN)
    assert json.loads(written) == PLAIN
    assert list(json.loads(written)["data"]) == ["b", "a"]
    assert b", " not in written
    assert b": " not in written
    assert "é 😀".encode() in written  # UTF-8, not escapes


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(2**64, id="int-beyond-64-bits"),
        pytest.param(-(2**70), id="negative-int-beyond-64-bits"),
        pytest.param("lone \ud800 surrogate", id="lone-surrogate"),
        pytest.param({1: "int key"}, id="int-key"),
    ],
)
def test_what_orjson_refuses_is_written_by_the_standard_encoder(value: object) -> None:
    answer = {"data": {"value": value}}
    written = encode_answer(answer)
    assert written == json.dumps(answer, separators=(",", ":")).encode()
    assert json.loads(written) == json.loads(json.dumps(answer))


def test_a_nan_or_an_infinity_is_written_null() -> None:
    written = encode_answer({"data": {"values": [math.nan, math.inf, -math.inf, 1.5]}})
    assert json.loads(written) == {"data": {"values": [None, None, None, 1.5]}}
