"""examples/pytest-project, the sample user project of docs/testing.md, passes its own tests as its
users run them: ``python -m pytest`` in its directory, with Gatehold installed as a package (this
environment's), the plugin found through its entry point, nothing of this repository's tests around."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pytest-project"
#: the sample's tests: 5 route checks, one per failure mode (9), the clock test
EXPECTED_PASSED = 15


def test_the_sample_project_passes_its_own_tests(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--basetemp={tmp_path / 'run'}"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(rf"\b{EXPECTED_PASSED} passed\b", summary), output
    assert "skipped" not in summary, output
    assert "error" not in summary, output
    assert f"rootdir: {EXAMPLE}" in output  # its own configuration, not this repository's
