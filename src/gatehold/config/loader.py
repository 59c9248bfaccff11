"""Load `gatehold.yaml` into :class:`GateholdConfig`, with errors that name file, line and key.

YAML is composed into nodes first so that each key path keeps its line; pydantic's error locations
are then mapped back to the nearest line. ``${name}`` placeholders are replaced before validation
from ``variables`` (for example ``${spa_url}``, ``${idp_url}``, ``${gateway_url}``) and
``${env:NAME}`` from the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gatehold.config.models import GateholdConfig

_PLACEHOLDER = re.compile(r"\$\{(env:)?([A-Za-z_][A-Za-z0-9_]*)\}")

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    key_path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key_path}:" if self.key_path else ""
        return f"{where}:{key} {self.message}"


class ConfigError(Exception):
    """A configuration that cannot be honoured; ``problems`` each name file, line and key path."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedConfig:
    config: GateholdConfig
    path: Path | None
    lines: Mapping[KeyPath, int]

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def line_of(self, *key_path: str | int) -> int | None:
        """The line of the deepest known prefix of ``key_path``."""
        path: KeyPath = tuple(key_path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


def _to_python(
    node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], variables: Mapping[str, str]
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = (
                yaml.safe_load(yaml.serialize(key_node))
                if not isinstance(key_node, yaml.ScalarNode)
                else key_node.value
            )
            if isinstance(key, str | int):
                child: KeyPath = (*path, key)
            else:
                child = (*path, str(key))
            lines[child] = key_node.start_mark.line + 1
            if key in out:
                raise ConfigError(
                    [ConfigProblem("", key_node.start_mark.line + 1, _dotted(child), "duplicate key")]
                )
            out[key] = _to_python(value_node, child, lines, variables)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, (*path, i), lines, variables) for i, v in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    value = yaml.safe_load(yaml.serialize(node))
    if isinstance(value, str) and "${" in value:
        value = _substitute(value, variables, path, node.start_mark.line + 1)
    return value


def _substitute(value: str, variables: Mapping[str, str], path: KeyPath, line: int) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1):
            env = os.environ.get(m.group(2))
            if env is None:
                raise ConfigError(
                    [ConfigProblem("", line, _dotted(path), f"environment variable {m.group(2)} is not set")]
                )
            return env
        name = m.group(2)
        if name not in variables:
            # Leave unknown placeholders alone: ${stageVariables.x} and friends are resolved later.
            return m.group(0)
        return variables[name]

    return _PLACEHOLDER.sub(repl, value)


def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][\w$-]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def _problem_from_pydantic(err: Any, file: str, lines: Mapping[KeyPath, int]) -> ConfigProblem:
    loc: KeyPath = tuple(p for p in err["loc"] if not (isinstance(p, str) and _is_union_tag(p)))
    key_path = _dotted(loc)
    line = None
    probe = loc
    while probe:
        if probe in lines:
            line = lines[probe]
            break
        probe = probe[:-1]
    if line is None:
        line = lines.get((), None)
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return ConfigProblem(file, line, key_path, msg)


def _is_union_tag(part: str) -> bool:
    # pydantic puts discriminator tags and model names into error locations; they are not keys.
    return part in {
        "lambda",
        "aws_proxy",
        "AWS_PROXY",
        "http_proxy",
        "HTTP_PROXY",
        "mock",
        "MOCK",
        "PermissionConfig",
        "str",
        "list[str]",
        "dict[str,any]",
    }


def parse_config(
    text: str, *, file: str = "<config>", variables: Mapping[str, str] | None = None
) -> tuple[GateholdConfig, dict[KeyPath, int]]:
    lines: dict[KeyPath, int] = {}
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise ConfigError(
            [ConfigProblem(file, mark.line + 1 if mark else None, "", f"invalid YAML: {exc.problem}")]
        ) from None
    try:
        data = {} if node is None else _to_python(node, (), lines, variables or {})
    except ConfigError as exc:
        raise ConfigError(
            [ConfigProblem(file, p.line, p.key_path, p.message) for p in exc.problems]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(file, 1, "", "the file must be a mapping of top-level sections")])
    try:
        config = GateholdConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_problem_from_pydantic(e, file, lines) for e in exc.errors()]) from None
    return config, lines


def load_config(path: str | Path, *, variables: Mapping[str, str] | None = None) -> LoadedConfig:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(p), None, "", f"cannot read: {exc.strerror}")]) from None
    config, lines = parse_config(text, file=str(p), variables=variables)
    return LoadedConfig(config=config, path=p.resolve(), lines=lines)
