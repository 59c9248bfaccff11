"""The example stack from shared/seeds."""
