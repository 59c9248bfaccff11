"""The ``gatehold`` command line.

::

    gatehold up                      run the example stack (or -c FILE)
    gatehold check -c FILE           validate a configuration (any format), print the effective API
    gatehold export openapi|sam      write the effective API as OpenAPI or a SAM template
    gatehold token …                 mint a token like Auth0's API "Test" tab
    gatehold users / roles / keys …  administer the identity provider's store
    gatehold db upgrade|current|check  the store's schema revision (Alembic migrations)
    gatehold authorizer test …       run an authorizer on an event file
    gatehold explain GET /path …     why the running stack answered a request so (or --request-id)
    gatehold run -- COMMAND          run COMMAND (tests in any language) with a stack up
"""

from __future__ import annotations

import click

from gatehold import __version__
from gatehold.cli.common import main_group

# Commands live in one module each and are imported only when used, so `gatehold --version`
# or `gatehold check` do not pay for the identity provider's imports.
COMMANDS = {
    "up": ("gatehold.cli.up", "up"),
    "check": ("gatehold.cli.check", "check"),
    "export": ("gatehold.cli.export", "export"),
    "token": ("gatehold.cli.idp", "token"),
    "users": ("gatehold.cli.idp", "users"),
    "roles": ("gatehold.cli.idp", "roles"),
    "keys": ("gatehold.cli.idp", "keys"),
    "db": ("gatehold.cli.db", "db"),
    "authorizer": ("gatehold.cli.authorizer", "authorizer"),
    "explain": ("gatehold.cli.explain", "explain"),
    "run": ("gatehold.cli.run", "run"),
    "test-env": ("gatehold.cli.run", "run"),
}


@click.group(cls=main_group(COMMANDS), context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gatehold")
def cli() -> None:
    """Amazon API Gateway and Auth0's security model on one machine.

    Start with `gatehold up`, then open the URLs it prints.
    """


def main() -> None:
    cli(prog_name="gatehold")
