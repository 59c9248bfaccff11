"""Post-login and credentials-exchange hooks: Python callables run like Auth0 Actions.

A hook is ``module.function(event, api)``. ``event`` is a plain dict shaped like the Action's
``event`` (``user``, ``connection``, ``client``, ``resource_server``, ``transaction``);
``api`` offers the Action API's verbs::

    def post_login(event, api):
        if event["connection"]["name"] == "amazon":
            api.access_token.add_scope("read:Movies")
        api.access_token.set_custom_claim("https://example.com/roles", ["x"])
        api.access.deny("blocked by policy")       # the login fails with access_denied

Custom claims must be namespaced (an ``http(s)://`` URL prefix) and may never shadow a registered
or protocol claim. A hook that raises fails the request with ``server_error`` (logged, not shown).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatehold.idp.errors import AccessDenied, ServerError

log = logging.getLogger("gatehold.idp.hooks")

RESERVED_CLAIMS = frozenset(
    [
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "azp",
        "scope",
        "gty",
        "permissions",
        "nonce",
        "auth_time",
        "at_hash",
        "c_hash",
        "sid",
        "amr",
        "acr",
        "org_id",
        "org_name",
    ]
)

Hook = Callable[[dict[str, Any], "HookApi"], Any]


class HookError(ValueError):
    """A hook used the api wrongly (an unnamespaced or reserved claim)."""


def _check_claim(name: str) -> None:
    if name in RESERVED_CLAIMS:
        raise HookError(f"claim {name!r} is reserved and cannot be set by a hook")
    if not (name.startswith("https://") or name.startswith("http://")):
        raise HookError(f"custom claim {name!r} must be namespaced (e.g. 'https://example.com/{name}')")


@dataclass
class TokenApi:
    """``api.access_token`` / ``api.id_token``."""

    scopes_added: list[str] = field(default_factory=list)
    scopes_removed: list[str] = field(default_factory=list)
    claims: dict[str, Any] = field(default_factory=dict)

    def add_scope(self, scope: str) -> None:
        if scope not in self.scopes_added:
            self.scopes_added.append(scope)
        if scope in self.scopes_removed:
            self.scopes_removed.remove(scope)

    def remove_scope(self, scope: str) -> None:
        if scope not in self.scopes_removed:
            self.scopes_removed.append(scope)
        if scope in self.scopes_added:
            self.scopes_added.remove(scope)

    def set_custom_claim(self, name: str, value: Any) -> None:
        _check_claim(name)
        self.claims[name] = value


@dataclass
class AccessApi:
    denied: str | None = None

    def deny(self, reason: str) -> None:
        self.denied = reason


@dataclass
class HookApi:
    access_token: TokenApi = field(default_factory=TokenApi)
    id_token: TokenApi = field(default_factory=TokenApi)
    access: AccessApi = field(default_factory=AccessApi)


@dataclass(frozen=True)
class HookOutcome:
    scopes: list[str]
    access_claims: dict[str, Any]
    id_claims: dict[str, Any]


def load_hooks(names: list[str], code_path: Path | None = None) -> list[Hook]:
    """Import each ``module.function`` once (at start-up), failing loudly on a bad name."""
    if code_path is not None and str(code_path) not in sys.path:
        sys.path.insert(0, str(code_path))
    hooks: list[Hook] = []
    for name in names:
        module_name, _, attr = name.rpartition(".")
        if not module_name:
            raise ValueError(f"hook {name!r} must be 'module.function'")
        fn = getattr(importlib.import_module(module_name), attr, None)
        if not callable(fn):
            raise ValueError(f"hook {name!r}: {module_name} has no callable {attr!r}")
        hooks.append(fn)
    return hooks


def run_hooks(hooks: list[Hook], event: dict[str, Any], scopes: list[str]) -> HookOutcome:
    """Run hooks in order; apply their scope changes to ``scopes``; raise AccessDenied on deny."""
    api = HookApi()
    for hook in hooks:
        try:
            hook(event, api)
        except HookError as exc:
            log.error("hook %s misused the api: %s", getattr(hook, "__qualname__", hook), exc)
            raise ServerError(f"hook error: {exc}") from exc
        except Exception as exc:
            log.exception("hook %s failed", getattr(hook, "__qualname__", hook))
            raise ServerError("a hook failed") from exc
        if api.access.denied is not None:
            raise AccessDenied(api.access.denied)
    out = [s for s in scopes if s not in api.access_token.scopes_removed]
    out.extend(s for s in api.access_token.scopes_added if s not in out)
    return HookOutcome(out, dict(api.access_token.claims), dict(api.id_token.claims))
