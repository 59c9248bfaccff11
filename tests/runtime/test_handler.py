"""``marshal``: orjson's fast path for plain results gives exactly what ``json.dumps`` gives once parsed
back, and everything else still goes through ``json.dumps`` (gatehold.runtime.handler)."""

from __future__ import annotations

import decimal
import enum
import json
import math
import uuid
from typing import Any

import pytest

from gatehold.runtime.handler import _encode_decimal, marshal, unmarshal


class Colour(enum.Enum):
    RED = "red"


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"statusCode": 200, "body": '{"a": 1}'}, id="proxy-response"),
        pytest.param({"statusCode": 200, "headers": {"x": "1"}, "cookies": ["a=b"]}, id="headers-cookies"),
        pytest.param({"a": 1.5, "b": [1, "x", None, True], "c": 1e16}, id="scalars"),
        pytest.param({"n": 2**70}, id="int-past-64-bits"),
        pytest.param({"s": "\ud800"}, id="lone-surrogate"),
        pytest.param({1: 2, None: 3}, id="non-string-keys"),
        pytest.param({"d": decimal.Decimal("1.5"), "i": decimal.Decimal("2")}, id="decimals"),
        pytest.param({"t": (1, 2)}, id="tuple"),
        pytest.param({"nested": {"x": {"y": [1, {"z": 2}]}}}, id="nested"),
        pytest.param("text", id="string"),
        pytest.param(None, id="null"),
    ],
)
def test_marshal_parses_back_as_json_dumps_does(result: Any) -> None:
    assert unmarshal(marshal(result)) == unmarshal(json.dumps(result, default=_encode_decimal))


def test_nan_stays_nan() -> None:
    assert math.isnan(unmarshal(marshal({"n": float("nan")}))["n"])


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"s": {1, 2}}, id="set"),
        pytest.param({"u": uuid.UUID(int=1)}, id="uuid"),
        pytest.param({"e": Colour.RED}, id="enum"),
    ],
)
def test_what_json_dumps_refuses_is_refused(result: Any) -> None:
    with pytest.raises(TypeError):
        marshal(result)
