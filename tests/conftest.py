"""Fixtures shared by every test area.

`stack` is the example stack (`gatehold up` with no config) running as a real subprocess on free
loopback ports for the whole session; `example_stack` is it and, as a second parameter, the same
stack with the seeds' own Node.js code (examples/seeds-node); `stack_factory` starts more (custom
config, restarts). The session's stacks are the pytest plugin's (`gatehold_stacks`, from
gatehold.testing.pytest_plugin), as a user's tests get them: `gatehold_stack` in a test here is
`stack`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gatehold.testing.pytest_plugin import GateholdStacks
from tests.stackctl import Stack, new_stack

SEEDS_NODE = Path(__file__).resolve().parents[1] / "examples" / "seeds-node" / "gatehold.yaml"


@pytest.fixture(scope="session")
def python_stack(gatehold_stacks: GateholdStacks) -> Stack:
    return gatehold_stacks.shared()  # stopped at the session's end


@pytest.fixture(scope="session")
def stack(python_stack: Stack) -> Stack:
    return python_stack


@pytest.fixture(scope="session")
def seeds_node_stack(gatehold_stacks: GateholdStacks) -> Stack:
    """The example stack with the seeds' own JavaScript (examples/seeds-node): the same APIs, tenant
    and single-page app; its first start installs the functions' npm dependencies."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for examples/seeds-node (apt-get install nodejs npm)")
    return gatehold_stacks.shared(SEEDS_NODE, timeout=300)


@pytest.fixture(scope="session", params=["python", "seeds-node"])
def example_stack(request: pytest.FixtureRequest) -> Stack:
    """The example stack as Gatehold ships it (Python ports of the seeds) and with the seeds' own
    Node.js code: modules whose tests hold for both override ``stack`` with this."""
    fixture = "python_stack" if request.param == "python" else "seeds_node_stack"
    found: Stack = request.getfixturevalue(fixture)
    return found


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    started: list[Stack] = []

    def factory(
        config: Path | None = None, data_dir: Path | None = None, extra_args: list[str] | None = None
    ) -> Stack:
        s = new_stack(data_dir or tmp_path / f"stack{len(started)}", config, extra_args).start()
        started.append(s)
        return s

    yield factory
    for s in started:
        s.stop()
