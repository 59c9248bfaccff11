"""docs/testing.md's examples are what they say: the example-stack test file passes as printed, in a
directory of its own, with nothing but Gatehold installed; the sample project's files are shown as
they are in examples/pytest-project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "testing.md"
_BLOCK = re.compile(r"<!-- testing-example: (?P<what>[^>]+?) -->\n```\w*\n(?P<code>.*?)```", re.S)


def examples() -> dict[str, str]:
    return {m["what"]: m["code"] for m in _BLOCK.finditer(GUIDE.read_text(encoding="utf-8"))}


def test_the_guide_has_both_complete_examples() -> None:
    found = examples()
    assert "example-stack" in found
    assert {
        "file examples/pytest-project/pyproject.toml",
        "file examples/pytest-project/template.yaml",
        "file examples/pytest-project/src/orders.py",
        "file examples/pytest-project/tests/test_orders_auth.py",
    } <= set(found)


@pytest.mark.parametrize("what", [w for w in examples() if w.startswith("file ")])
def test_the_sample_project_files_are_shown_as_they_are(what: str) -> None:
    path = REPO / what.removeprefix("file ")
    assert examples()[what] == path.read_text(encoding="utf-8")


def test_the_example_stack_example_passes_as_printed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_unicorns=examples()["example-stack"])
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    printed = re.search(r"\$ pytest -q\n\S+\s+\[100%\]\n(\d+) passed", GUIDE.read_text(encoding="utf-8"))
    assert printed is not None
    result.assert_outcomes(passed=int(printed[1]))
