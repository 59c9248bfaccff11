"""Per-function environment variables in thread isolation (gatehold.runtime.environ)."""

from __future__ import annotations

import asyncio
import os

from tests.runtime.conftest import MakeInvoker
from tests.runtime.support import probe

KEY = "GATEHOLD_TEST_SHARED_KEY"


async def test_two_functions_see_their_own_value_for_the_same_key(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker(
        {
            "blue": probe("read_env", environment={KEY: "blue"}),
            "green": probe("read_env", environment={KEY: "green"}),
            "plain": probe("read_env"),
        }
    )
    event = {"keys": [KEY, "AWS_LAMBDA_FUNCTION_NAME"]}
    names = ["blue", "green", "plain"] * 5
    calls = [invoker.invoke(n, event, request_id=f"{n}-{i}") for i, n in enumerate(names)]
    results = await asyncio.gather(*calls)
    seen = {(r.payload[KEY][0], r.payload["AWS_LAMBDA_FUNCTION_NAME"][0]) for r in results}
    assert seen == {("blue", "blue"), ("green", "green"), (None, "plain")}
    # the gateway's own process environment is untouched
    assert KEY not in os.environ
    assert os.getenv("AWS_LAMBDA_FUNCTION_NAME") is None


async def test_writes_stay_in_the_function_and_persist_between_invocations(make_invoker: MakeInvoker) -> None:
    invoker = make_invoker({"writer": probe("write_env"), "reader": probe("read_env")})
    wrote = await invoker.invoke("writer", {"key": KEY, "value": "set-by-writer"}, request_id="w")
    assert wrote.payload == "set-by-writer"
    other = await invoker.invoke("reader", {"keys": [KEY]}, request_id="r")
    assert other.payload == {KEY: [None, None, False]}
    assert KEY not in os.environ
    # a warm sandbox keeps what its code set, as a Lambda execution environment does
    again = await invoker.invoke("writer", {"key": "GATEHOLD_OTHER", "value": "x"}, request_id="w2")
    assert again.error is None
    reread = await make_invoker({"w": probe("read_env")}).invoke("w", {"keys": [KEY]}, request_id="x")
    assert reread.payload == {KEY: [None, None, False]}
