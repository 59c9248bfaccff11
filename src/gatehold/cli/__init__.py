"""The ``gatehold`` command line.

::

    gatehold up                      run the example stack (or -c FILE)
    gatehold check -c FILE           validate a configuration without starting anything
    gatehold token …                 mint a token like Auth0's API "Test" tab
    gatehold users / roles / keys …  administer the identity provider's store
    gatehold authorizer test …       run an authorizer on an event file
"""

from __future__ import annotations

import importlib

import click

from gatehold import __version__
from gatehold.cli.common import main_group


@click.group(cls=main_group(), context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gatehold")
def cli() -> None:
    """Amazon API Gateway and Auth0's security model on one machine.

    Start with `gatehold up`, then open the URLs it prints.
    """


# Commands live in one module each; registered here so `gatehold --help` lists them all.
_COMMANDS = {
    "up": ("gatehold.cli.up", "up"),
    "check": ("gatehold.cli.check", "check"),
    "token": ("gatehold.cli.idp", "token"),
    "users": ("gatehold.cli.idp", "users"),
    "roles": ("gatehold.cli.idp", "roles"),
    "keys": ("gatehold.cli.idp", "keys"),
    "authorizer": ("gatehold.cli.authorizer", "authorizer"),
}

for _name, (_module, _attr) in _COMMANDS.items():
    try:
        cli.add_command(getattr(importlib.import_module(_module), _attr), _name)
    except ModuleNotFoundError as exc:  # pragma: no cover - only while a command is being written
        if exc.name != _module:
            raise


def main() -> None:
    cli(prog_name="gatehold")
