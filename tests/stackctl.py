"""The fixtures' way to start `gatehold up`: :mod:`gatehold.testing.stack`, which users' tests use too."""

from gatehold.testing.stack import Stack, StackStartError, free_port, new_stack

__all__ = ["Stack", "StackStartError", "free_port", "new_stack"]
