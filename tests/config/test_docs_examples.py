"""Every example in docs/configuration.md is a configuration Gatehold accepts — or, for the error
example, refuses with exactly the problems the page prints — so the page cannot drift from the code.

The first line of a ```yaml block says what it is:

* nothing special: a complete ``gatehold.yaml``;
* ``# fragment`` or ``# fragment: a.b.c``: a piece of the page's complete example
  (docs/examples/gatehold.yaml), merged into it at that key path — maps key by key, lists of maps
  extended (an entry whose first key has the same value replaces the old one), other values
  replaced. Relative ``code_path`` values stay relative to docs/examples, as in the complete example;
* ``# file: PATH``: the rest of the block is the repository file PATH, byte for byte, and PATH passes
  the real ``gatehold check`` command;
* ``# error: TEXT``: the configuration is refused, with exactly the problems listed in the ```text
  block that follows it on the page.

A ```python block is valid Python, and one whose first line is ``# file: PATH`` is that file.

Each configuration goes through what ``gatehold check`` runs: the schema, the cross references, the
route tables, the authorizers, the integrations and the handler modules.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from pydantic import BaseModel

from gatehold.cli.common import validate
from gatehold.config import ConfigError, load_config
from gatehold.config.models import GateholdConfig
from gatehold.config.problems import ConfigProblem
from gatehold.server import StackOptions

ROOT = Path(__file__).parents[2]
PAGE = ROOT / "docs" / "configuration.md"
COMPLETE = ROOT / "docs" / "examples" / "gatehold.yaml"
ENVIRONMENT = {"PARTNER_SECRET": "partner-secret-from-the-env", "ADMIN_SITE_SECRET": "admin-site-secret"}


@dataclass(frozen=True)
class Block:
    language: str
    line: int  # of the block's first content line, in the page
    text: str

    @property
    def marker(self) -> tuple[str, str]:
        """``("fragment", "apis.shop")``, ``("file", PATH)``, ``("error", TEXT)`` or ``("", "")``."""
        first = self.text.split("\n", 1)[0]
        m = re.match(r"#\s*(fragment|file|error)\b:?\s*(\S*.*?)\s*$", first)
        return (m.group(1), m.group(2)) if m else ("", "")

    @property
    def body(self) -> str:
        """The text without its marker line."""
        return self.text.split("\n", 1)[1] if self.marker[0] else self.text


def page_blocks() -> list[Block]:
    blocks: list[Block] = []
    lines = PAGE.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if m is None:
            i += 1
            continue
        start = i + 1
        end = start
        while not lines[end].startswith("```"):
            end += 1
        blocks.append(Block(m.group(1), start + 1, "\n".join(lines[start:end]) + "\n"))
        i = end + 1
    return blocks


BLOCKS = page_blocks()


def _params(language: str, *, kinds: tuple[str, ...] = ("", "fragment", "file")) -> list[Any]:
    return [
        pytest.param(b, id=f"line {b.line} {b.marker[0]} {b.marker[1]}".rstrip())
        for b in BLOCKS
        if b.language == language and b.marker[0] in kinds
    ]


# --------------------------------------------------------------------------------------------------
# building the configuration a block stands for
# --------------------------------------------------------------------------------------------------


def _same_entry(a: Any, b: Any) -> bool:
    if not (isinstance(a, dict) and isinstance(b, dict) and a and b):
        return False
    key = next(iter(b))
    return key in a and a[key] == b[key]


def merge(base: Any, piece: Any) -> Any:
    if isinstance(base, dict) and isinstance(piece, dict):
        out = dict(base)
        for key, value in piece.items():
            out[key] = merge(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(piece, list) and all(isinstance(v, dict) for v in piece):
        kept = [old for old in base if not any(_same_entry(old, new) for new in piece)]
        return kept + piece
    return piece


def _absolute_code_paths(data: dict[str, Any]) -> None:
    """Fragments live in docs/examples: their relative code (and import) paths are relative to it."""
    here = COMPLETE.parent
    for fn in (data.get("functions") or {}).values():
        if isinstance(fn, dict) and fn.get("code_path"):
            fn["code_path"] = str((here / fn["code_path"]).resolve())
    hooks = (data.get("tenant") or {}).get("hooks") or {}
    if hooks.get("code_path"):
        hooks["code_path"] = str((here / hooks["code_path"]).resolve())
    for entry in data.get("imports") or ():  # so are the documents they import
        if isinstance(entry, dict) and entry.get("path"):
            entry["path"] = str((here / entry["path"]).resolve())


def fragment_config(block: Block) -> str:
    """The complete example with the block merged in at its key path, as YAML."""
    base = yaml.safe_load(COMPLETE.read_text(encoding="utf-8"))
    piece = yaml.safe_load(block.body)
    path = [p for p in block.marker[1].split(".") if p]
    for key in reversed(path):
        piece = {key: piece}
    data = merge(copy.deepcopy(base), piece)
    _absolute_code_paths(data)
    return yaml.safe_dump(data, sort_keys=False)


def assert_is_the_file(block: Block) -> None:
    relative = block.marker[1]
    on_disk = (ROOT / relative).read_text(encoding="utf-8")
    assert block.body == on_disk, f"the page's {relative} is not the file"


def problems_of(path: Path) -> tuple[list[ConfigProblem], list[str]]:
    """What ``gatehold check -c path`` reports: every problem, and the warnings."""
    try:
        loaded = load_config(path, variables=StackOptions().variables())
    except ConfigError as exc:
        return exc.problems, []
    return validate(loaded)


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)


# --------------------------------------------------------------------------------------------------
# the YAML examples
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", _params("yaml"))
def test_each_yaml_example_is_a_valid_configuration(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, environment: None
) -> None:
    kind = block.marker[0]
    if kind == "file":
        assert_is_the_file(block)
        return  # test_the_documented_files_pass_gatehold_check runs the real command on it
    path = tmp_path / "gatehold.yaml"
    path.write_text(fragment_config(block) if kind == "fragment" else block.body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    problems, _warnings = problems_of(path)
    assert [str(p) for p in problems] == []


ERROR_BLOCKS = [b for b in BLOCKS if b.language == "yaml" and b.marker[0] == "error"]


def _printed_problems(after: Block) -> list[str]:
    """The problem lines of the ```text block that follows ``after`` on the page."""
    following = next(b for b in BLOCKS if b.line > after.line and b.language == "text")
    return [line.strip() for line in following.text.splitlines() if line.startswith("  ")]


@pytest.mark.parametrize("block", _params("yaml", kinds=("error",)))
def test_the_error_example_prints_what_the_page_shows(
    block: Block, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gatehold.yaml").write_text(block.text, encoding="utf-8")  # the marker line counts
    monkeypatch.chdir(tmp_path)
    problems, _warnings = problems_of(Path("gatehold.yaml"))
    printed = [str(p) for p in problems]
    assert printed == _printed_problems(block)
    assert any(block.marker[1] in line for line in printed)


def test_the_page_has_an_example_of_each_kind() -> None:
    kinds = {b.marker[0] for b in BLOCKS if b.language == "yaml"}
    assert kinds == {"fragment", "file", "error"}
    assert ERROR_BLOCKS


FILES = sorted({b.marker[1] for b in BLOCKS if b.language == "yaml" and b.marker[0] == "file"})


@pytest.mark.parametrize("relative", FILES)
def test_the_documented_files_pass_gatehold_check(relative: str) -> None:
    """The real command, as a reader runs it from the repository root."""
    done = subprocess.run(
        [sys.executable, "-m", "gatehold", "check", "-c", relative],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"OK {relative} (gatehold.yaml)")
    assert "warning" not in done.stderr


def test_the_complete_example_is_on_the_page() -> None:
    assert "docs/examples/gatehold.yaml" in FILES


# --------------------------------------------------------------------------------------------------
# the other examples: Python handlers and JSON events / results
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", _params("python", kinds=("", "file")))
def test_each_python_example_parses_and_is_the_file_it_names(block: Block) -> None:
    ast.parse(block.text, filename=f"{PAGE}:{block.line}")
    if block.marker[0] == "file":
        assert_is_the_file(block)


@pytest.mark.parametrize("block", _params("json", kinds=("",)))
def test_each_json_example_parses(block: Block) -> None:
    assert isinstance(json.loads(block.text), dict)


# --------------------------------------------------------------------------------------------------
# every key is documented
# --------------------------------------------------------------------------------------------------


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[type[BaseModel]]:
    if model in seen:
        return
    seen.add(model)
    yield model
    for field in model.model_fields.values():
        stack: list[Any] = [field.annotation]
        while stack:
            t = stack.pop()
            if isinstance(t, type) and issubclass(t, BaseModel):
                yield from _models(t, seen)
            else:
                stack.extend(get_args(t))


MODEL_FIELDS = [
    (model.__name__, name) for model in _models(GateholdConfig, set()) for name in model.model_fields
]


@pytest.mark.parametrize(("model", "key"), [pytest.param(m, k, id=f"{m}.{k}") for m, k in MODEL_FIELDS])
def test_every_key_of_every_model_is_documented(model: str, key: str) -> None:
    """Each key has a row in one of docs/configuration.md's tables: its first cell names it."""
    page = PAGE.read_text(encoding="utf-8")
    row = re.compile(rf"^\| [^|\n]*`{re.escape(key)}`[^|\n]*\|", re.MULTILINE)
    assert row.search(page), f"{model}.{key} has no row in docs/configuration.md"
