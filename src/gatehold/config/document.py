"""Read a YAML or JSON document into plain data, keeping the line of every key path.

One reader for every input format: ``gatehold.yaml``, SAM and CloudFormation templates (YAML with
the short-form intrinsic tags, or JSON), OpenAPI and Swagger documents, ``serverless.yml``.

* libyaml composes the node tree (``yaml.CSafeLoader``: about 20 times PyYAML's pure-Python parser);
  the nodes are then walked once, recording ``path → line`` for every key and list item, and
  scalars are constructed by their resolved tag without a serialize/load round trip.
* CloudFormation's short forms are written as their long forms, as CloudFormation reads them:
  ``!Ref X`` → ``{"Ref": "X"}``, ``!GetAtt A.B`` → ``{"Fn::GetAtt": ["A", "B"]}``, ``!Sub s`` →
  ``{"Fn::Sub": s}``, ``!Condition C`` → ``{"Condition": "C"}``, any other ``!Name`` →
  ``{"Fn::Name": …}``. :attr:`Document.tags` lists where tags were used, so that formats without
  them (``gatehold.yaml``) can refuse them.
* Duplicate keys are errors (CloudFormation and Gatehold both refuse them); merge keys (``<<``)
  and anchors work as YAML defines them; timestamps stay the text that was written
  (``AWSTemplateFormatVersion: 2010-09-09`` is a string to CloudFormation).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from gatehold.config.problems import (
    ConfigError,
    ConfigProblem,
    KeyPath,
    LineMap,
    SourceRef,
    dotted,
)

try:  # libyaml is in PyYAML's wheels; the pure-Python loader is the fallback
    _Base: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _Base = yaml.SafeLoader

# A plain scalar can only be a bool, int, float, null, timestamp, merge key or value if it starts with
# one of the characters PyYAML's implicit resolvers are registered for; anything else is a string,
# decided without running their regular expressions (most scalars: keys, names, paths, URLs).
_IMPLICIT_FIRST = frozenset(k for k in yaml.resolver.Resolver.yaml_implicit_resolvers if k)
_ANY_FIRST = None in yaml.resolver.Resolver.yaml_implicit_resolvers
_STR_TAG = "tag:yaml.org,2002:str"


class _Loader(_Base):  # type: ignore[valid-type,misc]
    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if (
            kind is yaml.ScalarNode
            and implicit[0]
            and value
            and value[0] not in _IMPLICIT_FIRST
            and not _ANY_FIRST
        ):
            return _STR_TAG
        return super().resolve(kind, value, implicit)


_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_SCALARS: dict[str, Callable[[yaml.ScalarNode], Any]] = {
    tag: (lambda node, f=fn: f(_CONSTRUCTOR, node))  # type: ignore[misc]
    for tag, fn in yaml.constructor.SafeConstructor.yaml_constructors.items()
    if tag is not None
}


@dataclass(frozen=True)
class Document:
    """A parsed document: ``data`` (plain dicts, lists and scalars) and the line of each key path."""

    file: str
    data: Any
    lines: dict[KeyPath, int]
    #: (key path, tag) for every non-standard tag (``!Ref`` …), in document order
    tags: list[tuple[KeyPath, str]] = field(default_factory=list)

    @cached_property
    def line_map(self) -> LineMap:
        return LineMap(self.file, self.lines)

    def line(self, path: KeyPath) -> int | None:
        return self.line_map.line_of(path)

    def ref(self, path: KeyPath) -> SourceRef:
        """``file:line: key.path`` of ``path`` (the line of its deepest known prefix)."""
        return SourceRef(self.file, self.line(path), dotted(path))

    def get(self, path: KeyPath, default: Any = None) -> Any:
        node = self.data
        for part in path:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                return default
        return node


class _Walker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[KeyPath, int] = {}
        self.tags: list[tuple[KeyPath, str]] = []

    def fail(self, mark: yaml.Mark | None, path: KeyPath, message: str) -> ConfigError:
        line = mark.line + 1 if mark is not None else None
        return ConfigError([ConfigProblem(self.file, line, dotted(path), message)])

    def value(self, node: yaml.Node, path: KeyPath) -> Any:
        if path not in self.lines:
            self.lines[path] = node.start_mark.line + 1
        tag = node.tag
        if tag and not tag.startswith("tag:yaml.org,2002:"):
            self.tags.append((path, tag))
            return self.tagged(node, tag, path)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.MappingNode)
        return self.mapping(node, path)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):
            return node.value
        construct = _SCALARS.get(tag)
        return construct(node) if construct else node.value

    def mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        own: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node.start_mark, path, "a mapping key must be a plain value")
            if key_node.tag == _MERGE:
                continue
            if key_node.value in own:
                raise self.fail(key_node.start_mark, (*path, key_node.value), "duplicate key")
            own.add(key_node.value)
        items = node.value
        if len(own) != len(items):  # merge keys (<<): merged entries first, the mapping's own win
            try:
                _CONSTRUCTOR.flatten_mapping(node)
            except yaml.constructor.ConstructorError as exc:
                raise self.fail(exc.problem_mark, path, f"invalid merge key: {exc.problem}") from None
            items = node.value
        out: dict[Any, Any] = {}
        lines = self.lines
        for key_node, value_node in items:
            key: Any = key_node.value
            child: KeyPath = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            out[key] = self.value(value_node, child)
        return out

    def tagged(self, node: yaml.Node, tag: str, path: KeyPath) -> Any:
        """CloudFormation's short forms, written as the long forms CloudFormation reads."""
        name = tag[1:]
        if isinstance(node, yaml.ScalarNode):
            inner: Any = node.value
        elif isinstance(node, yaml.SequenceNode):
            inner = [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        else:
            inner = self.mapping(node, path)  # type: ignore[arg-type]
        if name in ("Ref", "Condition"):
            return {name: inner}
        if name == "GetAtt" and isinstance(inner, str):
            logical_id, _, attribute = inner.partition(".")
            return {"Fn::GetAtt": [logical_id, attribute]}
        return {f"Fn::{name}": inner}


def parse_document(text: str, file: str) -> Document:
    """Parse YAML (or JSON, which YAML reads) text; :class:`ConfigError` names the line on failure."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "cannot be parsed"
        raise ConfigError([ConfigProblem(file, line, "", f"invalid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:  # e.g. a reader error (bad bytes)
        raise ConfigError([ConfigProblem(file, None, "", f"invalid YAML: {exc}")]) from None
    walker = _Walker(file)
    data = None if node is None else walker.value(node, ())
    return Document(file=file, data=data, lines=walker.lines, tags=walker.tags)


def read_document(path: str | Path) -> Document:
    """Read and parse a file; an unreadable file is a :class:`ConfigError` naming it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(p), None, "", f"not UTF-8 text: {exc.reason}")]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(p), None, "", f"cannot read: {exc.strerror}")]) from None
    return parse_document(text, str(p))
