"""Gatehold for your tests: a stack on free ports, tokens for a route, one clock (docs/testing.md).

* :mod:`gatehold.testing.stack`: start and stop ``gatehold up`` from Python (``Stack``,
  ``new_stack``, ``free_port``), as the pytest plugin and ``gatehold run`` do;
* :mod:`gatehold.testing.pytest_plugin`: the pytest fixtures (``gatehold_stack``,
  ``gatehold_client``, ``gatehold_tokens``, ``gatehold_clock``), registered as the ``gatehold``
  plugin when Gatehold is installed;
* :mod:`gatehold.testing.tokens` and :mod:`gatehold.testing.clock`: tokens that pass or fail a
  route, and the stack's test clock.

Nothing is imported here: pytest loads the plugin in every test run of a machine with Gatehold
installed, and that must stay cheap.
"""
