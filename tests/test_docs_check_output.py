"""The `gatehold check` output printed in the docs is what `gatehold check` prints today.

Every ```text block of docs/*.md whose first line is ``$ gatehold check …`` and whose output starts
with ``OK`` is run from the
repository's root and its standard output compared with the rest of the block (absolute paths under
the repository shown relative, as the docs show them). To refresh the blocks after a change:

    .venv/bin/python -m tests.test_docs_check_output --write
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# a successful check's output (error examples are checked where they are written)
# a block may say where it runs: <!-- check-cwd: tests/importers/fixtures/sam/hello-world-rest -->
_BLOCK = re.compile(r"(?:<!-- check-cwd: (\S+) -->\n)?```text\n(\$ gatehold check [^\n]*)\n(OK .*?)```", re.S)


def blocks() -> list[tuple[Path, str, str, str]]:
    found = []
    for doc in sorted((REPO / "docs").glob("*.md")):
        for m in _BLOCK.finditer(doc.read_text(encoding="utf-8")):
            found.append((doc, m.group(1) or ".", m.group(2), m.group(3)))
    return found


def run(cwd: str, command: str) -> str:
    args = shlex.split(command)[1:]  # drop "$"
    result = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=120, cwd=REPO / cwd
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.replace(f"{REPO}/", "")


@pytest.mark.parametrize(
    ("doc", "cwd", "command", "printed"),
    blocks(),
    ids=[f"{d.name}:{cwd}:{c.split(' -c ')[1].split()[0]}" for d, cwd, c, _ in blocks()],
)
def test_docs_show_what_check_prints(doc: Path, cwd: str, command: str, printed: str) -> None:
    assert run(cwd, command) == printed, (
        f"{doc.name}: refresh with python -m tests.test_docs_check_output --write"
    )


def _has_configuration(example: Path) -> bool:
    """Whether an example holds something `gatehold check -c` reads (a gatehold.yaml, a template, an
    OpenAPI document, a serverless.yml, a cloud assembly: YAML or JSON); examples/deploy holds none,
    only what runs Gatehold (an nginx configuration, a systemd unit)."""
    return any(p.suffix in {".yaml", ".yml", ".json"} for p in example.rglob("*"))


def test_every_example_is_shown() -> None:
    shown = {c.split(" -c ")[1].split()[0] for _, _, c, _ in blocks()}
    for example in sorted((REPO / "examples").iterdir()):
        if not _has_configuration(example):
            continue
        assert any(s.startswith(f"examples/{example.name}/") for s in shown), example.name


def _write() -> None:
    for doc in sorted((REPO / "docs").glob("*.md")):
        text = doc.read_text(encoding="utf-8")
        new = _BLOCK.sub(
            lambda m: (
                (f"<!-- check-cwd: {m.group(1)} -->\n" if m.group(1) else "")
                + f"```text\n{m.group(2)}\n{run(m.group(1) or '.', m.group(2))}```"
            ),
            text,
        )
        if new != text:
            doc.write_text(new, encoding="utf-8")
            print(f"refreshed {doc.relative_to(REPO)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        _write()
