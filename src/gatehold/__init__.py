"""Gatehold: Amazon API Gateway and Auth0's security model on one machine."""

__version__ = "0.1.0"
