"""The import options as the command line reads them: `--parameter-overrides` the way
`sam local start-api` takes it, `--value REF=VALUE`."""

from __future__ import annotations

import click
import pytest

from gatehold.cli.common import parameter_overrides


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(("Stage=prod",), {"Stage": "prod"}, id="one"),
        pytest.param(("Stage=prod Size=3",), {"Stage": "prod", "Size": "3"}, id="space-separated"),
        pytest.param(("Stage=prod", "Size=3"), {"Stage": "prod", "Size": "3"}, id="repeated"),
        pytest.param(
            ("ParameterKey=Stage,ParameterValue=prod ParameterKey=Url,ParameterValue=https://x/?a=b",),
            {"Stage": "prod", "Url": "https://x/?a=b"},
            id="sam-long-form",
        ),
        pytest.param(("Name='a b' Empty=",), {"Name": "a b", "Empty": ""}, id="quoted-and-empty"),
        pytest.param(("AWS::Region=eu-west-1",), {"AWS::Region": "eu-west-1"}, id="pseudo-parameter"),
    ],
)
def test_parameter_overrides_as_sam_reads_them(given: tuple[str, ...], expected: dict[str, str]) -> None:
    assert parameter_overrides(given) == expected


@pytest.mark.parametrize(
    "given", [("Stage",), ("=x",), ("Name='unclosed",)], ids=["no-value", "no-key", "quote"]
)
def test_bad_parameter_overrides_are_refused(given: tuple[str, ...]) -> None:
    with pytest.raises(click.BadParameter):
        parameter_overrides(given)
