"""IAM policy evaluation for ``execute-api:Invoke``: ``policy x method ARN → decision`` (pure).

API Gateway evaluates a Lambda authorizer's policy against the *current* request's method ARN, even
when the policy came from the cache (docs/aws-reference.md §1.7):

1. statements whose ``Action`` matches ``execute-api:Invoke`` (``execute-api:Invoke``,
   ``execute-api:*``, ``*``, any IAM glob; ``NotAction``: every action but those) and whose
   ``Resource`` matches the ARN (``NotResource``: every resource but those);
2. a matching ``Deny`` → explicit deny (it always wins);
3. else a matching ``Allow`` → allow;
4. else → implicit deny.

ARN globs are IAM's: ``*`` matches any run of characters including ``/`` and ``:``, ``?`` exactly
one; everything else is literal and case-sensitive (action names are case-insensitive, as in IAM).
``Action``/``Resource`` may be a string or a list. A statement with a ``Condition`` cannot be
evaluated here and is refused loudly (a malformed policy: 500), never silently ignored.

>>> evaluate({"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
...           "Resource": "arn:aws:execute-api:*:*:api/*/GET/*"}]},
...          "arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/1").outcome
'allow'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

INVOKE_ACTION = "execute-api:Invoke"


class PolicyError(ValueError):
    """The authorizer returned something that is not a policy we can evaluate."""


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Literal["allow", "explicit-deny", "implicit-deny"]
    statement_index: int | None = None
    statement: Mapping[str, Any] | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome == "allow"


@lru_cache(maxsize=8192)
def compile_glob(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """An IAM glob as a regex: ``*`` → any run (``/`` and ``:`` included), ``?`` → one character."""
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _strings(statement: Mapping[str, Any], key: str, index: int) -> list[str]:
    value = statement[key]
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return value
    raise PolicyError(f"Statement[{index}].{key} must be a string or a non-empty list of strings")


def _one_of(statement: Mapping[str, Any], positive: str, negative: str, index: int) -> tuple[list[str], bool]:
    has_pos, has_neg = positive in statement, negative in statement
    if has_pos == has_neg:
        raise PolicyError(f"Statement[{index}] needs exactly one of {positive} and {negative}")
    key = positive if has_pos else negative
    return _strings(statement, key, index), has_neg


def statements_of(policy_document: Any) -> Sequence[Mapping[str, Any]]:
    if not isinstance(policy_document, dict):
        raise PolicyError("policyDocument must be an object")
    statements = policy_document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not all(isinstance(s, dict) for s in statements):
        raise PolicyError("policyDocument.Statement must be an object or a list of objects")
    return statements


@dataclass(frozen=True, slots=True)
class StatementMatch:
    """How one statement meets ``action`` on a method ARN (``gatehold explain`` shows each)."""

    applies_to_action: bool
    applies_to_resource: bool
    #: the statement's resource patterns that match the ARN (of its NotResource when ``not_resource``)
    resources_hit: tuple[str, ...]
    not_resource: bool

    @property
    def applies(self) -> bool:
        return self.applies_to_action and self.applies_to_resource


def match_statement(
    statement: Mapping[str, Any], index: int, method_arn: str, action: str = INVOKE_ACTION
) -> StatementMatch:
    """Whether statement ``index`` covers ``action`` on ``method_arn``; :class:`PolicyError` if malformed."""
    actions, not_action = _one_of(statement, "Action", "NotAction", index)
    resources, not_resource = _one_of(statement, "Resource", "NotResource", index)
    hits = tuple(r for r in resources if compile_glob(r).fullmatch(method_arn))
    return StatementMatch(
        any(compile_glob(a, True).fullmatch(action) for a in actions) != not_action,
        bool(hits) != not_resource,
        hits,
        not_resource,
    )


def evaluate(policy_document: Any, method_arn: str, action: str = INVOKE_ACTION) -> Decision:
    """Evaluate ``policy_document`` for ``action`` on ``method_arn``; :class:`PolicyError` if malformed."""
    statements = statements_of(policy_document)
    deny: int | None = None
    allow: int | None = None
    for i, statement in enumerate(statements):
        effect = statement.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f"Statement[{i}].Effect must be 'Allow' or 'Deny'")
        if "Condition" in statement:
            raise PolicyError(f"Statement[{i}].Condition is not supported by Gatehold")
        if not match_statement(statement, i, method_arn, action).applies:
            continue
        if effect == "Deny":
            deny = i if deny is None else deny
        elif allow is None:
            allow = i
    if deny is not None:
        return Decision("explicit-deny", deny, statements[deny])
    if allow is not None:
        return Decision("allow", allow, statements[allow])
    return Decision("implicit-deny")
