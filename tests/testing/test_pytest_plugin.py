"""The pytest plugin (gatehold.testing.pytest_plugin) as a user's test run meets it: pytest in a
fresh interpreter (the plugin loaded through its pytest11 entry point), test files of a user's shape,
real stacks started and stopped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "examples" / "pytest-project" / "template.yaml"

# each test notes which stack it got (its gateway port and gatehold up's pid) in seen/
RECORD = """
import json, os, pathlib, pytest

def record(stack, name):
    seen = pathlib.Path(os.environ["SEEN_DIR"])
    (seen / name).write_text(json.dumps({"port": stack.gateway_port, "pid": stack.proc.pid}))
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def seen(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = pytester.path / "seen"
    directory.mkdir()
    monkeypatch.setenv("SEEN_DIR", str(directory))
    pytester.makeconftest(RECORD)
    pytester.makeini(
        f"""
        [pytest]
        gatehold_config = {TEMPLATE}
        gatehold_args = --issuer-alias https://example-shop.eu.auth0.com/
        """
    )
    return directory


def stacks(seen: Path) -> dict[str, dict[str, int]]:
    return {p.name: json.loads(p.read_text()) for p in seen.iterdir()}


def test_session_stack_is_shared_and_a_marked_test_gets_its_own(
    pytester: pytest.Pytester, seen: Path
) -> None:
    pytester.makepyfile(
        test_a="""
        import pytest
        from conftest import record

        def test_one(gatehold_stack, gatehold_client):
            record(gatehold_stack, "a1")
            assert gatehold_client.get("/health").json() == {"status": "ok"}
            assert gatehold_client.get("/orders").status_code == 401

        @pytest.mark.gatehold(scope="function")
        def test_own(gatehold_stack):
            record(gatehold_stack, "own")

        def test_after_own(gatehold_stack):
            import json, os, pathlib
            own = json.loads((pathlib.Path(os.environ["SEEN_DIR"]) / "own").read_text())
            with pytest.raises(ProcessLookupError):  # stopped when its test ended
                os.kill(own["pid"], 0)
            record(gatehold_stack, "a2")
        """,
        test_b="""
        from conftest import record

        def test_two(gatehold_stack):
            record(gatehold_stack, "b1")
        """,
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    got = stacks(seen)
    assert got["a1"] == got["a2"] == got["b1"]  # one stack for the session
    assert got["own"]["port"] != got["a1"]["port"]
    for stack in got.values():
        assert not alive(stack["pid"])  # all stopped when the session ended


def test_module_scope_is_one_stack_per_module(pytester: pytest.Pytester, seen: Path) -> None:
    for module in ("a", "b"):
        pytester.makepyfile(
            **{
                f"test_{module}": f"""
                from conftest import record

                def test_one(gatehold_stack):
                    record(gatehold_stack, "{module}1")

                def test_two(gatehold_stack):
                    record(gatehold_stack, "{module}2")
                """
            }
        )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--gatehold-scope", "module")
    result.assert_outcomes(passed=4)
    got = stacks(seen)
    assert got["a1"] == got["a2"]
    assert got["b1"] == got["b2"]
    assert got["a1"]["port"] != got["b1"]["port"]
    assert not alive(got["a1"]["pid"])
    assert not alive(got["b1"]["pid"])


def test_tokens_and_clock_fixtures_follow_the_stack(pytester: pytest.Pytester, seen: Path) -> None:
    pytester.makepyfile(
        test_c="""
        def test_token_then_expiry(gatehold_client, gatehold_tokens, gatehold_clock):
            gatehold_clock.freeze()
            headers = {"Authorization": "Bearer " + gatehold_tokens.passing("GET /orders")}
            assert gatehold_client.get("/orders", headers=headers).status_code == 200
            gatehold_clock.advance(3 * 86_400)
            assert gatehold_client.get("/orders", headers=headers).status_code == 401

        def test_the_clock_runs_again_after_a_test(gatehold_clock):
            assert not gatehold_clock.reading().frozen
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize(
    "how",
    [
        ["--gatehold-mode", "in-process"],
        ["-o", "gatehold_mode=in-process"],
    ],
    ids=["command-line", "ini"],
)
def test_in_process_is_refused_with_the_reason(pytester: pytest.Pytester, how: list[str]) -> None:
    pytester.makepyfile("def test_x(gatehold_stack): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *how)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*in-process is not supported*one process per service*"])


def test_a_marker_asking_for_in_process_is_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.gatehold(mode="in-process")
        def test_x(gatehold_stack):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*in-process is not supported*"])


def test_a_stack_that_cannot_start_fails_the_test_with_its_output(pytester: pytest.Pytester) -> None:
    (pytester.path / "broken.yaml").write_text("apis: 5\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.gatehold(config="broken.yaml")
        def test_x(gatehold_stack):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*StackStartError: gatehold up exited with 2*", "*apis*"])


def test_the_plugin_is_loaded_without_starting_anything(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_x(request):
            assert request.config.pluginmanager.has_plugin("gatehold")
            assert "gatehold.testing.stack" not in sys.modules
            assert "httpx" not in sys.modules
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncio", "--fixtures")
    result.stdout.fnmatch_lines(
        ["*gatehold_stack*", "*gatehold_client*", "*gatehold_tokens*", "*gatehold_clock*"]
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=1)
