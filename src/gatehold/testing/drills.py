"""Drills: operational events played against a running stack, with what the gateway answered.

:func:`rotation_drill` rotates the issuer's signing key while the gateway runs and the stack's clock
stands still (``gatehold up --test-clock``), and records what a JWT-protected route answers a token
signed before the rotation and one signed after, before and after the gateway's cached key set
expires (``gateway.jwks_cache_ttl``). What it should see depends on ``gateway.jwks_refetch``
(docs/authorizers.md, "Key rotation"):

==================  ====================================  ===========================================
token               ``on-unknown-kid`` (default, AWS's     ``ttl-only`` (what users report of HTTP
                    REST JWT authorizer page)              APIs)
==================  ====================================  ===========================================
new key, at once    200: the unknown ``kid`` fetches the   401 ``the token's signing key is unknown``
                    key set again                          until the cached set is ``ttl`` old
old key, at once    401 as soon as a new key's token has   200: the cached set still has it
                    fetched the set again (a dropped key
                    goes with the old set)
new key, after TTL  200                                    200
old key, after TTL  401 (a dropped key)                    401 once the set fetched after the TTL
                                                           no longer has it
==================  ====================================  ===========================================

The identity provider publishes its ``next`` key before it signs anything, so one rotation makes
current a key the gateway may already hold; the drill rotates twice by default, so that the key
signing afterwards is one the gateway's cached set cannot know, and the key that signed before is
dropped from the published set (``rotations=1`` plays the gentle case)::

    report = rotation_drill(stack, "/orders/me", mint=lambda: client_credentials_token(...))
    assert report.status("new key", "at once") == 200

With several gateway processes (``--workers``) each has its own cache; the drill's requests may
reach any of them, so run it with one.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from gatehold.testing.clock import StackClock

__all__ = ["DrillError", "Observation", "RotationReport", "rotate_keys", "rotation_drill", "token_kid"]


class DrillStack(Protocol):
    """What a drill needs of a running stack (:class:`gatehold.testing.stack.Stack` has it)."""

    @property
    def gateway_url(self) -> str: ...

    @property
    def admin_url(self) -> str: ...

    @property
    def data_dir(self) -> Any: ...


class DrillError(RuntimeError):
    """The drill could not be played (the stack did not do what the drill needs of it)."""


@dataclass(frozen=True)
class Observation:
    """One request of the drill: which token (``old key`` / ``new key``), when (``before rotation``,
    ``at once``, ``after TTL``), its ``kid``, and the gateway's status and ``www-authenticate``."""

    token: str
    moment: str
    kid: str
    status: int
    www_authenticate: str | None


@dataclass
class RotationReport:
    """What :func:`rotation_drill` saw."""

    route_url: str
    ttl: float
    rotations: int
    old_kid: str = ""
    new_kid: str = ""
    observations: list[Observation] = field(default_factory=list)

    def status(self, token: str, moment: str) -> int:
        return self.observation(token, moment).status

    def observation(self, token: str, moment: str) -> Observation:
        for seen in self.observations:
            if (seen.token, seen.moment) == (token, moment):
                return seen
        raise KeyError(f"no observation of the {token} token {moment}")

    def table(self) -> str:
        """The observations as lines of text (for a failing assertion's message)."""
        return "\n".join(
            f"{o.token:8} {o.moment:16} kid {o.kid}: {o.status} {o.www_authenticate or ''}".rstrip()
            for o in self.observations
        )


def token_kid(token: str) -> str:
    """The ``kid`` of a JWS compact token's protected header ("" when it has none)."""
    segment = token.split(".", 1)[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return str(header.get("kid", ""))


def rotate_keys(data_dir: Any) -> str:
    """``gatehold keys rotate`` against the stack's data directory (another process, as a user runs
    it); the ``kid`` of the key that signs now."""
    done = subprocess.run(
        [sys.executable, "-m", "gatehold", "keys", "rotate", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise DrillError(f"gatehold keys rotate failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    found = re.search(r"signing with (\S+);", done.stdout)
    if found is None:
        raise DrillError(f"gatehold keys rotate did not say which key signs now:\n{done.stdout}")
    return found.group(1)


def rotation_drill(
    stack: DrillStack,
    route_path: str,
    *,
    mint: Callable[[], str],
    ttl: float = 3600.0,
    min_refetch_interval: float = 10.0,
    rotations: int = 2,
    rotate: Callable[[], str] | None = None,
    headers: Callable[[str], dict[str, str]] | None = None,
    pickup_timeout: float = 30.0,
) -> RotationReport:
    """Play a key rotation against ``stack`` (started with ``--test-clock``) and return what the
    route ``route_path`` of its gateway answered.

    ``mint`` gets a fresh token from the stack's identity provider (signed with its current key);
    ``ttl``: the stack's ``gateway.jwks_cache_ttl``; ``rotate`` rotates the keys once and returns the
    ``kid`` that signs now (default: ``gatehold keys rotate`` on the stack's data directory);
    ``min_refetch_interval``: its ``gateway.jwks_min_refetch_interval``, which the clock is moved
    past after the rotation (frozen, the interval would never pass: a real rotation takes a moment);
    ``headers`` turns a token into the request's headers (default: ``Authorization: Bearer``). The
    clock is frozen for the drill and left frozen, ``ttl`` later, at the end (the caller resumes it,
    or the ``gatehold_clock`` fixture does).
    """
    url = stack.gateway_url.rstrip("/") + route_path
    as_headers = headers or (lambda token: {"Authorization": f"Bearer {token}"})
    report = RotationReport(url, ttl, rotations)
    with StackClock(stack.admin_url) as clock, httpx.Client(timeout=15) as http:

        def observe(name: str, token: str, moment: str) -> None:
            answer = http.get(url, headers=as_headers(token))
            report.observations.append(
                Observation(
                    name, moment, token_kid(token), answer.status_code, answer.headers.get("www-authenticate")
                )
            )

        clock.freeze()
        old = mint()
        report.old_kid = token_kid(old)
        observe("old key", old, "before rotation")  # the gateway's key set is cached from here
        signer = report.old_kid
        for _ in range(rotations):
            signer = rotate() if rotate is not None else rotate_keys(stack.data_dir)
        new = _await_signer(mint, signer, pickup_timeout)
        if min_refetch_interval > 0:
            clock.advance(min_refetch_interval)
        report.new_kid = token_kid(new)
        observe("new key", new, "at once")
        observe("old key", old, "at once")
        clock.advance(ttl)  # past the TTL of any key set fetched so far
        observe("new key", new, "after TTL")
        observe("old key", old, "after TTL")
    return report


def _await_signer(mint: Callable[[], str], kid: str, timeout: float) -> str:
    """A token from the identity provider once it signs with ``kid`` (a running one re-reads its key
    table every few seconds of real time)."""
    deadline = time.monotonic() + timeout
    while True:
        token = mint()
        if token_kid(token) == kid:
            return token
        if time.monotonic() > deadline:
            raise DrillError(
                f"the identity provider does not sign with {kid} {timeout:g} s after the rotation"
            )
        time.sleep(0.2)
