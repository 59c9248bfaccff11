"""Load a configuration into :class:`GateholdConfig`, with errors that name file, line and key.

Any of the input formats Gatehold reads is loaded here: ``gatehold.yaml`` itself, or a SAM or
CloudFormation template, an OpenAPI / Swagger document or a ``serverless.yml``, which the importers
(:mod:`gatehold.importers`) turn into the same model. A ``gatehold.yaml`` may also name such
documents under ``imports:``, their APIs and functions joining its own.

1. The document is read with the line of every key path (:mod:`gatehold.config.document`).
2. ``gatehold.yaml``: ``${name}`` placeholders are replaced from ``variables`` (for example
   ``${spa_url}``, ``${idp_url}``, ``${gateway_url}``) and ``${env:NAME}`` from the environment;
   other formats go through their importer, which records where each piece of the model came from.
3. The schema validates everything at once; then :func:`gatehold.config.checks.check_config` finds
   every cross-reference problem. Each problem is reported at the file, line and key path of the
   value at fault, in the document the user wrote.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gatehold.config.checks import check_config
from gatehold.config.document import Document, parse_document, read_document
from gatehold.config.models import GateholdConfig
from gatehold.config.problems import (
    ConfigError,
    ConfigProblem,
    Finding,
    KeyPath,
    LineMap,
    SourceMap,
    SourceRef,
)

if TYPE_CHECKING:
    from gatehold.importers import ImportOptions

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "KeyPath",
    "LoadedConfig",
    "load_config",
    "parse_config",
    "validate",
]

_PLACEHOLDER = re.compile(r"\$(\$)\{|\$\{(env:)?([A-Za-z_][A-Za-z0-9_]*)\}")
_SECTIONS = ("functions", "apis", "tenant", "gateway", "spa", "imports", "tables")


@dataclass(frozen=True)
class LoadedConfig:
    config: GateholdConfig
    path: Path | None
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    #: where each key path of ``config`` came from (imported documents); None: ``lines`` of ``path``
    sources: SourceMap | None = None
    #: what the importers read and left without local effect (``gatehold check`` lists it)
    ignored: tuple[Finding, ...] = ()
    #: what the importers adapted to run locally (issuer aliases, tenant APIs created)
    notes: tuple[Finding, ...] = ()
    #: every file the configuration was read from (hot reload watches them)
    files: tuple[Path, ...] = ()
    #: "gatehold", "sam", "cloudformation", "openapi" or "serverless"
    format: str = "gatehold"

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    @property
    def file(self) -> str:
        return str(self.path) if self.path else "<config>"

    def line_of(self, *key_path: str | int) -> int | None:
        """The line of the deepest known prefix of ``key_path``."""
        return self.where(*key_path).line

    def where(self, *key_path: str | int) -> SourceRef:
        """Where ``key_path`` of the model was written: file, line and key path in that file."""
        path: KeyPath = tuple(key_path)
        if self.sources is not None:
            ref = self.sources.where(path)
            if ref is not None:
                return ref
        return LineMap(self.file, self.lines).where(path)

    def problem(self, key_path: KeyPath, message: str) -> ConfigProblem:
        return ConfigProblem.at(self.where(*key_path), message)


# --------------------------------------------------------------------------------------------------
# placeholders (gatehold.yaml only)
# --------------------------------------------------------------------------------------------------


def substitute(data: Any, doc: Document, variables: Mapping[str, str]) -> Any:
    """Replace ``${name}`` and ``${env:NAME}`` in every string of ``data`` (``doc`` gives lines)."""
    problems: list[ConfigProblem] = []

    def walk(value: Any, path: KeyPath) -> Any:
        if isinstance(value, str):
            return _substitute(value, variables, doc, path, problems) if "${" in value else value
        if isinstance(value, dict):
            return {k: walk(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*path, i)) for i, v in enumerate(value)]
        return value

    out = walk(data, ())
    if problems:
        raise ConfigError(problems)
    return out


def _substitute(
    value: str, variables: Mapping[str, str], doc: Document, path: KeyPath, problems: list[ConfigProblem]
) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group(1):  # $${ is a literal ${
            return "${"
        name = m.group(3)
        if m.group(2):
            env = os.environ.get(name)
            if env is None:
                problems.append(ConfigProblem.at(doc.ref(path), f"environment variable {name} is not set"))
                return m.group(0)
            return env
        if name not in variables:
            known = " ".join(f"${{{k}}}" for k in variables) or "none here"
            problems.append(
                ConfigProblem.at(
                    doc.ref(path),
                    f"unknown placeholder ${{{name}}} (known: {known}, and ${{env:NAME}}; "
                    "write $${ for a literal ${)",
                )
            )
            return m.group(0)
        # ${stageVariables.x} and friends (with a dot) are not placeholders: the gateway resolves them
        return variables[name]

    return _PLACEHOLDER.sub(repl, value)


# --------------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------------


def _data_path(loc: tuple[Any, ...], data: Any) -> KeyPath:
    """The key path of pydantic's error location ``loc`` in ``data``. pydantic also puts a tagged
    union's tag (``lambda``, ``mock``) and member names (``str``, ``list[str]``) into it; walking the
    data itself tells them from keys, so that an authorizer or a function *named* ``lambda`` keeps
    its name in the path (a list of names to drop would drop it too)."""
    path: list[Any] = []
    node = data
    for part in loc:
        if _holds(node, part):
            node = node[part]
        elif isinstance(part, str) and _is_tag_name(part):
            continue  # a union's tag or member name: not in the data
        else:
            node = None  # a key the data lacks (a required one): named where it is missing
        path.append(part)
    return tuple(path)


def _holds(node: Any, part: Any) -> bool:
    if isinstance(node, Mapping):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


_TAG_NAMES = frozenset(
    {"lambda", "aws_proxy", "AWS_PROXY", "http_proxy", "HTTP_PROXY", "http", "HTTP", "mock", "MOCK"}
    | {"str", "int", "float", "bool", "list[str]", "dict[str,any]"}
)


def _is_tag_name(part: str) -> bool:
    # a discriminator value, a builtin member type, or a model's class name (PermissionConfig)
    return part in _TAG_NAMES or (part[:1].isupper() and part.endswith("Config"))


def _problem_from_pydantic(err: Any, where: Any, data: Any) -> ConfigProblem:
    ref: SourceRef = where(_data_path(tuple(err["loc"]), data))
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return ConfigProblem.at(ref, msg)


def validate(
    data: Any,
    *,
    path: Path | None,
    lines: Mapping[KeyPath, int],
    sources: SourceMap | None = None,
    ignored: tuple[Finding, ...] = (),
    notes: tuple[Finding, ...] = (),
    files: tuple[Path, ...] = (),
    fmt: str = "gatehold",
) -> LoadedConfig:
    """Validate model data (a ``gatehold.yaml`` mapping, or what an importer wrote) into a
    :class:`LoadedConfig`; :class:`ConfigError` lists every problem, each where it was written."""
    shell = LoadedConfig(config=GateholdConfig(), path=path, lines=lines, sources=sources)
    try:
        config = GateholdConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_problem_from_pydantic(e, lambda loc: shell.where(*loc), data) for e in exc.errors()]
        raise ConfigError(_sorted(problems)) from None
    violations = check_config(config)
    if violations:
        raise ConfigError(_sorted([shell.problem(p, m) for p, m in violations]))
    return LoadedConfig(
        config=config,
        path=path,
        lines=lines,
        sources=sources,
        ignored=ignored,
        notes=notes,
        files=files,
        format=fmt,
    )


def _sorted(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """By file and line, each said once (one template value — a SAM ``Globals`` entry — can be at
    fault for several functions)."""
    return sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line or 0))


# --------------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------------


def _gatehold_data(doc: Document, variables: Mapping[str, str]) -> dict[str, Any]:
    if doc.tags:
        path, tag = doc.tags[0]
        raise ConfigError(
            [ConfigProblem.at(doc.ref(path), f"YAML tag {tag} has no meaning in gatehold.yaml")]
        )
    if doc.data is None or doc.data == {}:
        raise ConfigError(
            [
                ConfigProblem(
                    doc.file,
                    1,
                    "",
                    "the file is empty: it must configure functions, apis or a tenant"
                    " (or be a SAM / CloudFormation template, an OpenAPI document or a serverless.yml)",
                )
            ]
        )
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [ConfigProblem(doc.file, 1, "", "the file must be a mapping of top-level sections")]
        )
    data: dict[str, Any] = substitute(doc.data, doc, variables)
    return data


def parse_config(
    text: str, *, file: str = "<config>", variables: Mapping[str, str] | None = None
) -> tuple[GateholdConfig, dict[KeyPath, int]]:
    """Parse ``gatehold.yaml`` text (no imports); returns the model and the line of each key path."""
    doc = parse_document(text, file)
    data = _gatehold_data(doc, variables or {})
    if data.get("imports"):
        raise ConfigError(
            [ConfigProblem.at(doc.ref(("imports",)), "imports need a file path to resolve against")]
        )
    loaded = validate(data, path=None, lines=doc.lines)
    return loaded.config, doc.lines


def load_config(
    path: str | Path,
    *,
    variables: Mapping[str, str] | None = None,
    options: ImportOptions | None = None,
) -> LoadedConfig:
    """Load ``path``, whatever its format: ``gatehold.yaml`` (with its ``imports:``), a SAM or
    CloudFormation template, an OpenAPI or Swagger document, or a serverless.yml.

    ``options`` carry what the command line adds for imported documents (parameter overrides,
    issuer aliases, ignore patterns, values for unresolvable references)."""
    from gatehold.importers import detect_format, import_document

    p = Path(path)
    doc = read_document(p)
    fmt = detect_format(doc) if options is None or options.format == "auto" else options.format
    variables = variables or {}
    if fmt == "gatehold":
        data = _gatehold_data(doc, variables)
        if data.get("imports"):
            return _with_imports(p, doc, data, variables, options)
        return validate(data, path=p.resolve(), lines=doc.lines, sources=doc.line_map, files=(p.resolve(),))
    result = import_document(doc, fmt, p.resolve(), variables, options)
    return validate(
        result.data,
        path=p.resolve(),
        lines=doc.lines,
        sources=SourceMap(result.refs, fallback=doc.line_map),
        ignored=tuple(result.ignored),
        notes=tuple(result.notes),
        files=tuple(result.files),
        fmt=fmt,
    )


def _with_imports(
    path: Path,
    doc: Document,
    data: dict[str, Any],
    variables: Mapping[str, str],
    options: ImportOptions | None,
) -> LoadedConfig:
    from gatehold.importers import merge_imports

    merged, refs, ignored, notes, files = merge_imports(path.resolve(), doc, data, variables, options)
    return validate(
        merged,
        path=path.resolve(),
        lines=doc.lines,
        sources=SourceMap(refs, fallback=doc.line_map),
        ignored=tuple(ignored),
        notes=tuple(notes),
        files=(path.resolve(), *files),
        fmt="gatehold",
    )
