"""API Gateway's ``$context`` / ``$stageVariables`` substitution, compiled once.

Used by gateway-response templates (docs/aws-reference.md §6: "simple ``$context``/``$stageVariables``
substitution, no VTL") and by access-log formats (``DG:http-api-logging-variables``). Both
``$context.requestId`` and ``${context.requestId}`` spellings are accepted, like VTL's formal notation::

    >>> t = ContextTemplate.compile('{"id":"$context.requestId","s":"${stageVariables.v}"}')
    >>> t.render({"requestId": "r1"}, {"v": "x"})
    '{"id":"r1","s":"x"}'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_NAME = r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
_VARIABLE = re.compile(rf"\$\{{(context|stageVariables)\.({_NAME})\}}|\$(context|stageVariables)\.({_NAME})")

ContextValue = str | int | float | bool | None
ContextValues = Mapping[str, ContextValue]
"""Flat ``$context`` values keyed by dotted name: ``{"identity.sourceIp": "127.0.0.1", …}``."""


def context_variables(text: str) -> list[str]:
    """The ``$context`` names a template uses, in order (``["requestId", "identity.sourceIp"]``)."""
    return list(ContextTemplate.compile(text).context_names)


def format_value(value: ContextValue, missing: str) -> str:
    if value is None:
        return missing
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class ContextTemplate:
    """A template split into literal text and variable references (``("context", "requestId")``)."""

    parts: tuple[str | tuple[str, str], ...]

    @classmethod
    def compile(cls, text: str) -> ContextTemplate:
        parts: list[str | tuple[str, str]] = []
        pos = 0
        for m in _VARIABLE.finditer(text):
            if m.start() > pos:
                parts.append(text[pos : m.start()])
            scope = m.group(1) or m.group(3)
            name = m.group(2) or m.group(4)
            parts.append((scope, name))
            pos = m.end()
        if pos < len(text):
            parts.append(text[pos:])
        return cls(tuple(parts))

    @property
    def context_names(self) -> tuple[str, ...]:
        return tuple(p[1] for p in self.parts if isinstance(p, tuple) and p[0] == "context")

    def render(
        self,
        context: ContextValues,
        stage_variables: Mapping[str, str] | None = None,
        *,
        missing: str = "",
        escape: Callable[[str], str] | None = None,
    ) -> str:
        """Substitute values; an unknown or null variable renders ``missing``.

        ``escape`` is applied to substituted values only (never to the literal text).
        """
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            scope, name = part
            if scope == "context":
                text = format_value(context.get(name), missing)
            else:
                sv = (stage_variables or {}).get(name)
                text = missing if sv is None else sv
            out.append(escape(text) if escape is not None and text is not missing else text)
        return "".join(out)
