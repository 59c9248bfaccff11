"""Fixtures shared by every test area.

`stack` is the example stack (`gatehold up` with no config) running as a real subprocess on free
loopback ports for the whole session; `stack_factory` starts more (custom config, restarts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.stackctl import Stack, new_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = new_stack(tmp_path_factory.mktemp("stack")).start()
    try:
        yield s
    finally:
        s.stop()


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
