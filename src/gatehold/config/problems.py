"""Where a setting came from, and what is wrong with it: file, line and key path.

Every configuration problem Gatehold reports names the file, the line and the key path *as the user
wrote them*: ``gatehold.yaml:12: apis.pets.routes['GET /pets'].authorizer: …`` for its own format,
``template.yaml:40: Resources.MyApi.Properties.Auth.Authorizers.Pool: …`` for an imported SAM
template. Importers keep a :class:`SourceRef` for each piece of the model they write, so a problem
found later (by the schema, the route compiler or the authorizer builder) still points at the
template's line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"[A-Za-z_$][\w$-]*")


def dotted(path: Iterable[str | int]) -> str:
    """``("apis", "pets", "routes", "GET /pets")`` → ``apis.pets.routes['GET /pets']``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A place in a source document: file, 1-based line (None when unknown) and key path."""

    file: str
    line: int | None
    path: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}" if self.path else where


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    key_path: str
    message: str

    @classmethod
    def at(cls, ref: SourceRef, message: str) -> ConfigProblem:
        return cls(ref.file, ref.line, ref.path, message)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key_path}:" if self.key_path else ""
        return f"{where}:{key} {self.message}"


class ConfigError(Exception):
    """A configuration that cannot be honoured; ``problems`` each name file, line and key path."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True, slots=True)
class Finding:
    """Something an importer read and did not turn into behaviour: ignored (no local meaning, or
    named in the user's ignore list) or refused (an error unless ignored)."""

    ref: SourceRef
    message: str

    def __str__(self) -> str:
        return f"{self.ref}: {self.message}"


class SourceMap:
    """Where each key path of the effective model came from.

    ``refs`` maps model key paths (``("apis", "MyApi", "routes", "GET /x")``) to the place in the
    source that produced them; a lookup takes the deepest known prefix. ``fallback`` answers for
    paths no importer wrote (the ``gatehold.yaml`` around an imported template).
    """

    __slots__ = ("fallback", "refs")

    def __init__(self, refs: Mapping[KeyPath, SourceRef], fallback: SourceMap | None = None) -> None:
        self.refs = refs
        self.fallback = fallback

    def where(self, path: KeyPath) -> SourceRef | None:
        probe = path
        while True:
            ref = self.refs.get(probe)
            if ref is not None:
                return ref
            if not probe:
                break
            probe = probe[:-1]
        return self.fallback.where(path) if self.fallback else None


class LineMap(SourceMap):
    """The source map of a document read as it is (``gatehold.yaml``): its lines, its key paths."""

    __slots__ = ("file", "lines")

    def __init__(self, file: str, lines: Mapping[KeyPath, int]) -> None:
        super().__init__({})
        self.file = file
        self.lines = lines

    def line_of(self, path: KeyPath) -> int | None:
        probe = path
        while probe:
            line = self.lines.get(probe)
            if line is not None:
                return line
            probe = probe[:-1]
        return self.lines.get(())

    def where(self, path: KeyPath) -> SourceRef:
        return SourceRef(self.file, self.line_of(path), dotted(path))
