"""The ``gatehold`` pytest plugin: a Gatehold stack for your tests, and fixtures bound to it.

Registered through the ``pytest11`` entry point when Gatehold is installed (``pip install gatehold``),
so it loads in every pytest run of that environment: importing it costs nothing but pytest's own
imports, and nothing starts until a test asks for a ``gatehold_*`` fixture (docs/testing.md).

Fixtures:

* ``gatehold_stack``: the running stack (:class:`gatehold.testing.stack.Stack`): ``gateway_url``,
  ``issuer``, ``idp_url``, ``admin_url``, ``data_dir``, ``output()`` …;
* ``gatehold_client``: an ``httpx.Client`` whose ``base_url`` is the gateway;
* ``gatehold_tokens``: :class:`gatehold.testing.tokens.Tokens` for the stack (tokens that pass or
  fail a route);
* ``gatehold_clock``: :class:`gatehold.testing.clock.StackClock`, the stack's test clock (stacks the
  plugin starts run with ``--test-clock``), resumed after each test that used it;
* ``gatehold_stacks``: the session's stacks, for session-scoped fixtures of your own
  (``gatehold_stacks.shared()``) and for extra stacks (``gatehold_stacks.start(...)``).

Which stack: ``@pytest.mark.gatehold(config=…, args=[…], scope=…, mode=…)`` on the test, class or
module, else the command line (``--gatehold-config``, ``--gatehold-args``, ``--gatehold-scope``,
``--gatehold-mode``), else the ini options (``gatehold_config``, ``gatehold_args``,
``gatehold_scope``, ``gatehold_mode``, ``gatehold_start_timeout``), else the bundled example stack,
one per session, as a subprocess. Stacks with the same settings and scope are shared. Relative
paths: the ini file's to its directory, a marker's to the rootdir, the command line's to the current
directory.

``mode = in-process`` is refused (a usage error that says why, docs/testing.md "Subprocess, not in
process"): the services' servers in the test process would be another program than the one you
deploy against (no supervisor: no readiness, no test clock; the functions still in worker
processes), and the supervisor in a thread would save one interpreter's start while making its
process-wide state (the installed clock, logging, environment, signal handlers) the test process's.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

    from gatehold.testing.stack import Stack

SCOPES = ("session", "module", "function")
MODES = ("subprocess", "in-process")
DEFAULT_START_TIMEOUT_S = 120.0

IN_PROCESS_REFUSED = (
    "gatehold_mode = in-process is not supported: a Gatehold stack is a supervisor and one process per "
    "service (gateway, identity provider, Lambda workers), and the test clock and admin endpoints belong "
    "to the supervisor; the plugin runs `gatehold up` as a subprocess, which is what you test against "
    "(docs/testing.md, 'Subprocess, not in process'). Remove the option or set it to subprocess."
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gatehold", "Gatehold stack of the gatehold_* fixtures (docs/testing.md)")
    group.addoption(
        "--gatehold-config",
        dest="gatehold_config",
        default=None,
        metavar="FILE",
        help="gatehold.yaml, SAM/CloudFormation template, OpenAPI document or serverless.yml the "
        "stack serves (default: ini gatehold_config, else the bundled example stack).",
    )
    group.addoption(
        "--gatehold-args",
        dest="gatehold_args",
        default=None,
        metavar="ARGS",
        help="More `gatehold up` arguments, one shell-quoted string: "
        '"--issuer-alias https://my.auth0.com/ --parameter-overrides Stage=dev".',
    )
    group.addoption(
        "--gatehold-scope",
        dest="gatehold_scope",
        choices=SCOPES,
        default=None,
        help="One stack per session (default), module or test.",
    )
    group.addoption(
        "--gatehold-mode",
        dest="gatehold_mode",
        choices=MODES,
        default=None,
        help="subprocess, the only mode (in-process is refused; docs/testing.md says why).",
    )
    parser.addini(
        "gatehold_config", "Configuration or template of the Gatehold stack (relative to the ini file)."
    )
    parser.addini("gatehold_args", "More `gatehold up` arguments of the Gatehold stack.", type="args")
    parser.addini("gatehold_scope", "session, module or function: how long a Gatehold stack lives.")
    parser.addini("gatehold_mode", "subprocess (the only mode; see docs/testing.md).")
    parser.addini("gatehold_start_timeout", "Seconds a Gatehold stack may take to be ready (default 120).")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "gatehold(config=None, args=(), scope=None, mode=None): the Gatehold stack of this test's "
        "gatehold_* fixtures (docs/testing.md)",
    )
    for where, mode in (
        ("--gatehold-mode", config.getoption("gatehold_mode")),
        ("gatehold_mode", _ini(config, "gatehold_mode")),
    ):
        if mode and mode not in MODES:
            raise pytest.UsageError(f"{where}: {mode!r} is not one of {', '.join(MODES)}")
        if mode == "in-process":
            raise pytest.UsageError(f"{where}: {IN_PROCESS_REFUSED}")
    scope = _ini(config, "gatehold_scope")
    if scope and scope not in SCOPES:
        raise pytest.UsageError(f"gatehold_scope: {scope!r} is not one of {', '.join(SCOPES)}")


def _ini(config: pytest.Config, name: str) -> str | None:
    value = config.getini(name)
    return str(value).strip() or None if value else None


@dataclass(frozen=True)
class StackSettings:
    """What a stack is started with, and how long it lives."""

    config: Path | None = None
    args: tuple[str, ...] = ()
    scope: str = "session"


def settings_for(request: pytest.FixtureRequest) -> StackSettings:
    """The closest ``gatehold`` marker's settings, else the command line's, else the ini file's."""
    config = request.config
    root = config.rootpath
    marker = request.node.get_closest_marker("gatehold")
    kwargs: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    unknown = set(kwargs) - {"config", "args", "scope", "mode"}
    if unknown:
        raise pytest.UsageError(f"@pytest.mark.gatehold: unknown argument(s) {', '.join(sorted(unknown))}")
    if kwargs.get("mode") == "in-process":
        raise pytest.UsageError(f"@pytest.mark.gatehold(mode=...): {IN_PROCESS_REFUSED}")

    path: Path | None = None
    if kwargs.get("config") is not None:
        path = root / Path(kwargs["config"])
    elif config.getoption("gatehold_config"):
        path = config.invocation_params.dir / Path(config.getoption("gatehold_config"))
    elif _ini(config, "gatehold_config"):
        path = (config.inipath.parent if config.inipath else root) / str(_ini(config, "gatehold_config"))

    args: tuple[str, ...]
    if "args" in kwargs:
        raw = kwargs["args"]
        args = tuple(shlex.split(raw) if isinstance(raw, str) else (str(a) for a in raw))
    elif config.getoption("gatehold_args") is not None:
        args = tuple(shlex.split(config.getoption("gatehold_args")))
    else:
        args = tuple(config.getini("gatehold_args"))

    scope = (
        kwargs.get("scope")
        or config.getoption("gatehold_scope")
        or _ini(config, "gatehold_scope")
        or "session"
    )
    if scope not in SCOPES:
        raise pytest.UsageError(f"@pytest.mark.gatehold(scope={scope!r}): not one of {', '.join(SCOPES)}")
    return StackSettings(config=path.resolve() if path else None, args=args, scope=scope)


#: a shared stack: its configuration, its arguments, and what it lives for ("session", a module's id)
_Key = tuple[Path | None, tuple[str, ...], str]


@dataclass
class GateholdStacks:
    """The stacks the plugin started in this session: shared by settings and scope, stopped when their
    scope ends (the session, the module, the test)."""

    tmp_path_factory: pytest.TempPathFactory
    start_timeout: float = DEFAULT_START_TIMEOUT_S
    shared_stacks: dict[_Key, Stack] = field(default_factory=dict)
    #: per stack (its data directory) and name: the tokens helper
    helpers: dict[tuple[str, str], Any] = field(default_factory=dict)

    def start(
        self,
        config: str | Path | None = None,
        args: tuple[str, ...] | list[str] = (),
        *,
        timeout: float | None = None,
    ) -> Stack:
        """A new stack (yours to stop: ``stack.stop()``), on free ports, with a data directory of its
        own, started with ``--test-clock``; ``timeout``: seconds it may take
        to be ready (default: ``gatehold_start_timeout``)."""
        from gatehold.testing.stack import new_stack

        extra = list(args)
        if "--test-clock" not in extra:
            extra.append("--test-clock")
        stack = new_stack(
            self.tmp_path_factory.mktemp("gatehold"), Path(config).resolve() if config else None, extra
        )
        return stack.start(timeout=timeout or self.start_timeout)

    def shared(
        self,
        config: str | Path | None = None,
        args: tuple[str, ...] | list[str] = (),
        *,
        key: str = "session",
        timeout: float | None = None,
    ) -> Stack:
        """The stack of these settings for ``key`` (``"session"``: stopped at the session's end; a
        module's node id: at the module's end), started on first use."""
        found_key: _Key = (Path(config).resolve() if config else None, tuple(args), key)
        found = self.shared_stacks.get(found_key)
        if found is None or not found.running:
            found = self.shared_stacks[found_key] = self.start(found_key[0], found_key[1], timeout=timeout)
        return found

    def has(self, config: Path | None, args: tuple[str, ...], key: str) -> bool:
        return (config, args, key) in self.shared_stacks

    def stop(self, key: str) -> None:
        """Stop the stacks shared for ``key``."""
        for found_key, stack in list(self.shared_stacks.items()):
            if found_key[2] == key:
                del self.shared_stacks[found_key]
                self.stopped(stack)

    def stop_all(self) -> None:
        for stack in self.shared_stacks.values():
            self.stopped(stack)
        self.shared_stacks.clear()

    def stopped(self, stack: Stack) -> None:
        """Stop ``stack`` and drop its helpers (the tokens' store is closed)."""
        stack.stop()
        for key in [k for k in self.helpers if k[0] == str(stack.data_dir)]:
            helper = self.helpers.pop(key)
            store = getattr(getattr(helper, "idp", None), "store", None)
            if store is not None:
                store.close()

    def helper(self, stack: Stack, name: str, make: Callable[[], Any]) -> Any:
        """One ``name`` helper per stack (the tokens' keys and configuration are read once)."""
        key = (str(stack.data_dir), name)
        if key not in self.helpers:
            self.helpers[key] = make()
        return self.helpers[key]


@pytest.fixture(scope="session")
def gatehold_stacks(
    tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config
) -> Iterator[GateholdStacks]:
    """The session's Gatehold stacks (:class:`GateholdStacks`)."""
    raw = _ini(pytestconfig, "gatehold_start_timeout")
    try:
        timeout = float(raw) if raw else DEFAULT_START_TIMEOUT_S
    except ValueError:
        raise pytest.UsageError(f"gatehold_start_timeout: {raw!r} is not a number of seconds") from None
    stacks = GateholdStacks(tmp_path_factory, timeout)
    try:
        yield stacks
    finally:
        stacks.stop_all()


@pytest.fixture
def gatehold_stack(request: pytest.FixtureRequest, gatehold_stacks: GateholdStacks) -> Iterator[Stack]:
    """The Gatehold stack of this test (its ``gatehold`` marker, the command line, the ini file)."""
    settings = settings_for(request)
    if settings.scope == "function":
        stack = gatehold_stacks.start(settings.config, settings.args)
        try:
            yield stack
        finally:
            gatehold_stacks.stopped(stack)
        return
    if settings.scope == "module":
        module = request.node.getparent(pytest.Module)
        key = module.nodeid if module is not None else "session"
        if module is not None and not gatehold_stacks.has(settings.config, settings.args, key):
            module.addfinalizer(lambda: gatehold_stacks.stop(key))
    else:
        key = "session"
    yield gatehold_stacks.shared(settings.config, settings.args, key=key)


@pytest.fixture
def gatehold_client(gatehold_stack: Stack) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` on the gateway (``base_url``: ``gatehold_stack.gateway_url``)."""
    import httpx

    with httpx.Client(base_url=gatehold_stack.gateway_url, timeout=30.0) as client:
        yield client


@pytest.fixture
def gatehold_tokens(gatehold_stack: Stack, gatehold_stacks: GateholdStacks) -> Any:
    """Tokens that pass or fail a route of the stack (:class:`gatehold.testing.tokens.Tokens`)."""
    try:
        from gatehold.testing.tokens import Tokens
    except ImportError as exc:  # pragma: no cover - an older Gatehold
        pytest.skip(f"gatehold_tokens needs gatehold.testing.tokens, which this Gatehold lacks ({exc})")
    return gatehold_stacks.helper(gatehold_stack, "tokens", lambda: Tokens.for_stack(gatehold_stack.data_dir))


@pytest.fixture
def gatehold_clock(gatehold_stack: Stack) -> Iterator[Any]:
    """The stack's test clock (:class:`gatehold.testing.clock.StackClock`), resumed after the test."""
    try:
        from gatehold.testing.clock import StackClock
    except ImportError as exc:  # pragma: no cover - an older Gatehold
        pytest.skip(f"gatehold_clock needs gatehold.testing.clock, which this Gatehold lacks ({exc})")
    with StackClock(gatehold_stack.admin_url) as clock:
        try:
            yield clock
        finally:
            if gatehold_stack.running:
                clock.resume()
